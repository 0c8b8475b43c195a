"""The loop: fetch, hand each batch to the unit of work, send, wait. No business
rules here, nor any writing: mailgate/apply/ applies, the outbox sends.

`run_once` is the burst mode of `mailgate run --once`; `run_forever` repeats
it, waiting with IDLE where the server has it and polling otherwise, and
retries servers that are down with backoff instead of crashing. While IMAP is
down each retry is still a round, without the inbox: the timers and the outbox
do not wait for IMAP, nor fetching for SMTP (the outbox only queues meanwhile).
"""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from imap_tools.errors import ImapToolsError

from mailgate.apply import Install, Mailbox, Outcome, OutcomeState, Unit, run_timers
from mailgate.apply.announce import announce_delivery_failure
from mailgate.config import ImapSettings
from mailgate.errors import TransportError
from mailgate.hooks.pump import HookPump, HookReport
from mailgate.ingest import FetchedMail, Inbox, chunks
from mailgate.journal import journal_dir
from mailgate.monitor import Monitor
from mailgate.outbox import Outbox, SendReport
from mailgate.send import Pump, SmtpPump
from mailgate.states import InboundState
from mailgate.store.database import Store, StoreUnavailable, Tx
from mailgate.store.signals import PendingListener, PendingListenerLost

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
IMAP_FAILURES = (imaplib.IMAP4.error, ImapToolsError, OSError, TimeoutError)
IDLE_SLICE = 5.0  # seconds; how quickly a waiting worker notices a stop request


@dataclass(slots=True)
class RunReport:
    fetched: int = 0
    applied: int = 0
    failed: int = 0
    held: int = 0  # held by the trust rules, moved to the spam folder
    duplicates: int = 0
    timers: int = 0
    sent: int = 0
    send_failures: int = 0
    hooks: HookReport = field(default_factory=HookReport)  # the hook calls recorded
    errors: list[str] = field(default_factory=list)
    read_elsewhere: list[str] = field(default_factory=list)  # mailboxes another worker was reading


@dataclass(frozen=True, slots=True)
class Round:
    """What one round keeps: its report, the outbox of each of the worker's mailboxes
    (its SMTP sends its requests' mail), and the messages that failed to apply in
    it (tried again next round, not now)."""

    report: RunReport
    outboxes: tuple[Outbox, ...]
    held_back: set[str] = field(default_factory=set)
    hooks: HookPump | None = None

    def feed(self) -> None:
        """Hand the pumps what was queued meanwhile."""
        for outbox in self.outboxes:
            outbox.feed()
        if self.hooks is not None:
            self.hooks.nudge()


class Siblings:
    """The workers of one `run`, one per mailbox: a reply read in one mailbox may
    queue mail that another mailbox's worker sends, so it wakes them."""

    def __init__(self, names: Iterable[str]) -> None:
        self._events = {name: threading.Event() for name in names}

    def event(self, name: str) -> threading.Event:
        return self._events.setdefault(name, threading.Event())

    def wake_all_but(self, name: str) -> None:
        for other, event in self._events.items():
            if other != name:
                event.set()


