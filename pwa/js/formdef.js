// What a form definition means, without any DOM: prefill from the household record,
// relevance, calculations, validation and the answers that go on the wire. The rules are
// JsonLogic, evaluated by js/logic.js with the same semantics as the server.
// Contract: docs/architecture.md "Form definitions" (answers are flat, keyed by question name;
// a repeat's answer is a list of items with "id" and maybe "_removed").
import { evaluate, truthy } from "./logic.js";
import { t, label, serverText } from "./i18n.js";
import * as idcard from "./idcard.js";

const EMPTY_TYPES = new Set(["note", "group"]);

/** Yield the questions at the answers' top level: groups are flattened, repeats are not. */
export function* flatten(questions) {
  for (const question of questions || []) {
    if (question.type === "group") yield* flatten(question.children);
    else yield question;
  }
}

/** Return the sections of a form (its top-level groups). */
export function sections(form) {
  return form.sections || [];
}

/** Return the rule data for a question: the answers, plus `item` inside a repeat. */
export function ruleData(answers, item = null) {
  return item ? { ...answers, item } : answers;
}

function check(rule, answers, item, fallback) {
  if (rule === undefined || rule === null) return fallback;
  if (typeof rule === "boolean") return rule;
  try {
    return truthy(evaluate(rule, ruleData(answers, item)));
  } catch (error) {
    console.warn("rule failed", rule, error);
    return fallback;
  }
}

/** Tell whether a question is shown (its `relevant` rule; true when it has none). */
export function isRelevant(question, answers, item = null) {
  return check(question.relevant, answers, item, true);
}

/** Tell whether a question must be answered. */
export function isRequired(question, answers, item = null) {
  return check(question.required, answers, item, false);
}

/** Tell whether an answer counts as empty. */
export function isEmpty(value) {
  return value === undefined || value === null || value === "" || (Array.isArray(value) && value.length === 0);
}

/** Return the live (not removed) items of a repeat answer. */
export function liveItems(value) {
  return Array.isArray(value) ? value.filter((item) => !item._removed) : [];
}

/** Return the repeat a question sits in (directly or in a group of it), or null. */
export function repeatOf(form, question) {
  return [...flatten(sections(form))].find((q) => q.type === "repeat" && [...flatten(q.children)].includes(question)) ?? null;
}

/**
 * Return how people know a repeat's item: its first text answer (a member's name), else
 * "Item 2" (`index` counts from 0 among all the repeat's items, as the server's paths do).
 */
export function itemName(repeat, item, index) {
  const first = [...flatten(repeat.children)].find((c) => c.type === "text");
  return (first && item?.[first.name]) || t("repeat.item", { n: index + 1 });
}

/** Return a fresh repeat item (a new UUID: a new member, asset ... on the record). */
export function newItem() {
  return { id: crypto.randomUUID() };
}

/**
 * Return the answers prefilled from the household's master record: each bound question
 * gets the record's value; a bound repeat gets one item per member/asset/... with its UUID.
 */
export function prefill(form, household) {
  const answers = {};
  for (const question of flatten(sections(form))) {
    if (!question.bind) continue;
    if (question.type === "repeat") {
      const records = household[question.bind];
      if (!Array.isArray(records)) continue;
      const children = [...flatten(question.children)].filter((c) => c.bind);
      answers[question.name] = records.map((record) => {
        const item = { id: record.id };
        for (const child of children) if (child.bind in record) item[child.name] = record[child.bind];
        return item;
      });
      continue;
    }
    const [section, field] = question.bind.split(".", 2);
    if (section === "household" && field in household) answers[question.name] = household[field];
  }
  return answers;
}

/**
 * Return the answers of a survey that the household's record holds (the bound questions; a
 * repeat's live items with their ids and bound answers only): what a later survey of the
 * same household is prefilled with, as prefill gives it from the downloaded record.
 */
export function boundAnswers(form, answers) {
  const bound = {};
  for (const question of flatten(sections(form))) {
    if (!question.bind || !(question.name in answers)) continue;
    const value = answers[question.name];
    if (question.type !== "repeat") {
      bound[question.name] = structuredClone(value);
      continue;
    }
    if (!Array.isArray(value)) continue;
    const children = [...flatten(question.children)].filter((c) => c.bind);
    // An item the survey removed is not on the phone's view of the record any more.
    bound[question.name] = liveItems(value).map((item) => {
      const kept = { id: item.id };
      for (const child of children) if (child.name in item) kept[child.name] = structuredClone(item[child.name]);
      return kept;
    });
  }
  return bound;
}

