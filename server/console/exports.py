"""Downloads (CSV, XLSX) of the user's region, and the public posting list (公示)."""


from flask import (
    Response,
    abort,
    g,
    render_template,
    request,
    stream_with_context,
)

from .. import county_clock
from ..models.submission import REVIEW_STATES
from ..services import exports
from ..services.audit_files import plain_text
from ..services.region_tree import scope_tree
from . import bp
from .access import client_ip, date_arg
from .i18n import translate
from .nav import NavItem, register
from .present import export_cell

register(NavItem("console.exports_page", "nav.exports", group="records",
                 also=("console.publicity",)))


def _filters() -> exports.ExportFilters:
    """Read the export filters from the query string."""
    args = request.args
    state = args.get("state")
    return exports.ExportFilters(
        township=args.get("township") or None,
        village=args.get("village") or None,
        date_from=date_arg(args.get("from")),
        date_to=date_arg(args.get("to")),
        review_state=state if state in REVIEW_STATES else None,
    )


def _file_name(name: str, filters: exports.ExportFilters, fmt: str) -> str:
    """Return an ASCII file name naming the dataset, the region and the day (the filter's
    code as the service found it: cleaned, so no line break typed around it reaches the
    header)."""
    region = plain_text(filters.village or filters.township) or g.user.region.code
    return f"ruhu-{name}-{region}-{county_clock.today():%Y%m%d}.{fmt}"


def _download(name: str, columns, rows, filters: exports.ExportFilters, fmt: str) -> Response:
    """Answer with the rows as a CSV (streamed) or XLSX file, in the console's language:
    headings and coded values alike (a township clerk reads 已通过, not `approved`)."""
    header = [translate(f"col.{key}") for key in columns]
    rows = ([export_cell(value, key) for key, value in zip(columns, row, strict=True)]
            for row in rows)
    disposition = f'attachment; filename="{_file_name(name, filters, fmt)}"'
    if fmt == "csv":
        body = stream_with_context(exports.csv_chunks(header, rows))
        return Response(body, mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": disposition})
    data = exports.xlsx_bytes(translate(f"export.{name}"), header, rows)
    return Response(data, mimetype=exports.XLSX_MIME, headers={"Content-Disposition": disposition})


@bp.get("/exports")
def exports_page():
    """Show the export forms."""
    return render_template(
        "console/exports.html",
        tree=scope_tree(g.user),
        datasets=exports.DATASETS,
        states=REVIEW_STATES,
    )


@bp.get("/exports/<dataset>.<fmt>")
def export_file(dataset: str, fmt: str):
    """Download one dataset of the region as CSV or XLSX."""
    if dataset not in exports.DATASETS or fmt not in exports.FORMATS:
        abort(404)
    filters = _filters()
    result = exports.table(g.user, dataset, filters, ip=client_ip())
    return _download(dataset, result.columns, result.rows, filters, fmt)


@bp.get("/publicity")
def publicity():
    """Show (or download) the public posting list of a township or village."""
    filters = _filters()
    fmt = request.args.get("format", "html")
    if fmt not in ("html", *exports.FORMATS):
        abort(404)
    rows = exports.publicity(g.user, filters, ip=client_ip())
    if fmt != "html":
        return _download("publicity", exports.COLUMNS["publicity"],
                         (row.as_list() for row in rows), filters, fmt)
    return render_template("console/publicity.html", rows=rows, filters=filters,
                           tree=scope_tree(g.user))
