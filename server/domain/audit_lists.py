"""Cross-check lists (信息比对) from other departments: their kinds, columns and row checks.

The audit compares covered households with records other departments keep (克山政办发
〔2022〕12号 三: 其他相关部门负责提供比对信息). Every list has one row per person: the ID
number, the name, an optional birth date, and the detail that matters for its kind (date of
death, employer, plate ...). Departments export with Chinese headers, so each column also
answers to its usual Chinese names.

Pure: rows come in as text cells keyed by canonical column name; nothing here touches files
or the database.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation

from . import idcard


@dataclass(frozen=True)
class Column:
    """One column of a list: canonical name, value type, whether required, Chinese aliases."""

    name: str
    type: str = "text"  # text | date | integer | money | number
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class ListKind:
    """A kind of list: its columns and the audit category a match with it points to."""

    id: str
    label: dict
    columns: tuple[Column, ...]
    # The category a match on a household member hits, and on a legally obligated supporter
    # (None: a supporter on this list is no audit problem of the household).
    member_category: str
    supporter_category: str | None = None


PERSON_COLUMNS = (
    Column(
        "id_number", required=True, aliases=("身份证号", "身份证号码", "公民身份号码", "证件号码")
    ),
    Column("name", required=True, aliases=("姓名",)),
    Column("birth_date", "date", aliases=("出生日期",)),
)

LIST_KINDS: dict[str, ListKind] = {
    kind.id: kind
    for kind in (
        ListKind(
            "deaths",
            {"zh": "死亡人员(民政/殡葬)", "en": "deaths (civil registry, funeral records)"},
            (
                Column("death_date", "date", True, ("死亡日期", "火化日期")),
                Column("place", aliases=("死亡地点", "殡仪馆")),
                Column("authority", aliases=("登记机关", "数据来源")),
            ),
            member_category="deceased_receiving",
        ),
        ListKind(
            "public_payroll",
            {"zh": "财政统发工资人员", "en": "public payroll"},
            (
                Column("employer", required=True, aliases=("工作单位", "单位名称", "单位")),
                Column("position", aliases=("职务", "岗位")),
                Column("monthly_pay", "money", aliases=("月工资", "应发工资")),
            ),
            member_category="public_payroll",
            supporter_category="hidden_support",
        ),
        ListKind(
            "vehicles",
            {"zh": "机动车登记", "en": "vehicle registrations"},
            (
                Column("plate", required=True, aliases=("号牌号码", "车牌号", "号牌")),
                Column("vehicle_type", aliases=("车辆类型", "车型")),
                Column("registered_on", "date", aliases=("登记日期", "注册日期")),
            ),
            member_category="assets_above_standard",
        ),
        ListKind(
            "real_estate",
            {"zh": "不动产登记", "en": "real estate"},
            (
                Column("address", required=True, aliases=("房屋坐落", "坐落", "地址")),
                Column("area", "number", aliases=("建筑面积", "面积")),
                Column("registered_on", "date", aliases=("登记日期",)),
            ),
            member_category="assets_above_standard",
        ),
        ListKind(
            "business",
            {"zh": "工商登记(市场主体)", "en": "business registrations"},
            (
                Column("business_name", required=True, aliases=("企业名称", "字号名称", "名称")),
                Column("registration_no", aliases=("统一社会信用代码", "注册号")),
                Column("registered_on", "date", aliases=("成立日期", "登记日期")),
            ),
            member_category="income_above_standard",
        ),
        ListKind(
            "pensions",
            {"zh": "养老金领取", "en": "pensions"},
            (
                Column("monthly_amount", "money", True, ("月养老金", "月发放金额", "月领取金额")),
                Column("pension_type", aliases=("险种", "养老金类型")),
                Column("since", "date", aliases=("开始领取日期", "待遇开始日期")),
            ),
            member_category="income_above_standard",
        ),
        ListKind(
            "housing_fund",
            {"zh": "住房公积金缴存", "en": "housing fund"},
            (
                Column("employer", required=True, aliases=("缴存单位", "单位名称", "工作单位")),
                Column("monthly_contribution", "money", aliases=("月缴存额",)),
            ),
            # Housing fund is paid by employers with stable payrolls: Keshan's category 5
            # (收入较为稳定单位工作), and for a child, category 4 (有固定收入).
            member_category="public_payroll",
            supporter_category="hidden_support",
        ),
    )
}
LIST_KIND_IDS = tuple(LIST_KINDS)


@dataclass
class ListRow:
    """One valid row of a list, its values typed; `detail` holds the kind's columns."""

    row_number: int
    id_number: str
    name: str
    birth_date: date
    detail: dict = field(default_factory=dict)


