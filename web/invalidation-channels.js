// The push-invalidation contract, browser side: keys, tags and channel names.
// Its Python twins are cache_constructs/contract/push.py (segments, message, publish) and
// cache_constructs/product/push.py (the product's channels); web/test/channel-vectors.json holds
// the vectors both are tested against. docs/client.md ("The push channel") explains the encoding.

/** The AppSync Events channel namespace the invalidations are published in. */
export const NAMESPACE = 'invalidations';
const SEGMENT_HEX_DIGITS = 32;
const PRODUCT_ID = /^[A-Za-z0-9_-]{1,64}$/;
const CATEGORY = /^[A-Za-z0-9 _-]{1,64}$/;

/**
 * The channel segment standing for an id: the first 32 hex digits of SHA-256(UTF-8 id).
 * AppSync segments allow only [A-Za-z0-9-] and 50 characters; ids may hold `_`, spaces, 64.
 * @param {string} value
 * @param {SubtleCrypto} [subtle] injected in tests; the platform's by default
 * @returns {Promise<string>}
 */
export async function channelSegment(value, subtle = globalThis.crypto.subtle) {
  const digest = await subtle.digest('SHA-256', new TextEncoder().encode(value));
  return Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0'))
    .join('')
    .slice(0, SEGMENT_HEX_DIGITS);
}

/**
 * The channel a tag's invalidations are published to.
 * @param {string} tag `product:<id>` or `category:<name>`
 * @param {{namespace?: string, subtle?: SubtleCrypto}} [options]
 * @returns {Promise<string>}
 */
export async function channelForTag(tag, { namespace = NAMESPACE, subtle } = {}) {
  const { kind, value } = parseTag(tag);
  return `/${namespace}/${kind}/${await channelSegment(value, subtle)}`;
}

/**
 * @param {string} tag
 * @returns {{kind: 'product' | 'category', value: string}}
 */
export function parseTag(tag) {
  const separator = tag.indexOf(':');
  const kind = tag.slice(0, separator);
  const value = tag.slice(separator + 1);
  if (kind === 'product' && PRODUCT_ID.test(value)) return { kind, value };
  if (kind === 'category' && CATEGORY.test(value)) return { kind, value };
  throw new RangeError(`not an invalidation tag: ${JSON.stringify(tag).slice(0, 80)}`);
}

/**
 * The tags of a product API path: what push invalidations of this entry are named by.
 * `/products/{id}` -> [`product:<id>`]; `/products?category=C...` -> [`category:C`].
 * @param {string} path a path with its query, relative to the API root
 * @returns {string[]}
 */
export function productApiTags(path) {
  const url = new URL(path, 'http://api.invalid');
  const item = /^\/products\/([^/]+)$/.exec(url.pathname);
  if (item) {
    const id = decodeURIComponent(item[1]);
    return PRODUCT_ID.test(id) ? [`product:${id}`] : [];
  }
  if (url.pathname === '/products') {
    const category = url.searchParams.get('category');
    return category !== null && CATEGORY.test(category) ? [`category:${category}`] : [];
  }
  return [];
}
