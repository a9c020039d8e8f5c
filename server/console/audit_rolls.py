"""花名册核对: import a township's payment roll, see every mismatch, enter them in the ledger
(county supervisors and admins only: a roll lists a whole township's people)."""

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..domain.audit_roll import describe
from ..services import payment_roll
from ..services.audit_files import is_county_auditor, require_county_auditor, saved_upload
from ..services.errors import ServiceError
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, flash_refusal, id_arg, own_half
from .i18n import add_messages, translate
from .nav import NavItem, register
from .present import when

register(
    NavItem("console.rolls_page", "nav.rolls", also=("console.roll_page",), only=is_county_auditor)
)

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
        "rolls.imported": (
            "花名册已导入:{n} 处差异。",
            "Roll imported: {n} {n:mismatch|mismatches}.",
        ),
        "rolls.rows": ("户数", "Rows"),
        "rolls.amount": ("金额合计", "Total"),
        "rolls.mismatches": ("差异", "Mismatches"),
        "rolls.roll_title": ("花名册 {period} · {township}", "Roll {period} · {township}"),
        "rolls.kind": ("差异类型", "Kind"),
        "rolls.what": ("说明", "What"),
        "rolls.to_ledger": ("登记到整改台账", "Enter in the ledger"),
        "rolls.entered": ("已登记 {n} 个整改条目。", "{n} ledger {n:entry|entries} made."),
        "rolls.none_chosen": (
            "请先勾选要登记的差异(可全选)。",
            "Tick the mismatches to enter first (or select them all).",
        ),
        "rolls.select_all": ("全选未登记的差异", "Select every mismatch not entered yet"),
        "rolls.none": (
            "没有差异,花名册与档案一致。",
            "No mismatch: the roll agrees with the record.",
        ),
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
        "rolls.how_to_correct": (
            "如该花名册导入有误(文件或月份不对),请展开本页的“更正花名册”,上传正确的文件并说明原因"
            "以替换它,或撤回它。",
            "If that roll was imported wrongly (wrong file or month), open “Correct this roll” "
            "on this page and replace it with the right file and the reason, or withdraw it.",
        ),
        "rolls.state": ("状态", "State"),
        "rolls.state.current": ("有效", "current"),
        "rolls.state.superseded": ("已被替换", "superseded"),
        "rolls.state.withdrawn": ("已撤回", "withdrawn"),
        "rolls.correct": ("更正花名册", "Correct this roll"),
        "rolls.correct_note": (
            "导入有误(文件或月份不对)时:上传正确的文件替换它,或撤回它。原花名册保留在案,注明由谁、"
            "何时、因何撤回。由它登记、尚无人处理的整改条目随之销号;已有人处理过的条目保留,需逐条查看。",
            "If this roll was imported wrongly (wrong file or month): replace it with the right "
            "file, or withdraw it. It stays on record with who withdrew it, when and why. Ledger "
            "entries made of its mismatches that nobody has worked on are closed with it; "
            "entries someone has worked on stay, each to be looked at.",
        ),
        "rolls.reason": ("原因(必填)", "Reason (required)"),
        "rolls.replace_file": ("正确的花名册文件(替换时)", "The right roll file (to replace)"),
        "rolls.replace": ("用此文件替换", "Replace with this file"),
        "rolls.withdraw": ("撤回花名册", "Withdraw the roll"),
        "rolls.invalid.reason": ("请说明撤回或替换的原因。", "Give the reason."),
        "rolls.invalid.file": (
            "替换须上传正确的花名册文件(.csv 或 .xlsx)。",
            "Replacing needs the right roll file (.csv or .xlsx).",
        ),
        "rolls.replaced": (
            "第 {old} 号花名册已被替换:新花名册 {n} 处差异;{closed} 个未处理的整改条目随之销号,"
            "{kept} 个已处理的条目保留待查看。",
            "Roll {old} replaced: the new roll has {n} {n:mismatch|mismatches}; {closed} "
            "untouched ledger {closed:entry|entries} closed with the old roll, {kept} "
            "worked-on {kept:entry|entries} kept to be looked at.",
        ),
        "rolls.withdrawn": (
            "花名册已撤回:{closed} 个未处理的整改条目随之销号,{kept} 个已处理的条目保留待查看。",
            "Roll withdrawn: {closed} untouched ledger {closed:entry|entries} closed with it, "
            "{kept} worked-on {kept:entry|entries} kept to be looked at.",
        ),
        "rolls.was_superseded": (
            "此花名册已于 {at} 由 {by} 以第 {id} 号花名册替换。原因:{reason}",
            "This roll was replaced by roll {id} on {at} by {by}. Reason: {reason}",
        ),
        "rolls.was_withdrawn": (
            "此花名册已于 {at} 由 {by} 撤回。原因:{reason}",
            "This roll was withdrawn on {at} by {by}. Reason: {reason}",
        ),
        "rolls.replaces": (
            "此花名册替换了第 {id} 号花名册。原因:{reason}",
            "This roll replaced roll {id}. Reason: {reason}",
        ),
        "rolls.to_review": (
            "以下整改条目在撤回前已有人处理,仍保留,请逐条查看:",
            "These ledger entries had been worked on before the withdrawal and stay open: "
            "look at each:",
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
            flash(
                translate(
                    "rolls.period_taken",
                    period=request.form.get("period", ""),
                    at=when(error.errors["imported_at"]),
                    id=error.errors["roll_id"],
                )
                + " "
                + translate("rolls.how_to_correct"),
                "error",
            )
            return redirect(url_for("console.roll_page", roll_id=error.errors["roll_id"]))
        rows = error.errors.get("rows") or []
        flash(" ".join([error.message, *[str(r) for r in rows[:50]]]), "error")
        return redirect(url_for("console.rolls_page"))
    flash(translate("rolls.imported", n=roll.mismatch_count), "success")
    return redirect(url_for("console.roll_page", roll_id=roll.id))


@bp.get("/rolls/<int:roll_id>")
def roll_page(roll_id: int):
    """Show one roll's mismatches, each described, with its ledger entry if made."""
    return _roll_page(roll_id)


def _roll_page(
    roll_id: int, typed: dict | None = None, errors: dict | None = None, status: int = 200
):
    """Render a roll's page; a refused correction comes back with what was typed and the
    error at its field (or above the form, for a refusal of no field)."""
    roll = payment_roll.get_roll(g.user, roll_id, ip=client_ip())
    described = [(m, describe(m.as_found())) for m in roll.mismatches]
    # After a withdrawal: the worked-on entries still to look at, here or, on the roll that
    # replaced it, those of the roll it replaced.
    withdrawn = roll if roll.state != "current" else roll.replaces
    return render_template(
        "console/roll.html",
        roll=roll,
        mismatches=described,
        to_review=payment_roll.open_entries(withdrawn) if withdrawn is not None else [],
        typed=typed or {},
        errors=errors or {},
    ), status


@bp.post("/rolls/<int:roll_id>/correct")
def roll_correct(roll_id: int):
    """Replace a wrong roll with the right file, or withdraw it; both need a reason.

    A refusal shows the roll again with the reason typed and the error at its field (422,
    or 409 when someone replaced or withdrew the roll first); nothing is stored. The file
    must be chosen again: browsers never refill a file field.
    """
    action = request.form.get("action")
    typed = {"reason": request.form.get("reason", ""), "action": action}
    if action not in ("replace", "withdraw"):
        abort(400)
    try:
        if action == "withdraw":
            withdrawal = payment_roll.withdraw_roll(
                g.user, roll_id, typed["reason"], ip=client_ip()
            )
        else:
            upload = request.files.get("file")
            if upload is None or not upload.filename:
                # The reason is checked first: both mistakes are told at once.
                errors = {"file": translate("rolls.invalid.file")}
                if not typed["reason"].strip():
                    errors["reason"] = translate("rolls.invalid.reason")
                return _roll_page(roll_id, typed, errors, 422)
            with saved_upload(upload) as (path, name):
                withdrawal = payment_roll.replace_roll(
                    path, roll_id, typed["reason"], actor=g.user, filename=name, ip=client_ip()
                )
    except ServiceError as error:
        if error.status in (403, 404):
            raise
        return _roll_page(roll_id, typed, _correction_errors(error), error.status)
    counts = {"closed": len(withdrawal.closed_entries), "kept": len(withdrawal.entries_to_review)}
    if withdrawal.replacement is None:
        flash(translate("rolls.withdrawn", **counts), "success")
        return redirect(url_for("console.roll_page", roll_id=roll_id))
    replacement = withdrawal.replacement
    flash(
        translate("rolls.replaced", old=roll_id, n=replacement.mismatch_count, **counts), "success"
    )
    return redirect(url_for("console.roll_page", roll_id=replacement.id))


def _correction_errors(error: ServiceError) -> dict[str, str]:
    """Return a refused correction as a text per form field ("form": above the form)."""
    if error.code == "payment_roll.reason_required":
        return {"reason": translate("rolls.invalid.reason")}
    message = own_half(error.message)
    rows = error.errors.get("rows") if isinstance(error.errors, dict) else None
    if rows:
        message = " ".join([message, *[str(r) for r in rows[:50]]])
    field = next((f for f in ("reason", "file") if f in error.errors), "form")
    return {field: message}


@bp.post("/rolls/<int:roll_id>/ledger")
def roll_to_ledger(roll_id: int):
    """Enter the ticked mismatches in the ledger (nothing ticked: nothing entered; the page
    has a box that ticks them all)."""
    chosen = [i for i in map(id_arg, request.form.getlist("mismatch")) if i is not None]
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