/** Return the investigators' signature questions, in the order the team signs them. */
export function investigatorSignatures(form) {
  return [...flatten(sections(form))].filter((q) => q.type === "signature" && q.signature?.role === "investigator");
}

/** Return today's date on this phone's calendar (YYYY-MM-DD, local time, not UTC). */
export function today(now = new Date()) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** Tell whether a question dates the visit (the server reads it by this name too). */
export function isVisitDate(question) {
  return question.name === "visit_date" && question.type === "date";
}

/**
 * A new survey's visit date is today (the investigator is at the door): the rules that
 * compare dates with it (a birth date cannot be after the visit) have something to compare.
 */
export function startVisit(form, answers, now = new Date()) {
  const question = [...flatten(sections(form))].find(isVisitDate);
  if (question && isEmpty(answers.visit_date)) answers.visit_date = today(now);
  return answers;
}

/** Recompute the `calculate` questions in place (twice, so chains settle). */
export function calculate(form, answers) {
  for (let pass = 0; pass < 2; pass += 1) {
    for (const question of flatten(sections(form))) {
      if (question.type === "calculate" && question.calculate !== undefined) {
        answers[question.name] = safeEvaluate(question.calculate, answers);
      }
      if (question.type === "repeat" && Array.isArray(answers[question.name])) {
        for (const child of flatten(question.children)) {
          if (child.type !== "calculate" || child.calculate === undefined) continue;
          for (const item of answers[question.name]) item[child.name] = safeEvaluate(child.calculate, answers, item);
        }
      }
    }
  }
  return answers;
}

function safeEvaluate(rule, answers, item = null) {
  try {
    return evaluate(rule, ruleData(answers, item));
  } catch (error) {
    console.warn("calculation failed", rule, error);
    return null;
  }
}

/** Return the error message for one value of a question, or null. */
export function fieldError(question, value, answers, item = null) {
  if (EMPTY_TYPES.has(question.type) || question.type === "calculate") return null;
  if (!isRelevant(question, answers, item)) return null;
  const empty = question.type === "repeat" ? liveItems(value).length === 0 : isEmpty(value);
  if (empty) {
    if (!isRequired(question, answers, item)) return null;
    // A required photo question asks for its minimum count (an optional one: none or min).
    const min = question.type === "photo" ? question.photo?.min ?? 1 : 0;
    return min > 1 ? t("v.min_photos", { n: min }) : t("v.required");
  }
  switch (question.type) {
    case "integer":
      if (!Number.isInteger(value)) return t("v.integer");
      break;
    case "decimal":
    case "money":
      if (typeof value !== "number" || !Number.isFinite(value)) return t("v.number");
      break;
    case "date":
      if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(Date.parse(value))) return t("v.date");
      // On this phone's calendar; the server allows for a phone a few hours fast.
      if (isVisitDate(question) && value > today()) return t("v.visit_future");
      break;
    case "signature":
      // A draft signed before the name was asked for: the server would refuse it.
      if (typeof value?.signer_name !== "string" || !value.signer_name.trim()) return t("sig.need_name");
      break;
    case "photo": {
      const { min = 0, max = Infinity } = question.photo || {};
      if (value.length < min) return t("v.min_photos", { n: min });
      if (value.length > max) return t("v.max_photos", { n: max });
      break;
    }
    default:
      break;
  }
  if (question.constraint !== undefined && !check(question.constraint, answers, item, true)) {
    return label(question.constraint_message) || t("v.constraint");
  }
  return null;
}

/** Tell whether a question holds an ID number (a repeat's question bound to id_number). */
export function isIdNumber(question) {
  return question.bind === "id_number";
}

/**
 * Return a typed value as it is kept: an ID number without the spaces people type between
 * its groups (as printed on the card: 6 + 8 + 4) and with an upper-case X, so the form's
 * 18-character constraint (and the server's) counts the number, not the spaces.
 */
export function keptText(question, text) {
  return isIdNumber(question) ? idcard.normalise(text) : text;
}

/**
 * Keep every typed value of a draft as the form keeps it now (keptText), in place: a draft
 * saved before the phone tidied ID numbers, or one taken back from the outbox, would
 * otherwise stop at "18 characters" until each field is touched. Returns whether anything
 * changed (the caller saves the draft).
 */
