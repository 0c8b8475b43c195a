"""A decision's notices become mail: the facts read, the deliveries planned (pure,
decide/delivery.py), each rendered, and handed to the writer as rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence

from mailgate.apply.install import Mailbox
from mailgate.config import Settings
from mailgate.decide.delivery import DeliveryFacts, Dropped, Thread, plan_deliveries, rate_limited
from mailgate.decision import OPENED, Decision, Notify, RequestRef
from mailgate.notify import FileParts
from mailgate.store.database import Tx
from mailgate.store.rows import DroppedMail, QueuedMail, Received, Written

log = logging.getLogger(__name__)

RATE_WINDOW = dt.timedelta(hours=1)  # `max_per_hour`, and the acknowledgement limits
ACKNOWLEDGEMENT = "created"  # the template of a new request's acknowledgement


class DeliveryLedger:
    """What one transaction knows of recipients, read once and kept up to date as
    it writes: which addresses bounce (marks younger than `[trust]
    bounce_hold_days`), how many notices each rate-limited address got in the last
    hour, and how many acknowledgements each address and everyone got in it (read
    once per address, then counted on), and the secret that signs reply tokens
    (`settings` are the install's)."""

    def __init__(self, tx: Tx, settings: Settings) -> None:
        self._tx = tx
        self._given_secret = settings.trust.token_secret
        self._secret: str | None = None
        self._hold = dt.timedelta(days=settings.trust.bounce_hold_days)
        self._bouncing: set[str] | None = None
        self._bouncing_at: dt.datetime | None = None  # the moment `_bouncing` holds for
        self._since: dt.datetime | None = None
        self._sent: dict[str, int] = {}  # address -> notices queued since `_since`
        self._acks_since: dt.datetime | None = None
        self._acks: dict[str, int] = {}  # address -> acknowledgements since `_acks_since`
        self._acks_in_all: int | None = None  # to anyone since `_acks_since`; None: not read

    @property
    def token_secret(self) -> str:
        """The secret of the reply tokens: the config's, else the database's."""
        if self._secret is None:
            given = self._given_secret
            self._secret = given.reveal() if given is not None else self._tx.token_secret()
        return self._secret

    def bouncing_among(self, addresses: Sequence[str], now: dt.datetime) -> frozenset[str]:
        """The addresses among `addresses` whose bouncing mark holds at `now`."""
        if self._bouncing is None or now != self._bouncing_at:
            self._bouncing = set(self._tx.bouncing(now=now, hold=self._hold))
            self._bouncing_at = now
        return frozenset(a for a in addresses if a in self._bouncing)

    def sent_last_hour(self, recipients: Sequence[str], now: dt.datetime) -> dict[str, int]:
        """Notices queued to each address in the hour before `now`; the addresses not
        counted yet are read in one query."""
        since = now - RATE_WINDOW
        if since != self._since:
            self._since, self._sent = since, {}
        missing = [r for r in dict.fromkeys(recipients) if r not in self._sent]
        if missing:
            found = self._tx.sent_counts(missing, since)
            self._sent.update({r: found.get(r, 0) for r in missing})
        return {r: self._sent[r] for r in recipients if self._sent[r]}

    def acknowledgements(self, addresses: Sequence[str], now: dt.datetime) -> dict[str, int]:
        """Acknowledgements queued to each address in the hour before `now`; the
        addresses not counted yet are read in one query."""
        since = self._acknowledgements_since(now)
        missing = [a for a in dict.fromkeys(addresses) if a not in self._acks]
        if missing:
            found = self._tx.template_counts(ACKNOWLEDGEMENT, missing, since)
            self._acks.update({a: found.get(a, 0) for a in missing})
        return {a: self._acks[a] for a in addresses if self._acks[a]}

    def acknowledgements_in_all(self, now: dt.datetime) -> int:
        """Acknowledgements queued to anyone in the hour before `now` (one query a batch)."""
        since = self._acknowledgements_since(now)
        if self._acks_in_all is None:
            self._acks_in_all = self._tx.template_total(ACKNOWLEDGEMENT, since)
        return self._acks_in_all

    def _acknowledgements_since(self, now: dt.datetime) -> dt.datetime:
        since = now - RATE_WINDOW
        if since != self._acks_since:
            self._acks_since, self._acks, self._acks_in_all = since, {}, None
        return since

    def wrote(self, decision: Decision) -> None:
        """A decision was written: the bouncing marks it set or cleared."""
        if self._bouncing is None:
            return
        for mark in decision.bouncing:
            if mark.since is None:
                self._bouncing.discard(mark.address)
            else:
                self._bouncing.add(mark.address)

    def queued(self, mail: Sequence[QueuedMail], now: dt.datetime) -> None:
        if self._since is not None and now >= self._since:
            for item in mail:
                if item.recipient in self._sent:
                    self._sent[item.recipient] += 1
        if self._acks_since is not None and now >= self._acks_since:
            for item in mail:
                if item.template != ACKNOWLEDGEMENT:
                    continue
                if item.recipient in self._acks:
                    self._acks[item.recipient] += 1
                if self._acks_in_all is not None:
                    self._acks_in_all += 1


def deliver(
    tx: Tx,
    ledger: DeliveryLedger,
    mailbox: Mailbox,
    decision: Decision,
    written: Written,
    *,
    received: Received | None,
    raw: bytes,
    now: dt.datetime,
) -> None:
    """Plan, render and queue the notices of a written decision, request by request.

    `raw` is the applied message's bytes: the files its notices relay are read from them.
    """
    if not decision.notices:
        return
    by_request: dict[RequestRef | None, list[Notify]] = defaultdict(list)
    for notify in decision.notices:
        by_request[notify.request].append(notify)
    files = FileParts(raw)
    for ref, notices in by_request.items():
        number = written.number(ref) if ref is not None else None
        if number is None or (ref == OPENED and received is not None):
            # A new request's thread is its first mail; a notice about no request
            # answers the mail it is about.
            first = received.message.message_id if received is not None else ""
            thread = Thread(messages=[(now, first, "client")] if first else [], sent=[])
        else:
            thread = Thread(*tx.thread(number))
        mail, dropped = _render(tx, ledger, mailbox, number, notices, thread, files, now)
        tx.queue(mail, dropped, now=now)
        ledger.queued(mail, now)


def _render(
    tx: Tx,
    ledger: DeliveryLedger,
    mailbox: Mailbox,
    number: int | None,
    notices: list[Notify],
    thread: Thread,
    files: FileParts,
    now: dt.datetime,
) -> tuple[list[QueuedMail], list[DroppedMail]]:
    """One request's notices, rendered or dropped with why."""
    settings = mailbox.settings
    recipients = [n.notice.recipient for n in notices]
    limited = rate_limited(recipients, settings)
    facts = DeliveryFacts(
        bouncing=ledger.bouncing_among(recipients, now),
        sent_last_hour=ledger.sent_last_hour(limited, now) if limited else {},
        thread=thread,
        participant_ids=tx.participant_ids(number)
        if settings.trust.reply_tokens and number is not None else {},
        token_secret=ledger.token_secret,
    )
    mail, dropped = [], []
    for item in plan_deliveries([n.notice for n in notices], facts, settings, request=number):
        notice = item.notice
        if isinstance(item, Dropped):
            log.info("notification dropped", extra={"template": notice.template, "why": item.why})
            dropped.append(DroppedMail(request=number, template=notice.template,
                                       recipient=notice.recipient, why=item.why))  # fmt: skip
            continue
        rendered = mailbox.renderer.render(
            notice, request_number=number, request_subject=notices[0].subject,
            thread_ids=item.thread_ids, now=now, files=files.attached(notice.files),
        )  # fmt: skip
        mail.append(
            QueuedMail(
                request=number,
                message_id=rendered.message_id,
                template=notice.template,
                recipient=notice.recipient,
                raw=rendered.raw,
                text=rendered.text,
                sender=settings.support_address,
            )
        )
    return mail, dropped
