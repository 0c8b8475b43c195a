"""Which request a parsed message is about (SPEC §3), and the facts about what was
sent lately that deciding needs for it (SPEC §14), read from the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import TYPE_CHECKING

from mailgate.apply.deliver import DeliveryLedger
from mailgate.apply.install import Install
from mailgate.decision import RequestSnapshot
from mailgate.domain import InboundMessage, Status
from mailgate.parse.subject import find_tag
from mailgate.reply_tokens import (
    BounceToken,
    RatingToken,
    ReplyToken,
    find_agent_tokens,
    find_bounce_token,
    find_rating_token,
    find_token,
)
from mailgate.store.database import Tx

# Headers in which the receiving server names the address it delivered to.
_DELIVERED_TO = frozenset({"delivered-to", "x-original-to"})

if TYPE_CHECKING:  # deciding loads with the first mail, not with an empty round
    from mailgate.decide.message import BounceProof, Routed
    from mailgate.decide.rating import Rating


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

    A bounce belongs to the request of the mail that bounced, when it names it:
    the notification its return path names, else its returned Message-ID. What
    it proves (SPEC §14) goes to deciding with it. The request is read under its
    lock (store/snapshots.py). `mailbox` is the one the message was read from (a
    new request opens there); `released`, the admin's release of a held message
    (`mailgate held release`).
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
    rating = _rating_token(message, install, ledger.token_secret)
    if request is None and rating is not None and rating.valid:  # it names its request
        request = tx.snapshot(rating.request, with_history=with_history)
    if request is None and message.tag_number is not None:
        found = tx.snapshot(message.tag_number, with_history=with_history)
        if found is not None and _tag_of_its_mailbox(message, found, install):
            request = found
    if request is None:
        refs = [*message.in_reply_to, *reversed(message.references)]
        number = tx.request_of_message_ids(refs, sender=sender)
        if number is not None:
            request = tx.snapshot(number, with_history=with_history)
    addresses = [sender] if sender else []
    proofs: tuple[BounceProof, ...] = ()
    doubt = ""
    if message.bounce is not None:
        proofs, doubt = _bounce_proofs(tx, message, install, ledger.token_secret)
        number = next((p.request for p in proofs if p.request is not None), None)
        if number is None and message.bounce.original_message_id:
            number = tx.request_of_message_ids([message.bounce.original_message_id])
        if number is not None:
            request = tx.snapshot(number, with_history=with_history)
        addresses += [*message.bounce.recipients, *(p.recipient for p in proofs)]
    routed = Routed(request=request, via_token=via_token,
                    bouncing=ledger.bouncing_among(addresses, now),
                    agent_tokens=_agent_tokens(message, install, ledger.token_secret),
                    bounce_proofs=proofs, bounce_doubt=doubt, released=released,
                    rating=_rating_of(rating, request))  # fmt: skip
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
    # An agent's mail that forwards one may open a request for its sender (`#fwd`),
    # about a request or not; no closed_reply goes to an agent.
    forwards = message.forwarded is not None and settings.is_agent(sender)
    if request is None or forwards or (closed and settings.closed_reply_policy == "new_request"):
        addresses = [sender, *first_cc(message, settings, requester=sender)[0]]
        addresses += _forwarded_sender(message)
        counts = ledger.acknowledgements(addresses, now)
        in_all = ledger.acknowledgements_in_all(now)
        return dataclasses.replace(routed, acknowledgements=counts, acknowledgements_in_all=in_all)
    if request is not None and closed:
        addresses = [sender, *([routed.via_token] if routed.via_token else [])]
        last = tx.last_sent(request.number, "closed_reply", addresses)
        return dataclasses.replace(routed, closed_replies=last)
    return routed


def _forwarded_sender(message: InboundMessage) -> list[str]:
    """The sender of what the message forwards, when it names one: an agent's `#fwd`
    opens a request for that address (decide/forward.py), acknowledged within the limits."""
    from mailgate.decide.forward import sender_address

    forwarded = message.forwarded
    address = sender_address(forwarded) if forwarded is not None else ""
    return [address] if address else []


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


def _rating_token(message: InboundMessage, install: Install, secret: str) -> RatingToken | None:
    """A rating address (SPEC §16) the message was sent to, valid or not."""
    addresses = [a.address for a in (*message.to, *message.cc)]
    addresses += [value for name, value in message.headers if name in _DELIVERED_TO]
    if not any("+r." in address.lower() for address in addresses):
        return None
    ours = [m.settings.support_address for m in install]
    return find_rating_token(addresses, support_addresses=ours, secret=secret)


def _rating_of(token: RatingToken | None, request: RequestSnapshot | None) -> Rating | None:
    """What deciding is told of a rating address: its value when it is mailgate's and
    names the request the message is filed under, else why it counts for nothing."""
    if token is None:
        return None
    from mailgate.decide.rating import Rating

    if not token.valid:
        shown = token.address if len(token.address) <= 120 else token.address[:119] + "…"
        return Rating(value="", doubt=f"its rating address {shown} is not one mailgate made")
    if request is None or request.number != token.request:
        return Rating(value="", doubt=f"its rating address names another request ({token.request})")
    return Rating(value=token.value)


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


def _bounce_proofs(
    tx: Tx, message: InboundMessage, install: Install, secret: str
) -> tuple[tuple[BounceProof, ...], str]:
    """The recipients a delivery-status report proves that mailgate's mail to them
    bounced, and why a return path it was sent to proves nothing ("" if none).

    Proof is the notification it names (SPEC §14): its return path
    `support+b.<outbound id>.<mac>@domain` (VERP) proves that notification's
    recipient; its returned Message-ID proves the recipients it names to whom the
    notification with that Message-ID was sent. The recipients a report merely
    names prove nothing: anyone can write a report.
    """
    from mailgate.decide.message import BounceProof

    bounce = message.bounce
    assert bounce is not None
    proofs: dict[str, BounceProof] = {}
    doubt = ""
    token = _return_path(message, install, secret)
    if token is not None and not token.valid:  # the address is the sender's: cut it short
        shown = token.address if len(token.address) <= 120 else token.address[:119] + "…"
        doubt = f"its return path {shown} is not one mailgate made"
    elif token is not None:
        found = tx.notification_recipient(token.outbound)
        if found is None:
            doubt = f"its return path names notification {token.outbound}, never sent"
        else:
            recipient, number = found
            by = f"its return path (notification {token.outbound})"
            proofs[recipient] = BounceProof(recipient=recipient, request=number, by=by)
    if bounce.original_message_id and bounce.recipients:
        sent = tx.notifications_sent_to(bounce.original_message_id, bounce.recipients)
        for recipient, number in sent:
            proofs.setdefault(recipient, BounceProof(recipient=recipient, request=number,
                                                     by="its returned Message-ID"))  # fmt: skip
    return tuple(proofs.values()), doubt


def _return_path(message: InboundMessage, install: Install, secret: str) -> BounceToken | None:
    """A notification's return path among the addresses the message was sent to (a
    report goes to the envelope sender): To, Cc, or where the receiving server wrote
    the address it delivered to. At any mailbox's support or From address."""
    addresses = [a.address for a in (*message.to, *message.cc)]
    addresses += [value for name, value in message.headers if name in _DELIVERED_TO]
    if not any("+" in address for address in addresses):
        return None
    ours = [a for m in install for a in (m.settings.support_address, m.settings.smtp.from_address)]
    return find_bounce_token(addresses, support_addresses=ours, secret=secret)
