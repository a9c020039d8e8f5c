"""A realistic demo county (克山县): townships, villages, households and accounts.

Used by `ruhu demo`, by the tests (built once, copied per test) and by the benchmarks.
Everything is drawn from a seeded random generator, so the same call gives the same county.
"""

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from ..domain import idcard
from ..extensions import db
from ..models import Region
from ..models.household import new_uuid
from . import users
from .regions import add_region
from .register import register_household

COUNTY = {"name": "克山县", "code": "230229", "lat": 48.034, "lon": 125.875}
# (township, code, [(village, code, kind, area_type, lat, lon)])
TOWNSHIPS = [
    (
        "克山镇",
        "230229100",
        [
            ("城东社区", "230229100001", "community", "urban", 48.036, 125.884),
            ("城西社区", "230229100002", "community", "urban", 48.033, 125.861),
            ("新兴村", "230229100201", "village", "rural", 48.061, 125.902),
        ],
    ),
    (
        "北兴镇",
        "230229101",
        [
            ("北兴社区", "230229101001", "community", "urban", 48.214, 125.781),
            ("兴旺村", "230229101201", "village", "rural", 48.232, 125.763),
            ("胜利村", "230229101202", "village", "rural", 48.198, 125.812),
        ],
    ),
]
ACCOUNTS = [
    ("inv1", "investigator", "230229100", "王调查"),
    ("inv2", "investigator", "230229100", "李调查"),
    ("inv3", "investigator", "230229101", "赵调查"),
    ("sup1", "supervisor", "230229", "刘主任"),
    ("admin", "admin", "230229", "系统管理员"),
]
DEFAULT_PASSWORD = "ruhu-demo-2026"

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = [
    "秀英",
    "桂兰",
    "建国",
    "建华",
    "志强",
    "淑珍",
    "玉兰",
    "国庆",
    "丽娟",
    "海涛",
    "春燕",
    "德明",
    "凤英",
    "宝山",
    "红梅",
    "树林",
    "金凤",
    "振东",
    "雪梅",
    "长顺",
]
HEALTH = ["healthy", "healthy", "healthy", "chronic_illness", "serious_illness", "disabled"]
CAUSES = ["illness", "disability", "old_age_alone", "single_parent", "disaster", "other"]
OCCUPATIONS = ["务农", "外出务工", "灵活就业", "在校学生", "无业", "退休"]


def id_number(area: str, born: date, serial: int, male: bool) -> str:
    """Return a valid GB 11643 ID number (check digit computed) for demo people."""
    seq = serial % 500 * 2 + (1 if male else 0)
    body = f"{area}{born:%Y%m%d}{seq:03d}"
    return body + idcard.check_character(body)


@dataclass
class DemoCounty:
    """What load_demo made: region codes and the accounts with their password."""

    county: Region
    townships: list[Region] = field(default_factory=list)
    villages: list[Region] = field(default_factory=list)
    password: str = DEFAULT_PASSWORD
    household_count: int = 0


def _member(
    rng: random.Random, area: str, relation: str, born: date, male: bool, serial: int, surname: str
) -> dict:
    """Return one member's record fields."""
    health = rng.choice(HEALTH)
    return {
        "id": new_uuid(),
        "name": surname + rng.choice(GIVEN),
        "id_number": id_number(area, born, serial, male),
        "relation": relation,
        "sex": "male" if male else "female",
        "birth_date": born.isoformat(),
        "health": health,
        "disability_grade": rng.choice(["1", "2", "3", "4"]) if health == "disabled" else None,
        "work_ability": "none"
        if health in ("serious_illness", "disabled") or born.year < 1960
        else rng.choice(["full", "partial"]),
        "occupation": "在校学生" if date.today().year - born.year < 18 else rng.choice(OCCUPATIONS),
        "co_resident": True,
        "died_on": None,
    }


