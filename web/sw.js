// The storefront's service worker: usable offline. Content-hashed assets are cache-first
// (their bytes never change under a name); the HTML shell and config.json are network-first
// with the cached copy as the fallback. API requests are not touched: the cache client owns
// their caching, and a service worker answer would make `data-source` lie.

const SHELL_CACHE = 'storefront-shell';
const ASSET_CACHE = 'storefront-assets';
const HASHED = /\.[0-9a-f]{12}\.(?:js|css)$/;
const SHELL_PATHS = new Set(['/', '/index.html', '/config.json']);

async function manifest() {
  const response = await fetch('./asset-manifest.json', { cache: 'no-cache' });
  if (!response.ok) throw new Error(`asset-manifest.json: HTTP ${response.status}`);
  return response.json();
}

self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const { assets, shell } = await manifest();
      await (await caches.open(ASSET_CACHE)).addAll(assets);
      await (await caches.open(SHELL_CACHE)).addAll(shell);
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      // Keep only the assets of the current build: old hashed names are never asked again.
      const { assets } = await manifest().catch(() => ({ assets: null }));
      if (assets) {
        const wanted = new Set(assets.map((path) => new URL(path, self.location.href).href));
        const cache = await caches.open(ASSET_CACHE);
        for (const request of await cache.keys()) {
          if (!wanted.has(request.url)) await cache.delete(request);
        }
      }
      await self.clients.claim();
    })(),
  );
});

async function cacheFirst(request) {
  const cache = await caches.open(ASSET_CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) await cache.put(request, response.clone());
  return response;
}

async function networkFirst(request, path) {
  const cache = await caches.open(SHELL_CACHE);
  const key = path === '/index.html' ? '/' : path;
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (error) {
    const cached = await cache.match(key);
    if (cached) return cached;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (HASHED.test(url.pathname)) {
    event.respondWith(cacheFirst(request));
  } else if (request.mode === 'navigate' || SHELL_PATHS.has(url.pathname)) {
    event.respondWith(networkFirst(request, request.mode === 'navigate' ? '/' : url.pathname));
  }
});
