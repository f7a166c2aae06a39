// Tabs of one origin: an edit in one shows in the others; one push refetch for all of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { channelForTag } from '../invalidation-channels.js';
import {
  FakeApi,
  FakeClock,
  FakeEventsServer,
  FakeLocks,
  makeProfile,
  makeTab,
  recorder,
  settle,
  until,
} from './helpers.js';

const EVENTS = { url: 'wss://events.test/event/realtime' };

function world() {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 10 });
  return { clock, api, profile: makeProfile(), server: new FakeEventsServer() };
}

test('an edit made in one tab reaches the other tab through BroadcastChannel + IndexedDB', async (t) => {
  const { clock, api, profile } = world();
  const first = makeTab({ clock, api, profile });
  const second = makeTab({ clock, api, profile });
  t.after(() => Promise.all([first.client.close(), second.client.close()]));
  const seen = recorder();
  second.client.watch('/products/p1', seen.listener);
  await seen.next();
  assert.equal((await first.client.get('/products/p1')).source, 'indexeddb');
  const update = seen.next();
  const result = await first.client.mutate('/products/p1', (p) => ({ ...p, price: 42 }), {
    body: ({ version, updatedAt, ...rest }) => rest,
  });
  assert.equal(result.ok, true);
  const shown = await update;
  assert.equal(shown.data.price, 42);
  assert.equal(shown.version, 2);
  assert.equal(shown.source, 'indexeddb', 'read from the shared store, not refetched');
  assert.equal(api.gets('/products/p1').length, 1, 'the second tab fetched; none after the edit');
});

test('a tab never adopts an older version from another tab', async (t) => {
  const { clock, api, profile } = world();
  const tab = makeTab({ clock, api, profile });
  t.after(() => tab.client.close());
  await tab.client.get('/products/p1');
  api.write({ ...api.products.get('p1'), price: 11 });
  await clock.advance(400_000);
  await tab.client.get('/products/p1'); // now holds version 2
  const stale = { ...(await tab.client.indexeddb.get('/products/p1')), version: 1, data: { price: 10 } };
  await tab.client.indexeddb.set(stale);
  await tab.client.onBroadcast({ type: 'stored', key: '/products/p1', layer: 'indexeddb', from: 'other' });
  assert.equal((await tab.client.get('/products/p1')).version, 2);
});

async function pushToTwoTabs({ locks, randoms }) {
  const { clock, api, profile, server } = world();
  const tabs = randoms.map((value) =>
    makeTab({
      clock,
      api,
      profile,
      locks: locks ?? null,
      random: () => value,
      WebSocket: server.WebSocket,
      events: EVENTS,
    }),
  );
  const recorders = tabs.map(() => recorder());
  tabs.forEach((tab, index) => tab.client.watch('/products/p1', recorders[index].listener));
  await until(() => tabs.every((tab) => tab.client.pushUp), 'both tabs connected');
  await until(() => server.open().every((s) => s.subscriptions.size === 1), 'subscribed');
  await settle();
  const before = api.gets('/products/p1').length;
  const written = api.write({ ...api.products.get('p1'), price: 30 });
  const arrivals = recorders.map((r) => r.next());
  server.publish(await channelForTag('product:p1'), {
    type: 'invalidate',
    key: 'product:p1',
    version: written.version,
    at: '2026-12-02T03:00:01.000Z',
  });
  await clock.advance(500); // the fallback's jittered wait is at most 200 ms
  const shown = await Promise.all(arrivals);
  return { api, before, shown, close: () => Promise.all(tabs.map((tab) => tab.client.close())) };
}

test('a push reaches every tab; with Web Locks only one of them refetches', async (t) => {
  const locks = new FakeLocks();
  const { api, before, shown, close } = await pushToTwoTabs({ locks, randoms: [0.5, 0.5] });
  t.after(close);
  assert.equal(api.gets('/products/p1').length - before, 1);
  assert.deepEqual(shown.map((s) => s.version), [2, 2]);
  assert.deepEqual(shown.map((s) => s.source).sort(), ['indexeddb', 'push']);
  assert.ok(locks.grants.length >= 2, 'both tabs went through the lock');
});

test('without navigator.locks, a jittered wait lets one tab refetch for both', async (t) => {
  const { api, before, shown, close } = await pushToTwoTabs({ locks: null, randoms: [0.1, 0.9] });
  t.after(close);
  assert.equal(api.gets('/products/p1').length - before, 1);
  assert.deepEqual(shown.map((s) => s.data.price), [30, 30]);
});
