// The investigator's households on the phone: delta download by cursor, search, lookup.
import * as api from "./api.js";
import * as db from "./db.js";

const PAGE = 100;
const REVIEW_SOON_DAYS = 30;
let downloading = null;

/**
 * Download what changed in the user's scope since the stored cursor, page by page. Each page
 * and its cursor are written in one transaction, so an interrupted download resumes where it
 * stopped. `onProgress({count, remaining})` follows the pages.
 */
export function download(onProgress = () => {}) {
  if (!downloading) {
    downloading = (async () => {
      let count = 0;
      let more = true;
      while (more) {
        const since = await db.getSetting("households_cursor");
        const page = await api.householdsPage(since, PAGE);
        await db.transact(["households", "kv"], "readwrite", async (s) => {
          // A reset cursor means our copy may hold households no longer in scope.
          if (page.reset) await s.households.clear();
          for (const household of page.households) await s.households.put(household);
          for (const gone of page.tombstones || []) await s.households.delete(gone.id);
          await s.kv.put(page.cursor, "households_cursor");
          await s.kv.put(new Date().toISOString(), "households_synced_at");
        });
        count += page.households.length;
        more = Boolean(page.more);
        onProgress({ count, remaining: more ? page.remaining ?? null : 0 });
      }
      return count;
    })().finally(() => { downloading = null; });
  }
  return downloading;
}

/** Tell whether a download is running. */
export function isDownloading() {
  return downloading !== null;
}

/** Return every household on the phone, ordered by village then code. */
export async function all() {
  const list = await db.getAll("households");
  return list.sort((a, b) => (a.village_name || "").localeCompare(b.village_name || "", "zh")
    || String(a.code).localeCompare(String(b.code)));
}

/** Return one household from the phone (or undefined). */
export function get(id) {
  return db.get("households", Number(id));
}

/** Store a household fetched online (e.g. a QR lookup outside the downloaded list). */
export function remember(household) {
  return db.put("households", household);
}

/** Return the name of the household's head (or its first member). */
export function headName(household) {
  const members = household.members || [];
  const head = members.find((m) => m.relation === "self" || m.relation === "户主") || members[0];
  return head?.name || "";
}

/** Return how a survey names its household: the head's name and the code. */
export function label(household) {
  return `${headName(household)} ${household.code}`.trim();
}

/** Return the text a search matches against: names, ID-less, code, village, address. */
function searchText(household) {
  return [
    household.code, household.village_name, household.township_name, household.address,
    ...(household.members || []).map((m) => m.name),
  ].join(" ").toLowerCase();
}

/** Filter households by a query matching names, code or village (all words must match). */
export function search(list, query) {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) return list;
  return list.filter((household) => {
    const text = searchText(household);
    return words.every((word) => text.includes(word));
  });
}

/** Tell whether a household's periodic review is due (within the next month or overdue). */
export function reviewDue(household, today = new Date()) {
  if (!household.next_review_on) return false;
  const due = new Date(`${household.next_review_on}T00:00:00`);
  return due.getTime() - today.getTime() <= REVIEW_SOON_DAYS * 86400000;
}

/** Download the sampling assignments of my scope (the whole list, after each download). */
export async function refreshAssignments() {
  const answer = await api.assignments();
  const byHousehold = {};
  for (const entry of answer.assignments || []) byHousehold[entry.household_id] = entry.reasons || [];
  await db.setSetting("assignments", byHousehold);
  return byHousehold;
}

/** Return {household_id: [reason]} of the sampling assignments on the phone. */
export async function assignments() {
  return (await db.getSetting("assignments")) || {};
}

/**
 * Tell whether the household is assigned: drawn for this visit round (`assignments`), or its
 * periodic review assigned to this user (the audit's re-visit marker).
 */
export function assignedTo(household, userId, assigned = {}) {
  return household.id in assigned || household.revisit?.assigned_to === userId || Boolean(household.assigned);
}

/**
 * Return the audit's reasons to re-visit the household, less those older than our own
 * newest survey of it (the server clears them when that survey arrives, but a survey that
 * changed nothing does not re-send the household).
 */
export function revisitReasons(household, lastSurveyAt = null) {
  const reasons = household.revisit?.reasons || [];
  return lastSurveyAt ? reasons.filter((r) => !r.since || r.since > lastSurveyAt) : reasons;
}

/** Find the household whose label QR token (or label URL, or code) is given. */
export async function findByLabel(text) {
  const token = qrToken(text);
  const list = await db.getAll("households");
  return list.find((h) => (token && h.qr_token === token) || h.code === text.trim());
}

/**
 * Return the household token carried by a scanned label: the label encodes
 * `<base-url>/h/<qr_token>`; a bare token is accepted too. Null for anything else.
 */
export function qrToken(text) {
  const value = String(text || "").trim();
  const match = /\/h\/([A-Za-z0-9_-]+)\/?(?:[?#].*)?$/.exec(value);
  if (match) return match[1];
  return /^[A-Za-z0-9_-]{8,40}$/.test(value) ? value : null;
}
