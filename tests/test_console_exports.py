"""Exports (CSV, XLSX) and the public posting list: scoped, masked, audited, inert."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Member
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2
from tests.console_data import assessment, set_assessment

pytest_plugins = ["tests.console_helpers"]

ID_NUMBER = re.compile(r"\b\d{17}[\dX]\b")


def read_csv(response) -> list[dict]:
    """Parse a CSV download (UTF-8 with BOM)."""
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def read_xlsx(response) -> list[list]:
    """Parse an XLSX download into rows of values."""
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("dataset", ["households", "members", "submissions", "assessments"])
def test_every_dataset_downloads_as_csv_and_xlsx_without_full_id_numbers(
    console, scenario, demo, dataset
):
    """Both formats, same rows, and no 18-character ID number anywhere."""
    household = demo.households_in(TOWNSHIP_1)[0]
    instance = scenario.record_edit("inv1", household, {"address": "导出测试"})
    set_assessment(instance, assessment(failed=1))
    client = console.as_user("sup1")
    rows = read_csv(client.get(f"/console/exports/{dataset}.csv"))
    sheet = read_xlsx(client.get(f"/console/exports/{dataset}.xlsx"))
    assert rows and len(sheet) == len(rows) + 1
    assert not ID_NUMBER.search(client.get(f"/console/exports/{dataset}.csv").get_data(
        as_text=True))
    for row in sheet:
        assert not any(isinstance(v, str) and ID_NUMBER.fullmatch(v) for v in row)
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == f"export.{dataset}"))
    # Each column's heading says what it holds: a survey's photo upload is not the
    # household's benefit status.
    assert len(set(sheet[0])) == len(sheet[0])
    if dataset == "submissions":
        assert "照片上传" in sheet[0] and "保障状态" not in sheet[0]
        assert rows[0]["照片上传"] in ("照片已齐", "照片未传完")


def test_members_export_masks_id_numbers_like_the_rule(console, demo):
    """First two and last two characters kept: 23**************15."""
    rows = read_csv(console.as_user("sup1").get("/console/exports/members.csv"))
    member = db.session.scalar(select(Member).where(Member.id_number.is_not(None)))
    masked = member.id_number[:2] + "*" * 14 + member.id_number[-2:]
    assert masked in {row["身份证号"] for row in rows}


def test_exports_hold_only_the_users_region(console, sup2, demo):
    """sup2's downloads hold township 2 only; asking for township 1 is the 404 page, not a
    file of headings only."""
    client = console.as_user("sup2")
    township_1 = {h.code for h in demo.households_in(TOWNSHIP_1)}
    township_2 = {h.code for h in demo.households_in(TOWNSHIP_2)}
    codes = {row["户编号"] for row in read_csv(client.get("/console/exports/households.csv"))}
    assert codes == township_2
    asked = client.get(f"/console/exports/households.csv?township={TOWNSHIP_1}")
    assert asked.status_code == 404 and asked.mimetype == "text/html"
    members = read_csv(client.get("/console/exports/members.csv"))
    assert {row["户编号"] for row in members} <= township_2
    assert not township_1 & {row["户编号"] for row in members}


def test_export_filters_by_village(console, demo):
    """A village filter keeps that village's households only."""
    household = demo.households_in(TOWNSHIP_1)[0]
    village = household.village
    rows = read_csv(console.as_user("sup1").get(
        f"/console/exports/households.csv?village={village.code}"))
    assert rows and {row["村(社区)"] for row in rows} == {village.name}


def test_cells_that_look_like_formulas_stay_text(console, scenario, demo):
    """An address '=HYPERLINK(...)' is exported as text in both formats."""
    household = demo.households_in(TOWNSHIP_1)[0]
    scenario.record_edit("inv1", household, {"address": '=HYPERLINK("http://x","点我")'})
    client = console.as_user("sup1")
    rows = read_csv(client.get(f"/console/exports/households.csv?village={household.village.code}"))
    address = next(r["住址"] for r in rows if r["户编号"] == household.code)
    assert address.startswith("'=")
    sheet = load_workbook(io.BytesIO(client.get(
        f"/console/exports/households.xlsx?village={household.village.code}").get_data())).active
    cells = [c for row in sheet.iter_rows() for c in row if isinstance(c.value, str)
             and "HYPERLINK" in c.value]
    assert cells and all(c.data_type == "s" for c in cells)


