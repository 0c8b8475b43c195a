"""The one writer: a `Decision` becomes rows and outbox entries, in the caller's
transaction, with Core statements (the ORM's unit of work cost milliseconds a
message on the hot path).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, func, insert, select, update

from mailgate.config import Settings
from mailgate.decide.delivery import (
    DeliveryFacts,
    Dropped,
    Thread,
    plan_deliveries,
    rate_limited,
)
from mailgate.decide.model import OPENED, Decision, Notify, RequestRef, RequestSnapshot
from mailgate.domain import InboundMessage, MessageKind
from mailgate.notify import Renderer
from mailgate.parse.subject import format_tag
from mailgate.store.models import (
    AddressState,
    Event,
    Outbound,
    Participant,
    Request,
    StoredMessage,
)
from mailgate.store.snapshots import participants

log = logging.getLogger(__name__)

_REQUESTS = Request.__table__
_PARTICIPANTS = Participant.__table__
_MESSAGES = StoredMessage.__table__
_EVENTS = Event.__table__
_OUTBOUND = Outbound.__table__
_ADDRESSES = AddressState.__table__


class StaleRequest(Exception):
    """The request changed after its snapshot was read: decide again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """The inbound message a decision is about, as the writer stores it."""

    message: InboundMessage
    inbound_id: int


def write_decision(
    connection: Connection,
    decision: Decision,
    *,
    received: Received | None,
    settings: Settings,
    renderer: Renderer,
    now: dt.datetime,
) -> int | None:
    """Write everything the decision says; returns the number of the request it is about."""
    numbers: dict[RequestRef, int] = {}
    if decision.opens is not None:
        numbers[OPENED] = _insert_request(connection, decision.opens)

    def number_of(ref: RequestRef | None) -> int | None:
        return None if ref is None else numbers.get(ref, ref)

    stored_id = None
    if decision.stores is not None and received is not None:
        stored_id = _store_message(connection, decision.stores.kind,
                                   number_of(decision.stores.request),
                                   decision.stores.from_address, received, now)  # fmt: skip
    for change in decision.updates:
        result = connection.execute(
            update(_REQUESTS)
            .where(_REQUESTS.c.id == change.request, _REQUESTS.c.status == change.expected_status)
            .values(dict(change.changes))
        )
        if result.rowcount != 1:
            raise StaleRequest(f"request {change.request} is no longer {change.expected_status}")
    for flag in decision.notify_flags:
        connection.execute(
            update(_PARTICIPANTS)
            .where(
                _PARTICIPANTS.c.request_id == flag.request,
                _PARTICIPANTS.c.address == flag.address,
            )
            .values(notify=flag.notify)
        )
    for bouncing in decision.bouncing:
        _set_bouncing(connection, bouncing.address, bouncing.since)
    opened_tag = format_tag(settings.tag_prefix, numbers[OPENED]) if OPENED in numbers else ""
    events = [
        {
            "request_id": number_of(event.request),
            "at": now,
            "actor": event.actor,
            "kind": event.kind,
            "from_status": event.from_status,
            "to_status": event.to_status,
            "detail": f"{event.detail} {opened_tag}" if event.mentions_opened else event.detail,
            "message_id": stored_id if event.caused else None,
        }
        for event in decision.events
    ]
    if events:
        connection.execute(insert(_EVENTS), events)
    by_request: dict[RequestRef, list[Notify]] = defaultdict(list)
    for notify in decision.notices:
        by_request[notify.request].append(notify)
    for ref, notices in by_request.items():
        number = number_of(ref)
        assert number is not None
        thread = None
        if ref == OPENED and received is not None:  # a new request's thread is its first mail
            thread = Thread(messages=[(now, received.message.message_id, "client")], sent=[])
        _enqueue(connection, number, notices, thread=thread, settings=settings,
                 renderer=renderer, now=now)  # fmt: skip
    return number_of(decision.request)


def _insert_request(connection: Connection, request: RequestSnapshot) -> int:
    number = connection.execute(
        insert(_REQUESTS).returning(_REQUESTS.c.id),
        {
            "subject": request.subject,
            "status": request.status,
            "requester": request.requester,
            "owner": request.owner,
            "language": request.language,
            "created_at": request.created_at,
            "updated_at": request.updated_at,
            "closed_at": request.closed_at,
            "status_since": request.status_since,
            "auto_close_at": request.auto_close_at,
            "remind_at": request.remind_at,
            "sla_check_at": request.sla_check_at,
            "first_response_at": request.first_response_at,
            "linked_request_id": request.linked_request,
        },
    ).scalar_one()
    connection.execute(
        insert(_PARTICIPANTS),
        [
            {"request_id": number, "address": p.address, "role": p.role, "notify": p.notify}
            for p in request.participants
        ],
    )
    return number


