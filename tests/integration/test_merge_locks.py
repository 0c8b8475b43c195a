"""Merges on PostgreSQL lock two requests (store/database.py `lock_for_merge`): one
merge at a time, so that REQ-1 into REQ-2 and REQ-2 into REQ-1 at once cannot
deadlock; the one that waits finds the other done and is refused."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest

from mailgate.app import build_app
from mailgate.apply import act_merge
from mailgate.config import load_settings
from tests.harness import AGENT
from tests.mails import make_mail

NOW = dt.datetime(2026, 11, 26, 10, 5, tzinfo=dt.UTC)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_opposite_merges_at_once_wait_for_each_other_and_one_is_refused(gate):
    gate.deliver(*(make_mail(sender=f"c{n}@corp.example", subject=f"Outage {n}", body="Down.",
                             message_id=f"lock-{n}@corp.example") for n in range(4)))  # fmt: skip
    gate.run_once("2026-11-26T10:00:00+03:00")
    app = build_app(load_settings(gate.config))
    try:
        # A merge holding its locks keeps the opposite merge waiting, not deadlocked.
        held, waited = threading.Event(), []

        def hold_first() -> None:
            with app.store.transaction() as tx:
                tx.lock_for_merge(2, 1)
                held.set()
                time.sleep(0.5)

        holder = threading.Thread(target=hold_first)
        holder.start()
        held.wait(5)
        started = time.monotonic()
        act_merge(app.store, app.install, 2, 1, by=AGENT, now=NOW)
        waited.append(time.monotonic() - started)
        holder.join()
        assert waited[0] >= 0.3

        # Two opposite merges at once: exactly one happens.
        results = {}

        def merge(source: int, target: int) -> None:
            merged = act_merge(app.store, app.install, source, target, by=AGENT, now=NOW)
            results[source] = merged.refusal if merged is not None else "missing"

        threads = [threading.Thread(target=merge, args=pair) for pair in ((3, 4), (4, 3))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        # The one that waited finds its target merged already.
        assert sorted(str(r) for r in results.values()) == ["None", "merged"], results
    finally:
        app.engine.dispose()
    merged = [gate.show(f"REQ-{n}")["merged_into"] for n in (2, 3, 4)]
    assert merged[0] == "REQ-1" and sorted(map(str, merged[1:])) in (
        ["None", "REQ-4"], ["None", "REQ-3"])  # fmt: skip
