"""The checks a county can make on a submitted survey, each with a readable reason and rule.

Every check returns ``{"id", "passed", "rule", "reason": {"zh", "en"}}``. A check that has
nothing to look at passes and says so in its reason. The checks are pure: the facts from
outside the submission (photos of other households, ID numbers registered elsewhere, the
visit window, the household's location) come in as arguments.
"""

import math
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from . import idcard
from .policy import Policy

RULE_TEAM = ("两人以上入户调查:克山政办发〔2022〕12号 二(五)2 调查组、四(一)“谁调查、谁签字、"
             "谁负责”")
RULE_SIGNATURES = "新密民字〔2015〕20号 五(五):调查笔录需经被调查人和调查人员签字"
RULE_PHOTOS = "新密民字〔2015〕20号 五(二)1 看:住房、家电、车辆、大额购置;本表单要求的照片"
RULE_PHOTO_EVIDENCE = "入户证据真实:照片须在入户期间、在住所附近拍摄,且不得用于其他户"
RULE_ID = "GB 11643-1999 公民身份号码(校验码、出生日期、性别)"
RULE_MEMBERS = "克山政办发〔2022〕12号 二(五)2 四核实:享受人口是否准确"
RULE_DECEASED = "克山政办发〔2022〕12号 二(二)六、二(五)2 三清:清理死亡人口"
RULE_CALCULATION = "克山政办发〔2022〕12号 二(二)八:收入计算不准、补差核定不准"
EARTH_RADIUS_M = 6_371_008.8


def result(check_id: str, passed: bool, rule: str, zh: str, en: str) -> dict:
    """Return one check result in the assessment's shape."""
    return {"id": check_id, "passed": passed, "rule": rule, "reason": {"zh": zh, "en": en}}


def two_investigators(investigator_ids: list | None, signatures: list[dict]) -> dict:
    """At least two distinct investigators: the submission's ids, else the signers' ids."""
    ids = {i for i in investigator_ids or [] if i is not None}
    if investigator_ids is None:
        ids = {s.get("user_id") or s.get("signer_name") for s in signatures
               if s.get("role") == "investigator"} - {None, ""}
    if len(ids) >= 2:
        return result("two_investigators", True, RULE_TEAM, f"{len(ids)}名调查人",
                      f"{len(ids)} investigators")
    return result("two_investigators", False, RULE_TEAM,
                  f"调查人只有{len(ids)}名,至少需要2名不同的调查人",
                  f"only {len(ids)} investigator(s): at least two different people are needed")


def signatures_present(signatures: list[dict], thumbprints: int) -> dict:
    """Two different investigators signed, and the person surveyed signed (or a thumbprint)."""
    signers = {s.get("user_id") or (s.get("signer_name") or "").strip()
               for s in signatures if s.get("role") == "investigator"} - {None, ""}
    household = any(s.get("role") == "household" for s in signatures) or thumbprints > 0
    missing_zh, missing_en = [], []
    if len(signers) < 2:
        missing_zh.append(f"调查人签名只有{len(signers)}个不同签名人")
        missing_en.append(f"only {len(signers)} different investigator signer(s)")
    if not household:
        missing_zh.append("缺少被调查人签名或手印")
        missing_en.append("no signature or thumbprint of the person surveyed")
    if missing_zh:
        return result("signatures", False, RULE_SIGNATURES, ";".join(missing_zh),
                      "; ".join(missing_en))
    return result("signatures", True, RULE_SIGNATURES, "调查人和被调查人均已签名",
                  "investigators and the person surveyed signed")


def photo_set(required: list[tuple[str, dict, int]]) -> dict:
    """Each relevant photo question has its minimum count: (label, photo spec, count) each."""
    short = [(label, spec, count) for label, spec, count in required if count < spec.get("min", 0)]
    if not short:
        return result("photo_set", True, RULE_PHOTOS, "照片齐全", "all required photos present")
    zh = ";".join(f"{label['zh']}:{count}/{spec['min']}张" for label, spec, count in short)
    en = "; ".join(f"{label['en']}: {count} of {spec['min']}" for label, spec, count in short)
    return result("photo_set", False, RULE_PHOTOS, f"照片不足:{zh}", f"photos missing: {en}")


