"""整改台账: the rectification ledger — entries overdue first, progress, one entry's history
with its state changes (销号 with evidence), and problems added by hand."""

import re
from datetime import date, datetime

from flask import abort, flash, g, redirect, render_template, request, url_for

from ..domain import audit_ledger
from ..domain.audit_categories import ACTIONS, CATEGORIES
from ..services import household_directory, ledger
from ..services.errors import Conflict, Invalid, ServiceError
from ..services.pagination import Page, clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, own_half
from .i18n import add_messages, catalogue, translate
from .nav import NavItem, register

register(NavItem("console.ledger_page", "nav.ledger", also=("console.ledger_entry_page",)))

add_messages(
    {
        "nav.ledger": ("整改台账", "Ledger"),
        "ledger.title": ("整改台账", "Rectification ledger"),
        "ledger.progress": ("整改进度", "Progress"),
        "ledger.export": ("导出 Excel", "Export XLSX"),
        "ledger.state": ("状态", "State"),
        "ledger.state.open": ("待整改", "open"),
        "ledger.state.in_progress": ("整改中", "in progress"),
        "ledger.state.rectified": ("已整改待核实", "rectified, to verify"),
        "ledger.state.closed": ("已销号", "closed"),
        "ledger.state.overdue": ("已逾期", "overdue"),
        "ledger.state.active": ("未销号", "not closed"),
        "ledger.overdue": ("逾期", "overdue"),
        "ledger.source": ("发现方式", "Found by"),
        "ledger.source.check": ("自动核查", "automatic check"),
        "ledger.source.crosscheck": ("信息比对", "cross-check list"),
        "ledger.source.payment_roll": ("花名册核对", "payment roll"),
        "ledger.source.manual": ("人工发现", "by hand"),
        "ledger.found_on": ("发现日期", "Found"),
        "ledger.due_on": ("整改期限", "Deadline"),
        "ledger.actions": ("整改措施", "Required action"),
        "ledger.description": ("问题描述", "Problem"),
        "ledger.amount": ("追回金额(元)", "To recover (yuan)"),
        "ledger.total": ("合计", "Total"),
        "ledger.closed_share": ("销号率", "Closed"),
        "ledger.entry_title": ("整改条目 {id}", "Ledger entry {id}"),
        "ledger.history": ("处理记录", "History"),
        "ledger.move": ("变更状态", "Change state"),
        "ledger.to_state": ("改为", "Move to"),
        "ledger.comment": ("说明", "Comment"),
        "ledger.resolution": ("销号结论", "Closed as"),
        "ledger.resolution.rectified": ("整改到位", "rectified"),
        "ledger.resolution.unfounded": ("核实无问题", "unfounded"),
        "ledger.evidence": ("核实佐证", "Verifying evidence"),
        "ledger.evidence_help": (
            "销号须至少一项佐证:审核说明、新的入户调查编号或本户证明材料照片的 SHA-256。",
            "Closing needs at least one: a supervisor's note, a new survey's instance id, or "
            "the SHA-256 of a document photo of this household.",
        ),
        "ledger.evidence.note": ("审核说明", "Supervisor's note"),
        "ledger.evidence.survey": ("入户调查编号", "Survey instance id"),
        "ledger.evidence.document": ("证明材料照片 SHA-256", "Document photo SHA-256"),
        "ledger.moved": ("状态已变更。", "State changed."),
        "ledger.edit": ("修改要求", "Change requirements"),
        "ledger.saved": ("已保存。", "Saved."),
        "ledger.add": ("登记问题", "Add a problem"),
        "ledger.added": ("已登记整改条目 {id}。", "Ledger entry {id} added."),
        "ledger.household_code": ("户编号", "Household code"),
        "ledger.none": ("没有整改条目。", "No ledger entry."),
        "ledger.only_household": ("只看此户：", "This household only:"),
        "ledger.all_households": ("取消按户筛选", "Show every household"),
        "ledger.actor": ("操作人", "By"),
        "ledger.at": ("时间", "When"),
        "ledger.not_added": (
            "整改条目未登记：请按标出的提示修改后再提交，已填写的内容都保留着。",
            "The entry was not added: correct what is marked and send it again; what you "
            "typed is kept.",
        ),
        "ledger.invalid.household_code": ("请填写户编号。", "Give the household code."),
        "ledger.invalid.category": ("请选择问题类别。", "Choose a category."),
        "ledger.invalid.actions": (
            "请至少勾选一项整改措施。", "Tick at least one required action."
        ),
        "ledger.invalid.due_on": (
            "日期无效，请按 年-月-日 填写，如 2026-06-30。",
            "Not a date: write it year-month-day, like 2026-06-30.",
        ),
        "ledger.invalid.amount_to_recover": (
            "金额须为不小于 0 的数字，如 1200.50。",
            "Not an amount: a number of yuan, 0 or more, like 1200.50.",
        ),
        "ledger.not_moved": (
            "状态未变更：请按标出的提示修改后再提交，已填写的内容都保留着。",
            "The state was not changed: correct what is marked and send it again; what "
            "you typed is kept.",
        ),
        "ledger.not_saved": (
            "修改未保存：请按标出的提示修改后再提交，已填写的内容都保留着。",
            "The changes were not saved: correct what is marked and send it again; what "
            "you typed is kept.",
        ),
        "ledger.closed_meanwhile": (
            "此条目已销号，不能再变更；您提交的内容未保存。",
            "This entry is closed and cannot change any more; what you sent was not saved.",
        ),
        "ledger.invalid.to_state": (
            "此条目现在的状态不能改为所选状态，请重新选择。",
            "This entry cannot move from its present state to the one chosen: choose again.",
        ),
        "ledger.invalid.stale_state": (
            "此条目刚被他人变更（见上方状态和处理记录），未按您的选择改动；请重新决定。",
            "Someone changed this entry meanwhile (see its state and history above); it was "
            "not moved as you chose: decide again.",
        ),
        "ledger.invalid.stale": (
            "此条目刚被他人修改（见上方现在的内容），您的修改未保存。下面保留着您填写的内容，"
            "请核对后再保存。",
            "Someone changed this entry meanwhile (see what it holds now above); your "
            "changes were not saved. What you typed is kept below: check it and save again.",
        ),
        "ledger.invalid.instance_id": (
            "本户没有此编号、在问题登记之后收到的入户调查。",
            "No survey of this household with this instance id arrived after the problem "
            "was entered.",
        ),
        "ledger.invalid.sha256": (
            "本户没有此 SHA-256（64 位十六进制）的已收到照片。",
            "No received photo of this household has this SHA-256 (64 hexadecimal "
            "characters).",
        ),
    }
)

