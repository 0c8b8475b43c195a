"""The loop: fetch, process, timers, send, wait. No business rules here.

`run_once` is the burst mode of `mailgate run --once`; `run_forever` repeats
it, waiting with IDLE where the server has it and polling otherwise, and
retries servers that are down with backoff instead of crashing.
"""

from __future__ import annotations

import datetime as dt
import imaplib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from imap_tools.errors import ImapToolsError

from mailgate.apply import Outcome, Services, apply_parsed, parse_pending, run_timers
from mailgate.config import ImapSettings, Settings
from mailgate.errors import TransportError
from mailgate.ingest import FetchedMail, Inbox, chunks
from mailgate.journal import journal_dir
from mailgate.monitor import Monitor
from mailgate.outbox import Outbox, SendReport
from mailgate.parse import message_key
from mailgate.send import Pump, SmtpPump
from mailgate.store.database import MailboxScope, Store, StoreUnavailable, Tx
from mailgate.store.signals import PendingListener, PendingListenerLost
from mailgate.store.writer import StaleRequest

log = logging.getLogger(__name__)

Clock = Callable[[], dt.datetime]
IMAP_FAILURES = (imaplib.IMAP4.error, ImapToolsError, OSError, TimeoutError)
APPLY_BATCH = 100  # messages applied per database transaction
APPLY_ATTEMPTS = 3  # a message whose apply raises this often (across rounds) is quarantined
IDLE_SLICE = 5.0  # seconds; how quickly a waiting worker notices a stop request


@dataclass(slots=True)
class RunReport:
    fetched: int = 0
    applied: int = 0
    failed: int = 0
    duplicates: int = 0
    timers: int = 0
    sent: int = 0
    send_failures: int = 0
    errors: list[str] = field(default_factory=list)
    read_elsewhere: list[str] = field(default_factory=list)  # mailboxes another worker was reading


