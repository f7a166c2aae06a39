// The storefront page: products by category, a product's detail, an optimistic price edit.
// Everything it shows comes through the cache client; each product element says where its
// data came from (data-source), which version it is (data-version) and whether the server
// just confirmed a stored copy (data-revalidated="304").

import { createCacheClient } from './cache-client.js';

const LIST_LIMIT = 24;
const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {import('./cache-client.js').CacheClient} */
let client;
/** @type {{api_url: string, events_url?: string | null, events_authorization?: Record<string, string> | null, categories?: string[], cache_version?: string}} */
let config;
let stopWatching = () => {};
/** @type {string | null} the product the detail view shows */
let currentProductId = null;
/** @type {string | null} the ETag the current view was rendered from */
let renderedEtag = null;

async function main() {
  const response = await fetch('./config.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`config.json answered HTTP ${response.status}`);
  config = await response.json();
  client = createCacheClient({
    baseUrl: config.api_url,
    cacheVersion: config.cache_version ?? '1',
    // On AWS the Event API wants its authorization (an API key by default) with every
    // connection and subscription; the local events server takes none.
    events: config.events_url
      ? { url: config.events_url, authorization: config.events_authorization ?? undefined }
      : null,
    onPushStatus: ({ up }) => showPushStatus(up ? 'up' : 'down'),
  });
  showPushStatus(config.events_url ? 'connecting' : 'off');
  renderCategories();
  $('price-form').addEventListener('submit', (event) => {
    event.preventDefault();
    void savePrice();
  });
  window.addEventListener('hashchange', route);
  route();
  if ('serviceWorker' in navigator) {
    navigator.serviceWorker.register('./sw.js').catch((error) => showError(`offline support unavailable: ${error}`));
  }
}

/** @param {'connecting' | 'up' | 'down' | 'off'} state */
function showPushStatus(state) {
  const labels = { connecting: 'connecting', up: 'live (push)', down: 'polling (push down)', off: 'polling' };
  const element = $('push-status');
  element.dataset.state = state;
  element.textContent = labels[state];
}

/** @param {string} message */
function showError(message) {
  const element = $('error');
  element.textContent = message;
  element.hidden = !message;
}

function categories() {
  return config.categories && config.categories.length > 0 ? config.categories : ['books'];
}

function renderCategories() {
  const nav = $('categories');
  nav.replaceChildren(
    ...categories().map((category) => {
      const link = document.createElement('a');
      link.href = `#/category/${encodeURIComponent(category)}`;
      link.textContent = category;
      link.dataset.category = category;
      return link;
    }),
  );
}

function route() {
  stopWatching();
  renderedEtag = null;
  showError('');
  const product = /^#\/products\/([^/]+)$/.exec(location.hash);
  if (product) {
    showDetail(decodeURIComponent(product[1]));
    return;
  }
  const chosen = /^#\/category\/(.+)$/.exec(location.hash);
  const remembered = client.getPreference('category');
  const category = chosen ? decodeURIComponent(chosen[1]) : remembered ?? categories()[0];
  showList(category);
}

/** @param {string} category */
function showList(category) {
  client.setPreference('category', category); // localStorage: the next visit opens it again
  $('detail-view').hidden = true;
  $('list-view').hidden = false;
  $('list-title').textContent = category;
  for (const link of $('categories').querySelectorAll('a')) {
    if (link instanceof HTMLElement && link.dataset.category === category) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  const path = `/products?category=${encodeURIComponent(category)}&limit=${LIST_LIMIT}`;
  stopWatching = client.watch(path, renderList);
}

/** @param {import('./cache-client.js').Snapshot} snapshot */
function renderList(snapshot) {
  if (snapshot.error && snapshot.data === null) {
    showError(`could not load the products: ${snapshot.error.message}`);
    return;
  }
  const list = $('products');
  if (snapshot.revalidated && snapshot.etag === renderedEtag) {
    markRevalidated(list);
    return;
  }
  renderedEtag = snapshot.etag;
  const page = /** @type {{items: any[]}} */ (snapshot.data ?? { items: [] });
  list.replaceChildren(...page.items.map((product) => productElement(product, snapshot, 'li')));
  list.dataset.source = snapshot.source;
  $('list-meta').textContent = `${page.items.length} products, from ${snapshot.source}${snapshot.stale ? ' (stale, revalidating)' : ''}`;
}

/** @param {string} productId */
function showDetail(productId) {
  currentProductId = productId;
  $('list-view').hidden = true;
  $('detail-view').hidden = false;
  $('edit-status').textContent = '';
  stopWatching = client.watch(`/products/${encodeURIComponent(productId)}`, renderDetail);
}

/** @param {import('./cache-client.js').Snapshot} snapshot */
function renderDetail(snapshot) {
  const detail = $('detail');
  if (snapshot.status === 404) {
    detail.replaceChildren(Object.assign(document.createElement('p'), { textContent: 'This product no longer exists.' }));
    return;
  }
  if (snapshot.data === null) {
    showError(`could not load the product: ${snapshot.error?.message ?? 'unknown error'}`);
    return;
  }
  if (snapshot.revalidated && snapshot.etag === renderedEtag && !snapshot.pending) {
    markRevalidated(detail);
    return;
  }
  renderedEtag = snapshot.pending ? null : snapshot.etag;
  const product = /** @type {any} */ (snapshot.data);
  detail.replaceChildren(productElement(product, snapshot, 'article'));
  const input = /** @type {HTMLInputElement} */ ($('price-input'));
  if (document.activeElement !== input) input.value = String(product.price);
}

/** The stored copy on screen was just confirmed by the server (a 304): say so, keep the rest. */
function markRevalidated(/** @type {HTMLElement} */ container) {
  for (const element of container.querySelectorAll('.product')) {
    if (!(element instanceof HTMLElement)) continue;
    element.dataset.revalidated = '304';
    delete element.dataset.stale;
  }
  if (container.id === 'products') {
    const meta = $('list-meta');
    meta.textContent = meta.textContent.replace(' (stale, revalidating)', '') + ', confirmed by the server (304)';
  }
}

/**
 * @param {any} product
 * @param {import('./cache-client.js').Snapshot} snapshot
 * @param {'li' | 'article'} tag
 */
function productElement(product, snapshot, tag) {
  const element = document.createElement(tag);
  element.className = 'product';
  element.dataset.productId = product.productId;
  element.dataset.version = String(product.version);
  element.dataset.source = snapshot.source;
  if (snapshot.stale) element.dataset.stale = 'true';
  if (snapshot.pending) element.dataset.pending = 'true';
  const name = document.createElement(tag === 'li' ? 'a' : 'h2');
  name.textContent = product.name;
  if (name instanceof HTMLAnchorElement) name.href = `#/products/${encodeURIComponent(product.productId)}`;
  const price = document.createElement('div');
  price.className = 'price';
  price.textContent = `$${Number(product.price).toFixed(2)}`;
  const meta = document.createElement('small');
  meta.textContent = `v${product.version} · ${product.category} · from ${snapshot.source}`;
  element.append(name, price, meta);
  if (tag === 'article' && product.description) {
    element.append(Object.assign(document.createElement('p'), { textContent: product.description }));
  }
  return element;
}

async function savePrice() {
  if (currentProductId === null) return;
  const input = /** @type {HTMLInputElement} */ ($('price-input'));
  const price = Number(input.value);
  const status = $('edit-status');
  status.textContent = 'saving…';
  status.dataset.state = 'pending';
  input.blur();
  // The PUT body is the product without the fields the server manages.
  const result = await client.mutate(`/products/${encodeURIComponent(currentProductId)}`, (product) => ({ ...product, price }), {
    body: ({ version, updatedAt, ...rest }) => rest,
  });
  if (result.ok) {
    status.textContent = `saved: version ${result.snapshot.version}`;
    status.dataset.state = 'saved';
  } else {
    status.textContent = `not saved (HTTP ${result.status || 'network error'}): showing the current version ${result.snapshot.version}`;
    status.dataset.state = 'rolled-back';
  }
}

main().catch((error) => showError(`the page could not start: ${error.message}`));
