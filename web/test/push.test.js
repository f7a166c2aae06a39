// The push channel (AppSync Events protocol) and what the client does with invalidations.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { channelForTag } from '../invalidation-channels.js';
import { PushChannel } from '../push-channel.js';
import { FakeApi, FakeClock, FakeEventsServer, makeTab, recorder, settle, until } from './helpers.js';

const EVENTS = { url: 'wss://events.test/event/realtime' };
const AT = '2026-12-02T03:00:01.000Z';

function channelClient(server, clock, extra = {}) {
  const events = [];
  const statuses = [];
  const channel = new PushChannel({
    url: EVENTS.url,
    WebSocket: server.WebSocket,
    timers: clock.timers,
    random: () => 0.5,
    onEvent: (name, event) => events.push([name, event]),
    onStatus: (status) => statuses.push(status),
    ...extra,
  });
  return { channel, events, statuses };
}

test('the socket speaks aws-appsync-event-ws: init, subscribe with id and channel, data', async (t) => {
  const clock = new FakeClock();
  const server = new FakeEventsServer();
  const { channel, events, statuses } = channelClient(server, clock, {
    authorization: { host: 'example.appsync-api.us-east-1.amazonaws.com', 'x-api-key': 'da2-k' },
  });
  t.after(() => channel.close());
  channel.subscribe('/invalidations/product/abc');
  channel.start();
  await until(() => statuses.length === 1, 'connected');
  const [socket] = server.sockets;
  assert.equal(socket.protocols[0], 'aws-appsync-event-ws');
  const header = JSON.parse(Buffer.from(socket.protocols[1].slice('header-'.length), 'base64url'));
  assert.equal(header['x-api-key'], 'da2-k');
  assert.deepEqual(server.received[0], { type: 'connection_init' });
  const subscribe = server.received[1];
  assert.equal(subscribe.type, 'subscribe');
  assert.equal(subscribe.channel, '/invalidations/product/abc');
  assert.match(subscribe.id, /^[A-Za-z0-9_+-]{1,128}$/);
  assert.equal(subscribe.authorization.host, header.host);
  assert.deepEqual(statuses, [{ up: true, reconnected: false }]);

  server.publish('/invalidations/product/abc', { type: 'invalidate', key: 'product:x' });
  assert.deepEqual(events, [['/invalidations/product/abc', { type: 'invalidate', key: 'product:x' }]]);
  channel.subscribe('/invalidations/product/abc'); // a second reference
  channel.unsubscribe('/invalidations/product/abc');
  assert.equal(server.received.filter((m) => m.type === 'unsubscribe').length, 0);
  channel.unsubscribe('/invalidations/product/abc');
  assert.deepEqual(server.received.at(-1), { type: 'unsubscribe', id: subscribe.id });
});

test('no ka within connectionTimeoutMs: the link is closed and reopened with backoff', async (t) => {
  const clock = new FakeClock();
  const server = new FakeEventsServer();
  const { channel, statuses } = channelClient(server, clock);
  t.after(() => channel.close());
  channel.subscribe('/invalidations/product/abc');
  channel.start();
  await until(() => statuses.length === 1, 'connected');
  await clock.advance(299_000);
  server.sockets[0].deliver({ type: 'ka' }); // keeps it alive for another 300 s
  await clock.advance(299_000);
  assert.equal(server.open().length, 1);
  await clock.advance(1000);
  await until(() => statuses.length === 2, 'down');
  assert.deepEqual(statuses[1], { up: false, reconnected: false });
  assert.deepEqual(clock.delays().slice(0, 1), [500], 'random 0.5 * 1 s');
  await clock.advance(500);
  await until(() => statuses.length === 3, 'up again');
  assert.deepEqual(statuses[2], { up: true, reconnected: true });
  const subscribes = server.received.filter((m) => m.type === 'subscribe');
  assert.equal(subscribes.length, 2);
  assert.notEqual(subscribes[0].id, subscribes[1].id, 'a new socket, new subscription ids');
});

