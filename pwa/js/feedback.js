// Feedback from the server on my submissions: review states, conflicts found when merging,
// a supervisor's "has issues" comment. Kept with the sent records in IndexedDB.
import * as api from "./api.js";
import * as db from "./db.js";
import { label } from "./households.js";

/** Fetch what changed on my submissions since the stored cursor; returns how many. */
export async function refresh() {
  let since = await db.getSetting("feedback_cursor");
  let count = 0;
  for (let page = 0; page < 20; page += 1) {
    const answer = await api.mySubmissions(since);
    const list = Array.isArray(answer) ? answer : answer.submissions || [];
    await db.transact(["sent", "kv", "households"], "readwrite", async (s) => {
      for (const remote of list) {
        const local = await s.sent.get(remote.instance_id);
        // A survey sent before this sign-in (or from another phone) is named from the
        // downloaded households, as the phone names its own.
        const known = local?.household_label ? null
          : remote.household_id != null ? await s.households.get(remote.household_id) : null;
        await s.sent.put({
          ...(local || { sent_at: remote.received_at || remote.created_at || new Date().toISOString() }),
          instance_id: remote.instance_id,
          household_id: remote.household_id ?? local?.household_id ?? null,
          household_label: local?.household_label || (known ? label(known) : "") || remote.household_code || "",
          form_id: remote.form_id ?? local?.form_id,
          answers: local?.answers ?? remote.answers ?? null,
          status: remote.status ?? local?.status,
          review_state: remote.review_state ?? local?.review_state,
          review_comment: remote.review_comment ?? remote.comment ?? local?.review_comment ?? null,
          conflicts: remote.conflicts ?? local?.conflicts ?? [],
          assessment: remote.assessment ?? local?.assessment ?? null,
          corrected_by: remote.corrected_by ?? local?.corrected_by ?? null,
        });
      }
      if (answer.cursor) await s.kv.put(answer.cursor, "feedback_cursor");
    });
    count += list.length;
    if (!answer.more || !answer.cursor || answer.cursor === since) break;
    since = answer.cursor;
  }
  return count;
}
