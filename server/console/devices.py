"""Phones: the signed-in devices of the user's investigators, revoking one, enrolling one."""

from flask import flash, g, redirect, render_template, request, url_for

from ..services import devices
from ..services.errors import ServiceError
from ..services.labels import qr_data_uri
from ..services.qr_codes import enrolment_url
from . import bp
from .access import client_ip, public_base_url
from .i18n import translate
from .nav import NavItem, register

register(NavItem("console.devices_page", "nav.devices", group="admin"))


def _page(enrolment=None, status: int = 200):
    """Render the devices page (with a fresh enrolment QR when one was just made)."""
    show_revoked = request.args.get("revoked") == "1"
    investigators = devices.enrollable_users(g.user)
    enrol_qr = None
    if enrolment is not None:
        enrol_qr = qr_data_uri(enrolment_url(public_base_url(), enrolment.code))
    return render_template(
        "console/devices.html",
        devices=devices.list_devices(g.user, include_revoked=show_revoked),
        investigators=investigators,
        show_revoked=show_revoked,
        enrolment=enrolment,
        enrol_qr=enrol_qr,
    ), status


@bp.get("/devices")
def devices_page():
    """List the phones signed in for the user's people."""
    return _page()


@bp.post("/devices/<int:token_id>/revoke")
def revoke_device(token_id: int):
    """Revoke one phone's sign-in."""
    try:
        devices.revoke(g.user, token_id, ip=client_ip())
    except ServiceError as error:
        flash(error.message, "error")
    else:
        flash(translate("devices.revoked"), "success")
    return redirect(url_for("console.devices_page"))


@bp.post("/devices/enrol")
def enrol_device():
    """Make a one-time enrolment QR for an investigator's new phone (shown once, not stored)."""
    try:
        enrolment = devices.enrol(g.user, request.form.get("username", ""), ip=client_ip())
    except ServiceError as error:
        flash(error.message, "error")
        return redirect(url_for("console.devices_page"))
    return _page(enrolment)
