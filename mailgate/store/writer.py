"""The one writer: a `Decision` becomes rows and outbox entries, in the caller's
transaction, with prebuilt Core statements (the ORM's unit of work cost
milliseconds a message on the hot path).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import Connection, update

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
from mailgate.notify import FileParts, Renderer
from mailgate.store import statements as sql
from mailgate.store.snapshots import participants
from mailgate.tags import format_tag

log = logging.getLogger(__name__)


class StaleRequest(Exception):
    """The request changed after its snapshot was read: decide again."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """The inbound message a decision is about, as the writer stores it."""

    message: InboundMessage
    inbound_id: int
    raw: bytes = b""  # its stored bytes: the files its notices relay are read from them


class Writer:
    """Writes decisions on one connection; knows which addresses bounce, read once
    per transaction (they are few) instead of once per notice."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._bouncing: set[str] | None = None

    def bouncing_among(self, addresses: list[str]) -> frozenset[str]:
        if self._bouncing is None:
            self._bouncing = set(self._connection.scalars(sql.BOUNCING))
        return frozenset(a for a in addresses if a in self._bouncing)

    def write(
        self,
        decision: Decision,
        *,
        received: Received | None,
        settings: Settings,
        renderer: Renderer,
        now: dt.datetime,
    ) -> int | None:
        """Write everything the decision says; returns the number of the request it is about."""
        connection = self._connection
        numbers: dict[RequestRef, int] = {}
        if decision.opens is not None:
            numbers[OPENED] = _insert_request(connection, decision.opens, settings.mailbox)

        def number_of(ref: RequestRef | None) -> int | None:
            return None if ref is None else numbers.get(ref, ref)

        stored_id = None
        if decision.stores is not None and received is not None:
            stores = decision.stores
            stored_id = _store_message(connection, stores.kind, number_of(stores.request),
                                       stores.from_address, received, now)  # fmt: skip
        self._update_requests(decision)
        opened = format_tag(settings.tag_prefix, numbers[OPENED]) if OPENED in numbers else ""
        events = [
            _event_row(
                number_of(event.request), now, event.actor, event.kind,
                from_status=event.from_status, to_status=event.to_status,
                detail=f"{event.detail} {opened}" if event.mentions_opened else event.detail,
                message_id=stored_id if event.caused else None,
            )
            for event in decision.events
        ]  # fmt: skip
        if events:
            connection.execute(sql.INSERT_EVENTS, events)
        files = FileParts(received.raw if received is not None else b"")
        by_request: dict[RequestRef, list[Notify]] = defaultdict(list)
        for notify in decision.notices:
            by_request[notify.request].append(notify)
        for ref, notices in by_request.items():
            number = number_of(ref)
            assert number is not None
            thread = None
            if ref == OPENED and received is not None:  # a new request's thread is its first mail
                thread = Thread(messages=[(now, received.message.message_id, "client")], sent=[])
            self._enqueue(number, notices, thread=thread, settings=settings, renderer=renderer,
                          files=files, now=now)  # fmt: skip
        return number_of(decision.request)

    def _update_requests(self, decision: Decision) -> None:
        connection = self._connection
        for change in decision.updates:
            columns = sql.REQUESTS.c
            result = connection.execute(
                update(sql.REQUESTS)
                .where(columns.id == change.request, columns.status == change.expected_status)
                .values(dict(change.changes))
            )
            if result.rowcount != 1:
                stale = f"request {change.request} is no longer {change.expected_status}"
                raise StaleRequest(stale)
        for flag in decision.notify_flags:
            connection.execute(sql.SET_NOTIFY, {"number": flag.request, "the_address": flag.address,
                                                "wanted": flag.notify})  # fmt: skip
        for bouncing in decision.bouncing:
            self._set_bouncing(bouncing.address, bouncing.since)

    def _set_bouncing(self, address: str, since: dt.datetime | None) -> None:
        connection = self._connection
        changed = connection.execute(sql.SET_BOUNCING, {"the_address": address, "since": since})
        if changed.rowcount == 0:
            connection.execute(sql.INSERT_ADDRESS, {"address": address, "bouncing_since": since})
        if self._bouncing is not None:
            if since is None:
                self._bouncing.discard(address)
            else:
                self._bouncing.add(address)

    def _enqueue(
        self,
        number: int,
        notices: list[Notify],
        *,
        thread: Thread | None,
        settings: Settings,
        renderer: Renderer,
        files: FileParts,
        now: dt.datetime,
    ) -> None:
        """Render and queue one request's notices, skipping who must not get mail."""
        connection = self._connection
        recipients = [n.notice.recipient for n in notices]
        facts = DeliveryFacts(
            bouncing=self.bouncing_among(recipients),
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
        plan = plan_deliveries([n.notice for n in notices], facts, settings, request=number)
        outbound, sent_copies, dropped = [], [], []
        for item in plan:
            notice = item.notice
            if isinstance(item, Dropped):
                log.info("notification dropped", extra={"template": notice.template,
                                                        "why": item.why})  # fmt: skip
                detail = f"{notice.template} to {notice.recipient}: {item.why}"
                dropped.append(_event_row(number, now, "system", "notification_dropped",
                                          detail=detail))  # fmt: skip
                continue
            rendered = renderer.render(
                notice, request_number=number, request_subject=notices[0].subject,
                thread_ids=item.thread_ids, now=now, files=files.attached(notice.files),
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
            connection.execute(sql.INSERT_EVENTS, dropped)
        if outbound:
            connection.execute(sql.INSERT_OUTBOUND, outbound)
            connection.execute(sql.INSERT_MESSAGES, sent_copies)


def _event_row(
    number: int | None,
    now: dt.datetime,
    actor: str,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    detail: str = "",
    message_id: int | None = None,
) -> dict:
    return {"request_id": number, "at": now, "actor": actor, "kind": kind,
            "from_status": from_status, "to_status": to_status, "detail": detail,
            "message_id": message_id}  # fmt: skip


def _insert_request(connection: Connection, request: RequestSnapshot, mailbox: str) -> int:
    number = connection.execute(
        sql.INSERT_REQUEST,
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
            "mailbox": mailbox,
        },
    ).scalar_one()
    connection.execute(
        sql.INSERT_PARTICIPANTS,
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
        sql.INSERT_MESSAGE,
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


def _sent_counts_since(
    connection: Connection, recipients: list[str], since: dt.datetime
) -> dict[str, int]:
    """How many notifications were queued to each address since `since`."""
    if not recipients:
        return {}
    rows = connection.execute(sql.SENT_COUNTS_SINCE, {"recipients": recipients, "since": since})
    return {recipient: count for recipient, count in rows}


def _thread(connection: Connection, number: int) -> Thread:
    received = connection.execute(sql.THREAD_RECEIVED, {"number": number})
    sent = connection.execute(sql.THREAD_SENT, {"number": number})
    return Thread(messages=[tuple(r) for r in received], sent=[tuple(r) for r in sent])