def columns_of(kind: ListKind) -> tuple[Column, ...]:
    """Return every column of a kind: the person columns, then its own."""
    return PERSON_COLUMNS + kind.columns


def header_map(columns: tuple[Column, ...], headers: list) -> tuple[dict[str, str], list[str]]:
    """Map a file's headers to canonical column names; also list required columns missing.

    A header matches a column by its canonical name or any alias, ignoring case and spaces.
    Unknown headers (序号, 备注 ...) are ignored.
    """
    wanted = {}
    for column in columns:
        for name in (column.name, *column.aliases):
            wanted[_header_key(name)] = column.name
    mapping = {}
    for header in headers:
        canonical = wanted.get(_header_key(header))
        if canonical and canonical not in mapping.values():
            mapping[header] = canonical
    missing = [c.name for c in columns if c.required and c.name not in mapping.values()]
    return mapping, missing


def _header_key(header: str) -> str:
    """Return a header as compared: NFKC, no spaces, lower-case."""
    return "".join(unicodedata.normalize("NFKC", str(header)).split()).lower()


def normalise_name(name: str) -> str:
    """Return a name as compared: NFKC, without spaces or the middle dots of minority names."""
    text = unicodedata.normalize("NFKC", name or "")
    return "".join(ch for ch in text if not ch.isspace() and ch not in "·•‧・.")


def parse_date(text: str) -> date | None:
    """Parse YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYYMMDD; None when it is none of them."""
    text = text.strip()
    if len(text) == 8 and text.isdigit():
        text = f"{text[:4]}-{text[4:6]}-{text[6:]}"
    parts = text.replace("/", "-").replace(".", "-").split("-")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        return None


def parse_money(text: str) -> Decimal | None:
    """Parse an amount in yuan (thousands separators allowed); None when not a number ≥ 0."""
    cleaned = text.strip().replace(",", "").replace("，", "").lstrip("¥￥")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0:
        return None
    return value


def read_cells(
    columns: tuple[Column, ...], cells: dict[str, str], *, today: date
) -> tuple[dict[str, object], list[str]]:
    """Type the text cells of one row by its columns; return the values and the problems."""
    problems = []
    values: dict[str, object] = {}
    for column in columns:
        text = (cells.get(column.name) or "").strip()
        if not text:
            if column.required:
                problems.append(f"{column.name} 为空 / {column.name} is empty")
            continue
        if column.type == "date":
            value = parse_date(text)
            if value is None:
                problems.append(f"{column.name} {text!r} 不是日期 / is not a date (YYYY-MM-DD)")
            elif value > today:
                problems.append(f"{column.name} {value} 在未来 / is in the future")
        elif column.type == "integer":
            value = int(text) if text.isdigit() else None
            if value is None:
                problems.append(f"{column.name} {text!r} 不是整数 / is not a whole number")
        elif column.type in ("money", "number"):
            value = parse_money(text)
            if value is None:
                problems.append(f"{column.name} {text!r} 不是非负数 / is not a number ≥ 0")
        else:
            value = text
        if value is not None:
            values[column.name] = value
    return values, problems


def id_number_problem(text: str, today: date) -> tuple[idcard.IdNumber | None, str | None]:
    """Parse an ID number cell (GB 11643); return it, or the problem in both languages."""
    try:
        return idcard.parse(text, today=today), None
    except idcard.InvalidIdNumber as error:
        return None, f"身份证号{error.reason['zh']} / ID number: {error.reason['en']}"


def _json_value(value: object) -> object:
    """Return a typed cell value as JSON-native data (dates ISO, money a number)."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    return value


def parse_row(
    kind: ListKind, row_number: int, cells: dict[str, str], *, today: date
) -> tuple[ListRow | None, list[str]]:
    """Check one row (text cells keyed by canonical column); return the row or its problems."""
    values, problems = read_cells(columns_of(kind), cells, today=today)
    parsed = None
    if values.get("id_number"):
        parsed, problem = id_number_problem(str(values["id_number"]), today)
        if problem:
            problems.append(problem)
    birth = values.get("birth_date")
    if parsed and birth and birth != parsed.birth_date:
        problems.append(
            f"出生日期与身份证号不一致 / birth_date {birth} differs from the ID number's "
            f"{parsed.birth_date}"
        )
    death = values.get("death_date")
    if parsed and isinstance(death, date) and death < parsed.birth_date:
        problems.append(f"死亡日期早于出生日期 / death_date {death} is before the birth date")
    if problems or parsed is None:
        return None, problems
    return (
        ListRow(
            row_number=row_number,
            id_number=parsed.number,
            name=str(values["name"]),
            birth_date=parsed.birth_date,
            detail={c.name: _json_value(values[c.name]) for c in kind.columns if c.name in values},
        ),
        [],
    )
