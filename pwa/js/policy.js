// The money part of the 低保 assessment on the phone: the same rules, order of operations and
// rounding as server/domain/policy.py, so the investigator sees the server's numbers before
// submitting. forms/vectors/assessment.json holds both sides to that (tests/js/run_vectors.mjs).
// A policy is the JSON of forms/policies/*.yaml as served by GET /api/v1/policies.
// Pure functions over plain data: no DOM, no storage, no fetch.

const UNIT_MONTH = "month";
const WORK_ABLE = ["full", "partial"];

/** Round half away from zero to `decimals` places (epsilon absorbs binary error). */
export function roundMoney(value, decimals = 2) {
  const factor = 10 ** decimals;
  const rounded = Math.floor(Math.abs(value) * factor + 0.5 + 1e-9) / factor;
  return value < 0 ? -rounded : rounded;
}

/** An amount as a number: null and "" are 0. */
function amountOf(value) {
  return value === null || value === undefined || value === "" ? 0 : Number(value);
}

/** Convert an amount per month or per year into the standard's unit. */
export function toUnit(amount, period, unit) {
  if (period === unit) return amount;
  return unit === "year" ? amount * 12 : amount / 12;
}

/** Parse "YYYY-MM-DD" into [year, month, day] numbers. */
function parseDate(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return [year, month, day];
}