def parse_time(text: Any, offset_hours: int = 8) -> datetime | None:
    """Parse an ISO 8601 time; a time without zone is local (UTC+8 by default)."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(timedelta(hours=offset_hours)))
    return moment.astimezone(UTC)


def visit_window(visit_date: date, start: str | None, end: str | None, *, slack_minutes: int = 0,
                 offset_hours: int = 8) -> tuple[datetime, datetime]:
    """Return the visit window: started_at..completed_at, else the whole local visit day."""
    begin, finish = parse_time(start, offset_hours), parse_time(end, offset_hours)
    if begin is None or finish is None:
        local = timezone(timedelta(hours=offset_hours))
        begin = datetime.combine(visit_date, datetime.min.time(), local).astimezone(UTC)
        finish = begin + timedelta(days=1) - timedelta(microseconds=1)
    slack = timedelta(minutes=slack_minutes)
    return begin - slack, finish + slack


def photo_times(photos: list[dict], window: tuple[datetime, datetime],
                offset_hours: int = 8) -> dict:
    """Every photo was taken inside the visit window."""
    begin, end = window
    outside = []
    for photo in photos:
        taken = parse_time(photo.get("captured_at"), offset_hours)
        if taken is None or not begin <= taken <= end:
            outside.append(photo.get("captured_at") or "?")
    if not outside:
        return result("photo_time", True, RULE_PHOTO_EVIDENCE, f"{len(photos)}张照片均在入户期间拍摄",
                      f"all {len(photos)} photos taken during the visit")
    return result("photo_time", False, RULE_PHOTO_EVIDENCE,
                  f"{len(outside)}张照片拍摄时间不在入户期间或缺失:{', '.join(outside)}",
                  f"{len(outside)} photo(s) taken outside the visit or without a time: "
                  f"{', '.join(outside)}")


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the great-circle distance in metres between two (lat, lon) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def photo_locations(photos: list[dict], home: tuple[float, float] | None,
                    max_distance_m: float) -> dict:
    """Every photo was taken within `max_distance_m` of the household."""
    if home is None:
        return result("photo_location", True, RULE_PHOTO_EVIDENCE,
                      "户档案无位置,未核对照片位置",
                      "the household has no location on record: not checked")
    far = []
    for photo in photos:
        where = photo.get("location") or {}
        lat, lon = where.get("lat"), where.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            far.append(("无位置", "no location"))
            continue
        metres = distance_m(home, (lat, lon))
        if metres > max_distance_m:
            far.append((f"{metres:.0f}米", f"{metres:.0f} m"))
    if not far:
        return result("photo_location", True, RULE_PHOTO_EVIDENCE,
                      f"照片均在住所{max_distance_m:.0f}米内拍摄",
                      f"all photos taken within {max_distance_m:.0f} m of the home")
    return result("photo_location", False, RULE_PHOTO_EVIDENCE,
                  f"{len(far)}张照片不在住所{max_distance_m:.0f}米内:"
                  + "、".join(zh for zh, _ in far),
                  f"{len(far)} photo(s) not within {max_distance_m:.0f} m of the home: "
                  + ", ".join(en for _, en in far))


def photo_reuse(photos: list[dict], used_elsewhere: dict[str, str]) -> dict:
    """No photo (by SHA-256) was already used for another household."""
    reused = sorted({used_elsewhere[p["sha256"]] for p in photos
                     if p.get("sha256") in used_elsewhere})
    if not reused:
        return result("photo_reuse", True, RULE_PHOTO_EVIDENCE, "照片未用于其他户",
                      "no photo was used for another household")
    return result("photo_reuse", False, RULE_PHOTO_EVIDENCE,
                  f"有照片已用于其他户:{', '.join(reused)}",
                  f"a photo was already used for another household: {', '.join(reused)}")


def id_numbers(people: list[dict], today: date) -> dict:
    """Every ID number is valid, agrees with the recorded birth date and sex, and belongs
    to one person of the household only."""
    problems_zh, problems_en = [], []
    for person in people:
        number = person.get("id_number")
        if not number:
            continue
        for problem in idcard.problems(number, birth_date=person.get("birth_date"),
                                       sex=person.get("sex"), today=today):
            name = person.get("name") or "?"
            problems_zh.append(f"{name}:{problem['zh']}")
            problems_en.append(f"{name}: {problem['en']}")
    for problem in idcard.shared(people):
        problems_zh.append(problem["zh"])
        problems_en.append(problem["en"])
    if not problems_zh:
        return result("id_numbers", True, RULE_ID, "身份证号码有效", "ID numbers are valid")
    return result("id_numbers", False, RULE_ID, ";".join(problems_zh), "; ".join(problems_en))


def members_elsewhere(members: list[dict], registered_elsewhere: dict[str, str]) -> dict:
    """No member is registered in another household (by ID number)."""
    found = [(m.get("name") or "?", registered_elsewhere[idcard.normalise(m["id_number"])])
             for m in members
             if m.get("id_number") and idcard.normalise(m["id_number"]) in registered_elsewhere]
    if not found:
        return result("member_elsewhere", True, RULE_MEMBERS, "成员未在其他户登记",
                      "no member is registered in another household")
    return result("member_elsewhere", False, RULE_MEMBERS,
                  ";".join(f"{name}已在{code}户登记" for name, code in found),
                  "; ".join(f"{name} is also registered in household {code}"
                            for name, code in found))


def deceased_counted(members: list[dict], reported_deceased: set[str]) -> dict:
    """No deceased person is still a co-resident member (recorded or reported dead)."""
    zh, en = [], []
    for member in members:
        if member.get("co_resident") is False:
            continue
        name = member.get("name") or "?"
        number = idcard.normalise(member["id_number"]) if member.get("id_number") else None
        if member.get("died_on"):
            zh.append(f"{name}已于{member['died_on']}死亡,仍登记为共同生活成员")
            en.append(f"{name} died on {member['died_on']} but is still a co-resident member")
        elif number and number in reported_deceased:
            zh.append(f"{name}已报死亡,仍计入保障人口")
            en.append(f"{name} is reported deceased but still counted")
    if not zh:
        return result("deceased_member", True, RULE_DECEASED, "无死亡人员计入",
                      "no deceased person is counted")
    return result("deceased_member", False, RULE_DECEASED, ";".join(zh), "; ".join(en))


def disqualifiers(policy: Policy, answers: dict) -> list[dict]:
    """One failed check per disqualifier answered "yes"; one passed check when none is."""
    hits = [d for d in policy.disqualifiers if answers.get(d.question) is True]
    if not hits:
        return [result("disqualifiers", True, policy.source["zh"],
                       "未发现不予保障情形", "no disqualifier applies")]
    return [result(f"disqualifier.{d.question}", False, d.rule, d.reason["zh"], d.reason["en"])
            for d in hits]


def six_no(policy: Policy, answers: dict) -> list[dict]:
    """六不批 for a new application: one failed check per item that holds."""
    if answers.get("application_type") != "new" or not policy.six_no_items:
        return []
    hits = []
    for item in policy.six_no_items:
        value = answers.get(item.question)
        if item.missing_choice is not None:
            hit = not isinstance(value, list) or item.missing_choice not in value
        else:
            hit = value is True
        if hit:
            hits.append(item)
    if not hits:
        return [result("six_no", True, policy.six_no_rule, "不存在六不批情形",
                       "none of the six refusals applies")]
    return [result(f"six_no.{i.question}", False, policy.six_no_rule, f"不批:{i.reason['zh']}",
                   f"refuse: {i.reason['en']}") for i in hits]


def county_review(policy: Policy, flags: dict) -> dict:
    """Staff or committee relatives, disputed and reported cases go to county review."""
    names = {"staff_relative": ("经办人员或村(居)委会成员近亲属", "relative of staff or committee"),
             "disputed": ("有疑问或争议", "in doubt or disputed"),
             "reported": ("有举报", "reported")}
    raised = [name for name in policy.county_review_when if flags.get(name)]
    if not raised:
        return result("county_review", True, policy.county_review_rule, "无需县级复核",
                      "no county review needed")
    return result("county_review", False, policy.county_review_rule,
                  "需县级复核:" + "、".join(names[n][0] for n in raised),
                  "county review: " + ", ".join(names[n][1] for n in raised))


def conclusion_matches(verdict: str | None, eligible: bool) -> dict | None:
    """The investigator's conclusion agrees with the recomputed eligibility (None: no verdict)."""
    if verdict not in ("eligible", "not_eligible"):
        return None
    if (verdict == "eligible") == eligible:
        return result("conclusion", True, RULE_CALCULATION, "调查结论与核算结果一致",
                      "the conclusion agrees with the calculation")
    zh = "调查结论为符合,核算结果为不符合" if verdict == "eligible" else "调查结论为不符合,核算结果为符合"
    en = ("the investigators concluded eligible; the calculation says not eligible"
          if verdict == "eligible" else
          "the investigators concluded not eligible; the calculation says eligible")
    return result("conclusion", False, RULE_CALCULATION, zh, en)