class Worker:
    def __init__(
        self, services: Services, store: Store, *, clock: Clock, mailbox: str | None = None
    ) -> None:
        """A worker for the whole install, or (`mailbox`) for that mailbox's share:
        its inbox, its timers and its outbox; `run` runs one of those per mailbox."""
        self.services = services
        self.settings = services.settings
        self.mailboxes = services.mailboxes if mailbox is None else (services.of(mailbox),)
        self.scope = None if mailbox is None else scope_of(services, services.of(mailbox))
        self.wake = threading.Event()  # another mailbox's round queued mail for this one
        self._siblings: list[Worker] = []
        self.store = store
        self.clock = clock
        self.stop_requested = threading.Event()
        self._outboxes: list[Outbox] = []  # one per mailbox: its SMTP sends its requests' mail
        self._smtp_refusing: dict[str, bool] = {}  # by mailbox: the last round ended refusing
        self._held_back: set[str] = set()  # failed to apply this round: next round again
        self._listener: PendingListener | None = None  # while another worker reads the mailbox
        self.monitor = Monitor()  # progress, metrics, the last-round row: set by `mailgate run`

    # -- one round -----------------------------------------------------------------

    def run_once(
        self,
        *,
        inbox: Inbox | None = None,
        pump: Pump | None = None,
        inboxes: Mapping[str, Inbox] | None = None,
        pumps: Mapping[str, Pump] | None = None,
    ) -> RunReport:
        """One round over every mailbox of this worker. `inbox` and `pump` are the
        first mailbox's, `inboxes` and `pumps` any mailbox's by name: tests pass
        their own; what is not given is the configured server."""
        started_at, started = dt.datetime.now(dt.UTC), time.monotonic()
        first = self.mailboxes[0].settings.mailbox
        given = {**(inboxes or {}), **({first: inbox} if inbox is not None else {})}
        senders = {**(pumps or {}), **({first: pump} if pump is not None else {})}
        report = self._round(inboxes=given, pumps=senders)
        self.monitor.round_finished(report, started_at=started_at,
                                    seconds=time.monotonic() - started)  # fmt: skip
        return report

    def apply_stored(self, keys: list[str]) -> RunReport:
        """Apply messages already stored and pending (`mailgate failed retry`); sends nothing."""
        report = RunReport()
        self._apply(keys, report)
        return report

    def _round(self, *, inboxes: Mapping[str, Inbox], pumps: Mapping[str, Pump]) -> RunReport:
        """Fetch and apply everything waiting, run the timers, send the queue.

        Notifications go out while mail is still being applied: after every
        batch the outboxes hand what is due to the pumps. A mailbox whose IMAP
        fails is reported and the others go on.
        """
        report = RunReport()
        self._held_back = set()
        self._outboxes = [
            self._new_outbox(m, pumps.get(m.settings.mailbox)) for m in self.mailboxes
        ]
        try:
            self._process_leftovers(report)
            for mailbox in self.mailboxes:
                self._read(mailbox, inboxes.get(mailbox.settings.mailbox), report)
            report.timers = run_timers(self.store, self.services, now=self.clock(),
                                       scope=self.scope)  # fmt: skip
            delivery = _sum(outbox.finish() for outbox in self._outboxes)
            for mailbox, outbox in zip(self.mailboxes, self._outboxes, strict=True):
                self._smtp_refusing[mailbox.settings.mailbox] = outbox.refusing()
        except StoreUnavailable as exc:  # the database is down: nothing is lost, retry later
            report.errors.append(str(exc))
            return report
        finally:
            for outbox in self._outboxes:
                outbox.close()
            self._outboxes = []
        report.sent += delivery.sent
        report.send_failures += delivery.retried + delivery.failed
        if delivery.sent or delivery.retried or delivery.failed:
            log.info("outbox delivered", extra={"sent": delivery.sent,
                     "retried": delivery.retried, "failed": delivery.failed})  # fmt: skip
        return report

    def _read(self, mailbox: Services, inbox: Inbox | None, report: RunReport) -> None:
        """Drain one mailbox's inbox; its failure is a line of the report, not the round's end.

        On PostgreSQL one worker at a time reads a mailbox: one that finds another
        reading it skips it this round (what the other stores, any worker applies).
        """
        imap = mailbox.settings.imap
        name = f"mailbox {mailbox.settings.mailbox}: " if self.services.others else ""
        try:
            with self.store.inbox_reader(mailbox.settings.mailbox) as reading:
                if not reading:
                    log.debug("another worker is reading the mailbox; skipped this round",
                              extra={"mailbox": mailbox.settings.mailbox})  # fmt: skip
                    report.read_elsewhere.append(mailbox.settings.mailbox)
                elif inbox is None:
                    with Inbox(imap) as opened:
                        self._drain(opened, report, mailbox)
                else:
                    self._drain(inbox, report, mailbox)
        except TransportError as exc:  # the caller reports it: a log line, or the exit code
            report.errors.append(f"{name}{exc}")
        except IMAP_FAILURES as exc:  # the connection broke mid-round; what was done stays done
            report.errors.append(f"{name}IMAP {imap.host}: {exc!r}")

    def _new_outbox(self, mailbox: Services, pump: Pump | None) -> Outbox:
        smtp = mailbox.settings.smtp
        return Outbox(
            self.store,
            (lambda _: pump) if pump is not None else (lambda fd: SmtpPump(smtp, journal=fd)),
            self.clock,
            journal_dir=journal_dir(self.settings.database_url),
            journal_name=mailbox.settings.mailbox,
            refusing_before=self._smtp_refusing.get(mailbox.settings.mailbox, False),
            retry_seconds=smtp.retry_seconds,
            scope=scope_of(self.services, mailbox),
        )

    def send_queue(self, *, pump: Pump | None = None) -> SendReport:
        """Send what is due now, and nothing else (`mailgate outbox retry`)."""
        outboxes = [self._new_outbox(mailbox, pump) for mailbox in self.mailboxes]
        try:
            return _sum(outbox.finish() for outbox in outboxes)
        finally:
            for outbox in outboxes:
                outbox.close()

    def _drain(self, inbox: Inbox, report: RunReport, mailbox: Services) -> None:
        highest_seen = 0
        while not self.stop_requested.is_set():
            uids = [uid for uid in inbox.waiting_uids() if int(uid) > highest_seen]
            if not uids:
                return
            highest_seen = int(uids[-1])
            self.monitor.waiting(len(uids))
            for chunk in chunks(uids, mailbox.settings.imap.batch_size):
                self._take(inbox, inbox.fetch(chunk), report, mailbox.settings)
                if self.stop_requested.is_set():
                    return

    def _take(
        self, inbox: Inbox, fetched: list[FetchedMail], report: RunReport, mailbox: Settings
    ) -> None:
        """Store a batch, apply each message, then move each out of the inbox."""
        report.fetched += len(fetched)
        keys = {mail.uid: message_key(mail.raw) for mail in fetched}
        now = self.clock()
        limit = self.settings.max_message_bytes
        with self.store.transaction() as tx:
            new_keys = tx.save_inbound_many(
                [(keys[mail.uid], mail.raw) for mail in fetched if len(mail.raw) <= limit],
                now=now,
                mailbox=mailbox.mailbox,
            )
            # A comprehension: a loop variable would keep the last message alive below.
            new_keys |= {keys[m.uid] for m in fetched if len(m.raw) > limit
                         and _store_oversized(tx, keys[m.uid], m.raw, limit, now)}  # fmt: skip
        taken = len(fetched)
        report.duplicates += taken - len(new_keys)
        fetched.clear()  # stored: applying reads them back; don't hold a second copy meanwhile
        self._apply(list(dict.fromkeys(keys.values())), report)
        with self.store.transaction() as tx:
            states = tx.inbound_states(list(keys.values()))
        processed = [uid for uid, key in keys.items() if states.get(key) == "applied"]
        failed = [uid for uid, key in keys.items() if states.get(key) == "failed"]
        inbox.move(processed, mailbox.imap.processed_folder)
        inbox.move(failed, mailbox.imap.failed_folder)
        self.monitor.taken(taken)

    def _process_leftovers(self, report: RunReport) -> None:
        """Stored but not applied (a crash between the two): apply them first."""
        with self.store.transaction() as tx:
            keys = tx.pending_keys(limit=100_000, scope=self.scope)
        self._apply(keys, report)

    def _apply(self, keys: list[str], report: RunReport) -> None:
        """Apply stored messages, `APPLY_BATCH` to a transaction.

        One commit per batch instead of per message. When one message's apply
        raises, the batch is rolled back and applied again one message to a
        transaction, so that only that message is held back.
        """
        keys = [key for key in keys if key not in self._held_back]
        for start in range(0, len(keys), APPLY_BATCH):
            now = self.clock()
            batch = keys[start : start + APPLY_BATCH]
            try:
                with self.store.transaction() as tx:
                    outcomes = self._apply_batch(tx, batch, now)
            except StoreUnavailable:
                raise
            except Exception:
                outcomes = [self._apply_alone(key, now) for key in batch]
            for key, outcome in outcomes:
                _log_outcome(key, outcome, report)
            for outbox in self._outboxes:
                outbox.feed()

    def _apply_batch(self, tx: Tx, keys: list[str], now: dt.datetime) -> list[tuple[str, Outcome]]:
        claimed = tx.claim_pending(keys)  # absent: applied before, or another worker has it
        parsed = {key: parse_pending(claimed[key], self.services) for key in keys if key in claimed}
        # Most notices answer the sender: their rate-limit counts in one query, not one each.
        tx.expect_notices_to([m.sender.address for m in parsed.values()
                              if not isinstance(m, Outcome) and m.sender], now)  # fmt: skip
        outcomes = [
            (key, found if isinstance(found, Outcome)
             else apply_parsed(tx, claimed[key], found, self.services, now=now))
            for key, found in parsed.items()
        ]  # fmt: skip
        tx.mark_inbound([claimed[key].id for key, o in outcomes if o.state == "applied"],
                        "applied", now)  # fmt: skip
        for key, outcome in outcomes:
            if outcome.state == "failed":
                tx.mark_inbound_failed(key, outcome.detail, now)
        return outcomes

    def _apply_alone(self, key: str, now: dt.datetime) -> tuple[str, Outcome]:
        try:
            with self.store.transaction() as tx:
                [(_, outcome)] = self._apply_batch(tx, [key], now) or [(key, _NOT_MINE)]
            return key, outcome
        except StoreUnavailable:
            raise
        except StaleRequest as exc:  # another worker changed the request: next round
            return key, Outcome(state="retry", detail=str(exc))
        except Exception as exc:  # a bug must not stop the worker: retry, then quarantine
            log.exception("message could not be applied", extra={"key": key})
            error = f"apply: {exc!r}"
            with self.store.transaction() as tx:
                attempts = tx.count_failed_apply(key, error, now, quarantine_at=APPLY_ATTEMPTS)
            if attempts < APPLY_ATTEMPTS:
                self._held_back.add(key)  # one attempt a round, so three rounds, not one
                return key, Outcome(state="retry", detail=f"attempt {attempts}: {error}")
            return key, Outcome(state="failed", detail=error)

    # -- forever -------------------------------------------------------------------

    def run_forever(self) -> None:
        """Repeat rounds until `stop_requested`; never dies of a server outage.

        With several mailboxes, each is watched by a worker of its own in a thread
        of its own (its IMAP connection, its IDLE), so that a slow or broken
        mailbox never holds up the others. An outage is logged once when it starts
        and once when it ends; the retries in between only at debug level.
        """
        if len(self.mailboxes) > 1:
            self._watch_each_mailbox()
            return
        try:
            self._run_rounds(self.mailboxes[0].settings.imap)
        finally:
            if self._listener is not None:
                self._listener.close()

    def _run_rounds(self, imap: ImapSettings) -> None:
        outage = Outage()
        while not self.stop_requested.is_set():
            try:
                with Inbox(imap) as inbox:
                    while not self.stop_requested.is_set():
                        report = self.run_once(inbox=inbox)
                        if report.errors:
                            raise TransportError(report.errors[-1], temporary=True)
                        outage.ended()
                        if report.applied:  # a reply filed in another mailbox: its mail to send
                            for sibling in self._siblings:
                                sibling.wake.set()
                        self._wait(inbox, imap, read_elsewhere=bool(report.read_elsewhere))
            except TransportError as exc:
                self.stop_requested.wait(outage.failed(str(exc)))
            except Exception as exc:  # IMAP protocol surprises: reconnect rather than die
                log.debug("worker round crashed", exc_info=True)
                self.stop_requested.wait(outage.failed(f"unexpected: {exc!r}"))

    def _watch_each_mailbox(self) -> None:
        workers = [
            Worker(self.services, self.store, clock=self.clock, mailbox=m.settings.mailbox)
            for m in self.mailboxes
        ]
        for worker in workers:
            worker.stop_requested = self.stop_requested
            worker.monitor = self.monitor.for_mailbox(worker.mailboxes[0].settings.mailbox)
            worker._siblings = [other for other in workers if other is not worker]
        threads = [
            threading.Thread(target=worker.run_forever, daemon=True,
                             name=f"mailbox-{worker.mailboxes[0].settings.mailbox}")
            for worker in workers
        ]  # fmt: skip
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