/** Days in a month (month 1-12). */
function daysIn(year, month) {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/** Format [year, month, day] as "YYYY-MM-DD". */
function formatDate(year, month, day) {
  return `${String(year).padStart(4, "0")}-${String(month).padStart(2, "0")}-${String(day).padStart(2, "0")}`;
}

/** The same day `months` later, clamped to the month's last day (ISO strings). */
export function addMonths(iso, months) {
  const [year, month, day] = parseDate(iso);
  const index = month - 1 + months;
  const newYear = year + Math.floor(index / 12);
  const newMonth = (((index % 12) + 12) % 12) + 1;
  return formatDate(newYear, newMonth, Math.min(day, daysIn(newYear, newMonth)));
}

/** The rule for "urban" or "rural"; throws for an area the policy lacks. */
export function area(policy, areaType) {
  const rule = (policy.areas || {})[areaType];
  if (!rule) throw new Error(`policy ${policy.id} has no rule for area type ${areaType}`);
  return rule;
}

/** The period whose income is counted: {kind, from, to}. */
export function referencePeriod(policy, areaType, visitDate) {
  const kind = area(policy, areaType).reference_period;
  const [year, month] = parseDate(visitDate);
  if (kind === "previous_year") {
    return { kind, from: formatDate(year - 1, 1, 1), to: formatDate(year - 1, 12, 31) };
  }
  return { kind, from: formatDate(year, month, 1), to: formatDate(year, month, daysIn(year, month)) };
}

/** Sort items by position then id, so both sides add floats in the same order. */
function ordered(items) {
  return [...(items || [])].sort((a, b) => {
    const pa = a.position || 0;
    const pb = b.position || 0;
    if (pa !== pb) return pa < pb ? -1 : 1;
    const ia = String(a.id || "");
    const ib = String(b.id || "");
    return ia < ib ? -1 : ia > ib ? 1 : 0;
  });
}

/** Co-resident members who are alive: the people income is divided by. */
export function countedMembers(members) {
  return ordered(members).filter((m) => m.co_resident !== false && !m.died_on);
}

/** Support imputed from supporters' households, in the standard's unit. */
export function imputedSupport(policy, areaType, supporters) {
  const imputation = policy.support_imputation;
  if (!imputation || imputation.threshold_multiplier === null || imputation.threshold_multiplier === undefined) return 0;
  const rule = area(policy, areaType);
  const monthlyStandard = toUnit(rule.standard, rule.unit, UNIT_MONTH);
  const share = imputation.share ?? 1;
  let total = 0;
  for (const supporter of ordered(supporters)) {
    const kept = amountOf(supporter.household_size) * imputation.threshold_multiplier * monthlyStandard;
    total += Math.max(0, amountOf(supporter.monthly_income) - kept) * share;
  }
  return toUnit(total, UNIT_MONTH, rule.unit);
}

/** The household's counted income, support top-up and deducted spending. */
export function householdIncome(policy, facts) {
  const unit = area(policy, facts.area_type).unit;
  const income = policy.income || {};
  const excluded = income.excluded || [];
  const deductible = income.deductible_spending || [];
  const counted = new Set(countedMembers(facts.members).map((m) => m.id));
  const known = new Set((facts.members || []).map((m) => m.id));
  let total = 0;
  let declaredSupport = 0;
  for (const item of ordered(facts.incomes)) {
    const member = item.member_id;
    if (member && known.has(member) && !counted.has(member)) continue;
    if (excluded.includes(item.category || "other")) continue;
    const amount = toUnit(amountOf(item.amount), item.period || UNIT_MONTH, unit);
    total += amount;
    if (item.category === "support") declaredSupport += amount;
  }
  const topUp = Math.max(0, imputedSupport(policy, facts.area_type, facts.supporters) - declaredSupport);
  let deducted = 0;
  for (const item of ordered(facts.spending)) {
    if (deductible.includes(item.category)) {
      deducted += toUnit(amountOf(item.amount), item.period || UNIT_MONTH, unit);
    }
  }
  const decimals = policy.money_decimals ?? 2;
  return {
    household_income: roundMoney(total + topUp, decimals),
    imputed_support: roundMoney(topUp, decimals),
    deducted_spending: roundMoney(deducted, decimals),
  };
}

/** Per-capita income in the standard's unit (null for a household of nobody). */
export function perCapitaIncome(policy, income, deducted, members) {
  if (members <= 0) return null;
  return roundMoney(Math.max(0, income - deducted) / members, policy.money_decimals ?? 2);
}

/** Eligible on income: per-capita income strictly below the standard. */
export function incomeEligible(policy, areaType, perCapita) {
  return perCapita !== null && perCapita < area(policy, areaType).standard;
}

/** 低保边缘: at or above the standard but below the near-poverty multiple of it. */
export function nearPoverty(policy, areaType, perCapita) {
  if (perCapita === null) return false;
  const standard = area(policy, areaType).standard;
  return standard <= perCapita && perCapita < standard * (policy.near_poverty_multiplier ?? 1.5);
}

/** The class the benefit is paid by (class-ratio areas only; null otherwise). */
export function benefitClass(policy, areaType, chosen) {
  const rule = area(policy, areaType);
  if (rule.benefit !== "class_ratio") return null;
  return Object.prototype.hasOwnProperty.call(rule.class_ratios || {}, chosen) ? chosen : null;
}

/** The benefit per payment period (month), or null when the class is missing. */
export function benefit(policy, areaType, perCapita, covered, klass) {
  const rule = area(policy, areaType);
  if (!incomeEligible(policy, areaType, perCapita) || covered <= 0) return 0;
  const paidPer = (policy.benefit || {}).paid_per || UNIT_MONTH;
  const floorShare = (policy.benefit || {}).floor_share;
  let perPerson;
  if (rule.benefit === "class_ratio") {
    const ratios = rule.class_ratios || {};
    if (!Object.prototype.hasOwnProperty.call(ratios, klass)) return null;
    perPerson = rule.standard * ratios[klass];
  } else {
    perPerson = rule.standard - perCapita;
    if (floorShare !== null && floorShare !== undefined) {
      perPerson = Math.max(perPerson, rule.standard * floorShare);
    }
  }
  return roundMoney(toUnit(perPerson * covered, rule.unit, paidPer), policy.money_decimals ?? 2);
}

/** The conditions that shorten the review interval. */
export function reviewFlags(facts) {
  return {
    unstable_income: Boolean(facts.unstable_income),
    able_to_work: countedMembers(facts.members).some((m) => WORK_ABLE.includes(m.work_ability)),
    separately_registered: Boolean(facts.separately_registered),
  };
}

/** The next review date (ISO): the short interval when any of its conditions holds. */
export function nextReviewOn(policy, visitDate, flags) {
  const review = policy.review || {};
  const short = (review.short_when || []).some((name) => flags[name]);
  return addMonths(visitDate, short ? review.short_months ?? 6 : review.months ?? 12);
}

/** The money part of the assessment from plain facts (same keys as the server). */
export function assessMoney(policy, facts) {
  const areaType = facts.area_type;
  const rule = area(policy, areaType);
  const members = countedMembers(facts.members);
  const money = householdIncome(policy, facts);
  const perCapita = perCapitaIncome(policy, money.household_income, money.deducted_spending, members.length);
  const eligible = incomeEligible(policy, areaType, perCapita);
  const klass = benefitClass(policy, areaType, facts.benefit_class);
  return {
    policy_id: policy.id,
    area_type: areaType,
    unit: rule.unit,
    reference_period: referencePeriod(policy, areaType, facts.visit_date),
    ...money,
    counted_members: members.length,
    per_capita_income: perCapita,
    standard: rule.standard,
    income_eligible: eligible,
    near_poverty: nearPoverty(policy, areaType, perCapita),
    benefit: benefit(policy, areaType, perCapita, members.length, klass),
    benefit_unit: (policy.benefit || {}).paid_per || UNIT_MONTH,
    benefit_class: klass,
    next_review_on: eligible ? nextReviewOn(policy, facts.visit_date, reviewFlags(facts)) : null,
  };
}

/** The policy in force for a region code on a date (longest region prefix, newest start). */
export function policyFor(policies, regionCode, onDate) {
  let best = null;
  let bestKey = null;
  for (const policy of policies) {
    if (policy.effective_from > onDate) continue;
    if (policy.effective_to && policy.effective_to < onDate) continue;
    const prefixes = (policy.regions || []).filter((code) => String(regionCode).startsWith(code));
    if (!prefixes.length) continue;
    const key = [Math.max(...prefixes.map((p) => p.length)), policy.effective_from];
    if (!best || key[0] > bestKey[0] || (key[0] === bestKey[0] && key[1] > bestKey[1])) {
      best = policy;
      bestKey = key;
    }
  }
  return best;
}

/** Item dicts of a record collection, with their ids, in record order. */
function itemsOf(record, collection) {
  return Object.entries((record || {})[collection] || {}).map(([id, fields]) => ({ ...fields, id }));
}

/** The facts the money part needs, from the record as the answers leave it (see
 * server/domain/assessment.py: facts_from_record). */
export function factsFromRecord(record, answers, visitDate) {
  const household = (record || {}).household || {};
  // The spending repeat is not bound to the record: its answer names are the fields.
  const spending = ((answers || {}).spending || [])
    .filter((item) => item && !item._removed)
    .map((item) => ({
      id: item.id ?? null,
      category: item.spending_category ?? null,
      amount: item.spending_amount ?? null,
      period: item.spending_period ?? null,
    }));
  return {
    area_type: household.area_type,
    visit_date: visitDate,
    members: itemsOf(record, "members"),
    incomes: itemsOf(record, "incomes"),
    supporters: itemsOf(record, "supporters"),
    spending,
    benefit_class: household.benefit_class ?? null,
    unstable_income: Boolean((answers || {}).income_unstable),
    separately_registered: Boolean(household.staff_relative),
  };
}
