// An AWS AppSync Events real-time client (docs/client.md, "The push channel"): one WebSocket,
// many channel subscriptions, keep-alive watchdog, reconnection with backoff and jitter.
// The local events server (local_stack/events_server.py) speaks the same protocol.

const SUBPROTOCOL = 'aws-appsync-event-ws';
/** AppSync's own default when connection_ack carries no connectionTimeoutMs. */
const DEFAULT_CONNECTION_TIMEOUT_MS = 300_000;

/**
 * @typedef {{up: boolean, reconnected: boolean}} PushStatus
 * @typedef {{
 *   url: string,
 *   WebSocket: typeof WebSocket,
 *   authorization?: Record<string, string> | null,
 *   onEvent: (channel: string, event: unknown) => void,
 *   onStatus?: (status: PushStatus) => void,
 *   timers?: {setTimeout: typeof setTimeout, clearTimeout: typeof clearTimeout},
 *   random?: () => number,
 *   ackTimeoutMs?: number,
 *   reconnect?: {baseDelayMs: number, maxDelayMs: number},
 * }} PushChannelOptions
 */

/** @param {string} text */
function base64Url(text) {
  const bytes = new TextEncoder().encode(text);
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export class PushChannel {
  /** @param {PushChannelOptions} options */
  constructor(options) {
    this.url = options.url;
    this.WebSocketClass = options.WebSocket;
    this.authorization = options.authorization ?? null;
    this.onEvent = options.onEvent;
    this.onStatus = options.onStatus ?? (() => {});
    this.timers = options.timers ?? { setTimeout, clearTimeout };
    this.random = options.random ?? Math.random;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 15_000;
    this.reconnect = options.reconnect ?? { baseDelayMs: 1000, maxDelayMs: 30_000 };
    /** @type {Map<string, {id: string, refs: number, acknowledged: boolean}>} */
    this.channels = new Map();
    /** @type {WebSocket | null} */
    this.socket = null;
    this.up = false;
    this.everUp = false;
    this.closed = false;
    this.attempt = 0;
    this.nextId = 1;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.watchdog = null;
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.retryTimer = null;
    this.connectionTimeoutMs = DEFAULT_CONNECTION_TIMEOUT_MS;
  }

  /** Open the connection (again); subscriptions are (re)sent once it is acknowledged. */
  start() {
    if (this.closed || this.socket !== null) return;
    const protocols = [SUBPROTOCOL];
    if (this.authorization) {
      protocols.push(`header-${base64Url(JSON.stringify(this.authorization))}`);
    }
    let socket;
    try {
      socket = new this.WebSocketClass(this.url, protocols);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.arm(this.ackTimeoutMs); // no connection_ack in time: the link is not usable
      socket.send(JSON.stringify({ type: 'connection_init' }));
    };
    socket.onmessage = (event) => this.receive(String(event.data));
    socket.onerror = () => socket.close();
    socket.onclose = () => this.lost(socket);
  }

  /** Subscribe to a channel (reference counted). @param {string} channel */
  subscribe(channel) {
    const known = this.channels.get(channel);
    if (known) {
      known.refs += 1;
      return;
    }
    const subscription = { id: this.newId(), refs: 1, acknowledged: false };
    this.channels.set(channel, subscription);
    if (this.up) this.sendSubscribe(channel, subscription.id);
  }

  /** @param {string} channel */
  unsubscribe(channel) {
    const known = this.channels.get(channel);
    if (!known) return;
    known.refs -= 1;
    if (known.refs > 0) return;
    this.channels.delete(channel);
    if (this.up) this.send({ type: 'unsubscribe', id: known.id });
  }

  /** Close for good: no reconnection. */
  close() {
    this.closed = true;
    this.disarm();
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    const socket = this.socket;
    this.socket = null;
    this.up = false;
    socket?.close();
  }

  // --- internals --------------------------------------------------------------------------

  newId() {
    const id = `sub-${this.nextId}-${Math.floor(this.random() * 1e9).toString(36)}`;
    this.nextId += 1;
    return id;
  }

  /** @param {object} message */
  send(message) {
    if (this.socket && this.socket.readyState === 1) this.socket.send(JSON.stringify(message));
  }

  /** @param {string} channel @param {string} id */
  sendSubscribe(channel, id) {
    this.send({ type: 'subscribe', id, channel, authorization: this.authorization ?? {} });
  }

  /** @param {string} raw */
  receive(raw) {
    /** @type {any} */
    let message;
    try {
      message = JSON.parse(raw);
    } catch {
      return; // not this protocol: ignore rather than drop the link
    }
    switch (message?.type) {
      case 'connection_ack': {
        const timeout = Number(message.connectionTimeoutMs);
        this.connectionTimeoutMs = timeout > 0 ? timeout : DEFAULT_CONNECTION_TIMEOUT_MS;
        this.arm(this.connectionTimeoutMs);
        this.attempt = 0;
        this.up = true;
        // A reconnection gets fresh subscription ids: the old ones died with the old socket.
        for (const [channel, subscription] of this.channels) {
          subscription.id = this.newId();
          subscription.acknowledged = false;
          this.sendSubscribe(channel, subscription.id);
        }
        const reconnected = this.everUp;
        this.everUp = true;
        this.onStatus({ up: true, reconnected });
        break;
      }
      case 'ka':
        this.arm(this.connectionTimeoutMs);
        break;
      case 'subscribe_success':
        for (const subscription of this.channels.values()) {
          if (subscription.id === message.id) subscription.acknowledged = true;
        }
        break;
      case 'data': {
        const channel = this.channelOf(message.id);
        if (channel === undefined || typeof message.event !== 'string') return;
        let event;
        try {
          event = JSON.parse(message.event);
        } catch {
          return;
        }
        this.onEvent(channel, event);
        break;
      }
      default:
        break; // subscribe_error, unsubscribe_success, errors: nothing to act on here
    }
  }

  /** @param {string} id */
  channelOf(id) {
    for (const [channel, subscription] of this.channels) {
      if (subscription.id === id) return channel;
    }
    return undefined;
  }

  /** (Re)start the watchdog: no message for `ms` and the link is closed. @param {number} ms */
  arm(ms) {
    this.disarm();
    this.watchdog = this.timers.setTimeout(() => this.socket?.close(), ms);
  }

  disarm() {
    if (this.watchdog !== null) this.timers.clearTimeout(this.watchdog);
    this.watchdog = null;
  }

  /** @param {WebSocket} socket */
  lost(socket) {
    if (socket !== this.socket) return;
    this.socket = null;
    this.disarm();
    const wasUp = this.up;
    this.up = false;
    if (wasUp) this.onStatus({ up: false, reconnected: false });
    else if (!this.everUp && this.attempt === 0) this.onStatus({ up: false, reconnected: false });
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.closed) return;
    const { baseDelayMs, maxDelayMs } = this.reconnect;
    const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** this.attempt);
    this.attempt += 1;
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      this.start();
    }, this.random() * cap);
  }
}
