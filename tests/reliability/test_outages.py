"""A long-running `mailgate run` through outages: IMAP, SMTP, the database.

Each test lets the worker start on a backlog, breaks one server mid-run for
long enough that the worker retries several times, brings it back, adds
more mail, and waits for the end. Then: everything applied once, every
notification delivered exactly once (nothing crashed, so no repeat is
excused), and the log says so briefly: at most two lines at WARNING or
above for the outage (when it starts, and when it ends), however many
retries it took.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable

import psycopg
import pytest

from bench.corpus import make_corpus
from bench.inbox import count_waiting
from tests.harness import PG_ADMIN
from tests.reliability.audit import NOTIFICATIONS_PER_NEW_REQUEST, audit, message_id_of
from tests.reliability.workers import start_watched_worker, stop_worker, wait_until
from tests.sandbox import TEMPFAIL

MAILS = 60
OUTAGE = 8.0  # seconds: with a backoff of 2, 4, 8 s, three retries or more
STARTED = 20  # deliveries seen before the outage begins: the worker is mid-backlog


def run_through(
    gate,
    ledger,
    *,
    begin: Callable[[], None],
    end: Callable[[], None],
    mail_during_outage: bool = True,
) -> None:
    """Half the mail, the outage once the worker is mid-backlog, the other half.

    With `mail_during_outage` the second half arrives while the outage lasts, so the
    worker surely meets it: a fast worker may have sent the whole first half before
    the outage begins. (Not with IMAP itself down: nothing can be delivered then.)"""
    corpus = make_corpus(MAILS)
    first, second = corpus[: MAILS // 2], corpus[MAILS // 2 :]
    worker, log = start_watched_worker(gate.config, "run")
    try:
        gate.imap.append_many(first)
        wait_until(lambda: ledger.count() >= STARTED, 60, "the first notifications")
        began = time.monotonic()
        begin()
        if mail_during_outage:
            gate.imap.append_many(second)
        time.sleep(OUTAGE)
        end()
        if not mail_during_outage:
            gate.imap.append_many(second)
        expected = NOTIFICATIONS_PER_NEW_REQUEST * MAILS
        wait_until(
            lambda: ledger.count() >= expected and count_waiting(gate.imap) == 0,
            120,
            f"{expected} notifications and an empty inbox",
        )
        time.sleep(1.0)  # room for a repeat, if one were coming
    finally:
        status = stop_worker(worker)
        log.join()
    assert status == 0, log.text[-3000:]
    found = audit(gate, ledger, [message_id_of(raw) for raw in corpus])
    assert found.problems(notifications=NOTIFICATIONS_PER_NEW_REQUEST * MAILS) == []
    assert found.delivered_twice == 0
    assert log.problems() == log.problems(since=began), "warnings before the outage"
    assert 1 <= len(log.problems()) <= 2, log.text[-5000:]


@pytest.mark.heavy
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_dovecot_stopped_and_started_mid_run(install, private_dovecot, ledger):
    gate = install(private_dovecot.account)

    def stop_with_its_sessions() -> None:
        # Stopping the master leaves the imap process of an open session serving
        # it (it stays in the master's process group); a restart with Dovecot's
        # shutdown_clients = yes ends those sessions, so end them too.
        master = private_dovecot.pid
        assert master is not None
        private_dovecot.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(master, signal.SIGTERM)

    run_through(gate, ledger, begin=stop_with_its_sessions, end=private_dovecot.start,
                mail_during_outage=False)  # fmt: skip


@pytest.mark.heavy
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_smtp_answering_451_for_a_while(install, dovecot, ledger):
    gate = install(dovecot, smtp_keys={"retry_seconds": 1})
    run_through(gate, ledger, begin=lambda: ledger.sink.fail(TEMPFAIL), end=ledger.sink.recover)


@pytest.mark.heavy
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_gone_mid_run(install, dovecot, ledger, database_url):
    """What a restart looks like to this test's database alone: every connection
    cut, new ones refused, then accepted again. Other sessions' databases on the
    shared server are untouched."""
    name = database_url.rsplit("/", 1)[1]

    def refuse() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )

    def accept() -> None:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')

    gate = install(dovecot)
    try:
        run_through(gate, ledger, begin=refuse, end=accept)
    finally:
        accept()  # so that the fixture can drop it
