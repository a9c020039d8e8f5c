"""A new version of the app: the worker installs beside the old one, takes over when the
investigator taps "update", and the old cache is deleted."""

import shutil

import pytest

from .conftest import ROOT, sign_in, wait_for_service_worker

pytestmark = pytest.mark.e2e

CACHES = "async () => (await caches.keys()).filter((k) => k.startsWith('ruhu-shell-')).sort()"


@pytest.fixture
def pwa_dir(tmp_path):
    """A copy of pwa/ the test changes (a new release)."""
    target = tmp_path / "pwa"
    shutil.copytree(ROOT / "pwa", target, symlinks=True)
    return target


@pytest.fixture
def live_server_config(pwa_dir):
    """Serve the copy."""
    return {"PWA_DIR": str(pwa_dir)}


def test_a_new_shell_version_replaces_the_old_one_on_tap(page, pwa_dir):
    """Change a shell file: the app offers the update, and afterwards only the new cache is left."""
    sign_in(page)
    wait_for_service_worker(page)
    old = page.evaluate(CACHES)
    assert len(old) == 1

    css = pwa_dir / "css" / "app.css"
    css.write_text(
        css.read_text(encoding="utf-8") + "\n.release-2 { color: red; }\n", encoding="utf-8"
    )
    page.evaluate("async () => (await navigator.serviceWorker.getRegistration()).update()")
    banner = page.locator("#banner button")
    banner.wait_for(timeout=20000)
    # Until the tap, the open page keeps the old version.
    assert page.evaluate(CACHES)[0] == old[0] or len(page.evaluate(CACHES)) == 2
    with page.expect_navigation():
        banner.click()
    wait_for_service_worker(page)
    page.wait_for_selector("#household-list li a")
    new = page.evaluate(CACHES)
    assert len(new) == 1 and new != old
    assert ".release-2" in page.evaluate("async () => (await fetch('/css/app.css')).text()")
