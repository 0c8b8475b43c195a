"""What the worker tells whoever watches it: a progress bar, the last-round row,
the metrics. The worker calls a `Monitor` at a few points and knows nothing
of what listens; the base class listens to nothing.

`mailgate run` watches each mailbox in a thread of its own, and each thread
calls the monitor that `for_mailbox` gives it: a monitor that keeps state
between hooks keeps it per mailbox there, so two threads never share it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from mailgate.store.operations import Round, record_round

if TYPE_CHECKING:
    from mailgate.store.database import Store
    from mailgate.worker import RunReport

log = logging.getLogger(__name__)


class Monitor:
    """The worker's hooks; each does nothing here."""

    def waiting(self, count: int) -> None:
        """`count` more messages were found waiting in the inbox."""

    def taken(self, count: int) -> None:
        """`count` messages were stored, applied and moved out of the inbox."""

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        """A round ended; `report.errors` is empty when it succeeded."""

    def for_mailbox(self, name: str) -> Monitor:
        """The monitor of the rounds that read mailbox `name` only (one thread's)."""
        return self


class Monitors(Monitor):
    """Several monitors as one."""

    def __init__(self, parts: Sequence[Monitor]) -> None:
        self.parts = list(parts)

    def waiting(self, count: int) -> None:
        for part in self.parts:
            part.waiting(count)

    def taken(self, count: int) -> None:
        for part in self.parts:
            part.taken(count)

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        for part in self.parts:
            part.round_finished(report, started_at=started_at, seconds=seconds)

    def for_mailbox(self, name: str) -> Monitor:
        return Monitors([part.for_mailbox(name) for part in self.parts])


class RoundRecorder(Monitor):
    """Keeps each round in `worker_rounds`, for `mailgate status`: under `mailbox`, or
    "" for a round over every mailbox at once."""

    def __init__(self, store: Store, *, worker: str, mailbox: str = "") -> None:
        self.store = store
        self.worker = worker
        self.mailbox = mailbox
        self._waiting = 0

    def for_mailbox(self, name: str) -> Monitor:
        return RoundRecorder(self.store, worker=self.worker, mailbox=name)

    def waiting(self, count: int) -> None:
        self._waiting += count

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        done = Round(
            worker=self.worker, mailbox=self.mailbox, started_at=started_at,
            finished_at=started_at + dt.timedelta(seconds=seconds), seconds=seconds,
            fetched=report.fetched, applied=report.applied, failed=report.failed,
            sent=report.sent, send_failures=report.send_failures, imap_waiting=self._waiting,
            error="; ".join(report.errors)[:2000],
        )  # fmt: skip
        self._waiting = 0
        try:
            with self.store.engine.begin() as connection:
                record_round(connection, done)
        except Exception as exc:  # the database is down, say: bookkeeping must not stop the worker
            # DEBUG: the outage itself is logged once, by the worker, not at every round.
            log.debug("round not recorded", extra={"error": repr(exc)[:200]})
