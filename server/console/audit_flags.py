"""清查比对: the flagged households and their flags; for the county, importing lists."""

from datetime import date

from flask import flash, g, redirect, render_template, request, url_for

from ..domain.audit_categories import CATEGORIES
from ..domain.audit_lists import LIST_KINDS
from ..services import crosscheck
from ..services.audit_files import is_county_auditor, saved_upload
from ..services.errors import ServiceError
from ..services.pagination import Page, clamp
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, id_arg
from .i18n import add_messages, translate
from .nav import NavItem, register

register(NavItem("console.audit_flags", "nav.audit_flags", also=("console.audit_list",)))

add_messages(
    {
        "nav.audit_flags": ("清查比对", "Cross-checks"),
        "audit.flags_title": ("清查比对疑点", "Cross-check flags"),
        "audit.queue": ("待核实的疑点户", "Households to verify"),
        "audit.queue_none": ("没有待核实的疑点户。", "No flagged household to verify."),
        "audit.flags": ("疑点", "Flags"),
        "audit.strong": ("强匹配", "strong"),
        "audit.weak": ("弱匹配", "weak"),
        "audit.strength": ("匹配", "Match"),
        "audit.strength_help": (
            "强匹配:身份证号一致;弱匹配:姓名和出生日期一致,须入户核实是否本人。",
            "Strong: same ID number. Weak: same name and birth date; verify on a visit.",
        ),
        "audit.person": ("人员", "Person"),
        "audit.supporter": ("赡养义务人", "supporter"),
        "audit.category": ("问题类别", "Category"),
        "audit.list_kind": ("名单", "List"),
        "audit.detail": ("比对信息", "What the list says"),
        # What each column of a list's row is (domain.audit_lists), wherever a matched row's
        # details are shown: "死亡日期 2025-06-01", never a bare date beside the flag's own.
        "audit.field.death_date": ("死亡日期", "date of death"),
        "audit.field.place": ("死亡地点", "place of death"),
        "audit.field.authority": ("登记机关", "registered by"),
        "audit.field.employer": ("单位", "employer"),
        "audit.field.position": ("职务", "position"),
        "audit.field.monthly_pay": ("月工资", "monthly pay"),
        "audit.field.plate": ("号牌号码", "number plate"),
        "audit.field.vehicle_type": ("车辆类型", "vehicle type"),
        "audit.field.registered_on": ("登记日期", "registered on"),
        "audit.field.address": ("房屋坐落", "property address"),
        "audit.field.area": ("建筑面积", "floor area"),
        "audit.field.business_name": ("企业名称", "business name"),
        "audit.field.registration_no": ("统一社会信用代码", "registration number"),
        "audit.field.monthly_amount": ("月养老金", "monthly pension"),
        "audit.field.pension_type": ("险种", "pension type"),
        "audit.field.since": ("开始领取日期", "paid since"),
        "audit.field.monthly_contribution": ("月缴存额", "monthly contribution"),
        "audit.entry": ("整改", "Ledger"),
        "audit.state_active": ("未销号", "not closed"),
        "audit.state_closed": ("已销号", "closed"),
        "audit.lists_title": ("比对名单(县级)", "Imported lists (county)"),
        "audit.lists_note": (
            "名单只保存比对命中的行;原始文件导入后不保留(除非配置 RUHU_AUDIT_KEEP_UPLOADS)。",
            "Only rows that matched someone are stored; the uploaded file is not kept "
            "unless RUHU_AUDIT_KEEP_UPLOADS is set.",
        ),
        "audit.import": ("导入名单", "Import a list"),
        "audit.file": ("文件(CSV 或 XLSX)", "File (CSV or XLSX)"),
        "audit.source": ("来源部门", "Source"),
        "audit.as_of": ("名单日期", "List date"),
        "audit.imported": (
            "已导入 {rows} 行,命中 {matched} 行,新增疑点 {new} 个。",
            "Imported {rows} {rows:row|rows}; {matched} matched; {new} new "
            "{new:flag|flags}.",
        ),
        "audit.rows": ("行数", "Rows"),
        "audit.matched": ("命中", "Matched"),
        "audit.new_flags": ("新疑点", "New flags"),
        "audit.imported_at": ("导入时间", "Imported"),
        "audit.list_title": ("比对名单 {id}", "List {id}"),
        "audit.row_number": ("行号", "Row"),
        "audit.id_number": ("身份证号", "ID number"),
        "audit.name": ("姓名", "Name"),
        "audit.birth_date": ("出生日期", "Born"),
        "audit.household": ("户", "Household"),
        "audit.township": ("乡镇", "Township"),
    }
)

PER_PAGE = 50


def _filters() -> dict:
    """Return the flag filters of the query string that name known values."""
    args = request.args
    filters = {
        "township_code": args.get("township") or None,
        "category": args.get("category") if args.get("category") in CATEGORIES else None,
        "list_kind": args.get("list_kind") if args.get("list_kind") in LIST_KINDS else None,
        "strength": args.get("strength") if args.get("strength") in ("strong", "weak") else None,
        "state": args.get("state") if args.get("state") in ("active", "closed") else "active",
    }
    filters["household_id"] = id_arg(args.get("household"))
    return {k: v for k, v in filters.items() if v is not None}


@bp.get("/audit")
def audit_flags():
    """Show the flagged households and their flags; the county also sees the lists."""
    page_number, _ = clamp(request.args.get("page"), PER_PAGE)
    filters = _filters()
    result = crosscheck.flags(
        g.user, filters, limit=PER_PAGE, offset=(page_number - 1) * PER_PAGE, ip=client_ip()
    )
    page = Page(items=result["flags"], total=result["total"], page=page_number, per_page=PER_PAGE)
    county = is_county_auditor(g.user)
    return render_template(
        "console/audit_flags.html",
        queue=crosscheck.flagged_households(g.user, ip=client_ip()),
        page=page,
        filters=filters,
        tree=scope_tree(g.user),
        categories=CATEGORIES,
        list_kinds=LIST_KINDS,
        county=county,
        lists=crosscheck.lists(g.user, ip=client_ip()) if county else [],
    )


@bp.post("/audit/lists")
def audit_import_list():
    """Import an uploaded list; report what it found or every bad row."""
    try:
        as_of = request.form.get("as_of") or None
        with saved_upload(request.files.get("file")) as (path, name):
            summary = crosscheck.import_list(
                path,
                request.form.get("kind", ""),
                actor=g.user,
                source=request.form.get("source", "")[:100],
                as_of=date.fromisoformat(as_of) if as_of else None,
                filename=name,
                ip=client_ip(),
            )
    except ValueError:
        flash(translate("audit.as_of") + ": YYYY-MM-DD", "error")
    except ServiceError as error:
        rows = error.errors.get("rows") or []
        flash(" ".join([error.message, *rows[:50]]), "error")
    else:
        flash(
            translate(
                "audit.imported",
                rows=summary.rows,
                matched=summary.matched_rows,
                new=summary.new_flags,
            ),
            "success",
        )
    return redirect(url_for("console.audit_flags"))


@bp.get("/audit/lists/<int:list_id>")
def audit_list(list_id: int):
    """Show one imported list with the rows that matched someone (county only)."""
    imported, rows = crosscheck.get_list(g.user, list_id, ip=client_ip())
    return render_template(
        "console/audit_list.html", imported=imported, rows=rows, list_kinds=LIST_KINDS
    )