def _store_message(
    connection: Connection,
    kind: MessageKind,
    number: int | None,
    from_address: str,
    received: Received,
    now: dt.datetime,
) -> int:
    message = received.message
    return connection.execute(
        insert(_MESSAGES).returning(_MESSAGES.c.id),
        {
            "request_id": number,
            "message_id": message.message_id,
            "direction": "in",
            "kind": kind,
            "from_address": from_address,
            "subject": message.subject,
            "new_text": message.new_text,
            "at": now,
            "inbound_id": received.inbound_id,
        },
    ).scalar_one()


def _set_bouncing(connection: Connection, address: str, since: dt.datetime | None) -> None:
    changed = connection.execute(
        update(_ADDRESSES).where(_ADDRESSES.c.address == address).values(bouncing_since=since)
    )
    if changed.rowcount == 0:
        connection.execute(insert(_ADDRESSES), {"address": address, "bouncing_since": since})


def _enqueue(
    connection: Connection,
    number: int,
    notices: list[Notify],
    *,
    thread: Thread | None,
    settings: Settings,
    renderer: Renderer,
    now: dt.datetime,
) -> None:
    """Render and queue one request's notices, skipping who must not get mail."""
    recipients = [n.notice.recipient for n in notices]
    facts = DeliveryFacts(
        bouncing=bouncing_among(connection, recipients),
        sent_last_hour=_sent_counts_since(
            connection, rate_limited(recipients, settings), now - dt.timedelta(hours=1)
        ),
        thread=thread if thread is not None else _thread(connection, number),
        participant_ids=(
            {p.address: p.id for p in participants(connection, number) if p.id is not None}
            if settings.reply_token_secret is not None
            else {}
        ),
    )
    subject = notices[0].subject
    plan = plan_deliveries([n.notice for n in notices], facts, settings, request=number)
    outbound, sent_copies, dropped = [], [], []
    for item in plan:
        notice = item.notice
        if isinstance(item, Dropped):
            log.info("notification dropped", extra={"template": notice.template, "why": item.why})
            dropped.append(
                {
                    "request_id": number,
                    "at": now,
                    "actor": "system",
                    "kind": "notification_dropped",
                    "from_status": None,
                    "to_status": None,
                    "detail": f"{notice.template} to {notice.recipient}: {item.why}",
                    "message_id": None,
                }
            )
            continue
        rendered = renderer.render(
            notice, request_number=number, request_subject=subject,
            thread_ids=item.thread_ids, now=now,
        )  # fmt: skip
        outbound.append(
            {
                "request_id": number,
                "message_id": rendered.message_id,
                "template": notice.template,
                "recipient": notice.recipient,
                "raw": rendered.raw,
                "state": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
            }
        )
        sent_copies.append(
            {
                "request_id": number,
                "message_id": rendered.message_id,
                "direction": "out",
                "kind": MessageKind.NOTIFICATION,
                "from_address": settings.support_address,
                "to_address": notice.recipient,
                "subject": f"{notice.template} to {notice.recipient}",
                "new_text": rendered.text,
                "at": now,
                "inbound_id": None,
            }
        )
    if dropped:
        connection.execute(insert(_EVENTS), dropped)
    if outbound:
        connection.execute(insert(_OUTBOUND), outbound)
        connection.execute(insert(_MESSAGES), sent_copies)


def bouncing_among(connection: Connection, addresses: list[str]) -> frozenset[str]:
    if not addresses:
        return frozenset()
    columns = _ADDRESSES.c
    return frozenset(
        connection.scalars(
            select(columns.address).where(
                columns.address.in_(addresses), columns.bouncing_since.is_not(None)
            )
        )
    )


def _sent_counts_since(
    connection: Connection, recipients: list[str], since: dt.datetime
) -> dict[str, int]:
    """How many notifications were queued to each address since `since`."""
    if not recipients:
        return {}
    columns = _OUTBOUND.c
    rows = connection.execute(
        select(columns.recipient, func.count(columns.id))
        .where(columns.recipient.in_(recipients), columns.created_at >= since)
        .group_by(columns.recipient)
    )
    return {recipient: count for recipient, count in rows}


def _thread(connection: Connection, number: int) -> Thread:
    messages = _MESSAGES.c
    sent = _OUTBOUND.c
    received = connection.execute(
        select(messages.at, messages.message_id, messages.kind)
        .where(messages.request_id == number, messages.direction == "in")
        .order_by(messages.id)
    )
    notified = connection.execute(
        select(sent.created_at, sent.message_id, sent.recipient)
        .where(sent.request_id == number)
        .order_by(sent.id)
    )
    return Thread(messages=[tuple(r) for r in received], sent=[tuple(r) for r in notified])
