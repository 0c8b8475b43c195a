"""The outbox: claim due notifications, hand them to the pump, record the results.

The worker stays the only writer of the database: it records what the pump
reported whenever it feeds it (after each batch of mail applied) and at the end
of the round, in bulk. The pump's sent journal (`mailgate/journal.py`) covers
the gap: a new outbox first marks sent what the journals of dead owners on this
host say was delivered, then takes back their claims at once instead of
waiting out the lease. So after a crash at most the mail in flight
(`[smtp] connections`) goes twice, and none is lost.

Temporary failures (4xx, connection trouble) are retried with exponential
backoff; permanent ones (5xx) mark the row failed with the reason.

Each notification goes out with its own envelope sender, its return path
`support+b.<outbound id>.<mac>@domain` (VERP, `reply_tokens.bounce_address`): a
delivery-status report comes back to that address and so names the one
notification that bounced, and its recipient (SPEC §14).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mailgate import journal
from mailgate.config import Secret
from mailgate.owner import current_owner, is_dead_here
from mailgate.reply_tokens import bounce_address
from mailgate.send import Job, Pump, Result
from mailgate.store.database import MailboxScope, Store, Tx

log = logging.getLogger(__name__)

BATCH = 200  # outbox rows claimed at a time
IN_FLIGHT = 1000  # rows handed to the pump and not yet recorded
LEASE = dt.timedelta(minutes=10)  # a claim by a live owner, or one on another host, lasts this
MAX_ATTEMPTS = 12

# Makes the pump for a round, given the sent journal's file descriptor.
PumpFactory = Callable[[int], Pump]
# Told in the transaction that marks a notification failed for good: its id, the
# error and the attempts made (the `delivery.failed` hook calls, apply/announce.py).
FailureListener = Callable[[Tx, int, str, int, dt.datetime], None]


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int, first: float = 60.0) -> dt.timedelta:
    """`first` seconds, then twice as long at each attempt, capped at 2 hours."""
    return dt.timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 7200))


class Outbox:
    """One round's sending. The pump starts with the first job, so a round with
    nothing to send starts no process."""

    def __init__(
        self,
        store: Store,
        make_pump: PumpFactory,
        clock: Callable[[], dt.datetime],
        *,
        journal_dir: Path,
        journal_name: str = "",
        refusing_before: bool = False,
        retry_seconds: float = 60.0,
        scope: MailboxScope | None = None,
        sender: str = "",
        token_secret: Secret | None = None,
        on_failure: FailureListener | None = None,
    ) -> None:
        """`sender`: the address whose return paths the notifications get ([smtp]
        from_address), signed with `token_secret`, else the database's secret; ""
        leaves the envelope sender to the pump."""
        self._sender = sender
        self._on_failure = on_failure
        self._given_secret = token_secret
        self._secret: str | None = None
        self._retry_seconds = retry_seconds
        self._scope = scope  # only the rows of this mailbox's requests (SPEC §12)
        self._store = store
        self._make_pump = make_pump
        self._pump: Pump | None = None
        self._clock = clock
        self._owner = current_owner()
        self._journal_dir = journal_dir
        self._journal_name = journal_name  # outboxes of one process keep journals apart
        self._journal: int | None = None
        self._in_flight = 0
        self.report = SendReport()
        self._struggling = False  # a temporary failure: leave the rest for the next round
        self._refusing_before = refusing_before  # the last round ended with SMTP refusing
        self._recover_dead_owners()

    def feed(self) -> None:
        """Record what the pump reported, and hand it more due rows. Never blocks long."""
        if self._pump is not None:
            self._record(self._pump.results())
        while not self._struggling and self._in_flight < IN_FLIGHT:
            jobs = self._claim(min(IN_FLIGHT - self._in_flight, BATCH))
            if not jobs:
                return
            self._started_pump().submit(jobs)
            self._in_flight += len(jobs)

    def finish(self) -> SendReport:
        """Send everything due and record every result; then the journal is not needed."""
        while True:
            self.feed()
            if self._in_flight == 0:
                break
            assert self._pump is not None
            self._record(self._pump.results(wait=60))
        if self._journal is not None:
            # Also what an earlier round of this process journaled and never recorded
            # (it ended in an error); then the next round's journal starts empty.
            own = journal.journal_path(self._journal_dir, self._owner, self._journal_name)
            sent = journal.read_sent(own)
            with self._store.transaction() as tx:
                tx.mark_sent_if_pending(sent, self._clock())
            os.ftruncate(self._journal, 0)
        return self.report

    def refusing(self) -> bool:
        """Whether SMTP still refuses after this round (for the next round's outbox):
        a round that tried nothing leaves it as it was."""
        if self._struggling:
            return True
        if self._refusing_before and self.report.sent:
            log.warning("SMTP accepts again", extra={"sent": self.report.sent})
            return False
        return self._refusing_before

    def close(self) -> None:
        """Stop the pump. The journal stays: a later start reads what it holds."""
        if self._pump is not None:
            self._pump.close()
        if self._journal is not None:
            os.close(self._journal)

    def _started_pump(self) -> Pump:
        if self._pump is None:
            self._journal = journal.open_journal(self._journal_dir, self._owner, self._journal_name)
            self._pump = self._make_pump(self._journal)
        return self._pump

    # -- after a crash -----------------------------------------------------------------

    def _recover_dead_owners(self) -> None:
        """Mark sent what dead owners' journals say was delivered, then take back
        their claims: in that order, or a delivered notice would go out again."""
        journals = [
            (owner, path)
            for owner, path in journal.journals(self._journal_dir)
            if owner != self._owner and is_dead_here(owner)
        ]
        now = self._clock()
        with self._store.transaction() as tx:
            for _, path in journals:
                tx.mark_sent_if_pending(journal.read_sent(path), now)
            owners = tx.outbound_claim_owners()
            dead = [owner for owner in owners if owner != self._owner and is_dead_here(owner)]
            released = tx.release_claims(dead, now=now) if dead else 0
        for _, path in journals:
            journal.remove(path)
        if journals or released:
            log.info("recovered the outbox of stopped workers",
                     extra={"journals": len(journals), "released": released})  # fmt: skip

    # -- claims and results -------------------------------------------------------------

    def _claim(self, limit: int) -> list[Job]:
        now = self._clock()
        with self._store.transaction() as tx:
            rows = tx.claim_outbound(now, lease_until=now + LEASE, limit=limit, owner=self._owner,
                                     scope=self._scope)  # fmt: skip
            if rows and self._sender and self._secret is None:
                given = self._given_secret
                self._secret = given.reveal() if given is not None else tx.token_secret()
        sender, secret = self._sender, self._secret or ""
        return [(row.id, row.recipient, row.raw, row.attempts,
                 bounce_address(sender, secret, outbound=row.id) if sender else "")
                for row in rows]  # fmt: skip

    def _record(self, results: list[Result]) -> None:
        if not results:
            return
        now = self._clock()
        temporary_failures = []
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
                    temporary_failures.append(error)
                else:
                    self.report.failed += 1
                    log.warning("notification failed", extra={"outbound": outbound_id,
                                                              "error": error[:200]})  # fmt: skip
                tx.mark_unsent(
                    outbound_id,
                    error=error[:2000],
                    retry_at=now + backoff(attempts + 1, self._retry_seconds) if retry else None,
                )
                if not retry and self._on_failure is not None:
                    self._on_failure(tx, outbound_id, error, attempts + 1, now)
        self._in_flight -= len(results)
        if temporary_failures and not self._struggling:
            # The rest waits for the next round. One line per outage, not per
            # message or round: a round after one that ended refusing says nothing.
            self._struggling = True
            level = logging.DEBUG if self._refusing_before else logging.WARNING
            log.log(level, "SMTP refuses for now; retrying later",
                    extra={"error": temporary_failures[0][:200]})  # fmt: skip
