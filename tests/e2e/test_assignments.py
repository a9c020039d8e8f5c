"""Households drawn for a visit are marked on the phone, with why."""

import pytest
from sqlalchemy import select

from server.models import User
from server.services import sampling

from .conftest import sign_in

pytestmark = pytest.mark.e2e


def test_sampled_households_are_marked_assigned(page, live_server):
    """A supervisor's draw with share 1 assigns every household of township 1."""

    def draw():
        from server.extensions import db

        supervisor = db.session.scalar(select(User).where(User.username == "sup1"))
        sampling.draw(supervisor, "230229100", seed="e2e", share=1.0)

    live_server.query(draw)
    sign_in(page)
    page.wait_for_selector("#household-list .tag.assigned")
    rows = page.locator("#household-list li a")
    assert rows.locator(".tag.assigned").count() == rows.count()
    rows.first.click()
    page.wait_for_selector("#start-survey")
    assert "抽查村" in page.inner_text("main")