class Worker:
    def __init__(
        self,
        install: Install,
        store: Store,
        *,
        clock: Clock,
        mailbox: str | None = None,
        stop: threading.Event | None = None,
        siblings: Siblings | None = None,
    ) -> None:
        """A worker for the whole install, or (`mailbox`) for that mailbox's share:
        its inbox, its timers and its outbox; `run` runs one of those per mailbox."""
        self.install = install
        self.unit = Unit(store, install)
        self.store = store
        self.clock = clock
        self.mailboxes = install.mailboxes if mailbox is None else (install.of(mailbox),)
        self.scope = install.scope(mailbox)
        self.name = mailbox or install.primary.name
        self.stop_requested = stop if stop is not None else threading.Event()
        self.siblings = siblings if siblings is not None else Siblings([self.name])
        self.wake = self.siblings.event(self.name)  # another mailbox queued mail for this one
        self._smtp_refusing: dict[str, bool] = {}  # by mailbox: the last round ended refusing
        self._listener: PendingListener | None = None  # while another worker reads the mailbox
        self.monitor = Monitor()  # progress, metrics, the last-round row: set by `mailgate run`
        # The hook calls of the whole install go out from one worker of a process: the
        # first mailbox's. `run` makes them from a thread of their own (hooks/pump.py);
        # `run --once` makes them in its round, and waits for them at its end.
        hooks = install.settings.hooks
        first = self.scope is None or self.scope.first
        self.hooks = HookPump(store, hooks, clock) if hooks and first else None
        self._forever = False  # set by run_forever: a round then never waits for hooks

    # -- one round -----------------------------------------------------------------

    def run_once(
        self,
        *,
        inbox: Inbox | None = None,
        pump: Pump | None = None,
        inboxes: Mapping[str, Inbox] | None = None,
        pumps: Mapping[str, Pump] | None = None,
    ) -> RunReport:
        """One round over every mailbox of this worker. `inbox` and `pump` are its
        first mailbox's, `inboxes` and `pumps` any mailbox's by name: tests pass
        their own; what is not given is the configured server."""
        started_at, started = dt.datetime.now(dt.UTC), time.monotonic()
        first = self.mailboxes[0].name
        given = {**(inboxes or {}), **({first: inbox} if inbox is not None else {})}
        senders = {**(pumps or {}), **({first: pump} if pump is not None else {})}
        report = self._round(inboxes=given, pumps=senders)
        self.monitor.round_finished(report, started_at=started_at,
                                    seconds=time.monotonic() - started)  # fmt: skip
        return report

    def apply_stored(self, keys: list[str]) -> RunReport:
        """Apply messages already stored and pending (`mailgate failed retry`); sends nothing."""
        current = Round(RunReport(), outboxes=())
        self._apply(keys, current)
        return current.report

    def _round(self, *, inboxes: Mapping[str, Inbox], pumps: Mapping[str, Pump]) -> RunReport:
        """Fetch and apply everything waiting, run the timers, send the queue.

        Notifications go out while mail is still being applied: after every
        batch the outboxes hand what is due to the pumps. A mailbox whose IMAP
        fails is reported and the others go on.
        """
        outboxes = tuple(self._new_outbox(m, pumps.get(m.name)) for m in self.mailboxes)
        current = Round(RunReport(), outboxes=outboxes, hooks=self.hooks)
        report = current.report
        try:
            self._apply(self.unit.pending(self.scope), current)  # stored, not applied: first
            for mailbox in self.mailboxes:
                self._read(mailbox, inboxes.get(mailbox.name), current)
            report.timers = run_timers(self.store, self.install, now=self.clock(),
                                       scope=self.scope)  # fmt: skip
            delivery = _sum(outbox.finish() for outbox in outboxes)
            for mailbox, outbox in zip(self.mailboxes, outboxes, strict=True):
                self._smtp_refusing[mailbox.name] = outbox.refusing()
            self._call_hooks(wait=not self._forever)
        except StoreUnavailable as exc:  # the database is down: nothing is lost, retry later
            report.errors.append(str(exc))
            return report
        finally:
            for outbox in outboxes:
                outbox.close()
            if self.hooks is not None:
                report.hooks = self.hooks.take_report()
        report.sent += delivery.sent
        report.send_failures += delivery.retried + delivery.failed
        if delivery.sent or delivery.retried or delivery.failed:
            log.info("outbox delivered", extra={"sent": delivery.sent,
                     "retried": delivery.retried, "failed": delivery.failed})  # fmt: skip
        return report

    def _read(self, mailbox: Mailbox, inbox: Inbox | None, current: Round) -> None:
        """Drain one mailbox's inbox; its failure is a line of the report, not the round's end.

        On PostgreSQL one worker at a time reads a mailbox: one that finds another
        reading it skips it this round (what the other stores, any worker applies).
        """
        imap = mailbox.settings.imap
        label = f"mailbox {mailbox.name}: " if self.install.several else ""
        report = current.report
        try:
            with self.store.inbox_reader(mailbox.name) as reading:
                if not reading:
                    log.debug("another worker is reading the mailbox; skipped this round",
                              extra={"mailbox": mailbox.name})  # fmt: skip
                    report.read_elsewhere.append(mailbox.name)
                elif inbox is None:
                    with Inbox(imap) as opened:
                        self._drain(opened, mailbox, current)
                else:
                    self._drain(inbox, mailbox, current)
        except TransportError as exc:  # the caller reports it: a log line, or the exit code
            report.errors.append(f"{label}{exc}")
        except IMAP_FAILURES as exc:  # the connection broke mid-round; what was done stays done
            report.errors.append(f"{label}IMAP {imap.host}: {exc!r}")

    def _call_hooks(self, *, wait: bool) -> None:
        """Start the hook calls due; with `wait`, wait for them (bounded: pump.FINISH_BUDGET)."""
        if self.hooks is None:
            return
        if wait:
            self.hooks.finish()
        else:
            self.hooks.nudge()

    def _delivery_failed(
        self, tx: Tx, outbound_id: int, error: str, attempts: int, now: dt.datetime
    ) -> None:
        announce_delivery_failure(tx, self.install, outbound_id, error=error, attempts=attempts,
                                  now=now)  # fmt: skip

    def _new_outbox(self, mailbox: Mailbox, pump: Pump | None) -> Outbox:
        smtp = mailbox.settings.smtp
        return Outbox(
            self.store,
            (lambda _: pump) if pump is not None else (lambda fd: SmtpPump(smtp, journal=fd)),
            self.clock,
            journal_dir=journal_dir(self.install.settings.database_url),
            journal_name=mailbox.name,
            refusing_before=self._smtp_refusing.get(mailbox.name, False),
            retry_seconds=smtp.retry_seconds,
            scope=self.install.scope(mailbox.name),
            sender=smtp.from_address,
            token_secret=self.install.settings.trust.token_secret,
            on_failure=self._delivery_failed if self.install.settings.hooks else None,
        )

    def send_queue(self, *, pump: Pump | None = None) -> SendReport:
        """Send what is due now, and nothing else (`mailgate outbox retry`)."""
        outboxes = [self._new_outbox(mailbox, pump) for mailbox in self.mailboxes]
        try:
            return _sum(outbox.finish() for outbox in outboxes)
        finally:
            for outbox in outboxes:
                outbox.close()

    def _drain(self, inbox: Inbox, mailbox: Mailbox, current: Round) -> None:
        for fetched in self._fetch(inbox, mailbox.settings.imap.batch_size):
            self._take(inbox, fetched, mailbox, current)

    def _fetch(self, inbox: Inbox, batch_size: int) -> Iterator[list[FetchedMail]]:
        """What waits in the inbox, a batch at a time, until it is empty or a stop."""
        highest_seen = 0
        while not self.stop_requested.is_set():
            uids = [uid for uid in inbox.waiting_uids() if int(uid) > highest_seen]
            if not uids:
                return
            highest_seen = int(uids[-1])
            self.monitor.waiting(len(uids))
            for chunk in chunks(uids, batch_size):
                yield inbox.fetch(chunk)
                if self.stop_requested.is_set():
                    return

    def _take(
        self, inbox: Inbox, fetched: list[FetchedMail], mailbox: Mailbox, current: Round
    ) -> None:
        """Store a batch, apply it, then move each message out of the inbox."""
        taken = len(fetched)
        stored = self.unit.store_fetched([m.raw for m in fetched], mailbox=mailbox.name,
                                         now=self.clock())  # fmt: skip
        uids = [m.uid for m in fetched]
        fetched.clear()  # stored: applying reads them back; don't hold a second copy meanwhile
        current.report.fetched += taken
        current.report.duplicates += taken - stored.new
        self._apply(stored.keys, current)
        states = self.unit.states(stored.keys)
        imap = mailbox.settings.imap
        for state, folder in ((InboundState.APPLIED, imap.processed_folder),
                              (InboundState.FAILED, imap.failed_folder),
                              (InboundState.HELD, imap.spam_folder)):  # fmt: skip
            inbox.move([u for u, k in zip(uids, stored.keys, strict=True)
                        if states.get(k) == state], folder)  # fmt: skip
        self.monitor.taken(taken)

    def _apply(self, keys: list[str], current: Round) -> None:
        for outcomes in self.unit.apply(keys, clock=self.clock, held_back=current.held_back):
            for key, outcome in outcomes:
                _log_outcome(key, outcome, current.report)
            current.feed()

    # -- forever -------------------------------------------------------------------

    def run_forever(self) -> None:
        """Repeat rounds until `stop_requested`; never dies of a server outage.

        With several mailboxes, each is watched by a worker of its own in a thread
        of its own (its IMAP connection, its IDLE), so that a slow or broken
        mailbox never holds up the others. An outage is logged once when it starts
        and once when it ends; the retries in between only at debug level.
        """
        self._forever = True
        if len(self.mailboxes) > 1:
            self._watch_each_mailbox()
            return
        try:
            self._run_rounds(self.mailboxes[0].settings.imap)
        finally:
            if self._listener is not None:
                self._listener.close()
            if self.hooks is not None:  # a reload's next worker has a pump of its own
                self.hooks.stop_background()

    def _run_rounds(self, imap: ImapSettings) -> None:
        if self.hooks is not None:
            self.hooks.run_in_background()
        outage = Outage()
        while not self.stop_requested.is_set():
            try:
                error = self._rounds_on_one_session(imap, outage)
            except Exception as exc:  # IMAP protocol surprises: reconnect rather than die
                log.debug("worker round crashed", exc_info=True)
                error = f"unexpected: {exc!r}"
            if error is not None:
                self.stop_requested.wait(outage.failed(error))

    def _rounds_on_one_session(self, imap: ImapSettings, outage: Outage) -> str | None:
        """Rounds on one IMAP session until a round fails (its error) or a stop (None).

        A session that cannot be opened (server down, log-in refused) still makes a
        round, without the inbox: the stored mail, the timers and the outbox go on
        while IMAP is away, and the round counts as failed for the monitors.
        """
        inbox = Inbox(imap)
        try:
            try:
                inbox.open()
            except (TransportError, *IMAP_FAILURES) as exc:
                return _first_error(self.run_once(inbox=Unreachable(imap, exc)), exc)
            while not self.stop_requested.is_set():
                report = self.run_once(inbox=inbox)
                if report.errors:
                    return report.errors[-1]
                outage.ended()
                if report.applied:  # a reply filed in another mailbox: its mail to send
                    self.siblings.wake_all_but(self.name)
                self._wait(inbox, imap, read_elsewhere=bool(report.read_elsewhere))
            return None
        finally:
            inbox.close()

    def _watch_each_mailbox(self) -> None:
        siblings = Siblings(m.name for m in self.mailboxes)
        workers = [
            Worker(self.install, self.store, clock=self.clock, mailbox=m.name,
                   stop=self.stop_requested, siblings=siblings)
            for m in self.mailboxes
        ]  # fmt: skip
        for worker in workers:
            worker.monitor = self.monitor.for_mailbox(worker.name)
        threads = [
            threading.Thread(target=worker.run_forever, daemon=True, name=f"mailbox-{worker.name}")
            for worker in workers
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _wait(self, inbox: Inbox, imap: ImapSettings, *, read_elsewhere: bool = False) -> None:
        """Until new mail, a sibling's wake-up or the poll interval.

        A worker whose mailbox another worker reads does not IDLE (it would be
        woken by mail it may not read): it waits for that worker to store mail,
        applies it with it, and tries for the mailbox again at the poll interval.
        """
        deadline = time.monotonic() + imap.poll_interval
        use_idle = not read_elsewhere and imap.idle and inbox.has_idle()
        while not self.stop_requested.is_set():
            left = deadline - time.monotonic()
            if left <= 0 or self.wake.is_set():
                self.wake.clear()
                return
            if use_idle:
                if inbox.wait_for_mail(min(IDLE_SLICE, left)):
                    return
            elif read_elsewhere:
                if self._stored_elsewhere(min(IDLE_SLICE, left)):
                    return
            else:
                self.stop_requested.wait(min(IDLE_SLICE, left))

    def _stored_elsewhere(self, seconds: float) -> bool:
        """Whether another worker stored new mail within `seconds` (its signal, on
        PostgreSQL); without a listener (SQLite, the database away) it just waits."""
        if self._listener is None:
            self._listener = self.store.listen_for_stored_mail()
        if self._listener is not None:
            try:
                return self._listener.wait(seconds)
            except PendingListenerLost:
                log.debug("stored-mail listener lost; polling", exc_info=True)
                self._listener = None
        self.stop_requested.wait(seconds)
        return False


class Unreachable(Inbox):
    """The inbox of a session that could not be opened: reading it fails with why, so
    that a round without it reports the error and does the rest of its work."""

    def __init__(self, settings: ImapSettings, error: Exception) -> None:
        super().__init__(settings)
        self.error = error

    def waiting_uids(self) -> list[str]:
        raise self.error


def _first_error(report: RunReport, cause: Exception) -> str:
    return report.errors[0] if report.errors else str(cause)


class Outage:
    """How long to wait after a failed round, and the one log line per outage."""

    def __init__(self) -> None:
        self.failures = 0

    def failed(self, error: str) -> float:
        """Record a failed round; the seconds to wait before the next one."""
        self.failures += 1
        delay = float(min(2**self.failures, 300))
        if self.failures == 1:
            log.error("servers unavailable; retrying with backoff", extra={"error": error})
        else:
            log.debug("still unavailable", extra={"error": error, "in": delay})
        return delay

    def ended(self) -> None:
        if self.failures:
            log.warning("servers back; worker resumed", extra={"failed_rounds": self.failures})
        self.failures = 0


def _sum(reports: Iterable[SendReport]) -> SendReport:
    total = SendReport()
    for report in reports:
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
    return total


def _log_outcome(key: str, outcome: Outcome, report: RunReport) -> None:
    if outcome.state is OutcomeState.APPLIED:
        report.applied += 1
        log.info(
            "message applied",
            extra={"key": key, "request": outcome.request_number, **outcome.summary},
        )
    elif outcome.state is OutcomeState.FAILED:
        report.failed += 1
        log.warning("message quarantined", extra={"key": key, "error": outcome.detail[:200]})
    elif outcome.state is OutcomeState.HELD:
        report.held += 1
    elif outcome.state is OutcomeState.RETRY:
        log.info("message left for the next round", extra={"key": key, "why": outcome.detail})
