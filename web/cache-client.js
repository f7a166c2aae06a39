// A framework-free, multi-layer cache client for the product API (docs/client.md).
// ES module, no build step, JSDoc types; runs in browsers and in Node 22. Every platform
// object (fetch, storages, indexedDB, BroadcastChannel, locks, WebSocket, clock, random,
// timers, performance, the window's events) is an option, so tests drive it.
//
// Every freshness lifetime comes from the API's Cache-Control (max-age, stale-while-
// revalidate): the server's CachePolicy stays the one source of TTLs. The only built-in
// default is for a response without Cache-Control, treated as `no-cache` (revalidate on use).

import { IndexedDbLayer, MemoryLayer, WebStorageLayer } from './cache-layers.js';
import { channelForTag, productApiTags } from './invalidation-channels.js';
import { PushChannel } from './push-channel.js';

/**
 * @typedef {'memory' | 'session' | 'local' | 'indexeddb' | 'network' | 'push'} Source
 *   where the value a caller gets came from (`push`: fetched because a push invalidated it)
 * @typedef {'none' | 'memory' | 'session' | 'local' | 'indexeddb'} Layer where it is kept
 * @typedef {{
 *   key: string, data: unknown, etag: string | null, version: number | null,
 *   storedAt: number, requestedAt: number, maxAge: number, swr: number, layer: Layer,
 *   tags: string[], cacheVersion: string, invalid: boolean, handled: string | null,
 * }} CacheEntry
 * @typedef {{
 *   key: string, data: unknown, etag: string | null, version: number | null, status: number,
 *   source: Source, stale: boolean, pending?: boolean, revalidated?: boolean,
 *   rolledBack?: boolean, error?: Error,
 * }} Snapshot
 * @typedef {{
 *   noStore: boolean, noCache: boolean, isPrivate: boolean, isPublic: boolean,
 *   maxAge: number | null, swr: number,
 * }} CacheControl
 * @typedef {{retries: number, baseDelayMs: number, maxDelayMs: number, maxRetryAfterMs: number}}
 *   RetryPolicy
 */

/** Cache-Control for responses that carry none: nothing is assumed fresh. */
export const DEFAULT_CACHE_CONTROL = 'no-cache';
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
/** A private response at least this long-lived and small is a preference: localStorage. */
const PREFERENCE_MIN_MAX_AGE_SECONDS = 86_400;
const PREFERENCE_MAX_BYTES = 2048;

/** @param {string | null | undefined} header @returns {CacheControl} */
export function parseCacheControl(header) {
  /** @type {Map<string, string>} */
  const directives = new Map();
  for (const part of (header ?? '').split(',')) {
    const [name, value = ''] = part.trim().split('=');
    if (name) directives.set(name.toLowerCase(), value.replace(/^"|"$/g, ''));
  }
  /** @param {string} name */
  const seconds = (name) => {
    const value = Number.parseInt(directives.get(name) ?? '', 10);
    return Number.isFinite(value) && value >= 0 ? value : null;
  };
  return {
    noStore: directives.has('no-store'),
    noCache: directives.has('no-cache'),
    isPrivate: directives.has('private'),
    isPublic: directives.has('public'),
    maxAge: seconds('max-age'),
    swr: seconds('stale-while-revalidate') ?? 0,
  };
}

/**
 * Which layer keeps a response, from its Cache-Control (docs/client.md, "Layers"):
 * no-store: none; private: sessionStorage (tab-scoped), or localStorage when it lives a day
 * or more and is small (a preference); no-cache or no max-age: memory (revalidated on every
 * use); anything else shared and cacheable (public): IndexedDB, persistent and shared by tabs.
 * @param {CacheControl} cacheControl
 * @param {number} bodyBytes
 * @returns {Layer}
 */
export function layerFor(cacheControl, bodyBytes) {
  if (cacheControl.noStore) return 'none';
  if (cacheControl.isPrivate) {
    const longLived = (cacheControl.maxAge ?? 0) >= PREFERENCE_MIN_MAX_AGE_SECONDS;
    return longLived && bodyBytes <= PREFERENCE_MAX_BYTES ? 'local' : 'session';
  }
  if (cacheControl.noCache || !cacheControl.maxAge) return 'memory';
  return 'indexeddb';
}

/**
 * How long to wait before retry `attempt` (0-based): the server's Retry-After when it sent
 * one, else "full jitter" exponential backoff: random() * min(max, base * 2^attempt).
 * @param {number} attempt
 * @param {RetryPolicy} policy
 * @param {() => number} random
 * @param {string | null} retryAfter the header's value, seconds or an HTTP date
 * @param {number} nowMs
 * @returns {number}
 */