export function tidyAnswers(form, answers) {
  let changed = false;
  const tidy = (questions, target) => {
    for (const question of flatten(questions)) {
      if (question.type === "repeat") {
        for (const item of Array.isArray(target[question.name]) ? target[question.name] : []) tidy(question.children, item);
      } else if (question.type === "text" && typeof target[question.name] === "string") {
        const kept = keptText(question, target[question.name]);
        if (kept !== target[question.name]) {
          target[question.name] = kept;
          changed = true;
        }
      }
    }
  };
  tidy(sections(form), answers);
  return changed;
}

/**
 * Return the warnings for one value: what the server accepts but flags for a supervisor,
 * so the investigator checks it on the spot without being stopped (a list, maybe empty).
 * An ID number (a repeat's question bound to id_number, as services/forms.py finds them)
 * gets the GB 11643 problems the server's id_numbers check reports, against the item's
 * recorded birth date and sex, and a word when another item of the repeat has the same
 * number. Warnings, not errors: real numbers can be odd (old cards with a wrong check
 * character, duplicated numbers that were issued), and the card in hand is what counts.
 */
export function fieldWarnings(form, question, value, answers, item = null) {
  if (!item || !isIdNumber(question) || typeof value !== "string" || !value.trim()) return [];
  const repeat = repeatOf(form, question);
  if (!repeat) return [];
  const children = [...flatten(repeat.children)];
  const bound = (field) => {
    const child = children.find((c) => c.bind === field);
    return child ? item[child.name] ?? null : null;
  };
  // As the server: a person cannot be born after the visit (else after today).
  const visit = /^\d{4}-\d{2}-\d{2}$/.test(answers.visit_date ?? "") ? answers.visit_date : today();
  const warnings = idcard.problems(value, { birthDate: bound("birth_date"), sex: bound("sex"), today: visit })
    .map((problem) => t("v.id_check", { reason: label(problem) }));
  // The same number in any list of people (a member and a supporter too), as the server's
  // id_numbers check compares them.
  const mine = idcard.normalise(value);
  const same = [];
  for (const list of flatten(sections(form))) {
    const numberQuestion = list.type === "repeat" && [...flatten(list.children)].find(isIdNumber);
    if (!numberQuestion || !Array.isArray(answers[list.name])) continue;
    answers[list.name].forEach((other, index) => {
      const number = other[numberQuestion.name];
      if (other !== item && !other._removed && typeof number === "string" && idcard.normalise(number) === mine) {
        same.push(itemName(list, other, index));
      }
    });
  }
  if (same.length) warnings.push(t("v.id_duplicate", { who: same.join("、") }));
  return warnings;
}

/**
 * Validate every shown question; return a list of {section, name, item, message} where
 * `section` is the index of the section and `item` the repeat item's id (or null).
 */
export function validate(form, answers) {
  const errors = [];
  sections(form).forEach((section, index) => {
    if (!isRelevant(section, answers)) return;
    const visit = (questions, item, repeat) => {
      for (const question of questions || []) {
        if (!isRelevant(question, answers, item)) continue;
        if (question.type === "group") {
          visit(question.children, item, repeat);
          continue;
        }
        const value = item ? item[question.name] : answers[question.name];
        const message = fieldError(question, value, answers, item);
        if (message) errors.push({ section: index, name: question.name, item: item?.id ?? null, repeat, message, question });
        if (question.type === "repeat") {
          for (const child of liveItems(value)) visit(question.children, child, question.name);
        }
      }
    };
    visit(section.children, null, null);
  });
  return errors;
}

/**
 * Return the answers as they go on the wire: questions that are not shown are left out
 * (for a bound question, "absent" means "unchanged" on the server), notes are dropped.
 */
export function submittable(form, answers) {
  const result = {};
  const visit = (questions, source, target, item) => {
    for (const question of questions || []) {
      if (!isRelevant(question, answers, item)) continue;
      if (question.type === "group") {
        visit(question.children, source, target, item);
        continue;
      }
      if (question.type === "note") continue;
      // A shown repeat nobody added to is an empty list (the server wants a list; for a
      // bound repeat [] changes nothing: only listed items are changes).
      if (question.type === "repeat" && !(question.name in source)) {
        target[question.name] = [];
        continue;
      }
      if (!(question.name in source)) continue;
      const value = source[question.name];
      if (question.type === "repeat" && Array.isArray(value)) {
        target[question.name] = value.map((child) => {
          if (child._removed) return { id: child.id, _removed: true };
          const copy = { id: child.id };
          visit(question.children, child, copy, child);
          return copy;
        });
      } else {
        target[question.name] = value;
      }
    }
  };
  for (const section of sections(form)) {
    if (isRelevant(section, answers)) visit(section.children, answers, result, null);
  }
  return result;
}

