"""SPEC §7 under kill -9: nothing lost, nothing applied twice, few sent twice.

`kill -9` of the whole `mailgate run --once` process group at random moments
over a backlog of new requests, then rounds until the inbox is empty. The
bound on repeats is the SMTP concurrency: after a crash at most the
notifications that were in flight, one per `[smtp] connections`, may go out
a second time (docs/reliability.md). The heavy runs print a summary
(`pytest -m heavy -rA` shows it).
"""

from __future__ import annotations

import pytest

from bench.corpus import make_corpus
from mailgate.config import load_settings
from tests.reliability.audit import NOTIFICATIONS_PER_NEW_REQUEST
from tests.reliability.crash_matrix import MatrixRun, run_crash_matrix

# Small IMAP batches: a round is many fetch/apply/send/move cycles, so kills
# land in each step and every killed round leaves some work done.
BATCH_SIZE = 50


def check(run: MatrixRun) -> None:
    assert run.audit is not None
    assert len(run.kills) >= run.kills_wanted, "rounds ended before their kill moments"
    assert run.audit.problems(notifications=NOTIFICATIONS_PER_NEW_REQUEST * run.mails) == []
    assert run.final_round_sent == 0
    assert run.repeats_within_a_round == 0
    assert run.repeats_without_a_crash == 0
    assert max(run.repeats_by_crash) <= run.bound, run.repeats_by_crash


def crash(install, dovecot, ledger, tmp_path, database_url, *, corpus, backlog, kills, earliest):
    gate = install(dovecot, imap_keys={"batch_size": BATCH_SIZE})
    logs = tmp_path / "logs"
    logs.mkdir()
    run = run_crash_matrix(
        gate,
        ledger,
        make_corpus(corpus),
        database=database_url.split(":")[0].split("+")[0],
        bound=load_settings(gate.config).smtp.connections,
        backlog=backlog,
        kills=kills,
        earliest=earliest,
        seed=9,
        logs=logs,
    )
    print(run.summary())
    return run


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # heavy: both databases
def test_three_kills_over_fifty_mails_lose_and_double_nothing(
    install, dovecot, ledger, tmp_path, database_url
):
    check(crash(install, dovecot, ledger, tmp_path, database_url,
                corpus=50, backlog=25, kills=3, earliest=0.5))  # fmt: skip


@pytest.mark.heavy
def test_kill_9_at_24_random_moments_with_a_hundred_mails_waiting(
    install, dovecot, ledger, tmp_path, database_url
):
    check(crash(install, dovecot, ledger, tmp_path, database_url,
                corpus=1500, backlog=100, kills=24, earliest=0.2))  # fmt: skip
