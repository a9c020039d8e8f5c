"""The households API: region scope, delta download, tombstones, QR lookup and QR images."""

import io

import pytest
import zxingcpp
from PIL import Image
from sqlalchemy import select

from server.extensions import db
from server.models import AuditEntry, Household
from server.services import users
from server.services.household_record import to_record
from server.services.regions import by_code
from server.services.versions import record_version
from tests.conftest import TOWNSHIP_1, TOWNSHIP_2


def download_all(client, since=None, limit=200):
    """Follow the delta cursor until no page is left; return (households, tombstones, cursor)."""
    households, tombstones = {}, set()
    while True:
        url = f"/api/v1/households?limit={limit}" + (f"&since={since}" if since else "")
        response = client.get(url)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        households.update({h["id"]: h for h in page["households"]})
        tombstones.update(t["id"] for t in page["tombstones"])
        since = page["cursor"]
        if not page["more"]:
            return households, tombstones, since


def test_investigator_downloads_exactly_their_township(api, demo):
    """inv1 gets every township-1 household and nothing of township 2."""
    households, _, _ = download_all(api.as_user("inv1"), limit=5)
    expected = {h.id for h in demo.households_in(TOWNSHIP_1)}
    assert set(households) == expected
    sample = next(iter(households.values()))
    assert sample["members"] and sample["version"] >= 1 and sample["qr_token"]
    assert sample["township_name"] == "克山镇"


def test_pages_say_how_many_households_remain(api, demo):
    """Each page but the last tells how many households the next pages hold (progress bar)."""
    inv1 = api.as_user("inv1")
    total = len(demo.households_in(TOWNSHIP_1))
    first = inv1.get("/api/v1/households?limit=5").get_json()
    assert first["more"] is True and first["remaining"] == total - 5
    second = inv1.get(f"/api/v1/households?limit=500&since={first['cursor']}").get_json()
    assert second["more"] is False and second["remaining"] == 0
    assert len(second["households"]) == total - 5


def test_supervisor_sees_the_whole_county(api, demo):
    """The county supervisor's scope covers both townships."""
    households, _, _ = download_all(api.as_user("sup1"))
    assert set(households) == {
        h.id for h in demo.households_in(TOWNSHIP_1) + demo.households_in(TOWNSHIP_2)
    }


def test_delta_returns_only_what_changed(api, demo):
    """After a full download, a second call returns only the household changed since."""
    inv1 = api.as_user("inv1")
    _, _, cursor = download_all(inv1)
    households, _, cursor2 = download_all(inv1, since=cursor)
    assert households == {}
    target = demo.households_in(TOWNSHIP_1)[0]
    before = to_record(target)
    target.address = "新地址 1 号"
    record_version(target, before=before, cause="admin")
    db.session.commit()
    households, tombstones, _ = download_all(inv1, since=cursor2)
    assert set(households) == {target.id} and households[target.id]["address"] == "新地址 1 号"
    assert households[target.id]["version"] == 2 and not tombstones


def test_household_moving_out_of_scope_comes_as_a_tombstone(api, demo):
    """A household moved to a township-2 village is deleted on inv1's phone and appears on inv3's."""
    inv1, inv3 = api.as_user("inv1"), api.as_user("inv3")
    _, _, cursor1 = download_all(inv1)
    _, _, cursor3 = download_all(inv3)
    moving = demo.households_in(TOWNSHIP_1)[0]
    before, old_village = to_record(moving), moving.village_id
    moving.village_id = by_code("230229101201").id
    record_version(moving, before=before, cause="admin", prev_village_id=old_village)
    db.session.commit()
    households, tombstones, _ = download_all(inv1, since=cursor1)
    assert tombstones == {moving.id} and moving.id not in households
    households, tombstones, _ = download_all(inv3, since=cursor3)
    assert moving.id in households and not tombstones


def test_scope_change_makes_the_phone_start_over(api):
    """A cursor from before a scope change returns reset=True and the whole new scope."""
    inv1 = api.as_user("inv1")
    _, _, cursor = download_all(inv1)
    users.set_scope("inv1", TOWNSHIP_2)
    page = inv1.get(f"/api/v1/households?since={cursor}").get_json()
    assert page["reset"] is True


@pytest.mark.parametrize(
    "query", ["since=abc", "since=1.x", "since=1.-5", "limit=0", "limit=501", "limit=ten"]
)
def test_bad_delta_parameters_are_422(api, query):
    """Malformed cursors and limits are refused with field errors."""
    response = api.as_user("inv1").get(f"/api/v1/households?{query}")
    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_inv3_cannot_fetch_or_look_up_a_township_1_household(api, demo):
    """Fetch and QR lookup outside the scope are refused; the list never contains it."""
    inv3 = api.as_user("inv3")
    other = demo.households_in(TOWNSHIP_1)[0]
    assert inv3.get(f"/api/v1/households/{other.id}").status_code == 403
    assert inv3.get(f"/api/v1/households/lookup?qr={other.qr_token}").status_code == 403
    assert inv3.get(f"/api/v1/households/{other.id}/qr.png").status_code == 403
    households, _, _ = download_all(inv3)
    assert other.id not in households


