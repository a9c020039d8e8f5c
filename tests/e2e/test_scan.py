"""Opening a household from its door label: live camera, a photo of the label, its code."""

import io

import pytest
from PIL import Image

from .conftest import chromium_path, sign_in

pytestmark = pytest.mark.e2e


def label_png(live_server, username="inv1") -> tuple[dict, bytes]:
    """Return a household in the user's scope and its label QR (PNG) from the server's API."""
    client = live_server.app.test_client()
    headers = live_server.login(username)
    household = client.get("/api/v1/households?limit=1", headers=headers).get_json()["households"][
        0
    ]
    png = client.get(f"/api/v1/households/{household['id']}/qr.png", headers=headers)
    assert png.status_code == 200
    return household, png.data


def write_y4m(png: bytes, path, frames: int = 10, size=(640, 480)) -> None:
    """Write a Y4M video of the QR on a grey background (Chromium's fake camera input)."""
    width, height = size
    qr = Image.open(io.BytesIO(png)).convert("L")
    side = int(height * 0.8)
    qr = qr.resize((side, side), Image.NEAREST)
    frame = Image.new("L", size, 128)
    frame.paste(qr, ((width - side) // 2, (height - side) // 2))
    ycbcr = frame.convert("RGB").convert("YCbCr")
    y, cb, cr = ycbcr.split()
    half = (width // 2, height // 2)
    planes = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    with open(path, "wb") as out:
        out.write(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + planes)


def test_the_camera_sees_a_label_and_opens_that_household(
    playwright, live_server, browser_context_args, tmp_path
):
    """A fake camera showing the server's QR label: the scan screen opens the household."""
    household, png = label_png(live_server)
    video = tmp_path / "label.y4m"
    write_y4m(png, video)
    browser = playwright.chromium.launch(
        executable_path=chromium_path(),
        args=[
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    try:
        context = browser.new_context(**browser_context_args)
        page = context.new_page()
        sign_in(page)
        page.click("a[data-tab=scan]")
        page.wait_for_selector("#camera-video")
        page.wait_for_url(f"**/#/household/{household['id']}", timeout=20000)
        page.wait_for_selector("#start-survey")
        assert household["code"] in page.inner_text("main")
        # The camera is released once the household is open.
        assert page.evaluate("document.querySelectorAll('video').length") == 0
    finally:
        browser.close()


def test_a_photo_of_the_label_opens_the_household(page, live_server, tmp_path):
    """Picking a photo of the label (no camera) decodes it with the fallback decoder."""
    household, png = label_png(live_server)
    photo = tmp_path / "label.jpg"
    picture = Image.new("RGB", (1200, 900), (180, 170, 160))
    picture.paste(Image.open(io.BytesIO(png)).convert("RGB").resize((500, 500)), (350, 200))
    picture.save(photo, quality=90)
    sign_in(page)
    page.goto("/#/scan")
    page.wait_for_selector("#scan-photo", state="attached")
    page.set_input_files("#scan-photo", str(photo))
    page.wait_for_url(f"**/#/household/{household['id']}", timeout=20000)


def test_typing_the_code_opens_the_household(page, live_server):
    """The household code typed by hand (a torn label)."""
    household, _ = label_png(live_server)
    sign_in(page)
    page.goto("/#/scan")
    page.fill("#scan-code", household["code"])
    page.press("#scan-code", "Enter")
    page.wait_for_url(f"**/#/household/{household['id']}")


def test_a_label_url_opened_by_the_phone_camera_app_lands_on_the_household(page, live_server):
    """/h/<qr_token> (a plain camera scan) opens the app at that household, after sign-in."""
    household, _ = label_png(live_server)
    page.goto(f"/h/{household['qr_token']}")
    page.fill("#username", "inv1")
    page.fill("#password", live_server.password)
    page.click("form button[type=submit]")
    page.wait_for_url(f"**/#/household/{household['id']}", timeout=20000)
