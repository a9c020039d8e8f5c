// Resident ID numbers (居民身份证号码, GB 11643-1999): check character, birth date and sex.
// An 18-character number is a 6-digit region code, the birth date (YYYYMMDD), a 3-digit
// sequence (odd for men, even for women) and a check character (ISO 7064 MOD 11-2, 0-9 or X).
// The same rules and reasons as server/domain/idcard.py, held to it by forms/vectors/idcard.json
// (tests/test_idcard.py runs them on the server, tests/e2e/test_vectors_in_browser.py here).

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK_CHARACTERS = "10X98765432";
// First two digits: provinces (GB/T 2260) and the 8x codes of residence permits for people
// from Hong Kong, Macao and Taiwan.
const PROVINCE_CODES = new Set(
  "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82 83".split(" "),
);

/** The reason a number is malformed, {zh, en}, as the server words it. */
export class InvalidIdNumber extends Error {
  constructor(zh, en) {
    super(en);
    this.reason = { zh, en };
  }
}

/** Return the check character for the first 17 digits. */
export function checkCharacter(first17) {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK_CHARACTERS[sum % 11];
}

/** Return the number without spaces (an input method's full-width ones too), x made X. */
export function normalise(number) {
  return String(number).split(/\s+/u).join("").toUpperCase();
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

/**
 * Parse and verify an 18-character ID number against `today` (YYYY-MM-DD: no one is born
 * after it); return {number, regionCode, birthDate, sex} or throw InvalidIdNumber.
 */
export function parse(raw, today) {
  const number = normalise(raw);
  // Characters, not UTF-16 units: Python's len() counts code points.
  const length = [...number].length;
  if (length !== 18) {
    throw new InvalidIdNumber(`身份证号应为18位,实为${length}位`, `an ID number has 18 characters, not ${length}`);
  }
  const body = number.slice(0, 17);
  const check = number[17];
  if (!/^[0-9]{17}[0-9X]$/.test(number)) {
    throw new InvalidIdNumber("身份证号前17位应为数字,末位为数字或X",
      "the first 17 characters must be digits, the last a digit or X");
  }
  if (!PROVINCE_CODES.has(body.slice(0, 2))) {
    throw new InvalidIdNumber(`地区码${body.slice(0, 6)}无效`, `region code ${body.slice(0, 6)} is not valid`);
  }
  const [year, month, day] = [body.slice(6, 10), body.slice(10, 12), body.slice(12, 14)].map(Number);
  const date = new Date(Date.UTC(2000, month - 1, day));
  date.setUTCFullYear(year); // years below 100 are not 19xx
  const real = year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  if (!real) {
    throw new InvalidIdNumber(`出生日期${body.slice(6, 14)}不是有效日期`, `birth date ${body.slice(6, 14)} is not a valid date`);
  }
  const birthDate = `${pad(year, 4)}-${pad(month)}-${pad(day)}`;
  if (year < 1900 || birthDate > today) {
    throw new InvalidIdNumber(`出生日期${birthDate}不合理`, `birth date ${birthDate} is out of range`);
  }
  const expected = checkCharacter(body);
  if (check !== expected) {
    throw new InvalidIdNumber(`校验位应为${expected},实为${check}`, `check character should be ${expected}, not ${check}`);
  }
  return { number, regionCode: body.slice(0, 6), birthDate, sex: Number(body[16]) % 2 ? "male" : "female" };
}

/**
 * List what is wrong with an ID number ({zh, en} each) and its agreement with a recorded
 * birth date and sex, as server/domain/idcard.py problems() does.
 */
export function problems(number, { birthDate = null, sex = null, today }) {
  let parsed;
  try {
    parsed = parse(number, today);
  } catch (error) {
    if (error instanceof InvalidIdNumber) return [error.reason];
    throw error;
  }
  const found = [];
  if (birthDate && birthDate !== parsed.birthDate) {
    found.push({
      zh: `出生日期${birthDate}与身份证号中的${parsed.birthDate}不一致`,
      en: `birth date recorded as ${birthDate}, the ID number says ${parsed.birthDate}`,
    });
  }
  if ((sex === "male" || sex === "female") && sex !== parsed.sex) {
    const zhSex = { male: "男", female: "女" };
    found.push({
      zh: `性别${zhSex[sex]}与身份证号中的${zhSex[parsed.sex]}不一致`,
      en: `recorded as ${sex}, the ID number says ${parsed.sex}`,
    });
  }
  return found;
}

/**
 * List the ID numbers two or more people give (after normalising), one problem ({zh, en})
 * each, naming the people in the order given, as server/domain/idcard.py shared() does.
 */
export function shared(people) {
  const namesByNumber = new Map();
  for (const person of people) {
    const number = person.id_number ? normalise(person.id_number) : "";
    if (!number) continue;
    if (!namesByNumber.has(number)) namesByNumber.set(number, []);
    namesByNumber.get(number).push(person.name || "?");
  }
  const and = (names) => (names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`);
  return [...namesByNumber.values()]
    .filter((names) => names.length > 1)
    .map((names) => ({ zh: `${names.join("、")}的身份证号码相同`, en: `${and(names)} have the same ID number` }));
}
