// The storage layers of web/cache-client.js: memory (LRU), Web Storage (session and local)
// and IndexedDB. Each stores whole entries (see CacheEntry in cache-client.js) by key and
// knows nothing of HTTP; the client decides what goes where.

/**
 * @typedef {import('./cache-client.js').CacheEntry} CacheEntry
 */

/** In-memory entries with a cap: the least recently used entry goes first. */
export class MemoryLayer {
  /** @param {number} maxEntries */
  constructor(maxEntries) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError(`maxEntries must be an integer >= 1; got ${maxEntries}`);
    }
    this.maxEntries = maxEntries;
    /** @type {Map<string, CacheEntry>} insertion order is recency order */
    this.entries = new Map();
  }

  /** @param {string} key */
  get(key) {
    const entry = this.entries.get(key);
    if (entry !== undefined) {
      this.entries.delete(key); // re-insert: now the most recently used
      this.entries.set(key, entry);
    }
    return entry;
  }

  /** @param {string} key */
  peek(key) {
    return this.entries.get(key);
  }

  /** @param {CacheEntry} entry */
  set(entry) {
    this.entries.delete(entry.key);
    this.entries.set(entry.key, entry);
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  /** @param {string} key */
  delete(key) {
    this.entries.delete(key);
  }

  values() {
    return [...this.entries.values()];
  }

  get size() {
    return this.entries.size;
  }
}

/**
 * A stored value is a cache entry (not a preference stored under the same prefix).
 * @param {unknown} value @returns {value is CacheEntry}
 */
function isEntry(value) {
  const entry = /** @type {any} */ (value);
  return typeof entry?.key === 'string' && Array.isArray(entry?.tags);
}

/** sessionStorage or localStorage: JSON entries under a prefix; a full quota is not fatal. */
export class WebStorageLayer {
  /**
   * @param {Storage | undefined} storage
   * @param {string} prefix
   */
  constructor(storage, prefix) {
    this.storage = storage;
    this.prefix = prefix;
  }

  get available() {
    return this.storage !== undefined && this.storage !== null;
  }

  /** @param {string} key @returns {CacheEntry | undefined} */
  get(key) {
    if (!this.available) return undefined;
    const raw = this.storage?.getItem(this.prefix + key);
    if (raw === null || raw === undefined) return undefined;
    try {
      return JSON.parse(raw);
    } catch {
      this.delete(key); // a corrupt value is a miss, not an error
      return undefined;
    }
  }

  /** @param {CacheEntry} entry @returns {boolean} false when the quota refused it */
  set(entry) {
    if (!this.available) return false;
    try {
      this.storage?.setItem(this.prefix + entry.key, JSON.stringify(entry));
      return true;
    } catch {
      return false; // QuotaExceededError: the entry stays in memory only
    }
  }

  /** @param {string} key */
  delete(key) {
    this.storage?.removeItem(this.prefix + key);
  }

  /** @returns {CacheEntry[]} the cache entries only (preferences share the prefix) */
  values() {
    if (!this.available || !this.storage) return [];
    /** @type {CacheEntry[]} */
    const found = [];
    for (let index = 0; index < this.storage.length; index += 1) {
      const name = this.storage.key(index);
      if (name === null || !name.startsWith(this.prefix)) continue;
      const entry = this.get(name.slice(this.prefix.length));
      if (isEntry(entry)) found.push(entry);
    }
    return found;
  }
}

const ENTRIES = 'entries';
const META = 'meta';

/**
 * Entries in IndexedDB, shared by every tab of the origin. A version buster (`cacheVersion`)
 * empties the store when it changes; at most `maxEntries` are kept (the oldest stored go).
 * Every method resolves (never rejects): an unavailable or broken database is a miss.
 */
export class IndexedDbLayer {
  /**
   * @param {IDBFactory | undefined} indexedDB
   * @param {{dbName: string, cacheVersion: string, maxEntries: number}} options
   */
  constructor(indexedDB, { dbName, cacheVersion, maxEntries }) {
    this.indexedDB = indexedDB;
    this.dbName = dbName;
    this.cacheVersion = cacheVersion;
    this.maxEntries = maxEntries;
    /** @type {Promise<IDBDatabase | null> | null} */
    this.opening = null;
  }