def test_control_characters_do_not_break_the_xlsx(console, scenario, demo):
    """An address holding a control character XML cannot carry still exports: the XLSX
    shows it as U+FFFD, the CSV keeps it as it is."""
    household = demo.households_in(TOWNSHIP_1)[0]
    scenario.record_edit("inv1", household, {"address": "红旗村\x0b三组"})
    client = console.as_user("sup1")
    rows = read_csv(client.get(f"/console/exports/households.csv?village={household.village.code}"))
    assert next(r["住址"] for r in rows if r["户编号"] == household.code) == "红旗村\x0b三组"
    response = client.get(f"/console/exports/households.xlsx?village={household.village.code}")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    assert "红旗村\ufffd三组" in [c.value for row in sheet.iter_rows() for c in row]


def test_publicity_list_posts_approved_eligible_households_with_masked_ids(
    console, scenario, demo
):
    """Name, persons, amount; the ID like 23**************15; nothing else personal."""
    households = demo.households_in(TOWNSHIP_1)[:3]
    client = console.as_user("sup1")
    for index, household in enumerate(households):
        instance = scenario.record_edit("inv1", household, {"phone": f"1390000000{index}"})
        result = assessment()
        result["eligible"] = index != 2  # the third is not eligible
        result["benefit"] = 500.0 + index
        set_assessment(instance, result)
        client.post(f"/console/submissions/{instance}/review", {"state": "approved"})
    page = client.text(f"/console/publicity?township={TOWNSHIP_1}")
    for household in households[:2]:
        head = next(m for m in household.members if m.relation == "self")
        assert head.name in page
        assert head.id_number not in page
        assert f"{head.id_number[:2]}{'*' * 14}{head.id_number[-2:]}" in page
    third = next(m for m in households[2].members if m.relation == "self")
    assert third.id_number[:2] + "*" * 14 + third.id_number[-2:] not in page
    assert "500.00" in page and "501.00" in page
    for household in households:
        assert household.address not in page and (household.phone or "x") not in page
    rows = read_csv(client.get(f"/console/publicity?township={TOWNSHIP_1}&format=csv"))
    assert len(rows) == 2
    assert all(re.fullmatch(r"\d{2}\*{14}[\dX]{2}", row["户主身份证号"]) for row in rows)
    sheet = read_xlsx(client.get(f"/console/publicity?township={TOWNSHIP_1}&format=xlsx"))
    assert len(sheet) == 3
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "export.publicity"))


def test_publicity_of_another_township_is_not_found(console, sup2, scenario, demo):
    """sup2 asking for township 1's posting gets the 404 page, naming nobody."""
    household = demo.households_in(TOWNSHIP_1)[0]
    instance = scenario.record_edit("inv1", household, {"phone": "13900000009"})
    set_assessment(instance, assessment())
    console.as_user("sup1").post(f"/console/submissions/{instance}/review", {"state": "approved"})
    page = console.as_user("sup2").text(f"/console/publicity?township={TOWNSHIP_1}", 404)
    assert "找不到此页面或记录。" in page
    head = next(m for m in household.members if m.relation == "self")
    assert head.name not in page


def test_unknown_dataset_or_format_is_404(console):
    """Only the four datasets in two formats."""
    client = console.as_user("sup1")
    assert client.get("/console/exports/users.csv").status_code == 404
    assert client.get("/console/exports/households.pdf").status_code == 404


def test_assessments_export_holds_assessed_submissions_only(console, scenario, demo):
    """A submission without an assessment (a record edit) is not an assessment row."""
    households = demo.households_in(TOWNSHIP_1)
    assessed = scenario.record_edit("inv1", households[0], {"phone": "13900000011"})
    scenario.record_edit("inv1", households[1], {"phone": "13900000012"})
    set_assessment(assessed, assessment())
    rows = read_csv(console.as_user("sup1").get("/console/exports/assessments.csv"))
    assert [row["问卷编号"] for row in rows] == [assessed]


def _by_code(rows: list[dict], code: str, column: str = "户编号") -> dict:
    """Return the row of one household (or submission) from a parsed CSV."""
    return next(row for row in rows if row[column] == code)