test('a server that never acknowledges is given up on after the ack timeout', async (t) => {
  const clock = new FakeClock();
  const server = new FakeEventsServer();
  server.handle = () => {}; // swallows connection_init
  const { channel } = channelClient(server, clock, { ackTimeoutMs: 15_000 });
  t.after(() => channel.close());
  channel.start();
  await settle();
  await clock.advance(14_999);
  assert.equal(server.open().length, 1);
  await clock.advance(1);
  await settle();
  assert.equal(server.open().length, 0);
});

function pushWorld() {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 10 });
  const server = new FakeEventsServer();
  const tab = makeTab({ clock, api, WebSocket: server.WebSocket, events: EVENTS });
  return { clock, api, server, ...tab };
}

async function connectedWatch(world, path) {
  const seen = recorder();
  world.client.watch(path, seen.listener);
  await until(() => world.client.pushUp, 'push up');
  await until(() => world.server.open()[0]?.subscriptions.size > 0, 'subscribed');
  await settle();
  return seen;
}

test('an invalidation with a newer version is fetched at once and shown as push', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  const seen = await connectedWatch(world, '/products/p1');
  const written = world.api.write({ ...world.api.products.get('p1'), price: 11 });
  const update = seen.next();
  world.server.publish(await channelForTag('product:p1'), {
    type: 'invalidate',
    key: 'product:p1',
    version: written.version,
    at: AT,
  });
  await world.clock.advance(200); // without navigator.locks: the jittered wait (random 0.5 * 200 ms)
  const snapshot = await update;
  assert.equal(snapshot.source, 'push');
  assert.equal(snapshot.version, 2);
  assert.equal(snapshot.data.price, 11);
});

test('a stored preference does not break an invalidation (it shares the storage prefix)', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  world.client.setPreference('category', 'kitchen'); // localStorage, beside the cache entries
  const seen = await connectedWatch(world, '/products/p1');
  const written = world.api.write({ ...world.api.products.get('p1'), price: 12 });
  const update = seen.next();
  world.server.publish(await channelForTag('product:p1'), {
    type: 'invalidate',
    key: 'product:p1',
    version: written.version,
    at: AT,
  });
  await world.clock.advance(200);
  const snapshot = await update;
  assert.equal(snapshot.source, 'push');
  assert.equal(snapshot.data.price, 12);
  assert.equal(world.client.getPreference('category'), 'kitchen');
});

test('an invalidation for a version already held (or older) changes nothing', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  await connectedWatch(world, '/products/p1');
  const before = world.api.requests.length;
  const channel = await channelForTag('product:p1');
  world.server.publish(channel, { type: 'invalidate', key: 'product:p1', version: 1, at: AT });
  await settle();
  assert.equal(world.api.requests.length, before);
  assert.equal((await world.client.get('/products/p1')).stale, false);
});

test('a response older than the version held is never applied', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  await world.client.get('/products/p1');
  let release;
  const slowV1 = new Response(JSON.stringify(world.api.products.get('p1')), {
    status: 200,
    headers: { ETag: '"old"', 'Cache-Control': 'public, max-age=60' },
  });
  world.api.script.push(() => new Promise((resolve) => (release = () => resolve(slowV1))));
  const slow = world.client.revalidate('/products/p1', 'network');
  world.client.inflight.delete('/products/p1'); // a second, independent request
  world.api.write({ ...world.api.products.get('p1'), price: 12 });
  await world.client.revalidate('/products/p1', 'network');
  release();
  await slow;
  const held = await world.client.get('/products/p1');
  assert.equal(held.version, 2);
  assert.equal(held.data.price, 12);
});

