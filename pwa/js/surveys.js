// Surveys being filled (drafts) and their photos: create, autosave, finish into the outbox.
import * as api from "./api.js";
import * as db from "./db.js";
import * as formdef from "./formdef.js";
import * as forms from "./forms.js";
import * as households from "./households.js";
import * as outbox from "./outbox.js";
import * as session from "./session.js";
import { lastLocation } from "./media.js";

/** Start a survey of a household: a draft prefilled from its master record. */
export async function create(household, { corrects = null } = {}) {
  const form = corrects ? (await forms.get(corrects.form_id)) || (await forms.surveyForm()) : await forms.surveyForm();
  if (!form) throw new Error("no_form");
  const me = session.user();
  const earlier = corrects ? null : await continued(household, form);
  const answers = corrects
    ? structuredClone(corrects.answers || {})
    : formdef.startVisit(form, {
      ...formdef.prefill(form, household),
      ...(earlier ? formdef.boundAnswers(form, earlier.answers) : {}),
    });
  formdef.calculate(form, answers);
  const now = new Date().toISOString();
  const draft = {
    instance_id: crypto.randomUUID(),
    form_id: form.id,
    form_version: form.version,
    household_id: household.id,
    household_label: households.label(household),
    base_version: household.version ?? null,
    previous_instance_id: earlier?.instance_id ?? null,
    continues_at: earlier?.at ?? null,
    corrects_instance_id: corrects?.instance_id ?? null,
    investigator_ids: [me.id],
    team: [{ id: me.id, name: me.display_name || me.username }],
    started_at: now,
    updated_at: now,
    answers,
    section: 0,
  };
  if (corrects) await fetchMedia(form, draft);
  await db.put("drafts", draft);
  return draft;
}

/**
 * The phone's own earlier survey of this household that the household on the phone does not
 * show yet, which a new survey continues (previous_instance_id), or null.
 *
 * Surveying a household twice before the next download (back for a missed photo, a
 * neighbour's word): the new survey starts from what the phone last saw, its own earlier
 * answers over the downloaded record, and names that survey as its predecessor. The server
 * then compares it with that view, so the phone's two edits never conflict with each other,
 * while another team's change to the same answer still does.
 *
 * Only a survey made on the version the phone still holds and of the same form qualifies:
 * the new one is made on that version too, and it carries the earlier answers by question.
 * Queued ones count (not one the server refused and does not hold: it may never arrive), then
 * sent ones whose merge the downloaded household predates (or which wait for their own
 * predecessor). Otherwise null: the survey starts from the downloaded record, as always.
 */
async function continued(household, form) {
  if (household.version == null) return null;
  const own = (payload) => payload.household_id === household.id && payload.base_version === household.version
    && payload.form_id === form.id && payload.form_version === form.version;
  const queued = (await db.getAll("outbox"))
    .filter((item) => own(item.payload) && !(item.state === "attention" && !item.accepted))
    .sort((a, b) => b.queued_at.localeCompare(a.queued_at));
  if (queued.length) {
    return { instance_id: queued[0].instance_id, answers: queued[0].payload.answers, at: queued[0].queued_at };
  }
  const sent = (await db.getAll("sent"))
    .filter((record) => record.answers && own(record)
      && (record.household_version == null || record.household_version > household.version))
    .sort((a, b) => b.sent_at.localeCompare(a.sent_at));
  return sent.length ? { instance_id: sent[0].instance_id, answers: sent[0].answers, at: sent[0].sent_at } : null;
}

/**
 * A correction starts from the answers that were sent, but the phone dropped their photos
 * once the server had them: fetch them back. A photo that cannot be fetched is left out of
 * the answers (the investigator takes it again) rather than blocking the correction.
 */
async function fetchMedia(form, draft) {
  for (const { question, answer } of formdef.mediaAnswers(form, draft.answers)) {
    try {
      const blob = await api.media(answer.sha256);
      await addMedia(draft.instance_id, {
        blob, sha256: answer.sha256, kind: question.type, question: question.name,
        category: answer.category ?? null, capturedAt: answer.captured_at, location: answer.location,
      });
    } catch (error) {
      console.warn("photo not fetched for the correction", answer.sha256, error);
      forgetMedia(draft.answers, answer.sha256);
    }
  }
}

/** Remove every answer naming a photo or signature (anywhere, repeats included). */
function forgetMedia(answers, sha256) {
  for (const [name, value] of Object.entries(answers)) {
    if (Array.isArray(value)) {
      const kept = value.filter((v) => v?.sha256 !== sha256);
      if (kept.length !== value.length) answers[name] = kept;
      for (const item of kept) if (item && typeof item === "object" && !item.sha256) forgetMedia(item, sha256);
    } else if (value?.sha256 === sha256) {
      answers[name] = null;
    }
  }
}


/**
 * Take a survey the server refused out of the outbox, back into the drafts, to be fixed and
 * finished again (the inverse of finish). It gets a new instance id (the refused one may be
 * known to the server) and its photos and signatures move with it. Returns the draft, or
 * null when the item is not refused, or the server holds it (a photo of it was refused):
 * sent again under a new id it would be a second survey of the household.
 */
