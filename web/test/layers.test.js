// Where entries are kept: one layer per data class, the memory cap, IndexedDB's buster and cap.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { MemoryLayer } from '../cache-layers.js';
import { FakeApi, FakeClock, MemoryStorage, makeProfile, makeTab } from './helpers.js';

function setup() {
  const clock = new FakeClock();
  const api = new FakeApi(clock);
  api.write({ productId: 'p1', name: 'Tea pot', category: 'kitchen', price: 12.5 });
  return { clock, api };
}

test('a public item is kept in memory and IndexedDB; another tab reads it from IndexedDB', async (t) => {
  const { clock, api } = setup();
  const profile = makeProfile();
  const first = makeTab({ clock, api, profile });
  t.after(() => first.client.close());
  assert.equal((await first.client.get('/products/p1')).source, 'network');
  assert.equal((await first.client.get('/products/p1')).source, 'memory');

  const second = makeTab({ clock, api, profile });
  t.after(() => second.client.close());
  const fromDisk = await second.client.get('/products/p1');
  assert.equal(fromDisk.source, 'indexeddb');
  assert.equal(fromDisk.data.name, 'Tea pot');
  assert.equal(api.gets('/products/p1').length, 1);
});

test('a private response lives in the sessionStorage of its tab only', async (t) => {
  const { clock, api } = setup();
  api.itemPolicy = 'private, max-age=600';
  const profile = makeProfile();
  const session = new MemoryStorage();
  const tab = makeTab({ clock, api, profile, sessionStorage: session });
  t.after(() => tab.client.close());
  await tab.client.get('/products/p1');
  assert.equal(session.length, 1);
  assert.equal(profile.localStorage.length, 0);

  const reloaded = makeTab({ clock, api, profile, sessionStorage: session });
  t.after(() => reloaded.client.close());
  assert.equal((await reloaded.client.get('/products/p1')).source, 'session');
  const otherTab = makeTab({ clock, api, profile });
  t.after(() => otherTab.client.close());
  assert.equal((await otherTab.client.get('/products/p1')).source, 'network');
});

test('a small, long-lived private response is a preference: localStorage', async (t) => {
  const { clock, api } = setup();
  api.itemPolicy = 'private, max-age=31536000';
  const profile = makeProfile();
  const tab = makeTab({ clock, api, profile });
  t.after(() => tab.client.close());
  await tab.client.get('/products/p1');
  const other = makeTab({ clock, api, profile });
  t.after(() => other.client.close());
  assert.equal((await other.client.get('/products/p1')).source, 'local');
});

test('no-store is kept nowhere; no Cache-Control means revalidate on every use', async (t) => {
  const { clock, api } = setup();
  api.itemPolicy = 'no-store';
  const tab = makeTab({ clock, api });
  t.after(() => tab.client.close());
  await tab.client.get('/products/p1');
  await tab.client.get('/products/p1');
  assert.equal(api.gets('/products/p1').length, 2);
  assert.equal(api.gets('/products/p1')[1].headers['if-none-match'], undefined);

  api.itemPolicy = null; // the response carries no Cache-Control
  await tab.client.get('/products/p1');
  const again = await tab.client.get('/products/p1');
  const last = api.gets('/products/p1').at(-1);
  assert.ok(last.headers['if-none-match'], 'revalidated with its ETag');
  assert.equal(again.revalidated, true);
});

test('sessionStorage over quota degrades to memory, without an error', async (t) => {
  const { clock, api } = setup();
  api.itemPolicy = 'private, max-age=600';
  const tab = makeTab({ clock, api, sessionStorage: new MemoryStorage({ quotaBytes: 10 }) });
  t.after(() => tab.client.close());
  assert.equal((await tab.client.get('/products/p1')).source, 'network');
  assert.equal((await tab.client.get('/products/p1')).source, 'memory');
});

test('memory holds at most maxEntries, evicting the least recently used', () => {
  const layer = new MemoryLayer(2);
  const entry = (key) => ({ key });
  layer.set(entry('a'));
  layer.set(entry('b'));
  layer.get('a'); // a is now the most recent
  layer.set(entry('c'));
  assert.deepEqual([...layer.entries.keys()], ['a', 'c']);
  assert.throws(() => new MemoryLayer(0), RangeError);
});

test('the client keeps its memory bounded; evicted entries come back from IndexedDB', async (t) => {
  const { clock, api } = setup();
  for (const id of ['p2', 'p3']) api.write({ productId: id, name: id, category: 'kitchen', price: 1 });
  const tab = makeTab({ clock, api, maxEntries: 2 });
  t.after(() => tab.client.close());
  for (const id of ['p1', 'p2', 'p3']) await tab.client.get(`/products/${id}`);
  assert.equal(tab.client.memory.size, 2);
  assert.equal((await tab.client.get('/products/p1')).source, 'indexeddb');
  assert.equal(api.requests.length, 3);
});

test('a new cacheVersion busts IndexedDB: old entries are never served', async (t) => {
  const { clock, api } = setup();
  const profile = makeProfile();
  const v1 = makeTab({ clock, api, profile, cacheVersion: 'v1' });
  await v1.client.get('/products/p1');
  await v1.client.close();
  const v2 = makeTab({ clock, api, profile, cacheVersion: 'v2' });
  t.after(() => v2.client.close());
  assert.equal((await v2.client.get('/products/p1')).source, 'network');
  const v1Again = makeTab({ clock, api, profile, cacheVersion: 'v1' });
  t.after(() => v1Again.client.close());
  // v2 emptied the store when it opened it: v1's entry is gone too.
  assert.equal((await v1Again.client.get('/products/p1')).source, 'network');
});

test('IndexedDB keeps at most maxPersistedEntries, dropping the oldest stored', async (t) => {
  const { clock, api } = setup();
  for (const id of ['p2', 'p3']) api.write({ productId: id, name: id, category: 'kitchen', price: 1 });
  const profile = makeProfile();
  const tab = makeTab({ clock, api, profile, maxPersistedEntries: 2 });
  t.after(() => tab.client.close());
  for (const id of ['p1', 'p2', 'p3']) {
    await tab.client.get(`/products/${id}`);
    await clock.advance(10);
  }
  const reader = makeTab({ clock, api, profile, maxPersistedEntries: 2 });
  t.after(() => reader.client.close());
  assert.equal((await reader.client.get('/products/p1')).source, 'network');
  assert.equal((await reader.client.get('/products/p3')).source, 'indexeddb');
});

test('preferences are small values in localStorage', async (t) => {
  const { clock, api } = setup();
  const profile = makeProfile();
  const tab = makeTab({ clock, api, profile });
  t.after(() => tab.client.close());
  tab.client.setPreference('category', 'books');
  const other = makeTab({ clock, api, profile });
  t.after(() => other.client.close());
  assert.equal(other.client.getPreference('category'), 'books');
  assert.equal(other.client.getPreference('missing'), undefined);
  assert.throws(() => tab.client.setPreference('huge', 'x'.repeat(5000)), RangeError);
});
