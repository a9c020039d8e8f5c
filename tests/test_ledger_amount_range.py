"""An amount to recover the ledger cannot hold (its column keeps 12 digits, two after the
point) is refused as a wrong amount, never a 500: one past Decimal's 28 digits raised
InvalidOperation while being rounded to the fen, and one past the column's 12 digits went
to the database (PostgreSQL refuses it, SQLite kept it)."""

import pytest
from sqlalchemy import select

from server.extensions import db
from server.models import LedgerEntry
from server.services import ledger
from server.services.errors import Invalid
from tests.conftest import TOWNSHIP_1

pytest_plugins = ["tests.console_helpers"]


@pytest.fixture
def entry(demo):
    """An open entry of a township-1 household."""
    found = ledger.open_entry(household=demo.households_in(TOWNSHIP_1)[0],
                              category="income_above_standard", source="manual",
                              actions=["resurvey"])
    db.session.commit()
    return found


@pytest.mark.parametrize("amount", ["1e308", "9" * 30, "10000000000", "1e12"])
def test_the_edit_form_refuses_an_amount_the_ledger_cannot_hold(console, entry, amount):
    """The entry comes back with the amount's error (422); nothing is stored."""
    response = console.as_user("sup1").post(
        f"/console/ledger/{entry.id}/edit",
        {"category": "income_above_standard", "actions": "resurvey",
         "amount_to_recover": amount},
    )
    assert response.status_code == 422
    assert "金额须为不小于 0 的数字" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(LedgerEntry.amount_to_recover)) is None


def test_the_largest_amount_the_ledger_holds_is_kept(demo, entry):
    """9,999,999,999.99 is kept to the fen; a fen more (or what rounds to it) is refused by
    the service."""
    sup1 = demo.user("sup1")
    ledger.update(sup1, entry.id, {"amount_to_recover": 9999999999.99})
    assert str(entry.amount_to_recover) == "9999999999.99"
    for amount in (1e10, 9999999999.999, True):  # the second rounds up to ten billion
        with pytest.raises(Invalid) as refused:
            ledger.update(sup1, entry.id, {"amount_to_recover": amount})
        assert "amount_to_recover" in refused.value.errors