PER_PAGE = 50
# The list's arguments (filters, household, page) the add form posts back with, so that a
# refused entry shows the list as it was, not the county's.
LIST_ARGS = ("state", "category", "source", "township", "household", "page")


def _filters() -> dict:
    """Return the ledger filters of the query string that name known values."""
    args = request.args
    states = (*audit_ledger.STATES, "overdue", "active")
    filters = {
        "state": args.get("state") if args.get("state") in states else None,
        "category": args.get("category") if args.get("category") in CATEGORIES else None,
        "source": args.get("source") if args.get("source") in audit_ledger.SOURCES else None,
        "township_code": args.get("township") or None,
    }
    return {k: v for k, v in filters.items() if v is not None}


def _household_filter():
    """Return the household of `?household=<id>` the list is narrowed to, or None.

    Unlike the other filters, a wrong household is not ignored: the page would claim to
    show one household's entries while showing the county's. Not a number is a 400; a
    number naming no household, or one outside the user's region (not told apart), is the
    service's 404 — both on the console's error page.
    """
    raw = request.args.get("household", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        abort(400)
    return ledger.household_filter(g.user, int(raw))


@bp.get("/ledger")
def ledger_page():
    """List the entries in scope, overdue first, with the progress table."""
    return _ledger_page()


def _ledger_page(typed: dict | None = None, errors: dict | None = None, status: int = 200):
    """Render the ledger list; a refused add form comes back with what was typed and the
    error next to each field it concerns."""
    page_number, _ = clamp(request.args.get("page"), PER_PAGE)
    filters = _filters()
    household = _household_filter()
    if household is not None:
        filters["household_id"] = household.id
    result = ledger.list_entries(
        g.user, filters, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE, ip=client_ip()
    )
    page = Page(
        items=result["entries"], total=result["total"], page=page_number, per_page=PER_PAGE
    )
    return render_template(
        "console/ledger.html",
        page=page,
        today=result["today"],
        filters=filters,
        household=household,
        household_name=household_directory.head_name(household) if household else "",
        progress=ledger.progress(g.user),
        tree=scope_tree(g.user),
        categories=CATEGORIES,
        actions=ACTIONS,
        states=audit_ledger.STATES,
        sources=audit_ledger.SOURCES,
        is_overdue=ledger.is_overdue,
        typed=typed or {},
        errors=errors or {},
        list_args={key: request.args[key] for key in LIST_ARGS if request.args.get(key)},
    ), status


def _field_errors(error: ServiceError, unnamed: str) -> dict[str, str]:
    """Return the refusal of an entry's fields (new or edited) as a text per form field.

    Fields the service names get the console's own words for them; a refusal naming no
    field stands at `unnamed`, in the service's words (adding: a household that does not
    exist, or is outside the region — the service does not say which — is the household
    code's error).
    """
    if not error.errors:
        return {unnamed: own_half(error.message)}
    return {
        field: translate(f"ledger.invalid.{field}")
        if f"ledger.invalid.{field}" in catalogue()
        else own_half(error.message)
        for field in error.errors
    }


@bp.post("/ledger")
def ledger_add():
    """Add a problem found by hand on a household named by its code.

    A refusal shows the list again with the form as it was typed (422), never a redirect
    that would lose it; the form posts with the list's arguments, so the list comes back
    with its filters and the household it was narrowed to."""
    form = request.form
    typed = {
        "household_code": form.get("household_code", ""),
        "category": form.get("category", ""),
        "actions": form.getlist("actions"),
        "description": form.get("description", "")[:2000],
        "due_on": form.get("due_on", ""),
    }
    try:
        due_on = date.fromisoformat(typed["due_on"]) if typed["due_on"] else None
    except ValueError:
        return _ledger_page(typed, {"due_on": translate("ledger.invalid.due_on")}, 422)
    try:
        entry = ledger.create(
            g.user,
            {**typed, "actions": list(typed["actions"]), "due_on": due_on},
            ip=client_ip(),
        )
    except ServiceError as error:
        return _ledger_page(typed, _field_errors(error, "household_code"), 422)
    flash(translate("ledger.added", id=entry.id), "success")
    return redirect(url_for("console.ledger_entry_page", entry_id=entry.id))


@bp.get("/ledger/<int:entry_id>")
def ledger_entry_page(entry_id: int):
    """Show one entry: what it requires, its history, and the forms to move or edit it."""
    return _entry_page(entry_id)


def _entry_page(entry_id: int, form: str = "", typed: dict | None = None,
                errors: dict | None = None, status: int = 200):
    """Render an entry; a refused form ("move" or "edit") comes back with what was typed
    and the error next to each field it concerns, the other form as stored."""
    entry = ledger.get(g.user, entry_id, ip=client_ip())
    return render_template(
        "console/ledger_entry.html",
        entry=entry,
        overdue=ledger.is_overdue(entry),
        next_states=audit_ledger.TRANSITIONS[entry.state],
        categories=CATEGORIES,
        actions=ACTIONS,
        form=form,
        typed=typed or {},
        errors=errors or {},
    ), status


# Where the move form shows a refusal of ledger.transition, by the refusal's code; the
# console's own words where the service's would name codes ("in_progress").
MOVE_REFUSALS = {
    "ledger.stale_state": ("to_state", "ledger.invalid.stale_state"),
    "ledger.state_unknown": ("to_state", "ledger.invalid.to_state"),
    "ledger.transition_refused": ("to_state", "ledger.invalid.to_state"),
    "ledger.evidence_required": ("evidence", None),
    "ledger.resolution_mismatch": ("resolution", None),
    "ledger.resolution_required": ("resolution", None),
    "ledger.resolution_unexpected": ("resolution", None),
    "ledger.comment_required": ("comment", None),
}
# The service names a bad evidence item by its index in the list it was given.
EVIDENCE_INDEX = re.compile(r"evidence\[(\d+)\]")


def _move_errors(error: ServiceError, evidence_fields: list[str]) -> dict[str, str]:
    """Return a refused state change as a text per field of the move form.

    Evidence the service could not find (or a malformed photo hash) is the error of the
    field it was typed in; any other refusal stands at the field its code concerns."""
    if error.code in ("ledger.evidence_invalid", "ledger.evidence_unknown"):
        problems = " ".join(
            [error.message, *(str(m) for ms in error.errors.values() for m in ms)]
        )
        errors = {}
        for index in sorted({int(i) for i in EVIDENCE_INDEX.findall(problems)}):
            if index < len(evidence_fields):
                field = evidence_fields[index]
                errors[field] = translate(f"ledger.invalid.{field}")
        return errors or {"evidence": own_half(error.message)}
    field, key = MOVE_REFUSALS.get(error.code, ("to_state", None))
    return {field: translate(key) if key else own_half(error.message)}


@bp.post("/ledger/<int:entry_id>/transition")
def ledger_transition(entry_id: int):
    """Move an entry; closing takes the evidence given in the form.

    A refusal shows the entry again with the form as it was typed (422); nothing is
    stored. The form carries the state it was shown in, so a change made meanwhile is
    refused rather than applied to a state the supervisor did not see."""
    form = request.form
    typed = {
        key: form.get(key, "")[:2000]
        for key in ("to_state", "resolution", "comment", "note", "instance_id", "sha256")
    }
    evidence, evidence_fields = [], []
    for field, item in (
        ("note", {"kind": "note", "text": typed["note"].strip()}),
        ("instance_id", {"kind": "survey", "instance_id": typed["instance_id"].strip()[:36]}),
        ("sha256", {"kind": "document", "sha256": typed["sha256"].strip().lower()[:64]}),
    ):
        if typed[field].strip():
            evidence.append(item)
            evidence_fields.append(field)
    try:
        ledger.transition(
            g.user,
            entry_id,
            to_state=typed["to_state"],
            comment=typed["comment"],
            evidence=evidence,
            resolution=typed["resolution"] or None,
            from_state=form.get("from_state") or None,
            ip=client_ip(),
        )
    except (Invalid, Conflict) as error:
        return _entry_page(entry_id, "move", typed, _move_errors(error, evidence_fields), 422)
    flash(translate("ledger.moved"), "success")
    return redirect(url_for("console.ledger_entry_page", entry_id=entry_id))


def _seen_updated_at(text: str) -> datetime | None:
    """Return the entry's `updated_at` the edit form was shown with (None: a form without
    one); a value that is no time never matches, so the edit is refused as stale."""
    if not text:
        return None
    try:
        return datetime.fromisoformat(text[:40])
    except ValueError:
        return datetime.min


@bp.post("/ledger/<int:entry_id>/edit")
def ledger_edit(entry_id: int):
    """Change what an entry requires: category, actions, deadline, description, amount.

    A refusal shows the entry again with the form as it was typed (422); nothing is
    stored."""
    form = request.form
    typed = {
        "category": form.get("category", ""),
        "actions": form.getlist("actions"),
        "description": form.get("description", "")[:2000],
        "due_on": form.get("due_on", ""),
        "amount_to_recover": form.get("amount_to_recover", "")[:32],
    }
    data = {key: typed[key] for key in ("category", "actions", "description")}
    errors = {}
    try:
        if typed["due_on"]:
            data["due_on"] = date.fromisoformat(typed["due_on"])
    except ValueError:
        errors["due_on"] = translate("ledger.invalid.due_on")
    try:
        if typed["amount_to_recover"]:
            data["amount_to_recover"] = float(typed["amount_to_recover"])
    except ValueError:
        errors["amount_to_recover"] = translate("ledger.invalid.amount_to_recover")
    if errors:
        return _entry_page(entry_id, "edit", typed, errors, 422)
    try:
        ledger.update(g.user, entry_id, {**data, "actions": list(data["actions"])},
                      seen_updated_at=_seen_updated_at(form.get("seen_updated_at", "")),
                      ip=client_ip())
    except (Invalid, Conflict) as error:
        if error.code == "ledger.stale":
            errors = {"stale": translate("ledger.invalid.stale")}
        else:
            errors = _field_errors(error, "category")
        return _entry_page(entry_id, "edit", typed, errors, 422)
    flash(translate("ledger.saved"), "success")
    return redirect(url_for("console.ledger_entry_page", entry_id=entry_id))