def test_coded_values_come_out_in_chinese_like_the_screens(console, scenario, demo):
    """A township clerk reads 已通过/已合并/男/是 in the file, not approved/merged/male/True;
    numbers and dates stay machine-friendly (numbers as numbers, ISO dates)."""
    household = demo.households_in(TOWNSHIP_1)[0]
    instance = scenario.record_edit("inv1", household, {"address": "导出语言"})
    set_assessment(instance, assessment(county_review=True))
    client = console.as_user("sup1")
    client.post(f"/console/submissions/{instance}/review", {"state": "approved"})
    db.session.expire_all()
    head = next(m for m in household.members if m.relation == "self")
    row = _by_code(read_csv(client.get("/console/exports/households.csv")), household.code)
    assert row["保障状态"] == {"covered": "在保", "applicant": "申请中", "pending_review": "待审核",
                            "suspended": "暂停", "closed": "已停保"}[household.status]
    assert row["城乡"] == {"urban": "城镇", "rural": "农村"}[household.area_type]
    assert row["干部职工近亲属"] in ("是", "否") and row["有争议"] in ("是", "否")
    members = read_csv(client.get("/console/exports/members.csv"))
    mine = [m for m in members if m["户编号"] == household.code]
    assert {m["性别"] for m in mine} <= {"男", "女", ""}
    assert "户主" in {m["与户主关系"] for m in mine}
    assert {m["共同生活"] for m in mine} <= {"是", "否"}
    assert any(m["出生日期"] == head.birth_date.isoformat() for m in mine)
    submission = _by_code(read_csv(client.get("/console/exports/submissions.csv")), instance,
                          "问卷编号")
    assert submission["审核状态"] == "已通过"
    assert submission["合并状态"] == "已合并"
    assert submission["县级复核"] == "是"
    sheet = read_xlsx(client.get("/console/exports/assessments.xlsx"))
    header, values = sheet[0], dict(zip(sheet[0], sheet[1], strict=True))
    assert values["审核状态"] == "已通过" and values["城乡"] == "城镇"
    assert values["计算周期"] == "月" and values["符合条件"] == "是" and values["低保边缘"] == "否"
    assert values["家庭收入"] == 1200 and values["计算人口"] == 3  # numbers stay numbers
    assert values["下次复核"] == "2027-05-22"
    assert "approved" not in header and "approved" not in values.values()


def test_coded_values_come_out_in_english_when_the_console_is(console, scenario, demo):
    """Switched to English, headings and values of every dataset are English names."""
    household = demo.households_in(TOWNSHIP_1)[0]
    instance = scenario.record_edit("inv1", household, {"address": "export language"})
    set_assessment(instance, assessment())
    client = console.as_user("sup1")
    client.post("/console/language", {"lang": "en"})
    row = _by_code(read_csv(client.get("/console/exports/households.csv")), household.code,
                   "Household code")
    assert row["Status"] in ("Applicant", "Pending review", "Covered", "Suspended", "Closed")
    assert row["Urban/rural"] in ("Urban", "Rural") and row["Disputed"] in ("yes", "no")
    members = read_csv(client.get("/console/exports/members.csv"))
    assert "Head" in {m["Relation"] for m in members}
    assert {m["Sex"] for m in members} <= {"Male", "Female", ""}
    submission = _by_code(read_csv(client.get("/console/exports/submissions.csv")), instance,
                          "Submission id")
    assert submission["Review state"] == "To review"
    assert submission["Merge state"] == "Merged"
    assert submission["Photo upload"] in ("Photos complete", "Photos still uploading")
    sheet = read_xlsx(client.get("/console/exports/assessments.xlsx"))
    values = dict(zip(sheet[0], sheet[1], strict=True))
    assert values["Unit"] == "month" and values["Eligible"] == "yes"
    assert values["Per-capita income"] == 400


def test_a_code_without_a_name_is_exported_as_it_is(app):
    """A value outside the closed set (old data, a new form) is never lost or blanked."""
    from server.console.present import export_cell

    with app.test_request_context():
        assert export_cell("someday_new", "status") == "someday_new"
        assert export_cell(None, "status") is None
        assert export_cell(0, "missing_media") == 0
        assert export_cell(False, "eligible") == "否"
