// The outbox: finished surveys waiting to reach the server, keyed by instance_id.
//
// Rules (docs/style.md): one flush at a time; items one by one; an item is deleted only
// after the server acknowledged the submission *and* every photo; exponential backoff capped
// at 5 minutes; a flush runs on `online`, at start, periodically and on tap. A flush asked
// for while one runs is remembered and run right after it: an `online` event arriving while
// a failing offline flush is finishing must not be swallowed.
import { ApiError } from "./api.js";
import * as api from "./api.js";
import * as db from "./db.js";
import * as feedback from "./feedback.js";
import * as session from "./session.js";

const BASE_DELAY_MS = 5000;
const MAX_DELAY_MS = 5 * 60 * 1000;
const PERIOD_MS = 30000;
const CHUNK_BYTES = 64 * 1024;
const KEEP_SENT = 200;

const listeners = new Set();
const live = new Map(); // instance_id → {state: "sending", photo, of, fraction}
let running = null;
let again = false;
let forceAgain = false;
let timer = null;
let started = false;

/** Call `listener()` whenever the outbox or an item's progress changes; returns unsubscribe. */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function notify() {
  for (const listener of listeners) {
    try { listener(); } catch (error) { console.error(error); }
  }
}

/** Return the retry delay after `attempts` failures: 5 s doubling, capped at 5 minutes. */
export function backoff(attempts, retryAfterSeconds = null) {
  const exponential = BASE_DELAY_MS * 2 ** Math.max(0, attempts - 1);
  const jittered = exponential * (0.8 + 0.4 * Math.random());
  const floor = retryAfterSeconds ? retryAfterSeconds * 1000 : 0;
  return Math.min(MAX_DELAY_MS, Math.max(jittered, floor));
}

/**
 * Queue a finished survey: the submission payload plus its media, and delete its draft, all
 * in one transaction (the survey is never in neither place, nor in both).
 */
export async function enqueue(payload, { householdLabel = "" } = {}) {
  const item = {
    instance_id: payload.instance_id,
    payload,
    household_label: householdLabel,
    media: payload.media.map(({ sha256, size, content_type }) => ({ sha256, size, content_type })),
    state: "waiting",
    attempts: 0,
    next_at: 0,
    queued_at: new Date().toISOString(),
    message: null,
  };
  await db.transact(["outbox", "drafts"], "readwrite", async (s) => {
    await s.outbox.put(item);
    await s.drafts.delete(payload.instance_id);
  });
  notify();
  flush();
  return item;
}

/** Return the queued items, oldest first, with the live progress of the one being sent. */
export async function items() {
  const list = await db.getAll("outbox");
  list.sort((a, b) => a.queued_at.localeCompare(b.queued_at));
  return list.map((item) => ({ ...item, ...(live.get(item.instance_id) || {}) }));
}

/** Return how many surveys are not yet acknowledged by the server. */
export function pendingCount() {
  return db.count("outbox");
}

/**
 * Return the acknowledged surveys, newest first. The server's feedback may already name a
 * survey still in the outbox (it holds the answers, a photo is still on its way): that one
 * shows in the outbox only, until the phone has sent all of it.
 */
export async function sentItems() {
  const [list, queued] = await db.transact(["sent", "outbox"], "readonly",
    (s) => Promise.all([s.sent.getAll(), s.outbox.keys()]));
  const unfinished = new Set(queued);
  return list.filter((r) => !unfinished.has(r.instance_id))
    .sort((a, b) => b.sent_at.localeCompare(a.sent_at));
}

/**
 * Send what is due. `force` (a tap, or the network coming back) ignores the backoff and
 * retries items that need attention. Resolves when this and any follow-up run are done.
 */
export function flush({ force = false } = {}) {
  if (running) {
    again = true;
    forceAgain ||= force;
    return running;
  }
  running = (async () => {
    let forceThis = force;
    let sent = 0;
    do {
      again = false;
      sent += await flushOnce(forceThis);
      forceThis = forceAgain;
      forceAgain = false;
    } while (again);
    // A merge may finish after our last call (a survey held for an earlier one of this
    // phone): the outcome feed tells us its conflicts and review state.
    if (sent) await feedback.refresh().then(notify, (error) => console.warn("feedback", error));
  })().finally(() => {
    running = null;
    scheduleNext();
  });
  return running;
}

/** Tell whether a flush is running. */
export function isFlushing() {
  return running !== null;
}

/** Send the due items one by one; return how many the server acknowledged. */
async function flushOnce(force) {
  if (!session.user() || session.needsSignIn()) return 0;
  if (!navigator.onLine && !force) return 0;
  let sent = 0;
  for (const item of await items()) {
    if (item.state === "attention" && !force) continue;
    if (!force && item.next_at > Date.now()) continue;
    if (await waitsForPredecessor(item)) continue;
    const outcome = await send(item);
    if (outcome === "sent") sent += 1;
    if (outcome === "unreachable") break; // the network or server is down: the rest would fail too
  }
  return sent;
}

