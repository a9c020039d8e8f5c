// Run the shared vectors (forms/vectors/*.json) against the browser modules in node:
// pwa/js/logic.js over json-logic-js, pwa/js/policy.js and pwa/js/idcard.js.
// Usage: node tests/js/run_vectors.mjs   (json-logic-js from pwa/node_modules, or set
// JSON_LOGIC_JS=/path/to/json-logic-js/logic.js). Prints "N passed, M failed"; exit 1 on failure.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(join(root, "pwa", "package.json"));
globalThis.jsonLogic = require(process.env.JSON_LOGIC_JS || "json-logic-js");

const logic = await import(pathToFileURL(join(root, "pwa", "js", "logic.js")));
const policy = await import(pathToFileURL(join(root, "pwa", "js", "policy.js")));
const idcard = await import(pathToFileURL(join(root, "pwa", "js", "idcard.js")));
const read = (name) => JSON.parse(readFileSync(join(root, "forms", "vectors", name), "utf8"));

/** Deep equality where numbers compare by value (3 equals 3.0). */
function same(a, b) {
  if (typeof a === "number" && typeof b === "number") return Math.abs(a - b) < 1e-9;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => same(x, b[i]));
  if (a && b && typeof a === "object" && typeof b === "object" && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((k) => same(a[k] ?? null, b[k] ?? null));
  }
  return a === b;
}

let passed = 0;
let failed = 0;
function check(name, actual, expected) {
  if (same(actual, expected)) {
    passed += 1;
  } else {
    failed += 1;
    console.log(`FAIL ${name}\n  expected ${JSON.stringify(expected)}\n  got      ${JSON.stringify(actual)}`);
  }
}

for (const v of read("jsonlogic.json").vectors) {
  let actual;
  try {
    actual = logic.evaluate(v.rule, v.data);
  } catch (error) {
    actual = `error: ${error.message}`;
  }
  check(`jsonlogic: ${v.name}`, actual, v.expected);
}

const assessment = read("assessment.json");
for (const v of assessment.vectors) {
  let actual;
  try {
    const actualFull = policy.assessMoney(assessment.policies[v.policy], v.facts);
    actual = Object.fromEntries(Object.keys(v.expected).map((k) => [k, actualFull[k]]));
  } catch (error) {
    actual = `error: ${error.message}`;
  }
  check(`assessment: ${v.name}`, actual, v.expected);
}

for (const v of assessment.from_record || []) {
  let actual;
  try {
    const facts = policy.factsFromRecord(v.record, v.answers, v.visit_date);
    const actualFull = policy.assessMoney(assessment.policies[v.policy], facts);
    actual = Object.fromEntries(Object.keys(v.expected).map((k) => [k, actualFull[k]]));
  } catch (error) {
    actual = `error: ${error.message}`;
  }
  check(`from record: ${v.name}`, actual, v.expected);
}

const ids = read("idcard.json");
for (const v of ids.vectors) {
  const actual = idcard.problems(v.number, { birthDate: v.birth_date, sex: v.sex, today: ids.today });
  check(`idcard: ${v.name}`, actual, v.expected);
}
for (const v of ids.shared) {
  check(`idcard shared: ${v.name}`, idcard.shared(v.people), v.expected);
}

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