_NOT_MINE = Outcome(state="skipped")  # applied meanwhile, or another worker has it


def scope_of(services: Services, mailbox: Services) -> MailboxScope | None:
    """The share of `mailbox` in an install of several; None when it is the only one."""
    if not services.others:
        return None
    names = tuple(m.settings.mailbox for m in services.mailboxes)
    name = mailbox.settings.mailbox
    first = name == names[0]
    return MailboxScope(name, others=names[1:] if first else (), first=first)


def _sum(reports: Iterable[SendReport]) -> SendReport:
    total = SendReport()
    for report in reports:
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
    return total


def _log_outcome(key: str, outcome: Outcome, report: RunReport) -> None:
    if outcome.state == "applied":
        report.applied += 1
        log.info(
            "message applied",
            extra={"key": key, "request": outcome.request_number, **outcome.summary},
        )
    elif outcome.state == "failed":
        report.failed += 1
        log.warning("message quarantined", extra={"key": key, "error": outcome.detail[:200]})
    elif outcome.state == "retry":
        log.info("message left for the next round", extra={"key": key, "why": outcome.detail})


def _store_oversized(tx: Tx, key: str, raw: bytes, limit: int, now: dt.datetime) -> bool:
    """Quarantine a message over `max_message_bytes` unparsed: its header block is
    kept here, the whole message in the failed folder."""
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if 0 <= end < 65536 else 65536]
    error = f"too large: {len(raw)} bytes, max_message_bytes is {limit}"
    log.warning("message quarantined", extra={"key": key, "error": error})
    return tx.save_inbound(key=key, raw=head, now=now, state="failed", error=error)
