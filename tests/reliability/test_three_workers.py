"""Three `mailgate run` workers on one mailbox and one PostgreSQL database (SPEC §7).

A backlog of 1,000 new requests: one worker at a time reads the mailbox (its
reader lock), the others apply what it stored and is still pending and send
(claims with SKIP LOCKED); each must be applied once and each notification sent
once.
"""

from __future__ import annotations

import pytest

from bench.corpus import make_corpus
from bench.inbox import count_waiting
from tests.reliability.audit import NOTIFICATIONS_PER_NEW_REQUEST, audit, message_id_of
from tests.reliability.workers import start_watched_worker, stop_worker, wait_until

MAILS = 1000
WORKERS = 3


@pytest.mark.heavy
@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_three_workers_share_a_thousand_mails_and_do_each_once(install, dovecot, ledger):
    gate = install(dovecot)
    corpus = make_corpus(MAILS)
    dovecot.append_many(corpus)
    expected = NOTIFICATIONS_PER_NEW_REQUEST * MAILS
    workers = [start_watched_worker(gate.config, "run") for _ in range(WORKERS)]
    try:
        wait_until(
            lambda: ledger.count() >= expected and count_waiting(dovecot) == 0,
            300,
            f"{expected} notifications and an empty inbox",
        )
    finally:
        statuses = [stop_worker(worker) for worker, _ in workers]
        for _, log in workers:
            log.join()
    assert statuses == [0] * WORKERS, [log.text[-2000:] for _, log in workers]
    found = audit(gate, ledger, [message_id_of(raw) for raw in corpus])
    assert found.problems(notifications=expected) == []
    assert found.delivered_twice == 0
    applied = [log.text.count(" message applied ") for _, log in workers]
    print(f"three workers on PostgreSQL: {MAILS} mails, applied per worker {applied}, "
          f"delivered twice {found.delivered_twice}")  # fmt: skip
    assert sum(applied) == MAILS
    assert sum(1 for count in applied if count) >= 2, "the backlog was not shared"
