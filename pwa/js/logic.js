// JsonLogic for forms: the one wrapper over json-logic-js (loaded as a classic script that
// defines window.jsonLogic). The server evaluates the same rules with server/domain/logic.py;
// the two libraries disagree in a few corners (shared/docs/jsonlogic.md), so both wrappers pin
// them to one meaning, checked by forms/vectors/jsonlogic.json on both sides:
//   - arithmetic (+ - * / % min max) converts arguments with Number() (null and "" are 0,
//     "12abc" is not a number; json-logic-js would use parseFloat, which reads null as NaN);
//     a result that is not a finite number is null;
//   - cat writes null as "";
//   - var with a default returns the default for a missing *or null* value.
// Comparisons, == and === are JavaScript's own: the Python side imitates them.
// No DOM here: this module runs in the page, in a worker and in node (tests/js/run_vectors.mjs).

/** Operators every form may use (the same list as server/domain/logic.py). */
export const OPERATORS = new Set([
  "var", "missing", "missing_some",
  "if", "?:", "and", "or", "!", "!!",
  "==", "===", "!=", "!==", "<", "<=", ">", ">=",
  "+", "-", "*", "/", "%", "min", "max",
  "cat", "substr", "in", "merge",
  "map", "filter", "reduce", "all", "some", "none",
]);

let installed = null;

/** Return a number that is finite, or null. */
function finite(value) {
  return Number.isFinite(value) ? value : null;
}

/** Look up a dotted name in data as json-logic-js does, with undefined for "not there". */
function lookup(data, key) {
  if (key === undefined || key === null || key === "") return data;
  let value = data;
  for (const part of String(key).split(".")) {
    if (value === null || value === undefined) return undefined;
    value = value[part];
  }
  return value;
}

const OVERRIDES = {
  "+": (...args) => finite(args.reduce((sum, a) => sum + Number(a), 0)),
  "*": (...args) => finite(args.reduce((product, a) => product * Number(a), 1)),
  "-": (a, b) => finite(b === undefined ? -Number(a) : Number(a) - Number(b)),
  "/": (a, b) => (Number(b) === 0 ? null : finite(Number(a) / Number(b))),
  "%": (a, b) => (Number(b) === 0 ? null : finite(Number(a) % Number(b))),
  min: (...args) => (args.length ? finite(Math.min(...args.map(Number))) : null),
  max: (...args) => (args.length ? finite(Math.max(...args.map(Number))) : null),
  cat: (...args) => args.map((a) => (a === null || a === undefined ? "" : String(a))).join(""),
  var: function (key, fallback) {
    const value = lookup(this, key);
    if (value === undefined || value === null) return fallback === undefined ? null : fallback;
    return value;
  },
};

/** Return json-logic-js with the shared overrides installed (once). */
function engine() {
  const library = globalThis.jsonLogic;
  if (!library) throw new Error("json-logic-js is not loaded (window.jsonLogic)");
  if (installed !== library) {
    for (const [name, operation] of Object.entries(OVERRIDES)) library.add_operation(name, operation);
    installed = library;
  }
  return library;
}

/** Make a result JSON-like: NaN and infinities become null (as JSON.stringify does). */
function jsonResult(value) {
  if (typeof value === "number") return finite(value);
  if (Array.isArray(value)) return value.map(jsonResult);
  return value === undefined ? null : value;
}

/** Evaluate a rule against data with the shared semantics; throws on an unknown operator. */
export function evaluate(rule, data) {
  return jsonResult(engine().apply(rule, data === undefined ? null : data));
}

/** JsonLogic truthiness: an empty list is false; so are 0, "" and null. */
export function truthy(value) {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}
