"""Door labels, phones (list, revoke, enrol by QR) and accounts (administrators only)."""

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, DeviceToken, User
from server.services import qr_codes
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2

pytest_plugins = ["tests.console_helpers"]


def village_of(demo, township: str):
    """Return the first village of a township and its households."""
    households = demo.households_in(township)
    village = households[0].village
    return village, [h for h in households if h.village_id == village.id]


# --- door labels --------------------------------------------------------------------------------


def test_label_sheet_has_one_qr_per_household_with_code_and_masked_name(console, demo):
    """Every open household of the village gets a label: its QR, its code, 王** not 王秀英."""
    village, households = village_of(demo, TOWNSHIP_1)
    html = console.as_user("sup1").text(f"/console/labels?village={village.code}")
    uris = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html)
    assert len(uris) == len(households)
    for household in households:
        assert household.code in html
        head = next(m for m in household.members if m.relation == "self")
        assert head.name not in html
        assert head.name[0] + "*" * (len(head.name) - 1) in html
        expected = qr_codes.svg(qr_codes.household_url("http://ruhu.test", household.qr_token))
        assert base64.b64encode(expected).decode() in uris
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "labels.print"))


def test_labels_of_another_township_are_refused(console, sup2, demo):
    """A township-2 supervisor cannot print township 1's labels."""
    village, households = village_of(demo, TOWNSHIP_1)
    response = console.as_user("sup2").get(f"/console/labels?village={village.code}")
    assert response.status_code == 404
    html = response.get_data(as_text=True)
    assert all(h.code not in html for h in households)


# --- phones ---------------------------------------------------------------------------------------


def test_devices_lists_and_revokes_a_phone(console, api):
    """The supervisor sees inv1's phone and revokes it: the token stops working."""
    phone = api.as_user("inv1")
    client = console.as_user("sup1")
    page = client.text("/console/devices")
    assert "王调查" in page
    token = db.session.scalar(select(DeviceToken).where(DeviceToken.revoked_at.is_(None)))
    client.post(f"/console/devices/{token.id}/revoke")
    assert phone.get("/api/v1/auth/me").status_code == 401
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "device.revoke"))
    assert (entry.object_id, entry.ip) == (str(token.id), "127.0.0.1")


def test_township_supervisor_cannot_revoke_another_townships_phone(console, sup2, api, demo):
    """sup2 (township 2) cannot see or revoke inv1's (township 1) phone."""
    api.as_user("inv1")
    token = db.session.scalar(select(DeviceToken).where(
        DeviceToken.user_id == demo.user("inv1").id))
    client = console.as_user("sup2")
    assert "王调查" not in client.text("/console/devices")
    client.post(f"/console/devices/{token.id}/revoke")
    # Told as of a phone that does not exist (it was 'not your user': this id is a phone).
    foreign = client.text("/console/devices")
    client.post("/console/devices/99999999/revoke")
    assert _flash(foreign) == _flash(client.text("/console/devices"))
    assert "设备不存在" in _flash(foreign)
    db.session.expire_all()
    assert token.revoked_at is None


def _flash(html: str) -> str:
    """Return the flashed messages of a page."""
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', html, re.S))


def test_enrolment_qr_signs_a_new_phone_in_once(console, client):
    """The QR encodes <base>/?enrol=<code>; the app exchanges it once for a device token."""
    page = console.as_user("sup1").post("/console/devices/enrol", {"username": "inv3"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "赵调查 的登记二维码" in html
    svg = base64.b64decode(
        re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"[^>]*data-enrol-qr', html).group(1)
    )
    audit = db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "device.enrolment_created"))
    assert audit is not None
    # The code is not in the page as text, only inside the QR: read it as a phone would.
    code = _decode_svg_qr(svg)
    parts = urlsplit(code)
    enrol = parse_qs(parts.query)["enrol"][0]
    first = client.post("/api/v1/auth/enrol", json={"code": enrol, "device_label": "新手机"})
    assert first.status_code == 200 and first.get_json()["user"]["username"] == "inv3"
    again = client.post("/api/v1/auth/enrol", json={"code": enrol, "device_label": "别的"})
    assert again.status_code == 401


def _decode_svg_qr(svg: bytes) -> str:
    """Rasterise a qrcode SVG path (unit squares) and decode it."""
    import io

    import zxingcpp
    from PIL import Image, ImageDraw

    text = svg.decode()
    size = float(re.search(r'width="([\d.]+)mm"', text).group(1))
    path = re.search(r' d="([^"]+)"', text).group(1)
    scale = 10
    image = Image.new("L", (int(size * scale) + 20, int(size * scale) + 20), 255)
    draw = ImageDraw.Draw(image)
    for x, y, w, h in re.findall(r"M([\d.]+),([\d.]+)H([\d.]+)V([\d.]+)", path):
        draw.rectangle([float(x) * scale, float(y) * scale, float(w) * scale - 1,
                        float(h) * scale - 1], fill=0)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    results = zxingcpp.read_barcodes(Image.open(buffer))
    assert results, "the enrolment QR does not decode"
    return results[0].text


