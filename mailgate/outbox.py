"""The outbox: claim due notifications, hand them to the pump, record each result.

The worker stays the only writer of the database. Results are recorded by a
thread of the outbox as they come, in small transactions, and acknowledged to
the pump only once committed; the pump's connection waits for that before it
takes its next job. So after a crash at most `[smtp] connections` notices were
delivered and not recorded (they go out again); none is lost.

A claim carries its owner (`owner.current_owner()`); a new outbox first takes
back the claims of owners on this host that are dead, instead of waiting out
their lease. Temporary failures (4xx, connection trouble) are retried with
exponential backoff; permanent ones (5xx) mark the row failed with the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mailgate.owner import current_owner, is_dead_here
from mailgate.send import Job, Pump, Result
from mailgate.store.database import Store, StoreUnavailable

log = logging.getLogger(__name__)

BATCH = 200  # outbox rows claimed at a time
IN_FLIGHT = 1000  # rows handed to the pump and not yet recorded
LEASE = dt.timedelta(minutes=10)  # a claim by a live owner, or one on another host, lasts this
MAX_ATTEMPTS = 12
RECORD_WAIT = 0.2  # seconds the recorder waits for a result before looking again


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int, first: float = 60.0) -> dt.timedelta:
    """`first` seconds, then twice as long at each attempt, capped at 2 hours."""
    return dt.timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 7200))


class WriterTurns:
    """Turns at the database between the applier (the worker's thread) and the
    outbox's recorder, the recorder first.

    SQLite has one writer: while a batch of mail is applied, the recorder cannot
    commit what the pump sent, and the pump, waiting for that, stops. So the
    applier takes its turns here, and ends a batch early when the recorder waits.
    """

    def __init__(self) -> None:
        self._turn = threading.Condition()
        self._busy = False
        self._recorder_waiting = False

    @property
    def recorder_waiting(self) -> bool:
        return self._recorder_waiting

    @contextlib.contextmanager
    def applier(self) -> Iterator[None]:
        with self._turn:
            while self._busy or self._recorder_waiting:
                self._turn.wait()
            self._busy = True
        try:
            yield
        finally:
            self._give_back()

    @contextlib.contextmanager
    def recorder(self) -> Iterator[None]:
        with self._turn:
            self._recorder_waiting = True
            while self._busy:
                self._turn.wait()
            self._busy, self._recorder_waiting = True, False
        try:
            yield
        finally:
            self._give_back()

    def _give_back(self) -> None:
        with self._turn:
            self._busy = False
            self._turn.notify_all()


class Outbox:
    """One round's sending. The pump and the recorder start with the first job, so
    a round with nothing to send starts no process."""

    def __init__(
        self,
        store: Store,
        make_pump: Callable[[], Pump],
        clock: Callable[[], dt.datetime],
        *,
        retry_seconds: float = 60.0,
    ) -> None:
        self._retry_seconds = retry_seconds
        self._store = store
        self._make_pump = make_pump
        self._pump: Pump | None = None
        self._clock = clock
        self._owner = current_owner()
        self.report = SendReport()
        self._struggling = False  # a temporary failure: leave the rest for the next round
        self._lock = threading.Condition()
        self._in_flight = 0
        self._recorder_error: StoreUnavailable | None = None
        self.turns = WriterTurns()
        self._closing = threading.Event()
        self._recorder = threading.Thread(
            target=self._record_forever, name="outbox-recorder", daemon=True
        )
        self._take_back_dead_claims()

    def feed(self) -> int:
        """Hand the pump more due rows, up to `IN_FLIGHT` unrecorded. Never blocks long."""
        handed = 0
        while not self._struggling and self._recorder_error is None:
            with self._lock:
                room = IN_FLIGHT - self._in_flight
            if room <= 0:
                break
            jobs = self._claim(min(room, BATCH))
            if not jobs:
                break
            with self._lock:
                self._in_flight += len(jobs)
            self._started_pump().submit(jobs)
            handed += len(jobs)
        return handed

    def _started_pump(self) -> Pump:
        if self._pump is None:
            self._pump = self._make_pump()
            self._recorder.start()
        return self._pump

    def finish(self) -> SendReport:
        """Send everything due and wait until every result is recorded."""
        while True:
            self.feed()
            with self._lock:
                while self._in_flight and self._recorder_error is None:
                    self._lock.wait(timeout=1.0)
            if self._recorder_error is not None:
                raise self._recorder_error
            if self.feed() == 0:
                return self.report

    def close(self) -> None:
        """Stop the recorder and the pump; whatever is unrecorded is retried later."""
        self._closing.set()
        if self._pump is not None:
            self._recorder.join()
            self._pump.close()

    # -- claims --------------------------------------------------------------------

    def _take_back_dead_claims(self) -> None:
        with self._store.transaction() as tx:
            owners = tx.outbound_claim_owners()
            dead = [owner for owner in owners if owner != self._owner and is_dead_here(owner)]
            if dead:
                released = tx.release_claims(dead, now=self._clock())
                log.info("took back the outbox claims of stopped workers",
                         extra={"owners": len(dead), "notifications": released})  # fmt: skip

    def _claim(self, limit: int) -> list[Job]:
        now = self._clock()
        with self._store.transaction() as tx:
            rows = tx.claim_outbound(now, lease_until=now + LEASE, limit=limit, owner=self._owner)
        return [(row.id, row.recipient, row.raw, row.attempts) for row in rows]

    # -- recording -------------------------------------------------------------------

    def _record_forever(self) -> None:
        """Until closed: `finish` closes once nothing is in flight, `close` at once."""
        while not self._closing.is_set():
            results = self._pump.results(wait=RECORD_WAIT)
            if not results:
                self._closing.wait(0.01)  # a pump that answers at once must not make this spin
                continue
            try:
                with self.turns.recorder():
                    self._record(results)
            except StoreUnavailable as exc:  # unrecorded: retried after the lease, not lost
                log.error("could not record sent notifications", extra={"error": str(exc)})
                with self._lock:
                    self._recorder_error = exc
                    self._lock.notify_all()
                return
            self._pump.acknowledge([outbound_id for outbound_id, _, _ in results])
            with self._lock:
                self._in_flight -= len(results)
                self._lock.notify_all()

    def _record(self, results: list[Result]) -> None:
        now = self._clock()
        temporary_failures = 0
        with self._store.transaction() as tx:
            tx.mark_sent([i for i, _, failure in results if failure is None], now)
            for outbound_id, attempts, failure in results:
                if failure is None:
                    self.report.sent += 1
                    log.info("notification sent", extra={"outbound": outbound_id})
                    continue
                temporary, error = failure
                retry = temporary and attempts + 1 < MAX_ATTEMPTS
                if retry:
                    self.report.retried += 1
                    temporary_failures += 1
                else:
                    self.report.failed += 1
                    log.warning("notification failed", extra={"outbound": outbound_id,
                                                              "error": error[:200]})  # fmt: skip
                tx.mark_unsent(
                    outbound_id,
                    error=error[:2000],
                    retry_at=now + backoff(attempts + 1, self._retry_seconds) if retry else None,
                )
        if temporary_failures and not self._struggling:
            # One line for the round, not one per message: the rest waits for the next round.
            self._struggling = True
            first_error = next(f[1] for _, _, f in results if f is not None and f[0])
            log.warning("SMTP refuses for now; retrying later",
                        extra={"error": first_error[:200]})  # fmt: skip
