"""The one writer: a `Decision` becomes rows and outbox entries, in the caller's
transaction, with prebuilt Core statements (the ORM's unit of work cost
milliseconds a message on the hot path).

Only the rows whose id a later row needs are inserted at once (a new request,
a stored message). Participants, events, outbox entries and the copies of
sent notices wait in the writer and go in one `executemany` per table when
the transaction asks for anything from the database (`flush`, called by
`Tx` before every read and before the commit): a batch of 100 new requests
costs a few statements instead of seven a message. Reads therefore always
see what was written before them, as if every row had gone in at once.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter, defaultdict
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


# The tables whose rows wait for `Writer.flush`, in the order they are inserted.
# Requests first (on SQLite only: see `Writer._new_request`); messages before
# events, which name them.
_DEFERRED = (
    ("requests", sql.INSERT_REQUESTS),
    ("participants", sql.INSERT_PARTICIPANTS),
    ("messages", sql.INSERT_MESSAGES),
    ("events", sql.INSERT_EVENTS),
    ("outbound", sql.INSERT_OUTBOUND),
)
RATE_WINDOW = dt.timedelta(hours=1)  # `max_per_hour`
MESSAGE_IDS_AT_ONCE = 64  # ids of `messages` rows reserved per query on PostgreSQL


class Writer:
    """Writes decisions on one connection, for one transaction.

    Knows which addresses bounce (read once per transaction: they are few),
    and how many notices each rate-limited address was sent in the last hour
    (read once per address and transaction, then counted as notices are
    queued), instead of asking for each notice.
    """

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._bouncing: set[str] | None = None
        self._rows: dict[str, list[dict]] = {name: [] for name, _ in _DEFERRED}
        self._sent_since: dt.datetime | None = None
        self._sent: dict[str, int] = {}  # address -> notices queued since `_sent_since`
        self._message_ids: list[int] = []  # reserved, not used yet; the next one last
        self._last_ids: dict[str, int] = {}  # SQLite: by table, the highest id given out

    def _sqlite_id(self, table: str) -> int:
        """One past the highest id of `table`, counted on from there: the transaction
        holds SQLite's write lock from BEGIN IMMEDIATE, nobody else inserts meanwhile
        (and SQLite itself gives a new row one past the highest)."""
        if table not in self._last_ids:
            self._last_ids[table] = self._connection.scalar(sql.LAST_IDS[table])
        self._last_ids[table] += 1
        return self._last_ids[table]

    def _new_request(self, request: RequestSnapshot, mailbox: str) -> int:
        """The number of a new request, its row inserted now (PostgreSQL) or with the
        batch (SQLite). On PostgreSQL the number comes from the insert itself, so
        that numbers have no gaps but those of rolled back transactions."""
        row = _request_row(request, mailbox)
        if self._connection.dialect.name == "postgresql":
            return self._connection.execute(sql.INSERT_REQUEST, row).scalar_one()
        row["id"] = self._sqlite_id("requests")
        self._rows["requests"].append(row)
        return row["id"]

    def _message_id(self) -> int:
        """The id of a new `messages` row, known before it is inserted: events name
        the message that caused them, and a message's rows keep their order.

        SQLite: one past the highest, counted on from there (the transaction holds
        the write lock from BEGIN IMMEDIATE: nobody else inserts meanwhile).
        PostgreSQL: taken from the column's sequence, some at a time (unused ones
        are gaps, as after a rollback).
        """
        if not self._message_ids:
            connection = self._connection
            if connection.dialect.name == "postgresql":
                found = connection.scalars(sql.RESERVE_MESSAGE_IDS,
                                           {"count": MESSAGE_IDS_AT_ONCE})  # fmt: skip
                self._message_ids = sorted(found, reverse=True)
            else:
                return self._sqlite_id("messages")
        return self._message_ids.pop()

    def flush(self) -> None:
        """Insert the rows waiting, one statement per table."""
        for name, statement in _DEFERRED:
            rows = self._rows[name]
            if rows:
                self._connection.execute(statement, rows)
                self._rows[name] = []

    def bouncing_among(self, addresses: list[str]) -> frozenset[str]:
        if self._bouncing is None:
            self._bouncing = set(self._connection.scalars(sql.BOUNCING))
        return frozenset(a for a in addresses if a in self._bouncing)

    def sent_counts(self, recipients: list[str], now: dt.datetime) -> dict[str, int]:
        """How many notifications were queued to each address in the hour before `now`,
        this transaction's included. The addresses not counted yet are read in one query."""
        since = now - RATE_WINDOW
        if since != self._sent_since:
            self._sent_since, self._sent = since, {}
        missing = [r for r in dict.fromkeys(recipients) if r not in self._sent]
        if missing:
            found = _sent_counts_since(self._connection, missing, since)
            waiting = Counter(row["recipient"] for row in self._rows["outbound"]
                              if row["created_at"] >= since)  # fmt: skip
            for recipient in missing:
                self._sent[recipient] = found.get(recipient, 0) + waiting[recipient]
        return {r: self._sent[r] for r in recipients if self._sent[r]}

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
        numbers: dict[RequestRef, int] = {}
        if decision.opens is not None:
            number = self._new_request(decision.opens, settings.mailbox)
            numbers[OPENED] = number
            self._rows["participants"] += [
                {"request_id": number, "address": p.address, "role": p.role, "notify": p.notify}
                for p in decision.opens.participants
            ]

        def number_of(ref: RequestRef | None) -> int | None:
            return None if ref is None else numbers.get(ref, ref)

        stored_id = None
        if decision.stores is not None and received is not None:
            stores = decision.stores
            stored_id = self._message_id()
            row = _stored_row(stored_id, stores.kind, number_of(stores.request),
                              stores.from_address, received, now)  # fmt: skip
            self._rows["messages"].append(row)
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
        self._rows["events"] += events
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
        if decision.updates or decision.notify_flags or decision.bouncing:
            self.flush()  # they change rows that may be waiting
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
        limited = rate_limited(recipients, settings)
        if thread is None or settings.reply_token_secret is not None:
            self.flush()  # the thread and the participants' ids are read back
        facts = DeliveryFacts(
            bouncing=self.bouncing_among(recipients),
            sent_last_hour=self.sent_counts(limited, now) if limited else {},
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
                    "id": self._message_id(),
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
        self._rows["events"] += dropped
        self._rows["outbound"] += outbound
        self._rows["messages"] += sent_copies
        if self._sent_since is not None and now >= self._sent_since:
            for row in outbound:
                if row["recipient"] in self._sent:
                    self._sent[row["recipient"]] += 1


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


def _request_row(request: RequestSnapshot, mailbox: str) -> dict:
    """The row of a new request (its participants are rows of their own)."""
    return {
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
    }


def _stored_row(
    message_id: int,
    kind: MessageKind,
    number: int | None,
    from_address: str,
    received: Received,
    now: dt.datetime,
) -> dict:
    """The `messages` row of a received message (the same keys as a sent copy's)."""
    message = received.message
    return {
        "id": message_id,
        "request_id": number,
        "message_id": message.message_id,
        "direction": "in",
        "kind": kind,
        "from_address": from_address,
        "to_address": None,
        "subject": message.subject,
        "new_text": message.new_text,
        "at": now,
        "inbound_id": received.inbound_id,
    }


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