export function retryDelayMs(attempt, policy, random, retryAfter, nowMs) {
  if (retryAfter) {
    const asSeconds = Number(retryAfter);
    if (Number.isFinite(asSeconds) && asSeconds >= 0) return asSeconds * 1000;
    const asDate = Date.parse(retryAfter);
    if (Number.isFinite(asDate)) return Math.max(0, asDate - nowMs);
  }
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
}

/** An HTTP answer the client will not turn into data. */
export class HttpError extends Error {
  /** @param {number} status @param {string} message */
  constructor(status, message) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

/**
 * @typedef {{
 *   baseUrl: string,
 *   fetch?: typeof fetch,
 *   sessionStorage?: Storage, localStorage?: Storage, indexedDB?: IDBFactory,
 *   BroadcastChannel?: typeof BroadcastChannel,
 *   locks?: LockManager | null,
 *   WebSocket?: typeof WebSocket,
 *   now?: () => number, random?: () => number,
 *   timers?: {setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout},
 *   performance?: Performance,
 *   eventTarget?: EventTarget | null,
 *   maxEntries?: number,
 *   maxPersistedEntries?: number,
 *   cacheVersion?: string,
 *   dbName?: string,
 *   storagePrefix?: string,
 *   channelName?: string,
 *   retry?: Partial<RetryPolicy>,
 *   revalidateThrottleMs?: number,
 *   minPollIntervalMs?: number,
 *   lockFallbackMaxDelayMs?: number,
 *   tagsFor?: (key: string) => string[],
 *   versionOf?: (data: unknown) => number | null,
 *   events?: {url: string, authorization?: Record<string, string>, namespace?: string} | null,
 *   onPushStatus?: (status: {up: boolean, reconnected: boolean}) => void,
 * }} CacheClientOptions
 */

/** @param {CacheClientOptions} options */
export function createCacheClient(options) {
  return new CacheClient(options);
}

export class CacheClient {
  /** @param {CacheClientOptions} options */
  constructor(options) {
    if (typeof options?.baseUrl !== 'string') throw new TypeError('baseUrl must be a string');
    const g = /** @type {any} */ (globalThis);
    this.baseUrl = options.baseUrl;
    this.fetchImpl = options.fetch ?? g.fetch.bind(g);
    this.now = options.now ?? (() => Date.now());
    this.random = options.random ?? Math.random;
    this.timers = options.timers ?? { setTimeout: g.setTimeout.bind(g), clearTimeout: g.clearTimeout.bind(g) };
    this.performance = options.performance ?? g.performance;
    this.locks = options.locks === undefined ? g.navigator?.locks ?? null : options.locks;
    this.cacheVersion = options.cacheVersion ?? '1';
    /** @type {RetryPolicy} */
    this.retry = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000, maxRetryAfterMs: 60_000, ...options.retry };
    this.revalidateThrottleMs = options.revalidateThrottleMs ?? 5000;
    this.minPollIntervalMs = options.minPollIntervalMs ?? 1000;
    this.lockFallbackMaxDelayMs = options.lockFallbackMaxDelayMs ?? 200;
    this.tagsFor = options.tagsFor ?? productApiTags;
    this.versionOf =
      options.versionOf ??
      ((/** @type {any} */ data) => (Number.isInteger(data?.version) ? data.version : null));
    const prefix = options.storagePrefix ?? 'cache-client:';
    this.prefix = prefix;
    this.memory = new MemoryLayer(options.maxEntries ?? 500);
    this.session = new WebStorageLayer(
      options.sessionStorage === undefined ? safeStorage(g, 'sessionStorage') : options.sessionStorage,
      prefix,
    );
    this.local = new WebStorageLayer(
      options.localStorage === undefined ? safeStorage(g, 'localStorage') : options.localStorage,
      prefix,
    );
    this.indexeddb = new IndexedDbLayer(options.indexedDB === undefined ? g.indexedDB : options.indexedDB, {
      dbName: options.dbName ?? 'cache-client',
      cacheVersion: this.cacheVersion,
      maxEntries: options.maxPersistedEntries ?? 1000,
    });
    /** @type {Map<string, Promise<Snapshot>>} in-flight revalidations, one per key */
    this.inflight = new Map();
    /** @type {Map<string, number>} key -> the lowest version a push (or a 412) says exists */
    this.fences = new Map();
    /** @type {Map<string, Set<(snapshot: Snapshot) => void>>} */
    this.watchers = new Map();
    /** @type {Promise<void>} channel (un)subscriptions, in order */
    this.subscriptions = Promise.resolve();
    /** @type {Map<string, ReturnType<typeof setTimeout>>} polling timers while push is down */
    this.pollTimers = new Map();
    /** Entries stored before this instant are revalidated before being trusted (reconnect). */
    this.distrustBefore = 0;
    /** @type {Record<string, number>} when focus / online last revalidated */
    this.lastRevalidation = { focus: Number.NEGATIVE_INFINITY, online: Number.NEGATIVE_INFINITY };
    /** @type {Map<string, number>} refetches that came back older than announced, per key */
    this.laggingRetries = new Map();
    this.pushUp = false;
    // Not from `random`: tests pin it, and two tabs must never share an id.
    this.tabId = g.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random()}`;

    const Channel = options.BroadcastChannel === undefined ? g.BroadcastChannel : options.BroadcastChannel;
    /** @type {BroadcastChannel | null} */
    this.broadcast = Channel ? new Channel(options.channelName ?? 'cache-client') : null;
    if (this.broadcast) this.broadcast.onmessage = (event) => void this.onBroadcast(event.data);

    this.events = options.events ?? null;
    this.onPushStatusChange = options.onPushStatus ?? (() => {});
    /** @type {PushChannel | null} */
    this.push = null;
    const WebSocketClass = options.WebSocket ?? g.WebSocket;
    if (this.events && WebSocketClass) {
      this.push = new PushChannel({
        url: this.events.url,
        WebSocket: WebSocketClass,
        authorization: this.events.authorization ?? null,
        timers: this.timers,
        random: this.random,
        onEvent: (_channel, event) => void this.onPush(event),
        onStatus: (status) => this.onPushStatus(status),
      });
    }

    const target = options.eventTarget === undefined ? g.window ?? null : options.eventTarget;
    /** @type {EventTarget | null} */
    this.eventTarget = target;
    this.onFocus = () => void this.revalidateWatched('focus');
    this.onOnline = () => void this.revalidateWatched('online');
    target?.addEventListener('focus', this.onFocus);
    target?.addEventListener('online', this.onOnline);
    this.push?.start();
  }

  // --- reading ----------------------------------------------------------------------------

  /**
   * The value for `path`: from the fastest layer that holds it, revalidated as its
   * Cache-Control says (fresh: as is; stale within stale-while-revalidate: as is, and one
   * background revalidation; beyond: from the network, the stored value if that fails).
   * @param {string} path relative to baseUrl, with its query
   * @returns {Promise<Snapshot>}
   */
  async get(path) {
    const key = this.keyOf(path);
    const found = await this.lookup(key);
    if (!found) return this.revalidate(key, 'network');
    const { entry, source } = found;
    const state = this.freshness(entry);
    if (state === 'fresh') return snapshotOf(entry, source, false);
    if (state === 'stale') {
      void this.revalidate(key, 'network').catch(() => {});
      return snapshotOf(entry, source, true);
    }
    try {
      return await this.revalidate(key, 'network');
    } catch (error) {
      // Offline or failing: the stored value, marked stale, beats no value.
      return { ...snapshotOf(entry, source, true), error: /** @type {Error} */ (error) };
    }
  }

  /**
   * Call `listener` with the value of `path` now and whenever it changes (background
   * revalidation, another tab, a push). Subscribes to the entry's push channels.
   * @param {string} path
   * @param {(snapshot: Snapshot) => void} listener
   * @returns {() => void} stop watching
   */
  watch(path, listener) {
    const key = this.keyOf(path);
    let listeners = this.watchers.get(key);
    if (!listeners) {
      listeners = new Set();
      this.watchers.set(key, listeners);
      this.queueSubscription(key, +1);
    }
    // get()'s answer goes to the listener only if no notification got there first (the same
    // snapshot, or a newer one, already did).
    let delivered = false;
    /** @param {Snapshot} snapshot */
    const deliver = (snapshot) => {
      delivered = true;
      listener(snapshot);
    };
    listeners.add(deliver);
    void this.get(path)
      .then((snapshot) => {
        if (!delivered) deliver(snapshot);
        if (this.watchers.has(key) && !this.pollTimers.has(key)) this.schedulePoll(key);
      })
      .catch((error) => {
        if (!delivered) deliver({ ...emptySnapshot(key), error });
      });
    return () => {
      listeners?.delete(deliver);
      if (listeners?.size === 0) {
        this.watchers.delete(key);
        this.stopPolling(key);
        this.queueSubscription(key, -1);
      }
    };
  }

  /**
   * Revalidate `key` now (deduplicated: callers share one request).
   * @param {string} key
   * @param {'network' | 'push' | 'rollback'} reason
   * @returns {Promise<Snapshot>}
   */
  revalidate(key, reason) {
    const running = this.inflight.get(key);
    if (running) return running;
    const request = this.fetchEntry(key, reason).finally(() => this.inflight.delete(key));
    this.inflight.set(key, request);
    return request;
  }

  // --- writing ----------------------------------------------------------------------------

  /**
   * An optimistic update: `update(current)` is shown at once, then sent as a PUT with
   * If-Match: <the ETag it was based on>. On any failure (412, 4xx, 5xx, network) the
   * previous value comes back and the current one is fetched with `Cache-Control: no-cache`.
   * @param {string} path
   * @param {(current: any) => any} update the new value, from a copy of the current one
   * @param {{body?: (value: any) => unknown, method?: string}} [options]
   * @returns {Promise<{ok: boolean, status: number, snapshot: Snapshot}>}
   */
  async mutate(path, update, { body = (value) => value, method = 'PUT' } = {}) {
    const key = this.keyOf(path);
    const current = await this.get(path);
    const previous = this.memory.peek(key);
    if (!previous || !previous.etag) throw new HttpError(428, `no ETag held for ${path}`);
    const optimistic = { ...previous, data: update(structuredClone(previous.data)) };
    this.memory.set(optimistic);
    this.notify(key, { ...snapshotOf(optimistic, 'memory', false), pending: true });

    let response = null;
    try {
      response = await this.fetchImpl(this.urlOf(key), {
        method,
        headers: { 'Content-Type': 'application/json', 'If-Match': previous.etag },
        body: JSON.stringify(body(optimistic.data)),
        cache: 'no-store',
      });
    } catch {
      response = null;
    }
    if (response && response.ok) {
      const data = await response.json();
      const entry = this.entryFrom(key, data, response.headers.get('ETag'), previous, this.now());
      const applied = await this.apply(entry, this.now());
      const snapshot = snapshotOf(applied ?? entry, 'network', false);
      this.notify(key, snapshot);
      return { ok: true, status: response.status, snapshot };
    }
    // Roll back, then learn what the server holds now (bypassing caches on the way). A 412
    // proves the server has moved past our version: a cache that still answers it is lagging.
    this.memory.set(previous);
    if (response?.status === 412 && previous.version !== null) {
      this.fences.set(key, Math.max(previous.version + 1, this.fences.get(key) ?? 0));
    }
    this.notify(key, { ...snapshotOf(previous, current.source, true), rolledBack: true });
    let snapshot;
    try {
      snapshot = await this.revalidate(key, 'rollback');
    } catch (error) {
      snapshot = { ...snapshotOf(previous, current.source, true), error: /** @type {Error} */ (error) };
    }
    return { ok: false, status: response ? response.status : 0, snapshot };
  }

  /**
   * Mark every entry carrying `tag` stale (as a push would, locally).
   * @param {string} tag
   */
  async invalidateTag(tag) {
    await this.onPush({ type: 'invalidate', key: tag, version: null, at: new Date(this.now()).toISOString() });
  }

  // --- preferences (localStorage: small, persistent, per origin) --------------------------

  /** @param {string} name */
  getPreference(name) {
    const raw = this.local.storage?.getItem(`${this.prefix}pref:${name}`);
    if (raw === null || raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      return undefined;
    }
  }

  /** @param {string} name @param {unknown} value */
  setPreference(name, value) {
    const raw = JSON.stringify(value);
    if (raw.length > PREFERENCE_MAX_BYTES) {
      throw new RangeError(`preference ${name} is larger than ${PREFERENCE_MAX_BYTES} bytes`);
    }
    this.local.storage?.setItem(`${this.prefix}pref:${name}`, raw);
  }

  /** Stop timers, sockets and channels. */
  async close() {
    this.push?.close();
    this.broadcast?.close();
    for (const key of [...this.pollTimers.keys()]) this.stopPolling(key);
    this.eventTarget?.removeEventListener('focus', this.onFocus);
    this.eventTarget?.removeEventListener('online', this.onOnline);
    await this.indexeddb.close();
  }

  // --- internals: lookup and freshness ----------------------------------------------------

  /** @param {string} path */
  keyOf(path) {
    const url = new URL(path, 'http://key.invalid');
    return url.pathname + url.search;
  }

  /** @param {string} key */
  urlOf(key) {
    const base = this.baseUrl || /** @type {any} */ (globalThis).location?.origin || '';
    return base.replace(/\/$/, '') + key;
  }

  /**
   * @param {string} key
   * @returns {Promise<{entry: CacheEntry, source: Source} | null>}
   */
  async lookup(key) {
    const inMemory = this.memory.get(key);
    if (inMemory) return { entry: inMemory, source: 'memory' };
    for (const [layer, source] of /** @type {const} */ ([
      [this.session, 'session'],
      [this.local, 'local'],
    ])) {
      const entry = layer.get(key);
      if (entry && entry.cacheVersion === this.cacheVersion) {
        this.memory.set(entry);
        return { entry, source };
      }
    }
    const persisted = await this.indexeddb.get(key);
    if (persisted) {
      this.memory.set(persisted);
      return { entry: persisted, source: 'indexeddb' };
    }
    return null;
  }

  /** @param {CacheEntry} entry @returns {'fresh' | 'stale' | 'expired'} */
  freshness(entry) {
    const age = this.now() - entry.storedAt;
    if (age >= (entry.maxAge + entry.swr) * 1000) return 'expired';
    if (entry.invalid || entry.storedAt < this.distrustBefore) return 'stale';
    return age < entry.maxAge * 1000 ? 'fresh' : 'stale';
  }

  // --- internals: fetching ----------------------------------------------------------------

  /**
   * @param {string} key
   * @param {'network' | 'push' | 'rollback'} reason
   * @returns {Promise<Snapshot>}
   */
  async fetchEntry(key, reason) {
    const inMemory = this.memory.peek(key);
    const found = inMemory ? { entry: inMemory, source: /** @type {Source} */ ('memory') } : await this.lookup(key);
    const held = found?.entry ?? null;
    /** @type {Record<string, string>} */
    const headers = { Accept: 'application/json' };
    if (held?.etag) headers['If-None-Match'] = held.etag;
    if (reason === 'rollback') headers['Cache-Control'] = 'no-cache';
    const requestedAt = this.now();
    // With a validator of ours the browser cache must stay out (a 304 must reach us); without
    // one it may keep a copy but must check with the server first, so `network` is the truth.
    const cacheMode = held?.etag || reason === 'rollback' ? 'no-store' : 'no-cache';
    let response = await this.fetchWithRetry(this.urlOf(key), { headers, cache: cacheMode });
    let text = response.status === 200 ? await response.text() : '';
    if (response.status === 200 && cacheMode === 'no-cache' && this.servedLocally(this.urlOf(key))) {
      // The HTTP cache answered without the server: ask again, bypassing it.
      response = await this.fetchWithRetry(this.urlOf(key), { headers, cache: 'no-store' });
      text = response.status === 200 ? await response.text() : '';
    }
    const source = reason === 'push' ? 'push' : 'network';
    if (response.status === 304 && held) {
      const cacheControl = parseCacheControl(response.headers.get('Cache-Control'));
      const renewed = {
        ...held,
        storedAt: this.now(),
        requestedAt,
        maxAge: cacheControl.maxAge ?? held.maxAge,
        swr: cacheControl.maxAge === null ? held.swr : cacheControl.swr,
        invalid: false,
      };
      const applied = await this.apply(renewed, requestedAt);
      if (!applied && reason !== 'network') this.retryLagging(key, reason);
      // The body is the one this tab already had (from `found.source`), now confirmed.
      const snapshot = { ...snapshotOf(applied ?? held, found?.source ?? 'memory', !applied), revalidated: true };
      if (applied) this.notify(key, snapshot); // else nothing changed: the fence still stands
      return snapshot;
    }
    if (response.status === 404 || response.status === 410) {
      await this.remove(key);
      const gone = { ...emptySnapshot(key), status: response.status, source };
      this.notify(key, gone);
      this.post({ type: 'removed', key });
      return gone;
    }
    if (!response.ok) {
      throw new HttpError(response.status, `GET ${key} answered ${response.status}`);
    }
    const data = JSON.parse(text);
    const entry = this.entryFrom(key, data, response.headers.get('ETag'), null, requestedAt, {
      cacheControl: response.headers.get('Cache-Control'),
      bodyBytes: text.length,
    });
    const applied = await this.apply(entry, requestedAt);
    if (!applied) {
      // Older than what we hold or than a push announced: keep ours, try again later.
      const current = this.memory.peek(key);
      if (reason !== 'network') this.retryLagging(key, reason);
      return current ? snapshotOf(current, 'memory', true) : emptySnapshot(key);
    }
    this.laggingRetries.delete(key);
    const snapshot = snapshotOf(applied, source, false);
    this.notify(key, snapshot);
    return snapshot;
  }

  /**
   * @param {string} url
   * @param {RequestInit} init
   * @returns {Promise<Response>}
   */
  async fetchWithRetry(url, init) {
    for (let attempt = 0; ; attempt += 1) {
      let response;
      try {
        response = await this.fetchImpl(url, init);
      } catch (error) {
        if (attempt >= this.retry.retries) throw error;
        await this.sleep(this.retryDelay(attempt));
        continue;
      }
      if (!RETRYABLE.has(response.status) || attempt >= this.retry.retries) return response;
      const delay = retryDelayMs(attempt, this.retry, this.random, response.headers.get('Retry-After'), this.now());
      if (delay > this.retry.maxRetryAfterMs) return response; // too long to wait here
      await this.sleep(delay);
    }
  }

  /**
   * A push (or a 412) announced a version the API did not serve yet (a server-side cache
   * lagging): ask again with backoff, a bounded number of times, then leave it to SWR.
   * @param {string} key
   * @param {'push' | 'rollback'} reason
   */
  retryLagging(key, reason) {
    const attempt = this.laggingRetries.get(key) ?? 0;
    if (attempt >= this.retry.retries) {
      this.laggingRetries.delete(key);
      this.fences.delete(key);
      return;
    }
    this.laggingRetries.set(key, attempt + 1);
    this.schedule(key, this.retryDelay(attempt), reason);
  }

  /** @param {number} attempt */
  retryDelay(attempt) {
    return retryDelayMs(attempt, this.retry, this.random, null, this.now());
  }

  /** @param {number} ms */
  sleep(ms) {
    return new Promise((resolve) => this.timers.setTimeout(resolve, ms));
  }

  /**
   * Did the browser's HTTP cache answer `url` without reaching the server? Resource Timing
   * says so: nothing transferred, yet a body (a cross-origin entry without
   * Timing-Allow-Origin shows zeros everywhere and is not counted).
   * @param {string} url
   */
  servedLocally(url) {
    const entries = this.performance?.getEntriesByName?.(url) ?? [];
    const last = /** @type {PerformanceResourceTiming | undefined} */ (entries[entries.length - 1]);
    return last !== undefined && last.transferSize === 0 && last.encodedBodySize > 0;
  }

  /**
   * @param {string} key
   * @param {unknown} data
   * @param {string | null} etag
   * @param {CacheEntry | null} like keep this entry's policy (a write's answer is no-store)
   * @param {number} requestedAt
   * @param {{cacheControl?: string | null, bodyBytes?: number}} [response]
   * @returns {CacheEntry}
   */
  entryFrom(key, data, etag, like, requestedAt, response = {}) {
    const cacheControl = parseCacheControl(response.cacheControl ?? DEFAULT_CACHE_CONTROL);
    const layer = like ? like.layer : layerFor(cacheControl, response.bodyBytes ?? 0);
    return {
      key,
      data,
      etag,
      version: this.versionOf(data),
      storedAt: this.now(),
      requestedAt,
      maxAge: like ? like.maxAge : cacheControl.maxAge ?? 0,
      swr: like ? like.swr : cacheControl.swr,
      layer,
      tags: this.tagsFor(key),
      cacheVersion: this.cacheVersion,
      invalid: false,
      handled: null,
    };
  }

  // --- internals: applying, storing, notifying --------------------------------------------

  /**
   * Store `entry` unless it is older than what is held (by version; by request start when
   * there is no version) or than a push announced. Returns the stored entry, or null.
   * @param {CacheEntry} entry
   * @param {number} requestedAt
   * @returns {Promise<CacheEntry | null>}
   */
  async apply(entry, requestedAt) {
    const held = this.memory.peek(entry.key);
    if (held && isOlder(entry, held, requestedAt)) return null;
    const fence = this.fences.get(entry.key);
    if (fence !== undefined) {
      if (entry.version !== null && entry.version < fence) return null;
      this.fences.delete(entry.key);
    }
    if (entry.layer === 'none') {
      this.memory.delete(entry.key);
      return entry;
    }
    this.memory.set(entry);
    if (entry.layer === 'session') this.session.set(entry);
    if (entry.layer === 'local') this.local.set(entry);
    if (entry.layer === 'indexeddb') await this.indexeddb.set(entry);
    if (entry.layer === 'local' || entry.layer === 'indexeddb') {
      this.post({ type: 'stored', key: entry.key, layer: entry.layer, version: entry.version });
    }
    return entry;
  }

  /** @param {string} key */
  async remove(key) {
    this.memory.delete(key);
    this.session.delete(key);
    this.local.delete(key);
    await this.indexeddb.delete(key);
  }

  /** @param {string} key @param {Snapshot} snapshot */
  notify(key, snapshot) {
    for (const listener of this.watchers.get(key) ?? []) listener(snapshot);
    if (this.watchers.has(key)) this.schedulePoll(key);
  }

  /** @param {object} message */
  post(message) {
    try {
      this.broadcast?.postMessage({ ...message, from: this.tabId });
    } catch {
      // a closed channel: other tabs will revalidate on their own
    }
  }

  /** Another tab stored or removed an entry: adopt it from the shared layer. @param {any} message */
  async onBroadcast(message) {
    if (!message || message.from === this.tabId) return;
    const { key } = message;
    if (message.type === 'removed') {
      if (!this.memory.peek(key) && !this.watchers.has(key)) return;
      this.memory.delete(key);
      this.notify(key, { ...emptySnapshot(key), status: 404, source: 'network' });
      return;
    }
    if (message.type !== 'stored') return;
    if (!this.memory.peek(key) && !this.watchers.has(key)) return; // not ours to track
    const layer = message.layer === 'local' ? this.local : null;
    const shared = layer ? layer.get(key) : await this.indexeddb.get(key);
    if (!shared) return;
    const applied = await this.adopt(shared);
    if (applied) this.notify(key, snapshotOf(applied, message.layer, false));
  }

  /**
   * Take an entry another tab stored, if it is not older than ours.
   * @param {CacheEntry} shared
   * @returns {Promise<CacheEntry | null>}
   */
  async adopt(shared) {
    const held = this.memory.peek(shared.key);
    if (held && isOlder(shared, held, shared.requestedAt)) return null;
    if (held && held.etag === shared.etag && !held.invalid) return null; // nothing new
    const fence = this.fences.get(shared.key);
    if (fence !== undefined && shared.version !== null && shared.version < fence) return null;
    this.fences.delete(shared.key);
    this.memory.set(shared);
    return shared;
  }

  // --- internals: push, polling, coordination ---------------------------------------------

  /**
   * Channel names take an async digest: queue (un)subscriptions so they happen in call order.
   * @param {string} key @param {1 | -1} delta
   */
  queueSubscription(key, delta) {
    this.subscriptions = this.subscriptions.then(() => this.subscribeTags(key, delta)).catch(() => {});
  }

  /** @param {string} key @param {1 | -1} delta */
  async subscribeTags(key, delta) {
    if (!this.push) return;
    for (const tag of this.tagsFor(key)) {
      const channel = await channelForTag(tag, { namespace: this.events?.namespace });
      if (delta > 0) this.push.subscribe(channel);
      else this.push.unsubscribe(channel);
    }
  }

  /**
   * An invalidation from the push channel (or invalidateTag): mark what it names stale and
   * revalidate what is watched, in one tab only.
   * @param {any} message
   */
  async onPush(message) {
    if (message?.type !== 'invalidate' || typeof message.key !== 'string') return;
    const tag = message.key;
    const version = Number.isInteger(message.version) ? message.version : null;
    const pushId = `${tag}|${version}|${message.at}`;
    /** @type {Set<string>} */
    const keys = new Set();
    for (const entry of this.memory.values()) if (entry.tags.includes(tag)) keys.add(entry.key);
    for (const key of this.watchers.keys()) if (this.tagsFor(key).includes(tag)) keys.add(key);
    for (const entry of [...this.session.values(), ...this.local.values()]) {
      if (entry.tags.includes(tag)) keys.add(entry.key);
    }
    for (const entry of await this.indexeddb.byTag(tag)) keys.add(entry.key);

    for (const key of keys) {
      const held = this.memory.peek(key) ?? (await this.lookup(key))?.entry;
      if (held && version !== null && held.version !== null && held.version >= version) continue;
      if (held && held.handled === pushId) continue; // another tab already fetched for it
      if (version !== null) this.fences.set(key, Math.max(version, this.fences.get(key) ?? 0));
      if (held) await this.markInvalid(held);
      if (this.watchers.has(key)) void this.coordinated(key, pushId).catch(() => {});
    }
  }

  /** @param {CacheEntry} entry */
  async markInvalid(entry) {
    const invalid = { ...entry, invalid: true };
    this.memory.set(invalid);
    if (entry.layer === 'session') this.session.set(invalid);
    if (entry.layer === 'local') this.local.set(invalid);
    if (entry.layer === 'indexeddb') {
      const shared = await this.indexeddb.get(entry.key);
      // Never overwrite what another tab stored in the meantime.
      if (shared && shared.storedAt <= entry.storedAt) await this.indexeddb.set(invalid);
    }
  }

  /**
   * Revalidate `key` for a push, one tab at a time (Web Locks; where navigator.locks is
   * absent, a jittered wait): the tab that gets the lock first fetches and stores; the others
   * find the entry in the shared layer marked as handled for this push and adopt it.
   * @param {string} key
   * @param {string} pushId
   */
  async coordinated(key, pushId) {
    const work = async () => {
      const shared = await this.indexeddb.get(key);
      if (shared && shared.handled === pushId) {
        const adopted = await this.adopt(shared);
        if (adopted) this.notify(key, snapshotOf(adopted, 'indexeddb', false));
        return;
      }
      const startedAt = this.now();
      await this.revalidate(key, 'push');
      const stored = this.memory.peek(key);
      // Tell the tabs waiting for the lock that this push is dealt with (200 or 304 alike).
      if (stored && stored.layer === 'indexeddb' && stored.storedAt >= startedAt && !stored.invalid) {
        const handled = { ...stored, handled: pushId };
        this.memory.set(handled);
        await this.indexeddb.set(handled);
      }
    };
    if (this.locks) {
      await this.locks.request(`${this.prefix}${key}`, work);
      return;
    }
    await this.sleep(this.random() * this.lockFallbackMaxDelayMs);
    await work();
  }

  /** @param {{up: boolean, reconnected: boolean}} status */
  onPushStatus(status) {
    this.pushUp = status.up;
    this.onPushStatusChange(status);
    if (!status.up) {
      for (const key of this.watchers.keys()) this.schedulePoll(key);
      return;
    }
    for (const key of [...this.pollTimers.keys()]) this.stopPolling(key);
    // Whatever is held may have missed invalidations while the link was down (or before
    // this page listened at all): revalidate before trusting it.
    this.distrustBefore = this.now();
    void this.revalidateWatched('reconnect');
  }

  /**
   * Focus: revalidate the watched entries that are no longer fresh. Back online: revalidate
   * every watched entry (invalidations may have been missed meanwhile). Both throttled.
   * After a push reconnection: every watched entry, at once.
   * @param {'focus' | 'online' | 'reconnect'} why
   */
  async revalidateWatched(why) {
    if (why !== 'reconnect') {
      if (this.now() - this.lastRevalidation[why] < this.revalidateThrottleMs) return;
      this.lastRevalidation[why] = this.now();
    }
    if (why === 'online') this.distrustBefore = this.now();
    await Promise.all(
      [...this.watchers.keys()].map(async (key) => {
        const held = this.memory.peek(key) ?? (await this.lookup(key))?.entry;
        if (why === 'focus' && held && this.freshness(held) === 'fresh') return;
        await this.revalidate(key, 'network').catch(() => {});
      }),
    );
  }

  /** While push is down, revalidate a watched entry when it turns stale. @param {string} key */
  schedulePoll(key) {
    if (this.pushUp && this.push) return;
    const entry = this.memory.peek(key);
    const dueIn = entry ? entry.storedAt + entry.maxAge * 1000 - this.now() : 0;
    this.schedule(key, Math.max(this.minPollIntervalMs, dueIn), 'network');
  }

  /** @param {string} key @param {number} delayMs @param {'network' | 'push' | 'rollback'} reason */
  schedule(key, delayMs, reason) {
    this.stopPolling(key);
    this.pollTimers.set(
      key,
      this.timers.setTimeout(() => {
        this.pollTimers.delete(key);
        if (!this.watchers.has(key)) return;
        const again = () => {
          if (this.watchers.has(key) && !this.pollTimers.has(key)) this.schedulePoll(key);
        };
        void this.revalidate(key, reason).then(again, again);
      }, delayMs),
    );
  }

  /** @param {string} key */
  stopPolling(key) {
    const timer = this.pollTimers.get(key);
    if (timer !== undefined) this.timers.clearTimeout(timer);
    this.pollTimers.delete(key);
  }
}

/**
 * @param {CacheEntry} candidate
 * @param {CacheEntry} held
 * @param {number} requestedAt when the candidate's request started
 */
function isOlder(candidate, held, requestedAt) {
  if (candidate.version !== null && held.version !== null) return candidate.version < held.version;
  return requestedAt < held.requestedAt;
}

/** @param {CacheEntry} entry @param {Source} source @param {boolean} stale @returns {Snapshot} */
function snapshotOf(entry, source, stale) {
  return {
    key: entry.key,
    data: entry.data,
    etag: entry.etag,
    version: entry.version,
    status: 200,
    source,
    stale,
  };
}

/** @param {string} key @returns {Snapshot} */
function emptySnapshot(key) {
  return { key, data: null, etag: null, version: null, status: 0, source: 'network', stale: false };
}

/** Storage access throws in some privacy modes: treat that as "not available". */
function safeStorage(/** @type {any} */ g, /** @type {string} */ name) {
  try {
    return g[name] ?? undefined;
  } catch {
    return undefined;
  }
}
