"""Applying: a stored message or a due timer, read, decided and written in one
transaction. The only path from mail or the clock to the database.

    raw bytes --parse--> InboundMessage --locate--> Routed --decide--> Decision --write-->
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mailgate.decide.model import Decision, RequestSnapshot, Rules
from mailgate.decide.summary import summarize
from mailgate.decide.timers import Timer, decide_timer
from mailgate.domain import InboundMessage
from mailgate.parse.subject import find_tag
from mailgate.reply_tokens import find_token
from mailgate.store.database import MailboxScope, PendingMessage, Store, Tx
from mailgate.store.writer import Received

if TYPE_CHECKING:
    from mailgate.decide.message import Routed
    from mailgate.notify import Renderer

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """What applying needs besides the database and the clock, for one mailbox.

    The first mailbox's carries the install's other mailboxes (`others`): a
    request is decided and rendered with the services of its own mailbox.
    """

    rules: Rules
    renderer: Renderer
    others: tuple[Services, ...] = ()

    @property
    def settings(self):
        return self.rules.settings

    @property
    def mailboxes(self) -> tuple[Services, ...]:
        return (self, *self.others)

    @property
    def tag_prefixes(self) -> tuple[str, ...]:
        return tuple(m.settings.tag_prefix for m in self.mailboxes)

    def of(self, mailbox: str) -> Services:
        """The services of mailbox `mailbox`; the first one's for a name no longer
        configured (as `Settings.mailbox_settings`)."""
        return next((m for m in self.mailboxes if m.settings.mailbox == mailbox), self)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    state: str  # applied | failed | retry | skipped
    request_number: int | None = None
    detail: str = ""
    summary: dict = field(default_factory=dict)  # what changed, for the log (decide/summary.py)


def apply_pending(tx: Tx, row: PendingMessage, services: Services, *, now: dt.datetime) -> Outcome:
    """Apply one stored raw message; the caller marks it and commits.

    A message that cannot be parsed comes back "failed", to be quarantined with
    its raw bytes kept. Raises `StaleRequest` when its request changed under it
    (another worker): it stays pending for the next round.
    """
    parsed = parse_pending(row, services)
    if isinstance(parsed, Outcome):
        return parsed
    return apply_parsed(tx, row, parsed, services, now=now)


def parse_pending(row: PendingMessage, services: Services) -> InboundMessage | Outcome:
    """The stored message parsed, or the "failed" outcome of a message that cannot be."""
    from mailgate.parse import parse_message  # the parser and deciding load with the first mail

    try:
        return parse_message(
            row.raw,
            tag_prefix=services.tag_prefixes,
            own_addresses=services.settings.own_addresses,
        )
    except Exception as exc:  # quarantined with the raw bytes kept, never lost
        return Outcome(state="failed", detail=f"parse: {exc!r}"[:2000])


def apply_parsed(
    tx: Tx, row: PendingMessage, message: InboundMessage, services: Services, *, now: dt.datetime
) -> Outcome:
    """Apply one stored message already parsed (`parse_pending`), as `apply_pending`."""
    from mailgate.decide.message import decide_message

    routed = locate(tx, message, services)
    # A request's own mailbox decides; a new one opens where the mail was read.
    mailbox = services.of(routed.request.mailbox if routed.request else row.mailbox)
    settings = mailbox.settings
    decision = decide_message(message, routed, mailbox.rules, now=now)
    number = tx.write(
        decision,
        received=Received(message=message, inbound_id=row.id, raw=row.raw),
        settings=settings,
        renderer=mailbox.renderer,
        now=now,
    )
    return Outcome(state="applied", request_number=number, summary=summarize(decision))


def locate(tx: Tx, message: InboundMessage, services: Services) -> Routed:
    """SPEC §3, after a reply token: the subject tag, then In-Reply-To / References.

    A bounce belongs to the request of the mail that bounced, when it names it.
    """
    from mailgate.decide.message import Routed

    with_history = services.rules.deadlines.has_sla
    sender = message.sender.address if message.sender else ""
    request, via_token = None, None
    if (token := _reply_token(message, services)) is not None:
        found = tx.snapshot(token.request, with_history=with_history)
        participant = next((p for p in found.participants if p.id == token.participant), None) \
            if found is not None else None  # fmt: skip
        if participant is not None and participant.role != "agent":
            request, via_token = found, participant.address
    if request is None and message.tag_number is not None:
        found = tx.snapshot(message.tag_number, with_history=with_history)
        if found is not None and _tag_of_its_mailbox(message, found, services):
            request = found
    if request is None:
        refs = [*message.in_reply_to, *reversed(message.references)]
        number = tx.request_of_message_ids(refs)
        if number is not None:
            request = tx.snapshot(number, with_history=with_history)
    addresses = [sender] if sender else []
    if message.bounce is not None:
        if message.bounce.original_message_id:
            number = tx.request_of_message_ids([message.bounce.original_message_id])
            if number is not None:
                request = tx.snapshot(number, with_history=with_history)
        addresses += message.bounce.recipients
    return Routed(request=request, via_token=via_token, bouncing=tx.bouncing_among(addresses))


def _tag_of_its_mailbox(
    message: InboundMessage, request: RequestSnapshot, services: Services
) -> bool:
    """With several mailboxes, `[BILL-5]` names request 5 only if 5 is billing's:
    another mailbox's prefix on its number is an unknown tag (SPEC §3, §12)."""
    if not services.others:
        return True
    prefix = find_tag(message.subject, services.tag_prefixes).prefix or ""
    return prefix.lower() == services.of(request.mailbox).settings.tag_prefix.lower()


def _reply_token(message: InboundMessage, services: Services):
    """A token in an address of any of the mailboxes (one secret for the install)."""
    secret = services.settings.reply_token_secret
    if secret is None:
        return None
    addresses = [a.address for a in (*message.to, *message.cc)]
    for mailbox in services.mailboxes:
        support = mailbox.settings.support_address
        if token := find_token(addresses, support_address=support, secret=secret.reveal()):
            return token
    return None


def run_timers(
    store: Store, services: Services, *, now: dt.datetime, scope: MailboxScope | None = None
) -> int:
    """Fire every due timer (of the requests of `scope`, else of all), each in its own
    transaction, with the rules of the request's mailbox. Returns how many fired.

    Each re-reads the request under its lock before deciding: a reply or another
    worker may have changed it since it was found due.
    """
    fired = 0
    with_history = services.rules.deadlines.has_sla
    for timer in Timer:
        with store.transaction() as tx:
            due = tx.due_requests(timer.value, now, scope)
        for number in due:
            with store.transaction() as tx:
                request = tx.snapshot(number, with_history=with_history)
                if request is None:
                    continue
                mailbox = services.of(request.mailbox)
                decision = decide_timer(timer, request, mailbox.rules, now=now)
                if decision is None:
                    continue
                tx.write(decision, received=None, settings=mailbox.settings,
                         renderer=mailbox.renderer, now=now)  # fmt: skip
            if decision.events:
                fired += 1
                _log_timer(timer, decision)
    return fired


def _log_timer(timer: Timer, decision: Decision) -> None:
    if timer is Timer.AUTO_CLOSE:
        log.info("request closed automatically", extra={"request": decision.request})
    elif timer is Timer.SLA:
        for event in decision.events:
            if event.kind == "sla_breach":
                log.warning("SLA breached", extra={"request": decision.request,
                                                   "target": event.detail})  # fmt: skip
