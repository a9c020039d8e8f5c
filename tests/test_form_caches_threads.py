"""The form-definition caches of domain/forms.py under server threads missing at once."""

import sys
import threading

from server.domain import forms as form_rules


def test_threads_filling_a_full_cache_at_once_never_fail(monkeypatch):
    """Eight threads, each asking for places of many new definitions while the bounded cache
    evicts: no KeyError or RuntimeError, and every answer is its own definition's."""
    monkeypatch.setattr(form_rules, "CACHED_DEFINITIONS", 4)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    failures = []

    def work(serial: int) -> None:
        try:
            for n in range(1500):
                name = f"q{serial}_{n}"
                definition = {"sections": [{"name": name, "type": "text"}]}
                got = form_rules.places(definition)
                assert [p.question["name"] for p in got] == [name]
        except Exception as error:  # noqa: BLE001 - collected for the assertion below
            failures.append(repr(error))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(old)
    assert failures == []
