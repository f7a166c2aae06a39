// Test doubles for what Node does not have, or cannot be steered: a clock with timers, the
// product API (fetch), Web Storage, Web Locks and an AppSync Events server behind a WebSocket.
// IndexedDB is fake-indexeddb (an npm implementation of the spec); BroadcastChannel is Node's.

import { createHash } from 'node:crypto';
import { IDBFactory } from 'fake-indexeddb';

import { createCacheClient } from '../cache-client.js';

export const ITEM_POLICY = 'public, max-age=60, stale-while-revalidate=300';
export const LIST_POLICY = 'public, max-age=5, stale-while-revalidate=30';

/** Let every pending promise, IndexedDB request and BroadcastChannel message run. */
export async function settle(rounds = 30) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

/** Resolve when `predicate()` holds, checking after each turn of the event loop (bounded). */
export async function until(predicate, what = 'condition', rounds = 2000) {
  for (let i = 0; i < rounds; i += 1) {
    if (predicate()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A wall clock and timers that move only when the test says so. */
export class FakeClock {
  constructor(start = Date.UTC(2026, 11, 2, 3, 0, 0)) {
    this.time = start;
    /** @type {Map<number, {at: number, fn: () => void}>} */
    this.pending = new Map();
    this.nextId = 1;
    this.now = () => this.time;
    this.timers = {
      setTimeout: (/** @type {() => void} */ fn, ms = 0) => {
        const id = this.nextId;
        this.nextId += 1;
        this.pending.set(id, { at: this.time + Math.max(0, ms), fn });
        return id;
      },
      clearTimeout: (/** @type {number} */ id) => {
        this.pending.delete(id);
      },
    };
  }

  /** Move time forward, running each timer at its due time (in order). */
  async advance(ms) {
    const end = this.time + ms;
    for (;;) {
      await settle();
      let next = null;
      for (const [id, timer] of this.pending) {
        if (timer.at <= end && (next === null || timer.at < next[1].at)) next = [id, timer];
      }
      if (next === null) break;
      this.pending.delete(next[0]);
      this.time = Math.max(this.time, next[1].at);
      next[1].fn();
    }
    this.time = end;
    await settle();
  }

  /** The delays of the timers now pending, relative to now. */
  delays() {
    return [...this.pending.values()].map((timer) => timer.at - this.time).sort((a, b) => a - b);
  }
}

/** A strong ETag as the API computes it: 32 hex digits of the body's SHA-256. */
function etagOf(body) {
  return `"${createHash('sha256').update(body).digest('hex').slice(0, 32)}"`;
}

/**
 * The product API of docs/openapi.yaml, in memory, as a `fetch`: ETag, Cache-Control from the
 * policy, If-None-Match -> 304, PUT with If-Match -> 412. `script` entries intercept requests.
 */
export class FakeApi {
  constructor(clock) {
    this.clock = clock;
    /** @type {Map<string, any>} */
    this.products = new Map();
    /** @type {{method: string, path: string, headers: Record<string, string>, cache?: string}[]} */
    this.requests = [];
    /** @type {((request: {method: string, path: string}) => any)[]} one-shot interceptors */
    this.script = [];
    this.itemPolicy = ITEM_POLICY;
    this.listPolicy = LIST_POLICY;
    this.fetch = this.fetch.bind(this);
  }

  /** Write a product as the table would (version + 1); returns it. */
  write(product) {
    const previous = this.products.get(product.productId);
    const stored = {
      ...product,
      version: (previous?.version ?? 0) + 1,
      updatedAt: new Date(this.clock.now()).toISOString(),
    };
    this.products.set(product.productId, stored);
    return stored;
  }

  gets(path) {
    return this.requests.filter((r) => r.method === 'GET' && r.path === path);
  }

  async fetch(url, init = {}) {
    const parsed = new URL(url);
    const path = parsed.pathname + parsed.search;
    const method = init.method ?? 'GET';
    const headers = Object.fromEntries(
      Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    );
    const request = { method, path, headers, cache: init.cache, body: init.body };
    this.requests.push(request);
    const intercept = this.script.shift();
    if (intercept) {
      const result = await intercept(request);
      if (result !== undefined) return result;
    }
    return this.answer(request, parsed);
  }

  answer(request, url) {
    const item = /^\/products\/([^/]+)$/.exec(url.pathname);
    if (item && request.method === 'GET') {
      const product = this.products.get(decodeURIComponent(item[1]));
      if (!product) return json(404, { error: 'not_found', message: 'no product' }, 'no-store');
      return this.cacheable(request, JSON.stringify(product), this.itemPolicy);
    }
    if (item && request.method === 'PUT') {
      const id = decodeURIComponent(item[1]);
      const current = this.products.get(id);
      const expected = request.headers['if-match'];
      if (current && expected && expected !== etagOf(JSON.stringify(current))) {
        return json(412, { error: 'precondition_failed', message: 'If-Match' }, 'no-store');
      }
      const body = JSON.parse(request.body);
      if (typeof body.price !== 'number' || body.price < 0) {
        return json(400, { error: 'bad_request', message: 'price' }, 'no-store');
      }
      const stored = this.write({ ...body, productId: id });
      const text = JSON.stringify(stored);
      return new Response(text, {
        status: current ? 200 : 201,
        headers: { 'Content-Type': 'application/json', ETag: etagOf(text), 'Cache-Control': 'no-store' },
      });
    }
    if (url.pathname === '/products' && request.method === 'GET') {
      const category = url.searchParams.get('category');
      const items = [...this.products.values()].filter((p) => p.category === category);
      return this.cacheable(request, JSON.stringify({ items, nextCursor: null }), this.listPolicy);
    }
    return json(404, { error: 'not_found', message: 'no route' }, 'no-store');
  }

  cacheable(request, text, policy) {
    const etag = etagOf(text);
    const headers = { ETag: etag, 'X-Cache': 'HIT-L2' };
    if (policy !== null) headers['Cache-Control'] = policy;
    if (request.headers['if-none-match'] === etag) return new Response(null, { status: 304, headers });
    return new Response(text, { status: 200, headers: { ...headers, 'Content-Type': 'application/json' } });
  }
}

function json(status, body, cacheControl) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': cacheControl },
  });
}