/** List every photo and signature answered (with the question that holds it). */
export function mediaAnswers(form, answers) {
  const found = [];
  const visit = (questions, source) => {
    for (const question of questions || []) {
      if (question.type === "group") visit(question.children, source);
      else if (question.type === "repeat") for (const item of liveItems(source[question.name])) visit(question.children, item);
      else if (question.type === "photo") for (const photo of source[question.name] || []) found.push({ question, answer: photo });
      else if (question.type === "signature" && source[question.name]?.sha256) found.push({ question, answer: source[question.name] });
    }
  };
  for (const section of sections(form)) visit(section.children, answers);
  return found;
}

/**
 * Return a readable name for a path the server names a value by: an answer path
 * ("answers.visit_date", "answers.members[1].member_id_number") or a record path
 * ("household.address", "answers.members.<uuid>.id_number"). It is the question's label in
 * the app's language, after the member (or other item) it belongs to: their name, else
 * "家庭成员第2项". A path the form does not know is returned as it is.
 */
export function describePath(form, path, answers = {}) {
  const text = String(path);
  const rest = text.startsWith("answers.") ? text.slice("answers.".length) : text;
  const match = /^([^.[\]]+)(?:\[(\d+)\])?(?:\.([^.]+))?(?:\.([^.]+))?$/.exec(rest);
  if (!match) return text;
  const [, head, index, second, third] = match;
  const questions = [...flatten(sections(form || {}))];
  if (head === "household") {
    const question = questions.find((q) => q.bind === `household.${second}`);
    return question && !third && index === undefined ? label(question.label) : text;
  }
  const repeat = questions.find((q) => q.type === "repeat" && (q.name === head || q.bind === head));
  if (!repeat) {
    const question = questions.find((q) => q.name === head);
    return question && index === undefined && !second ? label(question.label) : text;
  }
  // An answer path counts the repeat's items ([1]); a record path names one by its id.
  const items = Array.isArray(answers?.[repeat.name]) ? answers[repeat.name] : [];
  const position = index !== undefined ? Number(index) : items.findIndex((i) => i?.id === second);
  const field = index !== undefined ? second : third;
  if (index !== undefined && third) return text;
  const item = items[position];
  const first = [...flatten(repeat.children)].find((c) => c.type === "text");
  const who = !item ? label(repeat.label)
    : (first && item[first.name]) || t("repeat.nth", { what: label(repeat.label), n: position + 1 });
  if (!field) return who;
  const child = [...flatten(repeat.children)].find((c) => c.name === field || c.bind === field);
  return `${who} · ${child ? label(child.label) : field}`;
}

/**
 * Return a refusal's paths with their items named by id instead of position
 * ("answers.members[1].x" becomes "answers.members.<uuid>.x"), from the answers sent: a
 * refused survey taken back to be fixed keeps naming the right member when one is removed.
 */
export function pinItems(errors, answers) {
  return Object.fromEntries(Object.entries(errors || {}).map(([path, messages]) => [
    String(path).replace(/^answers\.([^.[\]]+)\[(\d+)\]/, (whole, name, index) => {
      const id = answers?.[name]?.[Number(index)]?.id;
      return typeof id === "string" && id && !id.includes(".") ? `answers.${name}.${id}` : whole;
    }),
    messages,
  ]));
}

/**
 * Return what a refusal {message, errors} says, in the app's language: the server's
 * message and, per path, where (describePath) and the server's messages.
 */
export function refusalLines(form, answers, refusal) {
  return {
    message: serverText(refusal.message),
    lines: Object.entries(refusal.errors || {}).map(([path, messages]) => ({
      path,
      where: describePath(form, path, answers),
      messages: [].concat(messages).map((m) => serverText(typeof m === "string" ? m : JSON.stringify(m))),
    })),
  };
}

/** Return the label of a record value from the form's choices for that bound field. */
export function recordValueLabel(form, collection, field, value) {
  if (value === null || value === undefined || !form) return value ?? "";
  for (const question of flatten(sections(form))) {
    if (question.type !== "repeat" || question.bind !== collection) continue;
    const child = [...flatten(question.children)].find((c) => c.bind === field);
    const choice = (child?.choices || []).find((c) => c.value === value);
    if (choice) return label(choice.label);
  }
  return value;
}
