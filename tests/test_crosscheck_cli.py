"""`ruhu audit import-list` and `ruhu audit import-roll`."""

from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, CrosscheckFlag

from .audit_helpers import covered, csv_bytes, living_member, stranger
from .conftest import TOWNSHIP_1


def test_import_list_from_the_command_line(runner, demo, tmp_path):
    """A list imported for a named supervisor: summary printed, import audited as theirs."""
    member = living_member(covered(demo.households_in(TOWNSHIP_1))[0])
    path = tmp_path / "deaths.csv"
    path.write_bytes(
        csv_bytes(
            ["身份证号", "姓名", "死亡日期"],
            [[member.id_number, member.name, "2026-01-02"], stranger(1)],
        )
    )
    args = ["audit", "import-list", "deaths", str(path), "--user", "sup1", "--source", "殡仪馆"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    assert "2 rows, 1 matched (1 strong, 0 weak), 1 new flags" in result.output
    assert db.session.scalar(select(CrosscheckFlag.person_id)) == member.id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "crosscheck.import"))
    assert entry.actor_name == "sup1"
    assert path.exists()  # the operator's own file is left alone


def test_import_list_refusals_are_printed(runner, demo, tmp_path):
    """Bad rows with their numbers; an investigator may not import."""
    path = tmp_path / "deaths.csv"
    path.write_bytes(csv_bytes(["身份证号", "姓名", "死亡日期"], [["123", "张三", "2026-01-02"]]))
    result = runner.invoke(args=["audit", "import-list", "deaths", str(path), "--user", "sup1"])
    assert result.exit_code == 1 and "row 2:" in result.output
    result = runner.invoke(args=["audit", "import-list", "deaths", str(path), "--user", "inv1"])
    assert result.exit_code == 1 and "county" in result.output
    result = runner.invoke(args=["audit", "import-list", "deaths", str(path), "--user", "nobody"])
    assert result.exit_code == 1


def test_import_roll_from_the_command_line(runner, demo, tmp_path):
    """A roll naming an unknown household: the mismatch is printed."""
    path = tmp_path / "roll.csv"
    path.write_bytes(csv_bytes(["户编号", "保障人数", "保障金额"], [["NO-SUCH", 1, 300]]))
    result = runner.invoke(
        args=["audit", "import-roll", TOWNSHIP_1, "2026-05", str(path), "--user", "admin"]
    )
    assert result.exit_code == 0, result.output
    assert "unknown_household" in result.output and "NO-SUCH" in result.output
    assert "missing_from_roll" in result.output  # every covered household is missing


def test_a_roll_is_replaced_and_withdrawn_from_the_command_line(runner, demo, tmp_path):
    """replace-roll and withdraw-roll need a reason; a roll no longer current is refused."""
    path = tmp_path / "roll.csv"
    path.write_bytes(csv_bytes(["户编号", "保障人数", "保障金额"], [["NO-SUCH", 1, 300]]))
    runner.invoke(
        args=["audit", "import-roll", TOWNSHIP_1, "2026-05", str(path), "--user", "admin"]
    )
    replaced = runner.invoke(
        args=["audit", "replace-roll", "1", str(path), "--reason", "错传", "--user", "admin"]
    )
    assert replaced.exit_code == 0, replaced.output
    assert "roll 1 superseded by roll 2" in replaced.output
    assert "worked-on entries kept, to look at: none" in replaced.output
    again = runner.invoke(args=["audit", "withdraw-roll", "1", "--reason", "x", "--user", "admin"])
    assert again.exit_code == 1 and "already replaced by roll 2" in again.output
    blank = runner.invoke(args=["audit", "withdraw-roll", "2", "--reason", " ", "--user", "admin"])
    assert blank.exit_code == 1 and "reason" in blank.output
    done = runner.invoke(args=["audit", "withdraw-roll", "2", "--reason", "x", "--user", "admin"])
    assert done.exit_code == 0 and "roll 2 withdrawn" in done.output