/** The Web Storage API over a Map (sessionStorage and localStorage). */
export class MemoryStorage {
  constructor({ quotaBytes = Infinity } = {}) {
    this.map = new Map();
    this.quotaBytes = quotaBytes;
  }

  get length() {
    return this.map.size;
  }

  key(index) {
    return [...this.map.keys()][index] ?? null;
  }

  getItem(name) {
    return this.map.has(name) ? this.map.get(name) : null;
  }

  setItem(name, value) {
    const used = [...this.map.entries()].reduce((sum, [k, v]) => sum + k.length + v.length, 0);
    if (used + name.length + String(value).length > this.quotaBytes) {
      throw new DOMException('quota', 'QuotaExceededError');
    }
    this.map.set(name, String(value));
  }

  removeItem(name) {
    this.map.delete(name);
  }

  clear() {
    this.map.clear();
  }
}

/** Web Locks (exclusive mode): one holder per name, the others queue in order. */
export class FakeLocks {
  constructor() {
    this.tails = new Map();
    this.grants = [];
  }

  async request(name, optionsOrCallback, maybeCallback) {
    const callback = typeof optionsOrCallback === 'function' ? optionsOrCallback : maybeCallback;
    const previous = this.tails.get(name) ?? Promise.resolve();
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    this.tails.set(name, previous.then(() => held));
    await previous;
    this.grants.push(name);
    try {
      return await callback({ name, mode: 'exclusive' });
    } finally {
      release();
    }
  }
}

/**
 * An AWS AppSync Events real-time endpoint behind a fake `WebSocket` class: the same
 * messages as local_stack/events_server.py (which is tested with a real client in pytest).
 */
export class FakeEventsServer {
  constructor() {
    /** @type {any[]} */
    this.sockets = [];
    this.accepting = true;
    /** @type {any[]} messages clients sent */
    this.received = [];
    const server = this;
    this.WebSocket = class FakeWebSocket {
      static OPEN = 1;
      constructor(url, protocols) {
        this.url = url;
        this.protocols = protocols;
        this.readyState = 0;
        /** @type {Map<string, string>} id -> channel */
        this.subscriptions = new Map();
        server.sockets.push(this);
        setImmediate(() => {
          if (server.accepting) {
            this.readyState = 1;
            this.onopen?.();
          } else {
            this.readyState = 3;
            this.onerror?.();
            this.onclose?.();
          }
        });
      }

      send(text) {
        const message = JSON.parse(text);
        server.received.push(message);
        server.handle(this, message);
      }

      close() {
        if (this.readyState === 3) return;
        this.readyState = 3;
        setImmediate(() => this.onclose?.());
      }

      deliver(message) {
        if (this.readyState === 1) this.onmessage?.({ data: JSON.stringify(message) });
      }
    };
  }

  handle(socket, message) {
    if (message.type === 'connection_init') {
      socket.deliver({ type: 'connection_ack', connectionTimeoutMs: 300_000 });
    } else if (message.type === 'subscribe') {
      socket.subscriptions.set(message.id, message.channel);
      socket.deliver({ type: 'subscribe_success', id: message.id });
    } else if (message.type === 'unsubscribe') {
      socket.subscriptions.delete(message.id);
      socket.deliver({ type: 'unsubscribe_success', id: message.id });
    }
  }

  /** Send `event` (an object) to every subscription of `channel`. */
  publish(channel, event) {
    for (const socket of this.sockets) {
      for (const [id, subscribed] of socket.subscriptions) {
        if (subscribed === channel) socket.deliver({ type: 'data', id, event: JSON.stringify(event) });
      }
    }
  }

  open() {
    return this.sockets.filter((socket) => socket.readyState === 1);
  }

  /** The server drops every connection (a network blip). */
  dropAll() {
    for (const socket of this.open()) socket.close();
  }
}

let channelCounter = 0;

/** A shared "browser profile": what the tabs of one origin share. */
export function makeProfile() {
  channelCounter += 1;
  return {
    indexedDB: new IDBFactory(),
    localStorage: new MemoryStorage(),
    channelName: `cache-client-test-${process.pid}-${channelCounter}`,
  };
}

/**
 * A client ("a tab") wired to fakes. Options override anything.
 * @returns {{client: import('../cache-client.js').CacheClient, events: EventTarget}}
 */
export function makeTab({ clock, api, profile = makeProfile(), ...options }) {
  const events = new EventTarget();
  const client = createCacheClient({
    baseUrl: 'https://api.example.test',
    fetch: api.fetch,
    now: clock.now,
    timers: clock.timers,
    random: () => 0.5,
    sessionStorage: new MemoryStorage(),
    localStorage: profile.localStorage,
    indexedDB: profile.indexedDB,
    channelName: profile.channelName,
    locks: null,
    eventTarget: events,
    performance: { getEntriesByName: () => [] },
    ...options,
  });
  return { client, events };
}

/** Collect what a watcher receives; `next()` resolves with the next snapshot. */
export function recorder() {
  const seen = [];
  let waiting = [];
  const listener = (snapshot) => {
    seen.push(snapshot);
    const resolvers = waiting;
    waiting = [];
    for (const resolve of resolvers) resolve(snapshot);
  };
  const next = () => new Promise((resolve) => waiting.push(resolve));
  return { seen, listener, next };
}