def test_supervisor_cannot_enrol_for_an_investigator_outside_the_region(console, sup2):
    """sup2 cannot make an enrolment code for inv1."""
    response = console.as_user("sup2").post("/console/devices/enrol", {"username": "inv1"})
    assert response.status_code == 302
    assert db.session.scalar(select(AuditEntry).where(
        AuditEntry.action == "device.enrolment_created")) is None


# --- accounts -------------------------------------------------------------------------------------


def test_accounts_are_for_administrators_only(console):
    """A supervisor gets 403 on the accounts page and its forms, and no menu entry."""
    client = console.as_user("sup1")
    assert client.get("/console/accounts").status_code == 403
    assert client.post("/console/accounts", {"username": "x", "role": "admin",
                                             "region": "230229", "password": "12345678"}
                       ).status_code == 403
    assert "/console/accounts" not in client.text("/console/")
    assert db.session.scalar(select(User).where(User.username == "x")) is None


def test_admin_creates_disables_moves_and_resets(console, app):
    """The whole life of an account from the console."""
    admin = console.as_user("admin")
    assert "/console/accounts" in admin.text("/console/")
    admin.post("/console/accounts", {"username": "inv9", "display_name": "孙调查",
                                     "role": "investigator", "region": TOWNSHIP_1,
                                     "password": "a-good-password"})
    user = db.session.scalar(select(User).where(User.username == "inv9"))
    assert user is not None and user.region.code == TOWNSHIP_1
    assert "孙调查" in admin.text("/console/accounts")

    admin.post(f"/console/accounts/{user.id}/scope", {"region": TOWNSHIP_2})
    db.session.expire_all()
    assert user.region.code == TOWNSHIP_2

    admin.post(f"/console/accounts/{user.id}/password", {"password": "another-password"})
    response = app.test_client().post(
        "/api/v1/auth/login", json={"username": "inv9", "password": "another-password"})
    assert response.status_code == 200

    admin.post(f"/console/accounts/{user.id}/active", {"active": "0"})
    db.session.expire_all()
    assert user.active is False


def test_admin_refusals_are_explained(console):
    """Short password, county-wide investigator, taken username: nothing is created."""
    admin = console.as_user("admin")
    admin.post("/console/accounts", {"username": "short", "role": "supervisor",
                                     "region": TOWNSHIP_1, "password": "123"})
    assert "密码太短" in admin.text("/console/accounts")
    admin.post("/console/accounts", {"username": "wide", "role": "investigator",
                                     "region": "230229", "password": "a-good-password"})
    assert "调查员须分配到乡镇或村" in admin.text("/console/accounts")
    assert db.session.scalar(select(User).where(User.username.in_(["short", "wide"]))) is None


def test_admin_cannot_disable_themselves(console, demo):
    """The last door stays open."""
    admin = console.as_user("admin")
    admin.post(f"/console/accounts/{demo.user('admin').id}/active", {"active": "0"})
    db.session.expire_all()
    assert demo.user("admin").active is True


def test_township_admin_manages_only_their_township(console, demo):
    """An admin of township 2 can neither see nor change township 1's accounts."""
    from server.services import users

    users.add_user("admin2", role="admin", region_code=TOWNSHIP_2, password="demo-pass-2026")
    client = console.as_user("admin2")
    page = client.text("/console/accounts?per_page=200")
    assert "inv3" in page and "inv1" not in page and "sup1" not in page
    inv1 = demo.user("inv1")
    client.post(f"/console/accounts/{inv1.id}/active", {"active": "0"})
    # Told as of an account that does not exist (it was 'outside your region').
    foreign = client.text("/console/accounts")
    client.post("/console/accounts/99999999/active", {"active": "0"})
    assert _flash(foreign) == _flash(client.text("/console/accounts"))
    assert "用户不存在" in _flash(foreign)
    client.post(f"/console/accounts/{demo.user('inv3').id}/scope", {"region": TOWNSHIP_1})
    client.post("/console/accounts", {"username": "sneaky", "role": "supervisor",
                                      "region": "230229", "password": "a-good-password"})
    db.session.expire_all()
    assert inv1.active is True
    assert demo.user("inv3").region.code == TOWNSHIP_2
    assert db.session.scalar(select(User).where(User.username == "sneaky")) is None


def test_disabling_an_account_ends_its_console_session(console):
    """A supervisor disabled by the admin is signed out of the console at once."""
    supervisor = console.as_user("sup1")
    admin = console.as_user("admin")
    sup1 = db.session.scalar(select(User).where(User.username == "sup1"))
    admin.post(f"/console/accounts/{sup1.id}/active", {"active": "0"})
    assert supervisor.get("/console/").status_code == 302


@pytest.mark.parametrize("url", ["/console/accounts", "/console/devices", "/console/labels"])
def test_admin_pages_need_a_session(client, url):
    """Anonymous visitors are sent to sign in."""
    assert client.get(url).status_code == 302
