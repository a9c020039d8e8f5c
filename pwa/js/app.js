// The app's start and its router. Screens live in js/views/, one module each; this module
// wires the service worker, the network indicator, the outbox badge and the routes.
import * as outbox from "./outbox.js";
import * as session from "./session.js";
import * as api from "./api.js";
import { lang, onLangChange, setLang, t } from "./i18n.js";
import { h, replace } from "./ui.js";
import * as household from "./views/household.js";
import * as households from "./views/households.js";
import * as label from "./views/label.js";
import * as login from "./views/login.js";
import * as me from "./views/me.js";
import * as scan from "./views/scan.js";
import * as survey from "./views/survey.js";
import * as sync from "./views/sync.js";

// Every screen module is imported statically: once the page has loaded, an update of the
// service worker can never mix old and new modules in one open survey.
const ROUTES = [
  [/^#\/households$/, households],
  [/^#\/household\/(\d+)$/, household],
  [/^#\/label\/([A-Za-z0-9_-]+)$/, label],
  [/^#\/scan$/, scan],
  [/^#\/survey\/([0-9a-f-]{36})$/, survey],
  [/^#\/sync$/, sync],
  [/^#\/me$/, me],
];

const view = document.getElementById("view");
let cleanup = null;
let renderSeq = 0;

/** Navigate to a route (a hash such as "#/households"). */
export function go(hash, { replace: replaceEntry = false } = {}) {
  if (replaceEntry) {
    history.replaceState(null, "", hash);
    route();
  } else if (location.hash === hash) {
    route();
  } else {
    location.hash = hash;
  }
}

/** Set the top bar's title and whether it shows a back button. */
function setTitle(text, back = null) {
  document.getElementById("title").textContent = text;
  document.title = text;
  const button = document.getElementById("back");
  button.hidden = !back;
  button.onclick = back ? () => (history.length > 1 ? history.back() : go(back)) : null;
}

/**
 * What a screen gets to work with. A screen renders into its own element, and its title and
 * navigation count only while it is still the current route: a slow screen the investigator
 * has already left (a household read from a busy phone, a label looked up over a bad link)
 * finishes into a detached element instead of drawing over the screen that replaced it, and
 * never sends the investigator anywhere.
 */
function screenContext(seq) {
  const current = () => seq === renderSeq;
  return {
    current,
    go: (hash, options) => { if (current()) go(hash, options); },
    setTitle: (text, back) => { if (current()) setTitle(text, back); },
    refreshBadge,
    signedIn,
  };
}

async function route() {
  const seq = ++renderSeq;
  if (cleanup) {
    try { cleanup(); } catch (error) { console.error(error); }
    cleanup = null;
  }
  const signedIn = Boolean(session.user());
  let module = null;
  let params = [];
  // A revoked or expired token keeps the data: the investigator signs in again from #/login.
  if (!signedIn || (location.hash === "#/login" && session.needsSignIn())) {
    module = login;
  } else {
    for (const [pattern, candidate] of ROUTES) {
      const match = pattern.exec(location.hash);
      if (match) {
        module = candidate;
        params = match.slice(1);
        break;
      }
    }
    if (!module) {
      history.replaceState(null, "", "#/households");
      module = households;
    }
  }
  document.getElementById("tabs").hidden = !signedIn;
  for (const tab of document.querySelectorAll("#tabs a")) {
    tab.classList.toggle("active", module?.tab === tab.dataset.tab);
  }
  const screen = h("div", { class: "screen" }, h("p", { class: "loading" }, t("common.loading")));
  replace(view, screen);
  try {
    const result = await module.render(screen, params, screenContext(seq));
    if (seq !== renderSeq) {
      if (typeof result === "function") result();
      return;
    }
    cleanup = typeof result === "function" ? result : null;
  } catch (error) {
    console.error(error);
    if (seq === renderSeq) replace(screen, h("p", { class: "message" }, String(error.message || error)));
  }
}

function translateStatic() {
  for (const element of document.querySelectorAll("[data-t]")) element.textContent = t(element.dataset.t);
  const button = document.getElementById("lang");
  button.textContent = lang() === "zh" ? "EN" : "中文";
  button.setAttribute("aria-label", lang() === "zh" ? "English" : "中文");
  showNetwork();
}

function showNetwork() {
  const net = document.getElementById("net");
  net.textContent = navigator.onLine ? t("net.online") : t("net.offline");
  net.classList.toggle("offline", !navigator.onLine);
}

/** Show the number of surveys waiting in the outbox on the sync tab. */
async function refreshBadge() {
  const badge = document.getElementById("outbox-count");
  if (!session.user()) return;
  const n = await outbox.pendingCount();
  badge.hidden = n === 0;
  badge.textContent = String(n);
}

function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then((registration) => {
    const offer = (worker) => {
      const banner = document.getElementById("banner");
      replace(banner, h("span", {}, t("update.ready")), h("button", {
        type: "button",
        class: "primary",
        onclick: () => worker.postMessage("skip-waiting"),
      }, t("update.apply")));
      banner.hidden = false;
    };
    if (registration.waiting && navigator.serviceWorker.controller) offer(registration.waiting);
    registration.addEventListener("updatefound", () => {
      const worker = registration.installing;
      worker?.addEventListener("statechange", () => {
        if (worker.state === "installed" && navigator.serviceWorker.controller) offer(worker);
      });
    });
    // Look for a new version now and then (the app may stay open for days).
    setInterval(() => registration.update().catch(() => {}), 60 * 60 * 1000);
  }).catch((error) => console.warn("service worker not registered", error));
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    // Only reload for an update the investigator asked for (the first install also
    // changes the controller, via clients.claim()).
    if (reloading || document.getElementById("banner").hidden) return;
    reloading = true;
    location.reload();
  });
}

async function start() {
  registerServiceWorker();
  // A plain camera scan of a door label opens /h/<token>: keep the token as a route.
  const labelMatch = /^\/h\/([A-Za-z0-9_-]+)\/?$/.exec(location.pathname);
  if (labelMatch) history.replaceState(null, "", `/#/label/${labelMatch[1]}`);
  const enrolCode = new URLSearchParams(location.search).get("enrol");
  if (enrolCode) {
    sessionStorage.setItem("ruhu.enrol", enrolCode);
    history.replaceState(null, "", "/" + location.hash);
  }
  await session.load();
  api.setUnauthorizedHandler(async () => {
    await session.markRejected();
  });
  translateStatic();
  onLangChange(() => { translateStatic(); route(); });
  document.getElementById("lang").addEventListener("click", () => setLang(lang() === "zh" ? "en" : "zh"));
  addEventListener("online", showNetwork);
  addEventListener("offline", showNetwork);
  addEventListener("hashchange", route);
  outbox.subscribe(() => refreshBadge());
  if (navigator.storage?.persist) navigator.storage.persist().catch(() => {});
  await route();
  if (session.user()) {
    refreshBadge();
    outbox.start();
  }
}

/** Called by the login screen once a user is signed in. */
export function signedIn() {
  outbox.start();
  refreshBadge();
  const pending = sessionStorage.getItem("ruhu.label");
  sessionStorage.removeItem("ruhu.label");
  go(pending ? `#/label/${pending}` : "#/households", { replace: true });
}

start();
