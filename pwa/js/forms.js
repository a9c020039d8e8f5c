// Form definitions on the phone: downloaded with the households, kept in IndexedDB.
import * as api from "./api.js";
import * as db from "./db.js";

/** Download the published forms (those whose version changed) and the policies. */
export async function refresh() {
  const [count] = await Promise.all([refreshForms(), refreshPolicies()]);
  return count;
}

async function refreshPolicies() {
  try {
    const answer = await api.policies();
    await db.setSetting("policies", Array.isArray(answer) ? answer : answer.policies || []);
  } catch (error) {
    console.warn("policies not downloaded", error); // the assessment preview says so
  }
}

async function refreshForms() {
  const answer = await api.forms();
  const published = Array.isArray(answer) ? answer : answer.forms || [];
  for (const summary of published) {
    const held = await db.get("forms", summary.id);
    if (held && held.version === summary.version) continue;
    const definition = summary.sections ? summary : await api.form(summary.id);
    await db.put("forms", definition);
  }
  return published.length;
}

/** Return every form on the phone. */
export function all() {
  return db.getAll("forms");
}

/** Return one form definition (or undefined). */
export function get(id) {
  return db.get("forms", id);
}

/** Return the form a new household survey uses (the only one, or the household survey). */
export async function surveyForm() {
  const list = await all();
  return list.find((f) => f.id === "dibao_household_survey") || list[0];
}
