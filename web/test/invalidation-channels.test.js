// The browser's channel names match the Python publisher's (shared vectors).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { channelForTag, channelSegment, parseTag, productApiTags } from '../invalidation-channels.js';

const vectors = JSON.parse(readFileSync(new URL('./channel-vectors.json', import.meta.url), 'utf8'));

test('product and category channels match the vectors the publisher is tested against', async () => {
  for (const { id, channel } of vectors.products) {
    assert.equal(await channelForTag(`product:${id}`), channel);
  }
  for (const { name, channel } of vectors.categories) {
    assert.equal(await channelForTag(`category:${name}`), channel);
  }
});

test('a segment is 32 hex digits, whatever the id holds', async () => {
  assert.equal(await channelSegment('p1'), 'f64551fcd6f07823cb87971cfb914464');
  assert.match(await channelSegment('with space_and-64'.padEnd(64, 'x')), /^[0-9a-f]{32}$/);
});

test('paths of the product API carry their invalidation tags', () => {
  assert.deepEqual(productApiTags('/products/p1'), ['product:p1']);
  assert.deepEqual(productApiTags('/products?category=home%20garden&limit=20'), ['category:home garden']);
  assert.deepEqual(productApiTags('/products?limit=20'), []);
  assert.deepEqual(productApiTags('/products/bad%20id'), []);
  assert.deepEqual(productApiTags('/elsewhere'), []);
});

test('only product and category tags name channels', () => {
  assert.deepEqual(parseTag('category:a b'), { kind: 'category', value: 'a b' });
  assert.throws(() => parseTag('user:1'), RangeError);
  assert.throws(() => parseTag('product:has space'), RangeError);
});
