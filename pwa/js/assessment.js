// The assessment shown before submit. The money part is js/policy.js (held to the server's
// numbers by forms/vectors/assessment.json); the checks that need only the survey itself are
// here, with the same ids, rules and reasons as server/domain/checks.py. The server's
// assessment, which also looks at other households and the photos' times and places, is the
// one that counts: the phone's is a preview, so the investigator sees problems on the spot.
import * as db from "./db.js";
import * as formdef from "./formdef.js";
import * as idcard from "./idcard.js";
import { assessMoney, factsFromRecord, policyFor } from "./policy.js";

const COLLECTIONS = ["members", "supporters", "assets", "incomes"];

/** Return the household as downloaded, in the record shape of docs/architecture.md. */
export function recordOf(household) {
  const record = { household: {} };
  for (const [key, value] of Object.entries(household)) {
    if (!COLLECTIONS.includes(key) && key !== "id") record.household[key] = value;
  }
  for (const collection of COLLECTIONS) {
    record[collection] = {};
    for (const item of household[collection] || []) {
      const { id, ...fields } = item;
      record[collection][id] = fields;
    }
  }
  return record;
}

/**
 * Return the record as the answers leave it: the bound answers applied to the base record
 * (server/domain/binding.py: absent answers are unchanged, removed items go).
 */
export function applyAnswers(form, base, answers) {
  const record = structuredClone(base);
  for (const question of formdef.flatten(formdef.sections(form))) {
    if (!question.bind || !(question.name in answers)) continue;
    if (question.type === "repeat") {
      const collection = (record[question.bind] ||= {});
      const children = [...formdef.flatten(question.children)].filter((c) => c.bind);
      for (const item of answers[question.name] || []) {
        if (!item?.id) continue;
        if (item._removed) {
          delete collection[item.id];
          continue;
        }
        const fields = { ...(collection[item.id] || {}) };
        for (const child of children) if (child.name in item) fields[child.bind] = item[child.name];
        collection[item.id] = fields;
      }
      continue;
    }
    const [section, field] = question.bind.split(".", 2);
    if (section === "household") record.household[field] = answers[question.name];
  }
  return record;
}

function result(id, passed, rule, zh, en) {
  return { id, passed, rule, reason: { zh, en } };
}

/** The checks that need nothing but the survey (a subset of the server's). */
export function surveyChecks(form, answers, investigatorIds, policy) {
  const checks = [];
  const team = new Set((investigatorIds || []).filter((id) => id != null));
  checks.push(team.size >= 2
    ? result("two_investigators", true, "", `${team.size}名调查人`, `${team.size} investigators`)
    : result("two_investigators", false, "", `调查人只有${team.size}名,至少需要2名不同的调查人`,
      `only ${team.size} investigator(s): at least two different people are needed`));

  const media = formdef.mediaAnswers(form, answers);
  const signatures = media.filter((m) => m.question.type === "signature").map((m) => m.answer);
  const signers = new Set(signatures.filter((s) => s.role === "investigator")
    .map((s) => s.user_id || (s.signer_name || "").trim()).filter(Boolean));
  const thumbprints = media.filter((m) => m.question.photo?.category === "thumbprint").length;
  const householdSigned = signatures.some((s) => s.role === "household") || thumbprints > 0;
  if (signers.size < 2 || !householdSigned) {
    const zh = [];
    const en = [];
    if (signers.size < 2) {
      zh.push(`调查人签名只有${signers.size}个不同签名人`);
      en.push(`only ${signers.size} different investigator signer(s)`);
    }
    if (!householdSigned) {
      zh.push("缺少被调查人签名或手印");
      en.push("no signature or thumbprint of the person surveyed");
    }
    checks.push(result("signatures", false, "", zh.join(";"), en.join("; ")));
  }

  if (policy) {
    const hits = (policy.disqualifiers || []).filter((d) => answers[d.question] === true);
    for (const hit of hits) checks.push(result(`disqualifier.${hit.question}`, false, hit.rule, hit.reason.zh, hit.reason.en));
    const sixNo = policy.six_no || {};
    if (answers.application_type === "new") {
      for (const item of sixNo.items || []) {
        const value = answers[item.question];
        const hit = item.missing_choice != null
          ? !Array.isArray(value) || !value.includes(item.missing_choice)
          : value === true;
        if (hit) checks.push(result(`six_no.${item.question}`, false, sixNo.rule, `不批:${item.reason.zh}`, `refuse: ${item.reason.en}`));
      }
    }
  }
  return checks;
}

/**
 * Every ID number (members and supporters of the record as the answers leave it) is valid,
 * agrees with the recorded birth date and sex, and is one person's only:
 * server/domain/checks.py id_numbers.
 */
export function idNumbersCheck(record, visitDate) {
  const zh = [];
  const en = [];
  const people = ["members", "supporters"].flatMap((collection) => Object.values(record[collection] || {}));
  for (const person of people) {
    if (!person.id_number) continue;
    const found = idcard.problems(person.id_number, { birthDate: person.birth_date, sex: person.sex, today: visitDate });
    for (const problem of found) {
      zh.push(`${person.name || "?"}:${problem.zh}`);
      en.push(`${person.name || "?"}: ${problem.en}`);
    }
  }
  for (const problem of idcard.shared(people)) {
    zh.push(problem.zh);
    en.push(problem.en);
  }
  const rule = "GB 11643-1999 公民身份号码(校验码、出生日期、性别)";
  return zh.length
    ? result("id_numbers", false, rule, zh.join(";"), en.join("; "))
    : result("id_numbers", true, rule, "身份证号码有效", "ID numbers are valid");
}

/** Return the phone's assessment of a draft, or {error} when it cannot be computed here. */
export async function assess({ form, draft, household }) {
  try {
    const answers = formdef.submittable(form, draft.answers);
    const record = applyAnswers(form, recordOf(household), answers);
    const visitDate = answers.visit_date || formdef.today();
    const policies = (await db.getSetting("policies")) || [];
    const policy = policyFor(policies, household.code || "", visitDate);
    const checks = [...surveyChecks(form, answers, draft.investigator_ids, policy), idNumbersCheck(record, visitDate)];
    if (!policy) return { error: "no policy for this area on this phone", checks };
    const money = assessMoney(policy, factsFromRecord(record, answers, visitDate));
    const county = (policy.county_review?.when || []).some((flag) => (flag in answers ? answers[flag] : record.household[flag]) === true);
    const refused = checks.some((c) => !c.passed && /^(disqualifier|six_no)\./.test(c.id));
    return { ...money, eligible: money.income_eligible && !refused, county_review: county, checks };
  } catch (error) {
    return { error: error.message || String(error) };
  }
}