def test_fetch_and_lookup_in_scope(api, demo):
    """inv1 fetches a household by id and by its label token (bare or the whole URL)."""
    inv1 = api.as_user("inv1")
    household = demo.households_in(TOWNSHIP_1)[0]
    assert inv1.get(f"/api/v1/households/{household.id}").get_json()["code"] == household.code
    by_token = inv1.get(f"/api/v1/households/lookup?qr={household.qr_token}")
    assert by_token.status_code == 200 and by_token.get_json()["id"] == household.id
    by_url = inv1.get(f"/api/v1/households/lookup?qr=http://ruhu.test/h/{household.qr_token}")
    assert by_url.get_json()["id"] == household.id


def test_lookup_answers_exactly_what_the_fetch_answers(api, demo):
    """The QR lookup reads the collections as plain rows: the same JSON as the fetch, for
    households with members (dates), supporters, assets and incomes (numbers) alike."""
    inv1 = api.as_user("inv1")
    compared = set()
    for household in demo.households_in(TOWNSHIP_1):
        fetched = inv1.get(f"/api/v1/households/{household.id}").get_json()
        looked_up = inv1.get(f"/api/v1/households/lookup?qr={household.qr_token}").get_json()
        assert looked_up == fetched
        compared |= {name for name in ("members", "supporters", "assets", "incomes")
                     if fetched[name]}
    assert compared == {"members", "supporters", "assets", "incomes"}


def test_unknown_household_and_token_are_404(api):
    """Missing households give 404 in the one error shape."""
    inv1 = api.as_user("inv1")
    assert inv1.get("/api/v1/households/999999").get_json()["code"] == "not_found"
    assert inv1.get("/api/v1/households/lookup?qr=nope").status_code == 404
    assert inv1.get("/api/v1/households/lookup").status_code == 422


@pytest.mark.parametrize("scanned", [
    "4#fº¡",
    "户主张三",  # another QR code's text
    "a" * 41,  # longer than any label's token
    "https://example.org/h/abc def",
])
def test_a_qr_code_that_is_no_label_is_404_not_an_error(api, scanned):
    """Scanning a QR code that is not a Ruhu label (any text a phone's camera may find) is
    "no such household", without asking the database."""
    response = api.as_user("inv1").get("/api/v1/households/lookup", query_string={"qr": scanned})
    assert response.status_code == 404, response.get_json()
    assert response.get_json()["code"] == "not_found"


def test_reads_of_personal_data_are_audited(api, demo):
    """Fetching and downloading households writes audit entries naming the reader."""
    inv1 = api.as_user("inv1")
    household = demo.households_in(TOWNSHIP_1)[0]
    inv1.get(f"/api/v1/households/{household.id}")
    inv1.get("/api/v1/households")
    actions = {(e.action, e.actor_name) for e in db.session.scalars(select(AuditEntry))}
    assert ("household.read", "inv1") in actions and ("household.download", "inv1") in actions


def test_qr_token_is_random_and_not_personal(app, demo):
    """Label tokens carry at least 80 random bits and no ID number."""
    tokens = db.session.scalars(select(Household.qr_token)).all()
    assert len(set(tokens)) == len(tokens)
    assert all(len(t) >= 20 for t in tokens)  # 15 bytes of randomness, base64url
    ids = {m.id_number for h in demo.households_in(TOWNSHIP_1) for m in h.members if m.id_number}
    assert not any(i in t or t in i for t in tokens for i in ids)


def test_qr_png_decodes_to_the_household_url(api, demo):
    """The label's QR image decodes back to <base-url>/h/<qr_token>."""
    household = demo.households_in(TOWNSHIP_1)[0]
    response = api.as_user("inv1").get(f"/api/v1/households/{household.id}/qr.png")
    assert response.status_code == 200 and response.mimetype == "image/png"
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(response.data)))
    assert [r.text for r in results] == [f"http://ruhu.test/h/{household.qr_token}"]


def test_qr_svg_is_served(api, demo):
    """The SVG variant is a real SVG document."""
    household = demo.households_in(TOWNSHIP_1)[0]
    response = api.as_user("inv1").get(f"/api/v1/households/{household.id}/qr.svg")
    assert response.status_code == 200 and b"<svg" in response.data
