"""Which request a parsed message is about (SPEC §3), and the facts about what was
sent lately that deciding needs for it (SPEC §14), read from the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from mailgate.apply.deliver import DeliveryLedger
from mailgate.apply.install import Install
from mailgate.decide.model import RequestSnapshot
from mailgate.domain import InboundMessage, Status
from mailgate.parse.subject import find_tag
from mailgate.reply_tokens import ReplyToken, find_agent_tokens, find_token
from mailgate.store.database import Tx

# Headers in which the receiving server names the address it delivered to.
_DELIVERED_TO = frozenset({"delivered-to", "x-original-to"})

if TYPE_CHECKING:  # deciding loads with the first mail, not with an empty round
    from mailgate.decide.message import Routed


def locate(
    tx: Tx,
    ledger: DeliveryLedger,
    message: InboundMessage,
    install: Install,
    *,
    mailbox: str,
    now: dt.datetime,
    released: str = "",
) -> Routed:
    """After a reply token: the subject tag, then In-Reply-To / References.

    A bounce belongs to the request of the mail that bounced, when it names it.
    The request is read under its lock (store/snapshots.py). `mailbox` is the
    one the message was read from (a new request opens there); `released`, the
    admin's release of a held message (`mailgate held release`).
    """
    from mailgate.decide.message import Routed

    with_history = install.primary.rules.deadlines.has_sla
    sender = message.sender.address if message.sender else ""
    request, via_token = None, None
    if (token := _reply_token(message, install, ledger.token_secret)) is not None:
        found = tx.snapshot(token.request, with_history=with_history)
        participant = next((p for p in found.participants if p.id == token.participant), None) \
            if found is not None else None  # fmt: skip
        if participant is not None and participant.role != "agent":
            request, via_token = found, participant.address
    if request is None and message.tag_number is not None:
        found = tx.snapshot(message.tag_number, with_history=with_history)
        if found is not None and _tag_of_its_mailbox(message, found, install):
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
    routed = Routed(request=request, via_token=via_token,
                    bouncing=ledger.bouncing_among(addresses),
                    agent_tokens=_agent_tokens(message, install, ledger.token_secret),
                    released=released)  # fmt: skip
    return _with_limits(tx, ledger, routed, message, install, mailbox=mailbox, now=now)


def _with_limits(
    tx: Tx,
    ledger: DeliveryLedger,
    routed: Routed,
    message: InboundMessage,
    install: Install,
    *,
    mailbox: str,
    now: dt.datetime,
) -> Routed:
    """The counts deciding needs to keep to the limits of SPEC §14, for a message that
    may open a request (acknowledgements sent lately) or that replies to a closed one
    (when its sender was last told so). Machine mail needs none."""
    from mailgate.decide.message import first_cc

    sender = message.sender.address if message.sender else ""
    if not sender or message.bounce is not None or message.auto is not None:
        return routed
    request = routed.request
    settings = install.of(request.mailbox if request is not None else mailbox).settings
    closed = request is not None and request.status is Status.CLOSED
    if request is None or (closed and settings.closed_reply_policy == "new_request"):
        addresses = [sender, *first_cc(message, settings, requester=sender)[0]]
        counts = ledger.acknowledgements(addresses, now)
        in_all = ledger.acknowledgements_in_all(now)
        return dataclasses.replace(routed, acknowledgements=counts, acknowledgements_in_all=in_all)
    if request is not None and closed:
        addresses = [sender, *([routed.via_token] if routed.via_token else [])]
        last = tx.last_sent(request.number, "closed_reply", addresses)
        return dataclasses.replace(routed, closed_replies=last)
    return routed


def prefetch_acknowledgements(
    ledger: DeliveryLedger,
    messages: list[tuple[InboundMessage, str]],
    install: Install,
    now: dt.datetime,
) -> None:
    """Read the acknowledgement counts of a batch's likely new requests (mail without
    a tag: its sender and first CC addresses) in one query, not one a message.

    `messages` are (message, the mailbox it was read from)."""
    from mailgate.decide.message import first_cc

    addresses = []
    for message, mailbox in messages:
        if message.tag_number is not None or message.sender is None or message.auto is not None:
            continue
        settings = install.of(mailbox).settings
        sender = message.sender.address
        addresses += [sender, *first_cc(message, settings, requester=sender)[0]]
    if addresses:
        ledger.acknowledgements(addresses, now)


def _tag_of_its_mailbox(
    message: InboundMessage, request: RequestSnapshot, install: Install
) -> bool:
    """With several mailboxes, `[BILL-5]` names request 5 only if 5 is billing's:
    another mailbox's prefix on its number is an unknown tag (SPEC §3, §12)."""
    if not install.several:
        return True
    prefix = find_tag(message.subject, install.tag_prefixes).prefix or ""
    return prefix.lower() == install.of(request.mailbox).settings.tag_prefix.lower()


def _reply_token(message: InboundMessage, install: Install, secret: str) -> ReplyToken | None:
    """A client's token in an address of any of the mailboxes (one secret for the install)."""
    if not install.settings.trust.reply_tokens:
        return None
    addresses = [a.address for a in (*message.to, *message.cc)]
    for mailbox in install:
        support = mailbox.settings.support_address
        if token := find_token(addresses, support_address=support, secret=secret):
            return token
    return None


def _agent_tokens(message: InboundMessage, install: Install, secret: str) -> frozenset[int]:
    """The requests whose agents' reply address the message was sent to: in To or Cc,
    or where the receiving server wrote the address it delivered to."""
    addresses = [a.address for a in (*message.to, *message.cc)]
    addresses += [value for name, value in message.headers if name in _DELIVERED_TO]
    if not any("+" in address for address in addresses):
        return frozenset()
    found: frozenset[int] = frozenset()
    for mailbox in install:
        support = mailbox.settings.support_address
        found |= find_agent_tokens(addresses, support_address=support, secret=secret)
    return found
