"""The queue of hook calls on both databases: two workers' pumps on one database
make every call exactly once (PostgreSQL: claims with SKIP LOCKED and a lease,
as the outbox's), and a call queued in a transaction that rolls back is never made."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from mailgate.config import HookSettings, Secret
from mailgate.hooks.pump import HookPump
from mailgate.store.database import Store
from mailgate.store.rows import QueuedHookCall
from tests.hook_receiver import SECRET, Receiver, receivers

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
CALLS = 40


@pytest.fixture
def receiver():
    yield from receivers()


@pytest.fixture
def stores(database_url):
    """Two stores on one fresh database, as two worker processes have."""
    first, second = Store(database_url), Store(database_url)
    first.upgrade()
    yield first, second
    first.close()
    second.close()


def queue(store: Store, count: int, *, hook: str = "crm") -> None:
    with store.transaction() as tx:
        tx.queue_hook_calls([
            QueuedHookCall(hook=hook, event="request.created", delivery=f"e{n}.{hook}",
                           request=None, payload=f'{{"n": {n}}}')
            for n in range(count)
        ], now=NOW)  # fmt: skip


def web_hook(url: str) -> HookSettings:
    return HookSettings(name="crm", url=url, events=frozenset({"request.created"}),
                        secret=Secret(lambda: SECRET))  # fmt: skip


def wait_until(done, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def test_two_workers_make_every_call_exactly_once(stores, receiver):
    hook = web_hook(receiver.url)
    queue(stores[0], CALLS)
    pumps = [HookPump(store, [hook], lambda: NOW) for store in stores]
    threads = [threading.Thread(target=pump.finish) for pump in pumps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    deliveries = [call.delivery for call in receiver.calls]
    assert sorted(deliveries) == sorted(f"e{n}.crm" for n in range(CALLS))  # each once
    with stores[0].reading() as tx:
        assert tx.claim_hook_calls("crm", NOW, lease_until=NOW, limit=100, owner="x") == []
    made = [pump.take_report().sent["crm"] for pump in pumps]
    assert sum(made) == CALLS


def test_claims_never_overlap_and_a_rolled_back_change_queues_nothing(stores):
    with pytest.raises(RuntimeError), stores[0].transaction() as tx:
        tx.queue_hook_calls([QueuedHookCall(hook="crm", event="request.created",
                                            delivery="gone.crm", request=None, payload="{}")],
                            now=NOW)  # fmt: skip
        raise RuntimeError("the change failed")
    queue(stores[0], CALLS)
    taken: list[list[int]] = [[], []]

    def claim(index: int) -> None:
        while True:
            with stores[index].transaction() as tx:
                jobs = tx.claim_hook_calls("crm", NOW, lease_until=NOW + dt.timedelta(hours=1),
                                           limit=3, owner=f"worker-{index}")  # fmt: skip
            if not jobs:
                return
            taken[index] += [job.id for job in jobs]

    threads = [threading.Thread(target=claim, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not set(taken[0]) & set(taken[1])
    assert len(taken[0]) + len(taken[1]) == CALLS  # and none of the rolled back change


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_metrics_count_calls_by_hook_and_the_queue_by_state(stores):
    from mailgate.hooks.pump import HookReport
    from mailgate.metrics import Metrics
    from mailgate.worker import RunReport

    store = stores[0]
    queue(store, 3)
    metrics = Metrics(store, ["default"], ["crm", "slack"])
    report = RunReport(hooks=HookReport())
    report.hooks.sent["crm"] += 2
    report.hooks.failed["crm"] += 1
    metrics.for_mailbox("default").round_finished(report, started_at=NOW, seconds=0.1)

    def value(name: str, **labels: str) -> float | None:
        return metrics.registry.get_sample_value(name, labels)

    assert value("mailgate_hook_calls_sent_total", hook="crm") == 2
    assert value("mailgate_hook_calls_failed_total", hook="crm") == 1
    assert value("mailgate_hook_calls_sent_total", hook="slack") == 0  # there from the start
    assert value("mailgate_hook_calls", state="pending") == 3
    assert value("mailgate_hook_calls", state="failed") == 0


SQLITE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@SQLITE
def test_in_the_background_a_nudged_call_goes_out_at_once(stores, receiver):
    """`mailgate run`: the pump's own thread makes what is queued, and what the worker
    queues later as soon as it is nudged, not at the next look (TEND_EVERY)."""
    store = stores[0]
    queue(store, 10)
    pump = HookPump(store, [web_hook(receiver.url)], lambda: NOW)
    pump.run_in_background()
    try:
        wait_until(lambda: len(receiver.taken) == 10)
        with store.transaction() as tx:
            tx.queue_hook_calls([QueuedHookCall(hook="crm", event="request.created",
                                                delivery="late.crm", request=None,
                                                payload="{}")], now=NOW)  # fmt: skip
        nudged = time.monotonic()
        pump.nudge()
        wait_until(lambda: len(receiver.taken) == 11)
        assert time.monotonic() - nudged < 2
    finally:
        pump.stop_background()
    assert pump.take_report().sent["crm"] == 11
    with store.transaction() as tx:  # queued after the stop: the stopped pump leaves it
        tx.queue_hook_calls([QueuedHookCall(hook="crm", event="request.created",
                                            delivery="after.crm", request=None,
                                            payload="{}")], now=NOW)  # fmt: skip
    pump.nudge()
    time.sleep(0.3)
    assert len(receiver.taken) == 11
    with store.reading() as tx:
        [left] = tx.claim_hook_calls("crm", NOW, lease_until=NOW, limit=100, owner="x")
    assert left.delivery == "after.crm"


KILLED_WORKER = """
    import datetime as dt, sys, time
    from mailgate.config import HookSettings, Secret
    from mailgate.hooks.pump import HookPump
    from mailgate.store.database import Store

    hook = HookSettings(name="crm", url=sys.argv[2], events=frozenset({"request.created"}),
                        secret=Secret(lambda: "s" * 16), timeout=60)
    pump = HookPump(Store(sys.argv[1]), [hook], lambda: dt.datetime.fromisoformat(sys.argv[3]))
    pump.feed()
    print("calling", flush=True)
    time.sleep(60)
"""


@SQLITE
def test_calls_of_a_worker_killed_mid_call_are_made_at_the_next_start(stores, receiver):
    """A worker process is killed while its calls hang: the next start on this host
    makes them at once (not after the lease), with the same delivery keys."""
    store = stores[0]
    queue(store, 3)
    hanging = Receiver.silent()
    try:
        worker = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(KILLED_WORKER), str(store.engine.url),
             hanging.url, NOW.isoformat()],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        with worker:
            assert worker.stdout is not None and worker.stdout.readline() == "calling\n"
            worker.kill()
    finally:
        hanging.close()
    with store.reading() as tx:  # its claims stand: leased for ten minutes
        assert tx.claim_hook_calls("crm", NOW, lease_until=NOW, limit=10, owner="x") == []
    a_minute_later = NOW + dt.timedelta(minutes=1)
    HookPump(store, [web_hook(receiver.url)], lambda: a_minute_later).finish()
    assert sorted(call.delivery for call in receiver.taken) == ["e0.crm", "e1.crm", "e2.crm"]