def _household_record(rng: random.Random, village: Region, serial: int) -> dict:
    """Return a plausible household record for one demo household."""
    surname = rng.choice(SURNAMES)
    today = date.today()
    head_born = date(rng.randint(1945, 1985), rng.randint(1, 12), rng.randint(1, 28))
    head_male = rng.random() < 0.6
    members = [_member(rng, "230229", "self", head_born, head_male, serial * 7, surname)]
    if rng.random() < 0.7:
        members.append(
            _member(
                rng,
                "230229",
                "spouse",
                head_born + timedelta(days=rng.randint(-1500, 1500)),
                not head_male,
                serial * 7 + 1,
                surname,
            )
        )
    for child in range(rng.choice([0, 0, 1, 1, 2])):
        born = date(
            max(head_born.year + 22, 1990) + rng.randint(0, 15),
            rng.randint(1, 12),
            rng.randint(1, 28),
        )
        born = min(born, today - timedelta(days=400))
        members.append(
            _member(
                rng, "230229", "child", born, rng.random() < 0.5, serial * 7 + 2 + child, surname
            )
        )
    if rng.random() < 0.06:
        # An auditor's case: a member who died but is still registered.
        members[-1]["died_on"] = (today - timedelta(days=rng.randint(30, 400))).isoformat()
    urban = village.area_type == "urban"
    incomes = []
    for member in members:
        if member["work_ability"] != "none" and member["occupation"] not in ("在校学生", "退休"):
            amount = rng.randint(150, 900) if urban else rng.randint(1500, 9000)
            incomes.append(
                {
                    "id": new_uuid(),
                    "member_id": member["id"],
                    "category": "wage" if urban else "farming",
                    "amount": amount,
                    "period": "month" if urban else "year",
                    "note": None,
                }
            )
    if rng.random() < 0.3:
        incomes.append(
            {
                "id": new_uuid(),
                "member_id": None,
                "category": "pension",
                "amount": rng.randint(100, 300) if urban else rng.randint(1200, 3600),
                "period": "month" if urban else "year",
                "note": None,
            }
        )
    supporters = []
    if rng.random() < 0.4:
        supporters.append(
            {
                "id": new_uuid(),
                "name": surname + rng.choice(GIVEN),
                "id_number": None,
                "relation": "child",
                "household_size": rng.randint(2, 5),
                "monthly_income": rng.randint(1500, 4500),
            }
        )
    assets = [
        {
            "id": new_uuid(),
            "category": "housing",
            "description": rng.choice(["砖瓦房", "土坯房", "楼房", "平房"]),
            "quantity": rng.choice([40, 55, 62, 75, 90]),
            "value": None,
        }
    ]
    if rng.random() < 0.15:
        assets.append(
            {
                "id": new_uuid(),
                "category": "vehicle",
                "description": "电动三轮车",
                "quantity": 1,
                "value": rng.randint(2000, 6000),
            }
        )
    covered = rng.random() < 0.7
    return {
        "household": {
            "address": f"{village.name}{rng.randint(1, 12)}组{rng.randint(1, 80)}号",
            "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            "lat": round(village.lat + rng.uniform(-0.004, 0.004), 6),
            "lon": round(village.lon + rng.uniform(-0.004, 0.004), 6),
            "status": "covered" if covered else "applicant",
            "benefit_class": rng.choice(["A", "B", "C"]) if covered and not urban else None,
            "hardship_cause": rng.choice(CAUSES),
            "staff_relative": rng.random() < 0.05,
            "disputed": rng.random() < 0.04,
            "next_review_on": (today + timedelta(days=rng.randint(-60, 330))).isoformat()
            if covered
            else None,
        },
        "members": members,
        "supporters": supporters,
        "assets": assets,
        "incomes": incomes,
    }


def load_regions() -> DemoCounty:
    """Create the demo county, its townships and villages. The caller commits."""
    county = add_region(
        name=COUNTY["name"],
        code=COUNTY["code"],
        level="county",
        lat=COUNTY["lat"],
        lon=COUNTY["lon"],
    )
    demo = DemoCounty(county=county)
    for name, code, villages in TOWNSHIPS:
        township = add_region(name=name, code=code, level="township", parent=county)
        demo.townships.append(township)
        for v_name, v_code, kind, area, lat, lon in villages:
            demo.villages.append(
                add_region(
                    name=v_name,
                    code=v_code,
                    level="village",
                    parent=township,
                    kind=kind,
                    area_type=area,
                    lat=lat,
                    lon=lon,
                )
            )
    return demo


def load_demo(
    households: int = 60, password: str = DEFAULT_PASSWORD, seed: int = 2026
) -> DemoCounty:
    """Load the whole demo county with `households` households and the five accounts. Commits."""
    rng = random.Random(seed)
    demo = load_regions()
    demo.password = password
    for serial in range(households):
        village = demo.villages[serial % len(demo.villages)]
        code = f"{village.code}{serial // len(demo.villages) + 1:04d}"
        register_household(
            village, code=code, record=_household_record(rng, village, serial), cause="demo"
        )
    db.session.commit()
    demo.household_count = households
    for username, role, region_code, display in ACCOUNTS:
        users.add_user(
            username, role=role, region_code=region_code, password=password, display_name=display
        )
    return demo
