"""Metrics and `status` per mailbox (SPEC §11, §12).

In-process: the monitor shared by the mailbox threads of `mailgate run`, driven
by two threads at once. On real servers: `/metrics` scraped over HTTP from a
`mailgate run` watching two mailboxes (two Dovecot users), then `status`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import signal
import subprocess
import sys
import threading

import pytest

from mailgate.metrics import Metrics
from mailgate.monitor import Monitors, RoundRecorder
from mailgate.store.database import Store
from mailgate.store.operations import last_rounds
from mailgate.worker import RunReport
from tests.harness import TEAM, Gate, write_config
from tests.integration.test_mailboxes_e2e import BILLING, BILLING_TEAM, first_mail, mailboxes_toml
from tests.integration.test_operating import get, wait_for
from tests.sandbox import find_free_port

ROUNDS = 300
_numbers = itertools.count(1)
STARTED = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC)


@pytest.fixture
def store(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'metrics.sqlite3'}")
    store.upgrade()
    yield store
    store.close()


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(name, labels)


def test_two_mailbox_threads_update_their_own_figures(store):
    """Each thread reports what it found waiting before another's round ends: a
    count shared between threads would give support billing's 7 and billing 0."""
    metrics = Metrics(store, ["support", "billing"])
    monitors = Monitors([metrics, RoundRecorder(store, worker="w1")])
    views = {name: monitors.for_mailbox(name) for name in ("support", "billing")}
    turns = threading.Barrier(2)

    def mailbox_thread(name: str, waiting: int, report: RunReport) -> None:
        view = views[name]
        if name == "billing":
            turns.wait()  # support found its mail first
        view.waiting(waiting)
        if name == "support":
            turns.wait()
            turns.wait()  # billing has found its own meanwhile
        view.round_finished(report, started_at=STARTED, seconds=0.5)
        if name == "billing":
            turns.wait()
        for _ in range(ROUNDS):  # then many rounds at once
            view.waiting(1)
            view.round_finished(RunReport(applied=1, sent=2), started_at=STARTED, seconds=0.01)

    threads = [
        threading.Thread(target=mailbox_thread, args=("support", 5, RunReport(applied=5))),
        threading.Thread(target=mailbox_thread,
                         args=("billing", 7, RunReport(applied=6, errors=["IMAP down"]))),
    ]  # fmt: skip
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    applied = "mailgate_messages_applied_total"
    assert value(metrics, applied, mailbox="support") == 5 + ROUNDS
    assert value(metrics, applied, mailbox="billing") == 6 + ROUNDS
    sent = "mailgate_notifications_sent_total"
    assert value(metrics, sent, mailbox="support") == value(metrics, sent, mailbox="billing")
    assert value(metrics, "mailgate_rounds_failed_total", mailbox="billing") == 1
    assert value(metrics, "mailgate_rounds_failed_total", mailbox="support") == 0
    count = "mailgate_round_duration_seconds_count"
    assert value(metrics, count, mailbox="support") == value(metrics, count, mailbox="billing")
    assert value(metrics, count, mailbox="support") == ROUNDS + 1
    assert metrics.healthy  # the last round of each succeeded
    with store.engine.begin() as connection:
        rounds = {r.mailbox: r for r in last_rounds(connection)}
    assert set(rounds) == {"support", "billing"}
    assert rounds["billing"].last_error == "IMAP down" and rounds["support"].last_error == ""


def test_the_waiting_count_of_the_first_round_is_each_mailboxs_own(store):
    metrics = Metrics(store, ["support", "billing"])
    support, billing = metrics.for_mailbox("support"), metrics.for_mailbox("billing")
    support.waiting(5)
    billing.waiting(7)  # another thread, between support's two calls
    support.round_finished(RunReport(), started_at=STARTED, seconds=0.1)
    assert value(metrics, "mailgate_imap_waiting", mailbox="support") == 5
    assert not metrics.healthy and metrics.unhealthy_mailboxes() == ["billing"]
    billing.round_finished(RunReport(errors=["x"]), started_at=STARTED, seconds=0.1)
    assert value(metrics, "mailgate_imap_waiting", mailbox="billing") == 7
    assert metrics.unhealthy_mailboxes() == ["billing"]


@pytest.fixture
def two_mailbox_gate(tmp_path, dovecot, dovecot_server, smtp_sink):
    number = next(_numbers)
    billing = dovecot_server.add_user(f"billing-metrics{number}@example.org", "billing-metrics")
    port = find_free_port()
    config = tmp_path / "mailgate.toml"
    url = f"sqlite:///{tmp_path / 'mailgate.sqlite3'}"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url=url,
                 metrics={"listen": f"127.0.0.1:{port}"})  # fmt: skip
    config.write_text(config.read_text() + mailboxes_toml(billing))
    gate = Gate(config=config, imap=dovecot, smtp=smtp_sink, database_url=url,
                extra={"billing": billing, "base": f"http://127.0.0.1:{port}"})  # fmt: skip
    gate.read("init")
    return gate


