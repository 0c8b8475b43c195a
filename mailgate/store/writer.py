"""The one writer: a `Decision` and the mail rendered for it become rows and
outbox entries, in the caller's transaction, as they are handed over (it decides
and renders nothing), with prebuilt Core statements (the ORM's unit of work cost
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
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, update

from mailgate.decision import OPENED, Decision, RequestRef, RequestSnapshot
from mailgate.domain import MessageKind
from mailgate.states import OutboundState
from mailgate.store import statements as sql
from mailgate.store.rows import DroppedMail, QueuedHookCall, QueuedMail, Received, Written
from mailgate.store.tables import REQUESTS
from mailgate.tags import format_tag


class StaleRequest(Exception):
    """The request changed after its snapshot was read: decide again."""


# The tables whose rows wait for `Writer.flush`, in the order they are inserted.
# Requests first (on SQLite only: see `Writer._new_request`); messages before
# events, which name them.
_DEFERRED = (
    ("requests", sql.INSERT_REQUESTS),
    ("participants", sql.INSERT_PARTICIPANTS),
    ("messages", sql.INSERT_MESSAGES),
    ("events", sql.INSERT_EVENTS),
    ("outbound", sql.INSERT_OUTBOUND),
    ("hook_calls", sql.INSERT_HOOK_CALLS),
)
MESSAGE_IDS_AT_ONCE = 64  # ids of `messages` rows reserved per query on PostgreSQL


class Writer:
    """Writes decisions and rendered mail on one connection, for one transaction."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection
        self._rows: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in _DEFERRED}
        self._message_ids: list[int] = []  # reserved, not used yet; the next one last
        self._last_ids: dict[str, int] = {}  # SQLite: by table, the highest id given out

    def _sqlite_id(self, table: str) -> int:
        """One past the highest id of `table`, counted on from there: the transaction
        holds SQLite's write lock from BEGIN IMMEDIATE, nobody else inserts meanwhile
        (and SQLite itself gives a new row one past the highest)."""
        if table not in self._last_ids:
            self._last_ids[table] = int(self._connection.scalar(sql.LAST_IDS[table]) or 0)
        self._last_ids[table] += 1
        return self._last_ids[table]

    def _new_request(self, request: RequestSnapshot, mailbox: str) -> int:
        """The number of a new request, its row inserted now (PostgreSQL) or with the
        batch (SQLite). On PostgreSQL the number comes from the insert itself, so
        that numbers have no gaps but those of rolled back transactions."""
        row = _request_row(request, mailbox)
        if self._connection.dialect.name == "postgresql":
            return int(self._connection.execute(sql.INSERT_REQUEST, row).scalar_one())
        number = row["id"] = self._sqlite_id("requests")
        self._rows["requests"].append(row)
        return number

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

    def write(
        self,
        decision: Decision,
        *,
        received: Received | None,
        mailbox: str,
        tag_prefix: str,
        now: dt.datetime,
    ) -> Written:
        """Write everything the decision says but its notices (`queue` takes those,
        rendered). A request it opens is numbered here, in `mailbox`; `tag_prefix`
        makes its tag for the events that mention it."""
        opened = None
        if decision.opens is not None:
            opened = self._new_request(decision.opens, mailbox)
            self._rows["participants"] += [
                {"request_id": opened, "address": p.address, "role": p.role, "notify": p.notify}
                for p in decision.opens.participants
            ]

        def number_of(ref: RequestRef | None) -> int | None:
            return opened if ref == OPENED else ref

        stored_id = None
        if decision.stores is not None and received is not None:
            stores = decision.stores
            stored_id = self._message_id()
            row = _stored_row(stored_id, stores.kind, number_of(stores.request),
                              stores.from_address, received, now,
                              as_forwarded=stores.as_forwarded)  # fmt: skip
            self._rows["messages"].append(row)
        self._update_requests(decision)
        opened_tag = format_tag(tag_prefix, opened) if opened is not None else ""
        self._rows["events"] += [
            _event_row(
                number_of(event.request), now, event.actor, event.kind,
                from_status=event.from_status, to_status=event.to_status,
                detail=f"{event.detail} {opened_tag}" if event.mentions_opened else event.detail,
                message_id=stored_id if event.caused else None,
            )
            for event in decision.events
        ]  # fmt: skip
        return Written(opened=opened, request=number_of(decision.request))

    def queue(
        self, mail: Sequence[QueuedMail], dropped: Sequence[DroppedMail], *, now: dt.datetime
    ) -> None:
        """Put rendered notifications in the outbox, each with its copy in the request's
        history, and record the dropped ones as events."""
        self._rows["events"] += [
            _event_row(d.request, now, "system", "notification_dropped",
                       detail=f"{d.template} to {d.recipient}: {d.why}")
            for d in dropped
            if d.request is not None  # about no request: the log line says it
        ]  # fmt: skip
        self._rows["outbound"] += [
            {
                "request_id": m.request,
                "message_id": m.message_id,
                "template": m.template,
                "recipient": m.recipient,
                "raw": m.raw,
                "state": OutboundState.PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": "",
                "created_at": now,
            }
            for m in mail
        ]
        self._rows["messages"] += [
            {
                "id": self._message_id(),
                "request_id": m.request,
                "message_id": m.message_id,
                "direction": "out",
                "kind": MessageKind.NOTIFICATION,
                "from_address": m.sender,
                "to_address": m.recipient,
                "subject": f"{m.template} to {m.recipient}",
                "new_text": m.text,
                "at": now,
                "inbound_id": None,
                "forwarded": None,
            }
            for m in mail
        ]

    def queue_hook_calls(self, calls: Sequence[QueuedHookCall], *, now: dt.datetime) -> None:
        """Put hook calls in their queue, due now."""
        self._rows["hook_calls"] += [
            {"hook": c.hook, "event": c.event, "delivery": c.delivery, "request_id": c.request,
             "payload": c.payload, "state": OutboundState.PENDING, "attempts": 0,
             "next_attempt_at": now, "last_error": "", "created_at": now}
            for c in calls
        ]  # fmt: skip

    def _update_requests(self, decision: Decision) -> None:
        connection = self._connection
        if decision.updates or decision.notify_flags or decision.labels or decision.bouncing:
            self.flush()  # they change rows that may be waiting
        for change in decision.updates:
            columns = REQUESTS.c
            result = connection.execute(
                update(REQUESTS)
                .where(columns.id == change.request, columns.status == change.expected_status)
                .values(dict(change.changes))
            )
            if result.rowcount != 1:
                stale = f"request {change.request} is no longer {change.expected_status}"
                raise StaleRequest(stale)
        for flag in decision.notify_flags:
            connection.execute(sql.SET_NOTIFY, {"number": flag.request, "the_address": flag.address,
                                                "wanted": flag.notify})  # fmt: skip
        for label in decision.labels:  # requests it opens have none: their number is known
            if label.present:
                connection.execute(sql.ADD_LABEL, {"request_id": label.request,
                                                   "label": label.label})  # fmt: skip
            else:
                connection.execute(sql.REMOVE_LABEL, {"number": label.request,
                                                      "the_label": label.label})  # fmt: skip
        for bouncing in decision.bouncing:
            self._set_bouncing(bouncing.address, bouncing.since)

    def _set_bouncing(self, address: str, since: dt.datetime | None) -> None:
        connection = self._connection
        changed = connection.execute(sql.SET_BOUNCING, {"the_address": address, "since": since})
        if changed.rowcount == 0:
            connection.execute(sql.INSERT_ADDRESS, {"address": address, "bouncing_since": since})


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
) -> dict[str, Any]:
    return {"request_id": number, "at": now, "actor": actor, "kind": kind,
            "from_status": from_status, "to_status": to_status, "detail": detail,
            "message_id": message_id}  # fmt: skip


def _request_row(request: RequestSnapshot, mailbox: str) -> dict[str, Any]:
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
        "priority": request.priority,
    }


def _stored_row(
    message_id: int,
    kind: MessageKind,
    number: int | None,
    from_address: str,
    received: Received,
    now: dt.datetime,
    *,
    as_forwarded: bool = False,
) -> dict[str, Any]:
    """The `messages` row of a received message (the same keys as a sent copy's);
    `as_forwarded`: kept as the message it forwards, its text the forwarded text."""
    message = received.message
    forwarded = message.forwarded
    if as_forwarded and forwarded is not None:
        text, kept_forward = forwarded.text, None
    else:
        text = message.new_text
        kept_forward = forwarded.as_text() if forwarded is not None else None
    return {
        "id": message_id,
        "request_id": number,
        "message_id": message.message_id,
        "direction": "in",
        "kind": kind,
        "from_address": from_address,
        "to_address": None,
        "subject": message.subject,
        "new_text": text,
        "at": now,
        "inbound_id": received.inbound_id,
        "forwarded": kept_forward,
    }
