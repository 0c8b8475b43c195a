"""The queue of hook calls on both databases: two workers' pumps on one database
make every call exactly once (PostgreSQL: claims with SKIP LOCKED and a lease,
as the outbox's), and a call queued in a transaction that rolls back is never made."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from mailgate.config import HookSettings, Secret
from mailgate.hooks.pump import HookPump
from mailgate.store.database import Store
from mailgate.store.rows import QueuedHookCall
from tests.hook_receiver import SECRET, receivers

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


def test_two_workers_make_every_call_exactly_once(stores, receiver):
    hook = HookSettings(name="crm", url=receiver.url, events=frozenset({"request.created"}),
                        secret=Secret(lambda: SECRET))  # fmt: skip
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
    made = [pump.report.sent["crm"] for pump in pumps]
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
