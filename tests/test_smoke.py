"""The app starts and the demo county is there."""


def test_demo_county_present(app, demo):
    """The demo template holds both townships' households and all five accounts."""
    assert len(demo.households_in("230229100")) > 0
    assert len(demo.households_in("230229101")) > 0
    for username in ("inv1", "inv2", "inv3", "sup1", "admin"):
        assert demo.user(username) is not None
