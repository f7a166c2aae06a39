// Freshness from Cache-Control, stale-while-revalidate, dedupe, 304, retries, focus/online.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FakeApi, FakeClock, FakeEventsServer, makeTab, recorder, settle, until } from './helpers.js';

/** A tab; `push: true` connects it to a (fake) events server, so it does not poll. */
function setup({ push = false, ...options } = {}) {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 12.5 });
  const server = new FakeEventsServer();
  const pushOptions = push ? { WebSocket: server.WebSocket, events: { url: 'wss://events.test/event/realtime' } } : {};
  const tab = makeTab({ clock, api, ...pushOptions, ...options });
  return { clock, api, server, ...tab };
}

test('within max-age the entry is served as is, without a request', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  await client.get('/products/p1');
  await clock.advance(59_000);
  const snapshot = await client.get('/products/p1');
  assert.equal(snapshot.stale, false);
  assert.equal(api.requests.length, 1);
});

test('within stale-while-revalidate: served stale at once, one background revalidation', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  await client.get('/products/p1');
  await clock.advance(61_000);
  const results = await Promise.all([1, 2, 3].map(() => client.get('/products/p1')));
  assert.deepEqual(
    results.map((s) => [s.stale, s.source]),
    [[true, 'memory'], [true, 'memory'], [true, 'memory']],
  );
  await settle();
  assert.equal(api.gets('/products/p1').length, 2, 'one revalidation for three reads');
  const fresh = await client.get('/products/p1');
  assert.equal(fresh.stale, false);
});

test('a background revalidation reaches the watchers with the new version', async (t) => {
  const { clock, api, client } = setup({ push: true });
  t.after(() => client.close());
  const seen = recorder();
  client.watch('/products/p1', seen.listener);
  await seen.next();
  await until(() => client.pushUp, 'push up');
  await settle();
  api.write({ ...api.products.get('p1'), price: 99 });
  await clock.advance(61_000);
  const update = seen.next();
  await client.get('/products/p1');
  const snapshot = await update;
  assert.equal(snapshot.data.price, 99);
  assert.equal(snapshot.version, 2);
  assert.equal(snapshot.source, 'network');
});

test('beyond the stale window the read waits for the network', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  await client.get('/products/p1');
  api.write({ ...api.products.get('p1'), price: 7 });
  await clock.advance(361_000);
  const snapshot = await client.get('/products/p1');
  assert.equal(snapshot.data.price, 7);
  assert.equal(snapshot.source, 'network');
});

test('concurrent reads of a cold key share one request', async (t) => {
  const { api, client } = setup();
  t.after(() => client.close());
  const results = await Promise.all(Array.from({ length: 5 }, () => client.get('/products/p1')));
  assert.equal(api.requests.length, 1);
  assert.ok(results.every((s) => s.data.name === 'Tea pot'));
});

test('revalidation sends If-None-Match; a 304 keeps the body and renews its freshness', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  const first = await client.get('/products/p1');
  await clock.advance(400_000);
  const again = await client.get('/products/p1');
  const revalidation = api.gets('/products/p1')[1];
  assert.equal(revalidation.headers['if-none-match'], first.etag);
  assert.equal(revalidation.cache, 'no-store', 'the browser cache must not swallow our 304');
  assert.equal(api.gets('/products/p1')[0].cache, 'no-cache');
  assert.equal(again.revalidated, true);
  assert.deepEqual(again.data, first.data);
  assert.equal(again.source, 'memory');
  await clock.advance(30_000);
  assert.equal((await client.get('/products/p1')).stale, false, 'fresh again after the 304');
  assert.equal(api.requests.length, 2);
});

test('5xx and network errors are retried with jittered backoff', async (t) => {
  const { clock, api, client } = setup({ random: () => 0.5 });
  t.after(() => client.close());
  api.script.push(
    () => new Response('busy', { status: 503 }),
    () => {
      throw new TypeError('network down');
    },
  );
  const reading = client.get('/products/p1');
  await settle();
  assert.deepEqual(clock.delays(), [500], 'random 0.5 * min(30 s, 1 s * 2^0)');
  await clock.advance(500);
  assert.deepEqual(clock.delays(), [1000], 'random 0.5 * 1 s * 2^1');
  await clock.advance(1000);
  const snapshot = await reading;
  assert.equal(snapshot.data.name, 'Tea pot');
  assert.equal(api.requests.length, 3);
});