def scraped(text: str) -> dict[str, float]:
    """Every sample of a scrape by its name and labels, as written."""
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, number = line.rpartition(" ")
            samples[name] = float(number)
    return samples


def test_metrics_of_a_run_with_two_mailboxes_are_per_mailbox(two_mailbox_gate):
    gate = two_mailbox_gate
    billing, base = gate.extra["billing"], gate.extra["base"]
    gate.deliver(
        first_mail("ann@corp.example", "Phones", "m1@corp", to="support@example.org"),
        first_mail("cid@corp.example", "Fax", "m2@corp", to="support@example.org"),
    )
    billing.append(first_mail("bob@shop.example", "Invoice", "m3@shop", to=BILLING))
    worker = subprocess.Popen(
        [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config), "run"],
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def settled() -> dict[str, float] | None:
        try:
            _, text = get(base + "/metrics")
        except OSError:  # not listening yet
            return None
        samples = scraped(text)
        sent = ('mailgate_outbox{mailbox="support",state="sent"}',
                'mailgate_outbox{mailbox="billing",state="sent"}')  # fmt: skip
        # The outbox gauge is read from the database, the counters when a round ends: the
        # mail sent can show before the round that sent it is counted.
        applied = ('mailgate_messages_applied_total{mailbox="support"}',
                   'mailgate_messages_applied_total{mailbox="billing"}')  # fmt: skip
        counted = [samples.get(name) for name in sent + applied] == [4, 2, 2, 1]
        return samples if counted else None

    try:
        samples = wait_for(settled, timeout=30)
        health = wait_for(lambda: get(base + "/healthz"), timeout=10)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert health == (200, "ok\n")
    for name, applied, sent in (("support", 2, 4), ("billing", 1, 2)):
        labels = f'{{mailbox="{name}"}}'
        assert samples["mailgate_messages_applied_total" + labels] == applied
        assert samples["mailgate_messages_failed_total" + labels] == 0
        assert samples["mailgate_notifications_sent_total" + labels] == sent
        assert samples["mailgate_notifications_failed_total" + labels] == 0
        assert samples["mailgate_round_duration_seconds_count" + labels] >= 1
        assert "mailgate_imap_waiting" + labels in samples
        assert samples[f'mailgate_inbound{{mailbox="{name}",state="applied"}}'] == applied
        assert samples[f'mailgate_outbox{{mailbox="{name}",state="pending"}}'] == 0
        oldest = f'mailgate_oldest_pending_age_seconds{{mailbox="{name}",queue="inbound"}}'
        assert samples[oldest] == 0
    assert {r for m in gate.smtp.messages for r in m.rcpt_tos} >= {TEAM, BILLING_TEAM}

    shown = json.loads(gate.read("status", "--json"))
    assert shown["inbound"]["applied"] == 3 and shown["outbox"]["sent"] == 6
    mailboxes = shown["mailboxes"]
    assert list(mailboxes) == ["support", "billing"]
    for name, applied, sent in (("support", 2, 4), ("billing", 1, 2)):
        inbound = {"pending": 0, "applied": applied, "failed": 0, "held": 0}
        assert mailboxes[name]["inbound"] == inbound
        assert mailboxes[name]["outbox"] == {"pending": 0, "sent": sent, "failed": 0}
        last = mailboxes[name]["last_round"]
        assert (last["mailbox"], last["ok"]) == (name, True)
        assert mailboxes[name]["last_error"] is None
    text = gate.read("status")
    assert "mailbox billing:\n  inbound: 0 pending, 0 quarantined, 0 held, 1 applied" in text
    assert "mailbox support:\n  inbound: 0 pending, 0 quarantined, 0 held, 2 applied" in text


def test_status_after_run_once_shows_the_round_of_every_mailbox(two_mailbox_gate):
    """`run --once` reads the mailboxes in one round: it is each mailbox's last round."""
    gate = two_mailbox_gate
    gate.extra["billing"].append(first_mail("bob@shop.example", "Invoice", "o1@shop", to=BILLING))
    gate.run_once("2026-11-26T10:00:00+03:00")
    shown = json.loads(gate.read("status", "--json"))
    support, billing = shown["mailboxes"]["support"], shown["mailboxes"]["billing"]
    assert support["last_round"] == billing["last_round"] == shown["last_round"]
    assert (shown["last_round"]["mailbox"], shown["last_round"]["applied"]) == ("", 1)
    assert (support["inbound"]["applied"], billing["inbound"]["applied"]) == (0, 1)
    assert (support["outbox"]["sent"], billing["outbox"]["sent"]) == (0, 2)
