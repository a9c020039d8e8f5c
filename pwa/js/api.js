// The only module that calls fetch (house rule). Every call has a timeout: on a village's
// one bar of signal a request can hang forever, and the investigator must never wait on it.

const BASE = "/api/v1";
const TIMEOUT_MS = 30000;
let token = null;
let onUnauthorized = () => {};

/** An answer other than 2xx, or no answer at all (status 0). */
export class ApiError extends Error {
  constructor(status, code, message, errors = {}, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors;
    this.retryAfter = retryAfter;
  }

  /** Tell whether trying again later may succeed (network, timeout, busy server). */
  get retryable() {
    return this.status === 0 || this.status === 408 || this.status === 429 || this.status >= 500;
  }
}

/** Use this bearer token for the following calls (null: none). */
export function setToken(value) {
  token = value;
}

/** Call `handler(error)` when the server says the token is no longer valid. */
export function setUnauthorizedHandler(handler) {
  onUnauthorized = handler;
}

async function request(method, path, { json, body, headers = {}, timeout = TIMEOUT_MS } = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeout);
  const init = { method, headers: { Accept: "application/json", ...headers }, signal: controller.signal };
  if (token) init.headers.Authorization = `Bearer ${token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (body !== undefined) {
    init.body = body;
  }
  let response;
  try {
    response = await fetch(BASE + path, init);
  } catch (error) {
    const timedOut = error.name === "AbortError";
    throw new ApiError(0, timedOut ? "timeout" : "network", timedOut ? "timeout" : "network unavailable");
  } finally {
    clearTimeout(timer);
  }
  if (response.ok) {
    if (response.status === 204 || method === "HEAD") return response;
    const type = response.headers.get("Content-Type") || "";
    return type.includes("json") ? response.json() : response;
  }
  let problem = {};
  try {
    problem = await response.json();
  } catch { /* not JSON: a proxy's error page */ }
  const error = new ApiError(
    response.status,
    problem.code || `http.${response.status}`,
    problem.message || response.statusText || `HTTP ${response.status}`,
    problem.errors || {},
    Number(response.headers.get("Retry-After")) || null,
  );
  if (response.status === 401 && token) onUnauthorized(error);
  throw error;
}

/** Sign in with username and password. */
export function login(username, password, deviceLabel) {
  return request("POST", "/auth/login", { json: { username, password, device_label: deviceLabel } });
}

/** Exchange a one-time enrolment code (from the console's QR) for a device token. */
export function enrol(code, deviceLabel) {
  return request("POST", "/auth/enrol", { json: { code, device_label: deviceLabel } });
}

/** Return the signed-in user. */
export function me() {
  return request("GET", "/auth/me");
}

/** Revoke this device's token. */
export function logout() {
  return request("POST", "/auth/logout", { timeout: 8000 });
}

/** Return the investigators the signed-in user may survey with. */
export function teammates() {
  return request("GET", "/auth/teammates");
}

/** Return one page of the household delta download. */
export function householdsPage(since, limit = 100) {
  const query = new URLSearchParams({ limit: String(limit) });
  if (since) query.set("since", since);
  return request("GET", `/households?${query}`, { timeout: 60000 });
}

/** Return the sampling assignments in my scope: {assignments: [{household_id, reasons}]}. */
export function assignments() {
  return request("GET", "/assignments");
}

/** Find a household by the token (or URL) its door label's QR code carries. */
export function lookupHousehold(qr) {
  return request("GET", `/households/lookup?${new URLSearchParams({ qr })}`);
}

/** List the published forms. */
export function forms() {
  return request("GET", "/forms");
}

/** Return one form definition. */
export function form(id) {
  return request("GET", `/forms/${encodeURIComponent(id)}`);
}

/** List the policies in force (standards, disqualifiers ...) for the phone's assessment. */
export function policies() {
  return request("GET", "/policies");
}

/** Post a submission (idempotent on instance_id). */
export function submit(payload) {
  return request("POST", "/submissions", { json: payload, timeout: 60000 });
}

function mediaPath(instanceId, sha256) {
  return `/submissions/${encodeURIComponent(instanceId)}/media/${sha256}`;
}

/** Return how many bytes of a media file the server already holds (0 when none). */
export async function mediaOffset(instanceId, sha256) {
  try {
    const response = await request("HEAD", mediaPath(instanceId, sha256));
    return Number(response.headers.get("Upload-Offset") ?? response.headers.get("Content-Length") ?? 0);
  } catch (error) {
    if (error.status === 404) return 0;
    throw error;
  }
}

/** Upload bytes [start, start + chunk.size) of a media file of `total` bytes. */
export function putMediaChunk(instanceId, sha256, chunk, start, total, contentType) {
  const end = start + chunk.size - 1;
  return request("PUT", mediaPath(instanceId, sha256), {
    body: chunk,
    headers: { "Content-Type": contentType, "Content-Range": `bytes ${start}-${end}/${total}` },
    timeout: 60000,
  });
}

/** Download a photo or signature the server holds (the original bytes). */
export async function media(sha256) {
  const response = await request("GET", `/media/${sha256}?size=full`, { timeout: 60000 });
  return response.blob();
}

/** Return my submissions changed since a cursor, with review states and conflicts. */
export function mySubmissions(since) {
  const query = new URLSearchParams({ mine: "1" });
  if (since) query.set("since", since);
  return request("GET", `/submissions?${query}`);
}
