// Who is signed in on this phone. The device token is kept in IndexedDB and works offline:
// the investigator signs in once with signal and then works for weeks without it.
import * as api from "./api.js";
import * as db from "./db.js";

let session = null; // {token, token_id, expires_at, user}
let deviceId = null;

/** Load the stored session (if any) and hand its token to the API module. */
export async function load() {
  session = (await db.getSetting("session")) || null;
  deviceId = await db.getSetting("device_id");
  if (!deviceId) {
    deviceId = crypto.randomUUID();
    await db.setSetting("device_id", deviceId);
  }
  api.setToken(session?.token ?? null);
  return session;
}

/** Return the signed-in user, or null. */
export function user() {
  return session?.user ?? null;
}

/** Return this phone's stable device id (sent with every submission). */
export function device() {
  return deviceId;
}

/** Tell whether the server rejected our token (sync waits for a new sign-in). */
export function needsSignIn() {
  return Boolean(session?.rejected);
}

/** A label the console shows for this device (browser and platform). */
export function deviceLabel() {
  const ua = navigator.userAgent;
  const model = /Android [^;)]*;\s*([^;)]+)/.exec(ua)?.[1] || (/iPhone|iPad/.exec(ua)?.[0]) || "browser";
  return `Ruhu ${model}`.slice(0, 100);
}

async function store(response) {
  const previous = session?.user?.id;
  if (previous && previous !== response.user.id) {
    // A different person on this phone starts from a clean slate (nobody sees another's
    // data), but never at the price of the previous investigator's unsent surveys.
    if ((await db.count("outbox")) + (await db.count("drafts")) > 0) {
      throw new Error("another_user_has_unsent");
    }
    await db.wipe();
    await db.setSetting("device_id", deviceId);
  }
  session = { token: response.token, token_id: response.token_id, expires_at: response.expires_at, user: response.user };
  await db.setSetting("session", session);
  api.setToken(session.token);
  return session.user;
}

/** Sign in with username and password; returns the user. */
export async function signIn(username, password) {
  return store(await api.login(username, password, deviceLabel()));
}

/** Sign in with an enrolment code from the console's QR; returns the user. */
export async function enrol(code) {
  return store(await api.enrol(code, deviceLabel()));
}

/** Mark the stored token as rejected (revoked or expired): data stays, sync pauses. */
export async function markRejected() {
  if (!session) return;
  session = { ...session, rejected: true };
  await db.setSetting("session", session);
}

/** Sign out: revoke the token when online and wipe everything stored on the phone. */
export async function signOut() {
  if (session && navigator.onLine) {
    try { await api.logout(); } catch { /* offline or already revoked: wipe anyway */ }
  }
  session = null;
  api.setToken(null);
  await db.wipe();
  // The shell cache holds no personal data: it stays, so the app still starts offline.
  localStorage.clear();
}

/** Download the investigators this user may survey with (kept for offline use). */
export async function refreshTeam() {
  const answer = await api.teammates();
  const list = Array.isArray(answer) ? answer : answer.users || [];
  await db.setSetting("teammates", list);
  return list;
}

/** Return the stored session's token expiry (ISO) or null. */
export function expiresAt() {
  return session?.expires_at ?? null;
}
