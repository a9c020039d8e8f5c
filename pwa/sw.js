/* Ruhu service worker: precaches the app shell so the app starts with no network at all.
 *
 * The server fills in VERSION (a hash of every shell file) and SHELL (the URLs to precache)
 * when it serves /sw.js, so any change to a shell file yields a new worker. This file imports
 * nothing from js/ (house rule). /api/ is never cached: data lives in IndexedDB, and a cached
 * API answer would hide a failed submission.
 */
const VERSION = "__SHELL_VERSION__";
const SHELL = ["__SHELL_FILES__"];
const PREFIX = "ruhu-shell-";
const CACHE = PREFIX + VERSION;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // cache: "reload" bypasses the HTTP cache, so a new version never precaches old files.
      await cache.addAll(SHELL.map((url) => new Request(url, { cache: "reload" })));
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

// The page asks the waiting worker to take over when the investigator taps "update": never
// automatically, so the modules of an open survey are never swapped under it.
self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
});

/** Tell whether a navigation opens the app (its page, or a household label URL). */
function isAppPage(url) {
  return url.pathname === "/" || url.pathname === "/index.html" || url.pathname.startsWith("/h/");
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (request.mode === "navigate") {
    if (!isAppPage(url)) return; // the supervisors' console is online-only
    event.respondWith(fromCache("/", request));
    return;
  }
  if (SHELL.includes(url.pathname)) event.respondWith(fromCache(url.pathname, request));
});

/** Answer from this version's cache (cache first: never make the investigator wait). */
async function fromCache(key, request) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(key);
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && key !== "/") cache.put(key, response.clone());
  return response;
}
