"""Reading requests into the plain snapshots that deciding works on."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, select

from mailgate.decide.model import Participant, RequestSnapshot
from mailgate.domain import Status
from mailgate.sla import StatusChange
from mailgate.store.models import Event, Request, StoredMessage
from mailgate.store.models import Participant as ParticipantRow

_REQUESTS = Request.__table__
_PARTICIPANTS = ParticipantRow.__table__
_EVENTS = Event.__table__
_MESSAGES = StoredMessage.__table__


def load_snapshot(
    connection: Connection, number: int, *, with_history: bool
) -> RequestSnapshot | None:
    """The request, row-locked (on PostgreSQL) so that concurrent workers decide on
    it one after another; its status history and SLA breaches only when asked."""
    columns = _REQUESTS.c
    row = connection.execute(
        select(_REQUESTS).where(columns.id == number).with_for_update()
    ).first()
    if row is None:
        return None
    history: tuple[StatusChange, ...] = ()
    breaches: frozenset[str] = frozenset()
    if with_history:
        history = tuple(status_history(connection, number))
        breaches = frozenset(
            connection.scalars(
                select(_EVENTS.c.detail).where(
                    _EVENTS.c.request_id == number, _EVENTS.c.kind == "sla_breach"
                )
            )
        )
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
    )


def participants(connection: Connection, number: int) -> list[Participant]:
    columns = _PARTICIPANTS.c
    rows = connection.execute(
        select(columns.id, columns.address, columns.role, columns.notify)
        .where(columns.request_id == number)
        .order_by(columns.id)
    )
    return [Participant(id=i, address=a, role=r, notify=n) for i, a, r, n in rows]


def status_history(connection: Connection, number: int) -> list[StatusChange]:
    """The statuses a request entered, oldest first (its creation is the first)."""
    columns = _EVENTS.c
    rows = connection.execute(
        select(columns.at, columns.to_status)
        .where(columns.request_id == number, columns.to_status.is_not(None))
        .order_by(columns.id)
    )
    return [StatusChange(at=at, status=Status(status)) for at, status in rows]


def request_of_message_ids(connection: Connection, message_ids: Iterable[str]) -> int | None:
    """The request that a stored or sent message with one of these IDs belongs to."""
    ids = [message_id for message_id in message_ids if message_id]
    if not ids:
        return None
    columns = _MESSAGES.c
    return connection.scalars(
        select(columns.request_id)
        .where(columns.message_id.in_(ids), columns.request_id.is_not(None))
        .order_by(columns.id.desc())
        .limit(1)
    ).first()
