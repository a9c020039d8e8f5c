// The only module that touches IndexedDB (house rule). Everything the investigator does is
// written here first, so a killed tab or a flat battery loses nothing.
//
// Stores:
//   kv          settings and session (token, user, device id, download cursor ...)
//   households  the downloaded master records, keyPath id
//   forms       form definitions, keyPath id
//   drafts      surveys being filled, keyPath instance_id
//   media       photo and signature blobs, keyPath key = "<instance_id>/<sha256>"
//   outbox      finished surveys waiting to be sent, keyPath instance_id
//   sent        acknowledged surveys and the server's feedback, keyPath instance_id

const DB_NAME = "ruhu";
const DB_VERSION = 1;
let opening = null;

/** Open (and create or upgrade) the database once per page. */
export function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        db.createObjectStore("kv");
        db.createObjectStore("households", { keyPath: "id" });
        db.createObjectStore("forms", { keyPath: "id" });
        db.createObjectStore("drafts", { keyPath: "instance_id" }).createIndex("household_id", "household_id");
        db.createObjectStore("media", { keyPath: "key" }).createIndex("instance_id", "instance_id");
        db.createObjectStore("outbox", { keyPath: "instance_id" });
        db.createObjectStore("sent", { keyPath: "instance_id" });
      };
      request.onsuccess = () => {
        const db = request.result;
        // Another tab deleting the database (sign-out) must not be blocked by this one.
        db.onversionchange = () => { db.close(); opening = null; };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("database blocked by another tab"));
    });
  }
  return opening;
}

function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/**
 * Run `work(stores)` in one transaction over `names` and resolve with its result once the
 * transaction has committed (so a write is durable before the caller goes on). `stores` maps
 * each name to a small promise API: get, getAll, byIndex, put, delete, clear.
 */
export async function transact(names, mode, work) {
  const db = await open();
  const tx = db.transaction(names, mode, { durability: "strict" });
  const stores = {};
  for (const name of names) {
    const store = tx.objectStore(name);
    stores[name] = {
      get: (key) => done(store.get(key)),
      getAll: () => done(store.getAll()),
      keys: () => done(store.getAllKeys()),
      byIndex: (index, value) => done(store.index(index).getAll(value)),
      put: (value, key) => done(key === undefined ? store.put(value) : store.put(value, key)),
      delete: (key) => done(store.delete(key)),
      clear: () => done(store.clear()),
    };
  }
  const committed = new Promise((resolve, reject) => {
    tx.oncomplete = resolve;
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
  let result;
  try {
    result = await work(stores);
  } catch (error) {
    try { tx.abort(); } catch { /* already finished */ }
    throw error;
  }
  await committed;
  return result;
}

/** Return one record (or undefined). */
export function get(store, key) {
  return transact([store], "readonly", (s) => s[store].get(key));
}

/** Return every record of a store. */
export function getAll(store) {
  return transact([store], "readonly", (s) => s[store].getAll());
}

/** Return the records whose index equals `value`. */
export function byIndex(store, index, value) {
  return transact([store], "readonly", (s) => s[store].byIndex(index, value));
}

/** Write one record (key only for the out-of-line kv store). */
export function put(store, value, key) {
  return transact([store], "readwrite", (s) => s[store].put(value, key));
}

/** Delete one record. */
export function del(store, key) {
  return transact([store], "readwrite", (s) => s[store].delete(key));
}

/** Return the number of records in a store. */
export async function count(store) {
  const db = await open();
  return done(db.transaction(store).objectStore(store).count());
}

/** Read a setting from the kv store. */
export function getSetting(key) {
  return get("kv", key);
}

/** Write a setting to the kv store. */
export function setSetting(key, value) {
  return put("kv", value, key);
}

/** Delete the whole database (sign-out wipes local data). */
export async function wipe() {
  if (opening) {
    (await opening).close();
    opening = null;
  }
  await new Promise((resolve, reject) => {
    const request = indexedDB.deleteDatabase(DB_NAME);
    request.onsuccess = resolve;
    request.onerror = () => reject(request.error);
    request.onblocked = resolve; // other tabs close on versionchange; deletion completes then
  });
}
