"""花名册核对: import a township's payment roll, see every mismatch, enter them in the ledger
(county supervisors and admins only: a roll lists a whole township's people)."""

from flask import flash, g, redirect, render_template, request, url_for

from ..domain.audit_roll import describe
from ..services import payment_roll
from ..services.audit_files import is_county_auditor, require_county_auditor, saved_upload
from ..services.errors import ServiceError
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, flash_refusal
from .i18n import add_messages, translate
from .nav import NavItem, register
from .present import when

register(NavItem("console.rolls_page", "nav.rolls", also=("console.roll_page",),
                 only=is_county_auditor))

add_messages(
    {
        "nav.rolls": ("花名册核对", "Payment rolls"),
        "rolls.title": ("发放花名册核对", "Payment-roll reconciliation"),
        "rolls.note": (
            "每户一行:户编号、户主姓名、身份证号(可空)、保障人数、月保障金额。与在保人口和按政策核算的金额比对。",
            "One row per household: code, payee, ID number (optional), persons, monthly "
            "amount. Compared with the covered persons and the benefit the policy computes.",
        ),
        "rolls.import": ("导入花名册", "Import a roll"),
        "rolls.period": ("发放月份", "Month"),
        "rolls.imported": ("花名册已导入:{n} 处差异。", "Roll imported: {n} {n:mismatch|mismatches}."),
        "rolls.rows": ("户数", "Rows"),
        "rolls.amount": ("金额合计", "Total"),
        "rolls.mismatches": ("差异", "Mismatches"),
        "rolls.roll_title": ("花名册 {period} · {township}", "Roll {period} · {township}"),
        "rolls.kind": ("差异类型", "Kind"),
        "rolls.what": ("说明", "What"),
        "rolls.to_ledger": ("登记到整改台账", "Enter in the ledger"),
        "rolls.entered": ("已登记 {n} 个整改条目。", "{n} ledger {n:entry|entries} made."),
        "rolls.none_chosen": ("请先勾选要登记的差异(可全选)。",
                              "Tick the mismatches to enter first (or select them all)."),
        "rolls.select_all": ("全选未登记的差异", "Select every mismatch not entered yet"),
        "rolls.none": ("没有差异,花名册与档案一致。", "No mismatch: the roll agrees with the record."),
        "rolls.kind.duplicate_household": ("重复发放", "paid twice"),
        "rolls.kind.unknown_household": ("档案外人员", "not a covered household here"),
        "rolls.kind.not_eligible": ("已不符合条件", "no longer eligible"),
        "rolls.kind.deceased_person": ("死亡人员仍发放", "deceased person paid"),
        "rolls.kind.persons_mismatch": ("人数不符", "wrong persons"),
        "rolls.kind.amount_mismatch": ("金额不符", "wrong amount"),
        "rolls.kind.benefit_unknown": ("无法核算", "benefit unknown"),
        "rolls.kind.missing_from_roll": ("在保未发放", "covered, not on the roll"),
        "rolls.period_taken": (
            "该乡镇 {period} 的花名册已于 {at} 导入(第 {id} 号花名册)。同一乡镇同一月份只导入一次,"
            "否则每笔发放都会重复计算;本次文件未导入,已有的花名册和差异都没有改变。",
            "This township's {period} roll was already imported on {at} (roll {id}). A "
            "township's month is imported once, or every payment would count twice; this file "
            "was not imported and the roll already there is unchanged.",
        ),
    }
)


@bp.get("/rolls")
def rolls_page():
    """List the imported rolls and the import form (county only)."""
    return render_template(
        "console/rolls.html",
        rolls=payment_roll.rolls(g.user, ip=client_ip()),
        tree=scope_tree(g.user),
    )


@bp.post("/rolls")
def rolls_import():
    """Import an uploaded roll and show its mismatches, or every bad row."""
    require_county_auditor(g.user)
    try:
        with saved_upload(request.files.get("file")) as (path, name):
            roll = payment_roll.import_roll(
                path,
                request.form.get("township", ""),
                request.form.get("period", ""),
                actor=g.user,
                filename=name,
                ip=client_ip(),
            )
    except ServiceError as error:
        if error.code == "payment_roll.period_taken":
            flash(translate("rolls.period_taken", period=request.form.get("period", ""),
                            at=when(error.errors["imported_at"]), id=error.errors["roll_id"]),
                  "error")
            return redirect(url_for("console.roll_page", roll_id=error.errors["roll_id"]))
        rows = error.errors.get("rows") or []
        flash(" ".join([error.message, *[str(r) for r in rows[:50]]]), "error")
        return redirect(url_for("console.rolls_page"))
    flash(translate("rolls.imported", n=roll.mismatch_count), "success")
    return redirect(url_for("console.roll_page", roll_id=roll.id))


@bp.get("/rolls/<int:roll_id>")
def roll_page(roll_id: int):
    """Show one roll's mismatches, each described, with its ledger entry if made."""
    roll = payment_roll.get_roll(g.user, roll_id, ip=client_ip())
    described = [(m, describe(m.as_found())) for m in roll.mismatches]
    return render_template("console/roll.html", roll=roll, mismatches=described)


@bp.post("/rolls/<int:roll_id>/ledger")
def roll_to_ledger(roll_id: int):
    """Enter the ticked mismatches in the ledger (nothing ticked: nothing entered; the page
    has a box that ticks them all)."""
    chosen = [int(i) for i in request.form.getlist("mismatch") if i.isdigit()]
    if not chosen:
        flash(translate("rolls.none_chosen"), "error")
        return redirect(url_for("console.roll_page", roll_id=roll_id))
    try:
        entries = payment_roll.to_ledger(g.user, roll_id, chosen, ip=client_ip())
    except ServiceError as error:
        flash_refusal(error)
    else:
        flash(translate("rolls.entered", n=len(entries)), "success")
    return redirect(url_for("console.roll_page", roll_id=roll_id))