test('a list answer from an earlier request does not overwrite a later one', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  const path = '/products?category=kitchen';
  await world.client.get(path);
  let release;
  const earlier = new Response(JSON.stringify({ items: [], nextCursor: null }), {
    status: 200,
    headers: { ETag: '"earlier"', 'Cache-Control': 'public, max-age=5' },
  });
  world.api.script.push(() => new Promise((resolve) => (release = () => resolve(earlier))));
  const slow = world.client.revalidate(path, 'network');
  world.client.inflight.delete(path);
  await world.clock.advance(10);
  world.api.write({ productId: 'p2', name: 'Cup', category: 'kitchen', price: 3 });
  await world.client.revalidate(path, 'network');
  release();
  await slow;
  assert.equal((await world.client.get(path)).data.items.length, 2);
});

test('a refetch that returns less than the pushed version is retried until it arrives', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  const seen = await connectedWatch(world, '/products/p1');
  const lagging = world.api.products.get('p1');
  const next = { ...lagging, price: 13, version: 2 };
  // The server-side cache still answers version 1 for the first refetch.
  world.api.script.push(() => world.api.cacheable({ headers: {} }, JSON.stringify(lagging), world.api.itemPolicy));
  world.server.publish(await channelForTag('product:p1'), {
    type: 'invalidate',
    key: 'product:p1',
    version: 2,
    at: AT,
  });
  await world.clock.advance(100); // the jittered wait of the lock fallback
  assert.equal((await world.client.get('/products/p1')).version, 1);
  world.api.products.set('p1', next);
  const update = seen.next();
  await world.clock.advance(1000); // the retry's backoff (random 0.5 * 1 s)
  const snapshot = await update;
  assert.equal(snapshot.version, 2);
  assert.equal(snapshot.source, 'push');
});

test('after a reconnection every watched entry is revalidated, fresh or not', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  await connectedWatch(world, '/products/p1');
  const before = world.api.gets('/products/p1').length;
  world.server.dropAll();
  await until(() => !world.client.pushUp, 'down');
  await world.clock.advance(500);
  await until(() => world.client.pushUp, 'up again');
  await settle();
  const revalidations = world.api.gets('/products/p1').slice(before);
  assert.equal(revalidations.length, 1);
  assert.ok(revalidations[0].headers['if-none-match'], 'conditional: a 304 if nothing changed');
});

test('while push is down, watched entries are polled when they turn stale; not once it is up', async (t) => {
  const world = pushWorld();
  world.server.accepting = false;
  t.after(() => world.client.close());
  world.client.watch('/products/p1', () => {});
  await settle();
  assert.equal(world.api.gets('/products/p1').length, 1);
  await world.clock.advance(60_000); // max-age of the item route
  assert.equal(world.api.gets('/products/p1').length, 2);
  world.server.accepting = true;
  await world.clock.advance(4000); // reconnect backoff
  await until(() => world.client.pushUp, 'up');
  await settle();
  const afterUp = world.api.gets('/products/p1').length;
  await world.clock.advance(120_000);
  assert.equal(world.api.gets('/products/p1').length, afterUp, 'no polling while push is up');
});

test('a category invalidation refetches its watched lists and stales the others', async (t) => {
  const world = pushWorld();
  t.after(() => world.client.close());
  const watched = '/products?category=kitchen&limit=20';
  const unwatched = '/products?category=kitchen&limit=5';
  await world.client.get(unwatched);
  const seen = await connectedWatch(world, watched);
  world.api.write({ productId: 'p2', name: 'Cup', category: 'kitchen', price: 3 });
  const update = seen.next();
  world.server.publish(await channelForTag('category:kitchen'), {
    type: 'invalidate',
    key: 'category:kitchen',
    version: null,
    at: AT,
  });
  await world.clock.advance(100); // the jittered wait of the lock fallback
  assert.equal((await update).data.items.length, 2);
  const other = await world.client.get(unwatched);
  assert.equal(other.stale, true, 'served at once, marked stale, revalidated in the background');
  await settle();
  assert.equal((await world.client.get(unwatched)).data.items.length, 2);
});