/**
 * Tell whether a survey that continues an earlier one of this phone must wait for it: the
 * earlier one is still queued and the server does not hold it yet (it may be refused and taken
 * back under a new id), or it was taken back and is being fixed. Sent first, the server would
 * hold the later one for a predecessor that may never come.
 */
async function waitsForPredecessor(item) {
  const previous = item.payload.previous_instance_id;
  if (!previous) return false;
  const queued = await db.get("outbox", previous);
  if (queued) return !queued.accepted;
  return Boolean(await db.get("drafts", previous));
}

/**
 * Make the queued surveys that continue `fromId` (not yet sent: they wait for it) continue
 * `toId` instead, within the caller's transaction `s` (which must include "outbox"): a refused
 * survey taken back gets a new id, and a discarded one is continued from its own predecessor.
 */
export async function repoint(s, fromId, toId) {
  for (const item of await s.outbox.getAll()) {
    if (item.payload.previous_instance_id !== fromId || item.accepted) continue;
    await s.outbox.put({ ...item, payload: { ...item.payload, previous_instance_id: toId ?? null } });
  }
}

function setLive(id, progress) {
  if (progress) live.set(id, { state: "sending", ...progress });
  else live.delete(id);
  notify();
}

/** Send one item; return "sent", "attention" or "unreachable". */
async function send(item) {
  const id = item.instance_id;
  setLive(id, { photo: 0, of: item.media.length, fraction: 0 });
  let accepted = false; // the server holds the submission (a photo may still be refused)
  try {
    let answer = await api.submit(item.payload);
    accepted = true;
    const missing = new Set(answer.missing_media ?? item.media.map((m) => m.sha256));
    const uploads = item.media.filter((m) => missing.has(m.sha256));
    for (const [index, media] of uploads.entries()) {
      await upload(id, media, (fraction) => setLive(id, { photo: index + 1, of: uploads.length, fraction }));
    }
    if (uploads.length) answer = await api.submit(item.payload); // the server confirms every photo
    if (answer.missing_media?.length) {
      throw new ApiError(0, "media.incomplete", `server still misses ${answer.missing_media.length} photos`);
    }
    await acknowledge(item, answer);
    return "sent";
  } catch (error) {
    return fail(item, error, accepted);
  } finally {
    setLive(id, null);
  }
}

/** Upload one media file, resuming from what the server already holds. */
async function upload(instanceId, media, onProgress) {
  const record = await db.get("media", `${instanceId}/${media.sha256}`);
  if (!record) throw new Error(`photo ${media.sha256.slice(0, 8)} is missing on this phone`);
  const blob = record.blob;
  let offset = await api.mediaOffset(instanceId, media.sha256);
  let resyncs = 0;
  onProgress(offset / blob.size);
  while (offset < blob.size) {
    const chunk = blob.slice(offset, offset + CHUNK_BYTES);
    try {
      await api.putMediaChunk(instanceId, media.sha256, chunk, offset, blob.size, media.content_type);
    } catch (error) {
      // The server holds a different offset than we thought (an earlier chunk did arrive
      // although its answer was lost): ask it and go on from there.
      if (error instanceof ApiError && (error.status === 409 || error.status === 416) && resyncs++ < 3) {
        offset = await api.mediaOffset(instanceId, media.sha256);
        continue;
      }
      throw error;
    }
    offset += chunk.size;
    onProgress(offset / blob.size);
  }
}

/** Record the server's acknowledgement: the item and its blobs go, a sent record stays. */
async function acknowledge(item, answer) {
  const id = item.instance_id;
  await db.transact(["outbox", "media", "sent"], "readwrite", async (s) => {
    await s.outbox.delete(id);
    for (const media of item.media) await s.media.delete(`${id}/${media.sha256}`);
    const previous = await s.sent.get(id);
    await s.sent.put({
      ...(previous || {}),
      instance_id: id,
      household_id: item.payload.household_id,
      household_label: item.household_label,
      form_id: item.payload.form_id,
      form_version: item.payload.form_version,
      base_version: item.payload.base_version ?? null,
      corrects_instance_id: item.payload.corrects_instance_id ?? null,
      answers: item.payload.answers,
      sent_at: new Date().toISOString(),
      status: answer.status,
      review_state: answer.review_state ?? previous?.review_state ?? "received",
      conflicts: answer.conflicts || [],
      assessment: answer.assessment ?? null,
      household_version: answer.household_version ?? null,
    });
    const sent = await s.sent.getAll();
    if (sent.length > KEEP_SENT) {
      sent.sort((a, b) => a.sent_at.localeCompare(b.sent_at));
      for (const old of sent.slice(0, sent.length - KEEP_SENT)) await s.sent.delete(old.instance_id);
    }
  });
  notify();
}

