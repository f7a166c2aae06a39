// Cache-Control decides the layer and the freshness; Retry-After and backoff decide waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { layerFor, parseCacheControl, retryDelayMs } from '../cache-client.js';

test('the API policies parse into max-age and stale-while-revalidate', () => {
  assert.deepEqual(parseCacheControl('public, max-age=60, stale-while-revalidate=300'), {
    noStore: false,
    noCache: false,
    isPrivate: false,
    isPublic: true,
    maxAge: 60,
    swr: 300,
  });
  const list = parseCacheControl('public, max-age=5, stale-while-revalidate=30');
  assert.equal(list.maxAge, 5);
  assert.equal(list.swr, 30);
});

test('a missing or malformed max-age is not a lifetime', () => {
  assert.equal(parseCacheControl(null).maxAge, null);
  assert.equal(parseCacheControl('max-age=abc').maxAge, null);
  assert.equal(parseCacheControl('max-age=-5').maxAge, null);
  assert.equal(parseCacheControl('MAX-AGE="7"').maxAge, 7);
});

test('each data class lands in its layer', () => {
  const cases = [
    ['public, max-age=60, stale-while-revalidate=300', 400, 'indexeddb'], // catalog item
    ['public, max-age=5, stale-while-revalidate=30', 40_000, 'indexeddb'], // list page
    ['private, max-age=600', 300, 'session'], // a user's session data: this tab only
    ['private, max-age=31536000', 200, 'local'], // a small, long-lived preference
    ['private, max-age=31536000', 10_000, 'session'], // too large for a preference
    ['no-cache', 100, 'memory'], // real-time: revalidated on every use
    ['public, max-age=0', 100, 'memory'],
    ['no-store', 100, 'none'], // critical or a write's answer: never kept
    ['no-cache', 100, 'memory'], // the default for responses without Cache-Control
  ];
  for (const [header, bytes, layer] of cases) {
    assert.equal(layerFor(parseCacheControl(header), bytes), layer, header);
  }
});

test('backoff is full jitter under an exponential cap', () => {
  const policy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };
  assert.equal(retryDelayMs(0, policy, () => 0.5, null, 0), 500);
  assert.equal(retryDelayMs(3, policy, () => 0.5, null, 0), 4000);
  assert.equal(retryDelayMs(10, policy, () => 0.999, null, 0), 29_970);
  assert.equal(retryDelayMs(2, policy, () => 0, null, 0), 0);
});

test('Retry-After wins over backoff, in seconds or as an HTTP date', () => {
  const policy = { retries: 3, baseDelayMs: 1000, maxDelayMs: 30_000, maxRetryAfterMs: 60_000 };
  assert.equal(retryDelayMs(0, policy, () => 0.5, '7', 0), 7000);
  const now = Date.UTC(2026, 11, 2, 3, 0, 0);
  assert.equal(retryDelayMs(0, policy, () => 0.5, 'Wed, 02 Dec 2026 03:00:12 GMT', now), 12_000);
  assert.equal(retryDelayMs(0, policy, () => 0.5, 'Wed, 02 Dec 2026 02:00:00 GMT', now), 0);
  assert.equal(retryDelayMs(1, policy, () => 0.5, 'soon', 0), 1000); // unparseable: backoff
});