  /** @returns {Promise<IDBDatabase | null>} */
  open() {
    if (this.opening === null) this.opening = this.openAndBust();
    return this.opening;
  }

  async openAndBust() {
    if (!this.indexedDB) return null;
    try {
      const db = await new Promise((resolve, reject) => {
        const request = this.indexedDB?.open(this.dbName, 1);
        if (!request) return reject(new Error('no indexedDB'));
        request.onupgradeneeded = () => {
          const store = request.result.createObjectStore(ENTRIES, { keyPath: 'key' });
          store.createIndex('tags', 'tags', { multiEntry: true });
          store.createIndex('storedAt', 'storedAt');
          request.result.createObjectStore(META);
        };
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
        request.onblocked = () => reject(new Error('indexedDB open blocked'));
      });
      const stored = await this.request(db, META, 'readonly', (s) => s.get('cacheVersion'));
      if (stored !== this.cacheVersion) {
        // The buster: entries written under another cache version are never served.
        await this.request(db, ENTRIES, 'readwrite', (s) => s.clear());
        await this.request(db, META, 'readwrite', (s) => s.put(this.cacheVersion, 'cacheVersion'));
      }
      return db;
    } catch {
      return null;
    }
  }

  /**
   * @template T
   * @param {IDBDatabase} db
   * @param {string} storeName
   * @param {IDBTransactionMode} mode
   * @param {(store: IDBObjectStore) => IDBRequest<T>} operation
   * @returns {Promise<T>}
   */
  request(db, storeName, mode, operation) {
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(storeName, mode);
      const request = operation(transaction.objectStore(storeName));
      transaction.oncomplete = () => resolve(request.result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error);
    });
  }

  /** @param {string} key @returns {Promise<CacheEntry | undefined>} */
  async get(key) {
    const db = await this.open();
    if (!db) return undefined;
    try {
      const entry = await this.request(db, ENTRIES, 'readonly', (s) => s.get(key));
      return entry && entry.cacheVersion === this.cacheVersion ? entry : undefined;
    } catch {
      return undefined;
    }
  }

  /** @param {CacheEntry} entry @returns {Promise<boolean>} */
  async set(entry) {
    const db = await this.open();
    if (!db) return false;
    try {
      await this.request(db, ENTRIES, 'readwrite', (s) => s.put(entry));
      await this.prune(db);
      return true;
    } catch {
      return false;
    }
  }

  /** @param {string} key */
  async delete(key) {
    const db = await this.open();
    if (!db) return;
    try {
      await this.request(db, ENTRIES, 'readwrite', (s) => s.delete(key));
    } catch {
      // nothing to undo
    }
  }

  /** @param {string} tag @returns {Promise<CacheEntry[]>} */
  async byTag(tag) {
    const db = await this.open();
    if (!db) return [];
    try {
      return await this.request(db, ENTRIES, 'readonly', (s) => s.index('tags').getAll(tag));
    } catch {
      return [];
    }
  }

  /** Drop the oldest-stored entries beyond the cap. @param {IDBDatabase} db */
  async prune(db) {
    const count = await this.request(db, ENTRIES, 'readonly', (s) => s.count());
    let excess = count - this.maxEntries;
    if (excess <= 0) return;
    await new Promise((resolve, reject) => {
      const transaction = db.transaction(ENTRIES, 'readwrite');
      const cursor = transaction.objectStore(ENTRIES).index('storedAt').openCursor();
      cursor.onsuccess = () => {
        const current = cursor.result;
        if (current && excess > 0) {
          current.delete();
          excess -= 1;
          current.continue();
        }
      };
      transaction.oncomplete = () => resolve(undefined);
      transaction.onerror = () => reject(transaction.error);
    });
  }

  async close() {
    const db = await this.open();
    db?.close();
  }
}