export async function reopen(instanceId) {
  const item = await db.get("outbox", instanceId);
  if (!item || item.state !== "attention" || item.accepted) return null;
  const me = session.user();
  const mates = (await db.getSetting("teammates")) || [];
  const nameOf = (id) => {
    const user = id === me?.id ? me : mates.find((m) => m.id === id);
    return user ? user.display_name || user.username : String(id);
  };
  const sent = item.payload;
  const draft = {
    instance_id: crypto.randomUUID(),
    form_id: sent.form_id,
    form_version: sent.form_version,
    household_id: sent.household_id,
    household_label: item.household_label,
    base_version: sent.base_version,
    previous_instance_id: sent.previous_instance_id ?? null,
    corrects_instance_id: sent.corrects_instance_id ?? null,
    investigator_ids: sent.investigator_ids,
    team: sent.investigator_ids.map((id) => ({ id, name: nameOf(id) })),
    started_at: sent.started_at,
    updated_at: new Date().toISOString(),
    answers: structuredClone(sent.answers),
    section: 0,
    refused: item.message,
    refusal: item.refusal ? { ...item.refusal, errors: formdef.pinItems(item.refusal.errors, sent.answers) } : null,
  };
  await db.transact(["outbox", "drafts", "media"], "readwrite", async (s) => {
    for (const record of await s.media.byIndex("instance_id", instanceId)) {
      await s.media.delete(record.key);
      await s.media.put({ ...record, key: `${draft.instance_id}/${record.sha256}`, instance_id: draft.instance_id });
    }
    await s.drafts.put(draft);
    await s.outbox.delete(instanceId);
    await outbox.repoint(s, instanceId, draft.instance_id);
  });
  outbox.notify();
  return draft;
}

/** Return a draft (or undefined). */
export function get(instanceId) {
  return db.get("drafts", instanceId);
}

/** Return a coalescing saver: each call saves the latest state, at most one write at a time. */
export function autosaver(onSaved = () => {}) {
  let writing = null;
  let latest = null;
  const write = () => {
    const draft = latest;
    latest = null;
    writing = db.put("drafts", { ...draft, updated_at: new Date().toISOString() })
      .then(() => onSaved(null))
      .catch((error) => onSaved(error))
      .finally(() => {
        writing = null;
        if (latest) write();
      });
  };
  const save = (draft) => {
    latest = draft;
    if (!writing) write();
  };
  save.flush = async () => {
    while (writing || latest) {
      if (!writing && latest) write();
      await writing;
    }
  };
  return save;
}

/** Delete a draft and its photos. */
export async function discard(instanceId) {
  await db.transact(["drafts", "media", "outbox"], "readwrite", async (s) => {
    const draft = await s.drafts.get(instanceId);
    for (const record of await s.media.byIndex("instance_id", instanceId)) await s.media.delete(record.key);
    await s.drafts.delete(instanceId);
    if (draft) await outbox.repoint(s, instanceId, draft.previous_instance_id);
  });
}

/** Store a photo or signature blob for a survey; returns the media record. */
export async function addMedia(instanceId, { blob, sha256, kind, question, category = null, capturedAt, location }) {
  const record = {
    key: `${instanceId}/${sha256}`,
    instance_id: instanceId,
    sha256,
    blob,
    size: blob.size,
    content_type: blob.type || "application/octet-stream",
    kind,
    question,
    category,
    captured_at: capturedAt,
    location: location ?? null,
  };
  await db.put("media", record);
  return record;
}

/** Return a media blob of a survey (or undefined). */
export async function mediaBlob(instanceId, sha256) {
  return (await db.get("media", `${instanceId}/${sha256}`))?.blob;
}

/** Delete a media blob no answer refers to any more. */
export function removeMedia(instanceId, sha256) {
  return db.del("media", `${instanceId}/${sha256}`);
}

/**
 * Finish a survey: build the submission (docs/architecture.md "Submissions") from the
 * answers that are shown, with the photos and signatures they name, and queue it.
 */
export async function finish(draft, form) {
  formdef.calculate(form, draft.answers);
  const answers = formdef.submittable(form, draft.answers);
  const media = [];
  const seen = new Set();
  for (const { question, answer } of formdef.mediaAnswers(form, answers)) {
    if (seen.has(answer.sha256)) continue;
    seen.add(answer.sha256);
    const record = await db.get("media", `${draft.instance_id}/${answer.sha256}`);
    if (!record) throw new Error(`photo ${answer.sha256.slice(0, 8)} missing on this phone`);
    media.push({
      sha256: record.sha256,
      size: record.size,
      content_type: record.content_type,
      question: question.name,
      category: answer.category ?? record.category ?? question.photo?.category ?? (question.type === "signature" ? "signature" : null),
      captured_at: answer.captured_at ?? record.captured_at,
      location: answer.location ?? record.location ?? null,
    });
  }
  // Photos taken and then deleted from the answers are not sent: drop their blobs.
  for (const record of await db.byIndex("media", "instance_id", draft.instance_id)) {
    if (!seen.has(record.sha256)) await removeMedia(draft.instance_id, record.sha256);
  }
  const payload = {
    instance_id: draft.instance_id,
    form_id: draft.form_id,
    form_version: draft.form_version,
    household_id: draft.household_id,
    base_version: draft.base_version,
    previous_instance_id: draft.previous_instance_id ?? null,
    corrects_instance_id: draft.corrects_instance_id ?? null,
    investigator_ids: draft.investigator_ids,
    device_id: session.device(),
    started_at: draft.started_at,
    completed_at: new Date().toISOString(),
    location: lastLocation(),
    answers,
    media,
  };
  return outbox.enqueue(payload, { householdLabel: draft.household_label });
}