test('Retry-After is honoured exactly', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  api.script.push(() => new Response('slow down', { status: 429, headers: { 'Retry-After': '3' } }));
  const reading = client.get('/products/p1');
  await settle();
  assert.deepEqual(clock.delays(), [3000]);
  await clock.advance(2999);
  assert.equal(api.requests.length, 1);
  await clock.advance(1);
  await reading;
  assert.equal(api.requests.length, 2);
});

test('a Retry-After beyond what the client waits for gives the error back at once', async (t) => {
  const { api, client } = setup();
  t.after(() => client.close());
  api.script.push(() => new Response('later', { status: 503, headers: { 'Retry-After': '3600' } }));
  await assert.rejects(client.get('/products/p1'), { name: 'HttpError', status: 503 });
  assert.equal(api.requests.length, 1);
});

test('4xx is not retried; after the last retry the error surfaces', async (t) => {
  const { clock, api, client } = setup({ retry: { retries: 1 } });
  t.after(() => client.close());
  api.script.push(() => new Response('no', { status: 400 }));
  await assert.rejects(client.get('/products/p1'), { status: 400 });
  assert.equal(api.requests.length, 1);
  api.script.push(
    () => new Response('x', { status: 500 }),
    () => new Response('x', { status: 500 }),
  );
  const failing = assert.rejects(client.get('/products/p1'), { status: 500 });
  await clock.advance(1000);
  await failing;
  assert.equal(api.requests.length, 3);
});

test('when the network fails, a stored value is served marked stale', async (t) => {
  const { clock, api, client } = setup({ retry: { retries: 0 } });
  t.after(() => client.close());
  await client.get('/products/p1');
  await clock.advance(400_000);
  api.script.push(() => {
    throw new TypeError('offline');
  });
  const snapshot = await client.get('/products/p1');
  assert.equal(snapshot.data.name, 'Tea pot');
  assert.equal(snapshot.stale, true);
  assert.match(String(snapshot.error), /offline/);
});

test('focus revalidates watched entries that are stale, at most once per throttle window', async (t) => {
  const { clock, api, client, events } = setup({ push: true });
  t.after(() => client.close());
  await until(() => client.pushUp, 'push up');
  client.watch('/products/p1', () => {});
  await settle();
  events.dispatchEvent(new Event('focus'));
  await settle();
  assert.equal(api.requests.length, 1, 'fresh: focus does not refetch');
  await clock.advance(61_000);
  events.dispatchEvent(new Event('focus'));
  await settle();
  assert.equal(api.requests.length, 2);
  await clock.advance(1000);
  events.dispatchEvent(new Event('focus'));
  await settle();
  assert.equal(api.requests.length, 2, 'throttled: 5 s between focus revalidations');
});

test('coming back online revalidates every watched entry, throttled', async (t) => {
  const { clock, api, client, events } = setup({ push: true });
  t.after(() => client.close());
  await until(() => client.pushUp, 'push up');
  client.watch('/products/p1', () => {});
  await settle();
  events.dispatchEvent(new Event('online'));
  await settle();
  assert.equal(api.requests.length, 2, 'even a fresh entry: pushes may have been missed');
  events.dispatchEvent(new Event('online'));
  await settle();
  assert.equal(api.requests.length, 2);
  await clock.advance(5000);
  events.dispatchEvent(new Event('online'));
  await settle();
  assert.equal(api.requests.length, 3);
});

test('an answer the HTTP cache gave without the server is fetched again from the server', async (t) => {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 1 });
  const timings = new Map([
    ['https://api.example.test/products/p1', [{ transferSize: 0, encodedBodySize: 120 }]],
  ]);
  const { client } = makeTab({
    clock,
    api,
    performance: { getEntriesByName: (url) => timings.get(url) ?? [] },
  });
  t.after(() => client.close());
  const snapshot = await client.get('/products/p1');
  assert.deepEqual(
    api.gets('/products/p1').map((r) => r.cache),
    ['no-cache', 'no-store'],
  );
  assert.equal(snapshot.source, 'network');
});

test('a 404 removes the entry from every layer and tells the watchers', async (t) => {
  const { clock, api, client } = setup({ push: true });
  t.after(() => client.close());
  const seen = recorder();
  client.watch('/products/p1', seen.listener);
  await seen.next();
  api.products.delete('p1');
  await clock.advance(400_000);
  const gone = seen.next();
  await client.get('/products/p1');
  assert.equal((await gone).status, 404);
  assert.equal(await client.indexeddb.get('/products/p1'), undefined);
});
