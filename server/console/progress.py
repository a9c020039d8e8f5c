"""Progress per township and village, against the quality thresholds; daily chart; XLSX."""


from flask import Response, g, render_template, request

from ..services import exports, progress
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, date_arg
from .charts import daily_chart
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.progress_page", "nav.progress"))



def _report() -> progress.Progress:
    """Run the report for the query string's period and township."""
    return progress.report(
        g.user,
        date_from=date_arg(request.args.get("from")),
        date_to=date_arg(request.args.get("to")),
        township=request.args.get("township") or None,
        ip=client_ip(),
    )


@bp.get("/progress")
def progress_page():
    """Show the progress table and the daily chart."""
    report = _report()
    return render_template(
        "console/progress.html", report=report, chart=daily_chart(report.daily),
        tree=scope_tree(g.user),
    )


def _percent(value: float | None) -> str:
    """Return a rate as a percentage with one decimal (empty when unknown)."""
    return "" if value is None else f"{value * 100:.1f}%"


@bp.get("/progress.xlsx")
def progress_xlsx():
    """Download the progress table as XLSX (a line per township, then its villages)."""
    report = _report()
    columns = ("township", "village", "households", "visited", "visit_rate", "submitted",
               "received", "approved", "has_issues", "rejected", "pass_rate",
               "sampled_pass_rate", "resurvey")
    header = [translate(f"progress.col.{c}") for c in columns]

    def line(township, village, counts, sampled=None, resurvey=None):
        return [township, village, counts.households, counts.visited,
                _percent(counts.visit_rate), counts.submitted, counts.received,
                counts.approved, counts.has_issues, counts.rejected,
                _percent(counts.pass_rate),
                _percent(sampled.pass_rate) if sampled else "",
                translate("common.yes") if resurvey else ""]

    rows = []
    for row in report.townships:
        rows.append(line(row.township.name, "", row.counts, row.sampled, row.resurvey))
        rows.extend(line(row.township.name, v.village.name, v.counts) for v in row.villages)
    rows.append(line(translate("common.total"), "", report.total))
    data = exports.xlsx_bytes(translate("nav.progress"), header, rows)
    name = f"ruhu-progress-{report.date_from:%Y%m%d}-{report.date_to:%Y%m%d}.xlsx"
    return Response(data, mimetype=exports.XLSX_MIME,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
