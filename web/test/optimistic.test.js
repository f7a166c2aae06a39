// Optimistic updates: shown at once, PUT with If-Match, rolled back and refetched on failure.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { FakeApi, FakeClock, makeTab, recorder } from './helpers.js';

const withoutServerFields = ({ version, updatedAt, ...rest }) => rest;

function setup() {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 10 });
  const { client } = makeTab({ clock, api });
  return { clock, api, client };
}

test('the new value is shown before the server answers, then replaced by its answer', async (t) => {
  const { api, client } = setup();
  t.after(() => client.close());
  const seen = recorder();
  client.watch('/products/p1', seen.listener);
  const loaded = await seen.next();
  let release;
  api.script.push(() => new Promise((resolve) => (release = resolve)).then(() => undefined));
  const pending = seen.next();
  const mutation = client.mutate('/products/p1', (p) => ({ ...p, price: 20 }), {
    body: withoutServerFields,
  });
  const optimistic = await pending;
  assert.equal(optimistic.data.price, 20);
  assert.equal(optimistic.pending, true);
  assert.equal(optimistic.source, 'memory');
  const put = api.requests.at(-1);
  assert.equal(put.method, 'PUT');
  assert.equal(put.headers['if-match'], loaded.etag);
  assert.equal(JSON.parse(put.body).version, undefined, 'server-managed fields stay out');
  release();
  const result = await mutation;
  assert.equal(result.ok, true);
  assert.equal(result.snapshot.version, 2);
  assert.equal(seen.seen.at(-1).data.price, 20);
  assert.equal(seen.seen.at(-1).pending, undefined);
});

test('a 412 rolls back, then fetches the current version with Cache-Control: no-cache', async (t) => {
  const { api, client } = setup();
  t.after(() => client.close());
  const seen = recorder();
  client.watch('/products/p1', seen.listener);
  await seen.next();
  api.write({ ...api.products.get('p1'), price: 15 }); // someone else wrote: our ETag is stale
  const result = await client.mutate('/products/p1', (p) => ({ ...p, price: 20 }), {
    body: withoutServerFields,
  });
  assert.equal(result.ok, false);
  assert.equal(result.status, 412);
  const prices = seen.seen.map((s) => [s.data?.price, s.pending ?? false, s.rolledBack ?? false]);
  assert.deepEqual(prices, [
    [10, false, false], // loaded
    [20, true, false], // optimistic
    [10, false, true], // rolled back
    [15, false, false], // the current version from the server
  ]);
  const refetch = api.requests.at(-1);
  assert.equal(refetch.method, 'GET');
  assert.equal(refetch.headers['cache-control'], 'no-cache');
  assert.equal(result.snapshot.version, 2);
});

for (const [name, failure] of [
  ['a 400', () => new Response('{"error":"bad_request"}', { status: 400 })],
  ['a 503', () => new Response('busy', { status: 503 })],
  [
    'a network error',
    () => {
      throw new TypeError('offline');
    },
  ],
]) {
  test(`${name} on the PUT rolls back too`, async (t) => {
    const { api, client } = setup();
    t.after(() => client.close());
    await client.get('/products/p1');
    api.script.push(failure);
    const result = await client.mutate('/products/p1', (p) => ({ ...p, price: 20 }), {
      body: withoutServerFields,
    });
    assert.equal(result.ok, false);
    assert.equal((await client.get('/products/p1')).data.price, 10);
    assert.equal(api.requests.filter((r) => r.method === 'PUT').length, 1, 'writes are not retried');
  });
}

test('without an ETag there is nothing to make the write conditional on', async (t) => {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 10 });
  api.script.push(() => new Response(JSON.stringify(api.products.get('p1')), { status: 200 }));
  const { client } = makeTab({ clock, api });
  t.after(() => client.close());
  await assert.rejects(client.mutate('/products/p1', (p) => p), { status: 428 });
});

test('after a 412, a server cache still answering the old ETag is asked again until it moves', async (t) => {
  const { clock, api, client } = setup();
  t.after(() => client.close());
  const seen = recorder();
  client.watch('/products/p1', seen.listener);
  const loaded = await seen.next();
  api.write({ ...api.products.get('p1'), price: 15 });
  // A lagging server-side cache: the refetch after the 412 still gets a 304 for version 1.
  api.script.push(undefined, () => new Response(null, { status: 304, headers: { ETag: loaded.etag } }));
  const result = await client.mutate('/products/p1', (p) => ({ ...p, price: 20 }), {
    body: withoutServerFields,
  });
  assert.equal(result.status, 412);
  assert.equal((await client.get('/products/p1')).version, 1);
  const current = seen.next();
  await clock.advance(500); // the retry's backoff: random 0.5 * 1 s
  assert.equal((await current).version, 2);
  assert.equal(seen.seen.at(-1).data.price, 15);
});
