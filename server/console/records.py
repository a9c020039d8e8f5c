"""Printable pages for the paper archive: the survey record (调查笔录) of a household."""

from flask import g, render_template, request

from ..services import survey_record
from . import bp
from .access import client_ip


@bp.get("/households/<int:household_id>/record")
def survey_record_page(household_id: int):
    """Show a household's survey record as a print-ready page with photos and signatures."""
    record = survey_record.survey_record(
        g.user, household_id, request.args.get("submission") or None, ip=client_ip()
    )
    return render_template("console/survey_record.html", **record)