/** Record a failure: retry later with backoff ("unreachable"), or ask for a look ("attention"). */
async function fail(item, error, accepted = false) {
  const retryable = error instanceof ApiError ? error.retryable || error.status === 401 : false;
  if (error instanceof ApiError && error.status === 401) await session.markRejected();
  const attempts = item.attempts + 1;
  const stored = await db.get("outbox", item.instance_id);
  if (!stored) return "attention";
  // A refused survey tried again by hand without a connection keeps its refusal: a network
  // failure says nothing new about it (it turned into "waiting" and lost the message).
  const refusedBefore = retryable && stored.state === "attention";
  const updated = refusedBefore
    ? { ...stored, attempts, last_error: error.message }
    : retryable
      ? { ...stored, state: "waiting", attempts, next_at: Date.now() + backoff(attempts, error.retryAfter), message: null, last_error: error.message }
      : {
        ...stored, state: "attention", attempts, next_at: 0, message: describe(error),
        // What the server said, to be shown with the questions' labels (views/refusal.js).
        refusal: error instanceof ApiError ? { message: error.message, errors: error.errors || {} } : null,
        accepted: accepted || Boolean(stored.accepted),
      };
  await db.put("outbox", updated);
  notify();
  if (!retryable) console.warn("submission needs attention", item.instance_id, error);
  return retryable ? "unreachable" : "attention";
}

function describe(error) {
  if (!(error instanceof ApiError)) return String(error.message || error);
  const details = Object.entries(error.errors || {})
    .map(([field, messages]) => `${field}: ${[].concat(messages).join(", ")}`);
  return [error.message, ...details].join("\n");
}

function scheduleNext() {
  clearTimeout(timer);
  db.getAll("outbox").then((list) => {
    const due = list.filter((i) => i.state === "waiting").map((i) => i.next_at);
    if (!due.length) return;
    const wait = Math.max(1000, Math.min(...due) - Date.now());
    timer = setTimeout(() => flush(), Math.min(wait, MAX_DELAY_MS));
  }).catch(() => {});
}

/** Start flushing: now, whenever the network returns, when the app is shown, periodically. */
export function start() {
  if (started) {
    flush();
    return;
  }
  started = true;
  addEventListener("online", () => flush({ force: true }));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush();
  });
  setInterval(() => flush(), PERIOD_MS);
  flush();
}

// --- Export and import: the last resort when a phone cannot reach the server. ---

function toBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1]);
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

function fromBase64(text, type) {
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  return new Blob([bytes], { type });
}

/** Return a file (Blob) holding every queued survey with its photos. */
export async function exportFile() {
  const list = await db.getAll("outbox");
  const exported = [];
  for (const item of list) {
    const media = [];
    for (const entry of item.media) {
      const record = await db.get("media", `${item.instance_id}/${entry.sha256}`);
      if (record) media.push({ ...entry, data: await toBase64(record.blob) });
    }
    exported.push({ ...item, media, state: "waiting", attempts: 0, next_at: 0, message: null, refusal: null });
  }
  const file = {
    format: "ruhu-outbox",
    version: 1,
    exported_at: new Date().toISOString(),
    device_id: session.device(),
    user: session.user()?.username ?? null,
    items: exported,
  };
  return { blob: new Blob([JSON.stringify(file)], { type: "application/json" }), count: exported.length };
}

/** Import an exported outbox file; returns how many surveys were added. */
export async function importFile(file) {
  const data = JSON.parse(await file.text());
  if (data.format !== "ruhu-outbox" || data.version !== 1 || !Array.isArray(data.items)) {
    throw new Error("not a Ruhu outbox file");
  }
  let added = 0;
  for (const exported of data.items) {
    const id = exported.instance_id;
    if (!id || !exported.payload || (await db.get("outbox", id)) || (await db.get("sent", id))) continue;
    const media = exported.media.map((m) => ({
      key: `${id}/${m.sha256}`, instance_id: id, sha256: m.sha256,
      blob: fromBase64(m.data, m.content_type), size: m.size, content_type: m.content_type,
    }));
    const item = {
      ...exported,
      media: exported.media.map(({ sha256, size, content_type }) => ({ sha256, size, content_type })),
      queued_at: exported.queued_at || new Date().toISOString(),
    };
    await db.transact(["outbox", "media"], "readwrite", async (s) => {
      for (const record of media) await s.media.put(record);
      await s.outbox.put(item);
    });
    added += 1;
  }
  notify();
  if (added) flush({ force: true });
  return added;
}
