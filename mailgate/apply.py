"""Applying: a stored message or a due timer, read, decided and written in one
transaction. The only path from mail or the clock to the database.

    raw bytes --parse--> InboundMessage --locate--> Routed --decide--> Decision --write-->
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from mailgate.decide.message import Routed, decide_message
from mailgate.decide.model import Decision, Rules
from mailgate.decide.summary import summarize
from mailgate.decide.timers import Timer, decide_timer
from mailgate.domain import InboundMessage
from mailgate.notify import Renderer
from mailgate.parse import parse_message
from mailgate.reply_tokens import find_token
from mailgate.store.database import PendingMessage, Store, Tx
from mailgate.store.writer import Received

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """What applying needs besides the database and the clock."""

    rules: Rules
    renderer: Renderer

    @property
    def settings(self):
        return self.rules.settings


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
    settings = services.settings
    try:
        message = parse_message(
            row.raw, tag_prefix=settings.tag_prefix, own_addresses=settings.own_addresses
        )
    except Exception as exc:  # quarantined with the raw bytes kept, never lost
        return Outcome(state="failed", detail=f"parse: {exc!r}"[:2000])
    decision = decide_message(message, locate(tx, message, services), services.rules, now=now)
    number = tx.write(
        decision,
        received=Received(message=message, inbound_id=row.id, raw=row.raw),
        settings=settings,
        renderer=services.renderer,
        now=now,
    )
    return Outcome(state="applied", request_number=number, summary=summarize(decision))


def locate(tx: Tx, message: InboundMessage, services: Services) -> Routed:
    """SPEC §3, after a reply token: the subject tag, then In-Reply-To / References.

    A bounce belongs to the request of the mail that bounced, when it names it.
    """
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
        request = tx.snapshot(message.tag_number, with_history=with_history)
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


def _reply_token(message: InboundMessage, services: Services):
    secret = services.settings.reply_token_secret
    if secret is None:
        return None
    addresses = [a.address for a in (*message.to, *message.cc)]
    return find_token(
        addresses, support_address=services.settings.support_address, secret=secret.reveal()
    )


def run_timers(store: Store, services: Services, *, now: dt.datetime) -> int:
    """Fire every due timer, each in its own transaction. Returns how many fired.

    Each re-reads the request under its lock before deciding: a reply or another
    worker may have changed it since it was found due.
    """
    fired = 0
    with_history = services.rules.deadlines.has_sla
    for timer in Timer:
        with store.transaction() as tx:
            due = tx.due_requests(timer.value, now)
        for number in due:
            with store.transaction() as tx:
                request = tx.snapshot(number, with_history=with_history)
                decision = decide_timer(timer, request, services.rules, now=now) \
                    if request is not None else None  # fmt: skip
                if decision is None:
                    continue
                tx.write(decision, received=None, settings=services.settings,
                         renderer=services.renderer, now=now)  # fmt: skip
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
