"""kill -9 at random moments of `mailgate run --once`, then restart until done.

Before each round the inbox is topped up to `backlog` mails from the corpus,
so that every kill finds as much work to interrupt as the first. The first
round runs to its end and gives the length of a full round; each later
round is killed after a delay drawn from a fixed seed between `earliest`
times that length and all of it (a round that ends first gives the new
length), which covers start-up, fetch, apply, sending, the IMAP move and
the timers. After the last kill, rounds run to
their end until the inbox is empty; one more round must then send nothing.
"""

from __future__ import annotations

import random
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.inbox import count_waiting
from tests.harness import Gate
from tests.reliability.audit import Audit, audit, message_id_of
from tests.reliability.ledger import DeliveryLedger
from tests.reliability.workers import kill_group, start_worker

MAX_DRAIN_ROUNDS = 6
MAX_ROUNDS_PER_KILL = 3  # rounds that end before their kill moment are not kill points


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """How far the backlog is: applied in the database, left in IMAP, delivered."""

    applied: int
    waiting: int
    delivered: int

    @classmethod
    def read(cls, gate: Gate, ledger: DeliveryLedger) -> Progress:
        [(applied,)] = gate.query("SELECT count(*) FROM inbound WHERE state = 'applied'")
        return cls(applied=applied, waiting=count_waiting(gate.imap), delivered=ledger.count())

    def steps_since(self, before: Progress) -> str:
        """What a killed round got done: 'nothing', or e.g. 'applied+sent+moved'."""
        done = [
            name
            for name, moved in (
                ("applied", self.applied > before.applied),
                ("sent", self.delivered > before.delivered),
                ("moved", self.waiting < before.waiting),
            )
            if moved
        ]
        return "+".join(done) or "nothing"


@dataclass(frozen=True, slots=True, kw_only=True)
class KillPoint:
    round: int
    delay: float
    steps: str


@dataclass(slots=True, kw_only=True)
class MatrixRun:
    database: str
    mails: int = 0
    bound: int
    kills_wanted: int
    full_round: float = 0.0
    kills: list[KillPoint] = field(default_factory=list)
    rounds: int = 0
    final_round_sent: int = 0
    audit: Audit | None = None
    repeats_by_round: dict[int, int] = field(default_factory=dict)
    repeats_within_a_round: int = 0

    @property
    def repeats_by_crash(self) -> list[int]:
        return [self.repeats_by_round.get(kill.round, 0) for kill in self.kills]

    @property
    def repeats_without_a_crash(self) -> int:
        killed = {kill.round for kill in self.kills}
        return sum(n for round_, n in self.repeats_by_round.items() if round_ not in killed)

    def summary(self) -> str:
        assert self.audit is not None
        delays = sorted(kill.delay for kill in self.kills)
        steps = Counter(kill.steps for kill in self.kills)
        return (
            f"crash matrix on {self.database}: {self.mails} mails, {len(self.kills)} kill points "
            f"({delays[0]:.2f} to {delays[-1]:.2f} s after start, a full round "
            f"{self.full_round:.2f} s; killed after: "
            + ", ".join(f"{name} {count}" for name, count in steps.most_common())
            + f"), {self.rounds} rounds in all\n"
            f"  lost {self.audit.lost}, applied twice {len(self.audit.applied_twice)}, "
            f"delivered twice {self.audit.delivered_twice}, "
            f"max per crash {max(self.repeats_by_crash)} (bound {self.bound}), "
            f"outbox {dict(self.audit.outbox)}, sent by the final round {self.final_round_sent}"
        )


def run_crash_matrix(
    gate: Gate,
    ledger: DeliveryLedger,
    corpus: Sequence[bytes],
    *,
    database: str,
    bound: int,
    backlog: int,
    kills: int,
    seed: int,
    earliest: float,
    logs: Path,
) -> MatrixRun:
    chooser = random.Random(seed)
    run = MatrixRun(database=database, bound=bound, kills_wanted=kills)
    left = list(corpus)
    run.mails = _top_up(gate, left, backlog)
    run.full_round = _round(gate, ledger, run, logs)
    while len(run.kills) < kills and run.rounds < MAX_ROUNDS_PER_KILL * kills:
        run.mails += _top_up(gate, left, backlog)
        delay = chooser.uniform(run.full_round * earliest, run.full_round)
        before = Progress.read(gate, ledger)
        started = time.monotonic()
        process = _start_round(gate, ledger, run, logs)
        try:
            _check_exit(process.wait(delay), ledger.round, logs)
            run.full_round = time.monotonic() - started  # rounds got quicker: aim earlier
        except subprocess.TimeoutExpired:
            kill_group(process)
            steps = Progress.read(gate, ledger).steps_since(before)
            run.kills.append(KillPoint(round=ledger.round, delay=delay, steps=steps))
    for _ in range(MAX_DRAIN_ROUNDS):
        _round(gate, ledger, run, logs)
        if count_waiting(gate.imap) == 0:
            break
    sent_before = ledger.count()
    _round(gate, ledger, run, logs)
    run.final_round_sent = ledger.count() - sent_before
    used = corpus[: run.mails]
    run.audit = audit(gate, ledger, [message_id_of(raw) for raw in used])
    run.repeats_by_round = ledger.repeats_by_round()
    run.repeats_within_a_round = ledger.repeats_within_a_round()
    return run


def _top_up(gate: Gate, left: list[bytes], backlog: int) -> int:
    """Append mails from `left` until `backlog` wait in the inbox; how many were appended."""
    wanted = min(backlog - count_waiting(gate.imap), len(left))
    if wanted <= 0:
        return 0
    gate.imap.append_many(left[:wanted])
    del left[:wanted]
    return wanted


def _start_round(
    gate: Gate, ledger: DeliveryLedger, run: MatrixRun, logs: Path
) -> subprocess.Popen:
    run.rounds += 1
    ledger.round = run.rounds
    return start_worker(gate.config, "run", "--once", log=logs / f"round-{run.rounds:03d}.log")


def _round(gate: Gate, ledger: DeliveryLedger, run: MatrixRun, logs: Path) -> float:
    """One round run to its end; its wall time."""
    started = time.monotonic()
    process = _start_round(gate, ledger, run, logs)
    _check_exit(process.wait(300), ledger.round, logs)
    return time.monotonic() - started


def _check_exit(status: int, round_: int, logs: Path) -> None:
    if status != 0:
        log = (logs / f"round-{round_:03d}.log").read_text(errors="replace")
        raise AssertionError(f"round {round_} exited {status}:\n{log[-3000:]}")
