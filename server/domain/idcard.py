"""Resident ID numbers (居民身份证号码, GB 11643-1999): check digit, birth date and sex.

An 18-character number is: 6-digit region code, 8-digit birth date (YYYYMMDD), 3-digit
sequence (odd for men, even for women), and a check character computed by ISO 7064 MOD 11-2
(0-9 or X).
"""

from dataclasses import dataclass
from datetime import date

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARACTERS = "10X98765432"
# First two digits: provinces (GB/T 2260) and the 8x codes of residence permits for people
# from Hong Kong, Macao and Taiwan.
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 "
    "50 51 52 53 54 61 62 63 64 65 71 81 82 83".split()
)


@dataclass(frozen=True)
class IdNumber:
    """What an ID number says about its holder."""

    number: str
    region_code: str
    birth_date: date
    sex: str  # "male" | "female"


class InvalidIdNumber(ValueError):
    """The ID number is malformed; `reason` is {"zh", "en"}."""

    def __init__(self, zh: str, en: str):
        super().__init__(en)
        self.reason = {"zh": zh, "en": en}


def check_character(first17: str) -> str:
    """Return the check character for the first 17 digits."""
    return CHECK_CHARACTERS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise(number: str) -> str:
    """Return the number without spaces, with a lower-case x made upper-case."""
    return "".join(str(number).split()).upper()


def parse(number: str, *, today: date) -> IdNumber:
    """Parse and verify an 18-character ID number; raise InvalidIdNumber with the reason.

    `today` is the caller's business day (the county's, server/county_clock.py; a survey's
    visit day): a birth date after it is refused. Domain code never reads the clock — the
    server's own date is a day behind Beijing from 00:00 to 08:00 on a UTC host."""
    number = normalise(number)
    if len(number) != 18:
        raise InvalidIdNumber(f"身份证号应为18位,实为{len(number)}位",
                              f"an ID number has 18 characters, not {len(number)}")
    body, check = number[:17], number[17]
    # ASCII only: str.isdigit() also takes full-width and superscript digits.
    if not body.isascii() or not body.isdigit() or check not in "0123456789X":
        raise InvalidIdNumber("身份证号前17位应为数字,末位为数字或X",
                              "the first 17 characters must be digits, the last a digit or X")
    if body[:2] not in PROVINCE_CODES:
        raise InvalidIdNumber(f"地区码{body[:6]}无效", f"region code {body[:6]} is not valid")
    try:
        born = date(int(body[6:10]), int(body[10:12]), int(body[12:14]))
    except ValueError:
        raise InvalidIdNumber(f"出生日期{body[6:14]}不是有效日期",
                              f"birth date {body[6:14]} is not a valid date") from None
    if born.year < 1900 or born > today:
        raise InvalidIdNumber(f"出生日期{born.isoformat()}不合理",
                              f"birth date {born.isoformat()} is out of range")
    expected = check_character(body)
    if check != expected:
        raise InvalidIdNumber(f"校验位应为{expected},实为{check}",
                              f"check character should be {expected}, not {check}")
    sex = "male" if int(body[16]) % 2 else "female"
    return IdNumber(number=number, region_code=body[:6], birth_date=born, sex=sex)


def problems(number: str, *, today: date, birth_date: str | None = None,
             sex: str | None = None) -> list[dict]:
    """List what is wrong with an ID number and its agreement with a recorded birth date/sex
    (`today` as for `parse`)."""
    try:
        parsed = parse(number, today=today)
    except InvalidIdNumber as exc:
        return [exc.reason]
    found = []
    if birth_date and birth_date != parsed.birth_date.isoformat():
        found.append({
            "zh": f"出生日期{birth_date}与身份证号中的{parsed.birth_date.isoformat()}不一致",
            "en": f"birth date recorded as {birth_date}, the ID number says "
                  f"{parsed.birth_date.isoformat()}",
        })
    if sex in ("male", "female") and sex != parsed.sex:
        zh_sex = {"male": "男", "female": "女"}
        found.append({
            "zh": f"性别{zh_sex[sex]}与身份证号中的{zh_sex[parsed.sex]}不一致",
            "en": f"recorded as {sex}, the ID number says {parsed.sex}",
        })
    return found


def shared(people: list[dict]) -> list[dict]:
    """List the ID numbers two or more people give (after normalising), one problem each,
    naming the people in the order given: one person, one number (GB 11643 4.1)."""
    names_by_number: dict[str, list[str]] = {}
    for person in people:
        if person.get("id_number") and normalise(person["id_number"]):
            names_by_number.setdefault(normalise(person["id_number"]), []).append(
                person.get("name") or "?")
    return [{"zh": f"{'、'.join(names)}的身份证号码相同",
             "en": f"{_and(names)} have the same ID number"}
            for names in names_by_number.values() if len(names) > 1]


def _and(names: list[str]) -> str:
    """Return 'A and B', 'A, B and C'."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
