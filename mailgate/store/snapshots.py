"""Reading requests into the plain snapshots that deciding works on."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection

from mailgate.decision import Participant, RequestSnapshot
from mailgate.domain import Status, StatusChange
from mailgate.store import statements as sql


def load_snapshot(
    connection: Connection, number: int, *, with_history: bool
) -> RequestSnapshot | None:
    """The request, row-locked (on PostgreSQL) so that concurrent workers decide on
    it one after another; its status history and SLA breaches only when asked."""
    row = connection.execute(sql.LOCK_REQUEST, {"number": number}).first()
    if row is None:
        return None
    history: tuple[StatusChange, ...] = ()
    breaches: frozenset[str] = frozenset()
    if with_history:
        history = tuple(status_history(connection, number))
        breaches = frozenset(connection.scalars(sql.SLA_BREACHES, {"number": number}))
    return RequestSnapshot(
        number=row.id,
        subject=row.subject,
        status=Status(row.status),
        requester=row.requester,
        owner=row.owner,
        language=row.language,
        participants=tuple(participants(connection, number)),
        created_at=row.created_at,
        updated_at=row.updated_at,
        status_since=row.status_since,
        closed_at=row.closed_at,
        auto_close_at=row.auto_close_at,
        remind_at=row.remind_at,
        sla_check_at=row.sla_check_at,
        first_response_at=row.first_response_at,
        linked_request=row.linked_request_id,
        history=history,
        breaches=breaches,
        mailbox=row.mailbox,
        priority=row.priority,
        labels=tuple(connection.scalars(sql.LABELS_OF, {"number": number})),
        rating_asked_at=row.rating_asked_at,
        rating=row.rating,
        rating_comment=row.rating_comment,
        rated_at=row.rated_at,
    )


def participants(connection: Connection, number: int) -> list[Participant]:
    rows = connection.execute(sql.PARTICIPANTS_OF, {"number": number})
    return [Participant(id=i, address=a, role=r, notify=n) for i, a, r, n in rows]


def status_history(connection: Connection, number: int) -> list[StatusChange]:
    """The statuses a request entered, oldest first (its creation is the first)."""
    rows = connection.execute(sql.STATUS_HISTORY, {"number": number})
    return [StatusChange(at=at, status=Status(status)) for at, status in rows]


def request_of_message_ids(
    connection: Connection, message_ids: Iterable[str], *, sender: str = ""
) -> int | None:
    """The request that a stored or sent message with one of these IDs belongs to: of
    two messages with one Message-ID, the one `sender` sent (docs/trust.md)."""
    ids = [message_id for message_id in message_ids if message_id]
    if not ids:
        return None
    return connection.scalars(sql.REQUEST_OF_MESSAGE_IDS, {"ids": ids, "sender": sender}).first()
