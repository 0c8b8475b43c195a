"""Read-only views of requests for the CLI: plain dicts in the shapes of SPEC §8."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailgate.domain import StatusChange
from mailgate.store.models import Event, Participant, Request, StoredMessage
from mailgate.store.snapshots import participants, status_history
from mailgate.tags import format_tag


def list_requests(
    session: Session, *, tag_prefix: str, status: str | None = None, breached: bool = False
) -> list[dict]:
    statement = select(Request).order_by(Request.id)
    if status:
        statement = statement.where(Request.status == status)
    if breached:
        breaches = select(Event.request_id).where(Event.kind == "sla_breach")
        statement = statement.where(Request.id.in_(breaches))
    requests = list(session.scalars(statement))
    requester_notify = _requester_notify(session, [r.id for r in requests])
    return [
        {
            "number": request.id,
            "tag": format_tag(tag_prefix, request.id),
            "subject": request.subject,
            "status": request.status,
            "requester": request.requester,
            "notify": requester_notify.get(request.id, True),
            "owner": request.owner,
            "updated_at": _iso(request.updated_at),
        }
        for request in requests
    ]


SlaView = Callable[[list[StatusChange], dt.datetime | None], dict[str, Any]]


def show_request(
    session: Session, number: int, *, tag_prefix: str, sla: SlaView | None = None
) -> dict[str, Any] | None:
    """`sla` turns the status history and first answer into the `sla` object."""
    request = session.get(Request, number)
    if request is None:
        return None
    connection = session.connection()
    people = participants(connection, request.id)
    events = session.execute(
        select(Event, StoredMessage.message_id)
        .outerjoin(StoredMessage, Event.message_id == StoredMessage.id)
        .where(Event.request_id == request.id)
        .order_by(Event.id)
    )
    messages = session.scalars(
        select(StoredMessage)
        .where(StoredMessage.request_id == request.id)
        .order_by(StoredMessage.id)
    )
    requester = next((p for p in people if p.address == request.requester), None)
    return {
        "number": request.id,
        "tag": format_tag(tag_prefix, request.id),
        "subject": request.subject,
        "status": request.status,
        "requester": request.requester,
        "notify": requester.notify if requester else True,
        "owner": request.owner,
        "participants": [p.address for p in people],
        "created_at": _iso(request.created_at),
        "updated_at": _iso(request.updated_at),
        "closed_at": _iso(request.closed_at),
        "auto_close_at": _iso(request.auto_close_at),
        "remind_at": _iso(request.remind_at),
        "linked_request": (
            format_tag(tag_prefix, request.linked_request_id) if request.linked_request_id else None
        ),
        "events": [
            {
                "at": _iso(event.at),
                "actor": event.actor,
                "kind": event.kind,
                "from": event.from_status,
                "to": event.to_status,
                "detail": event.detail,
                "message_id": message_id,  # the message that caused it, if any
            }
            for event, message_id in events
        ],
        "sla": (
            sla(status_history(connection, request.id), request.first_response_at) if sla else None
        ),
        "messages": [
            {
                "message_id": message.message_id,
                "direction": message.direction,
                "from": message.from_address,
                "to": message.to_address,
                "at": _iso(message.at),
                "kind": message.kind,
                "text": message.new_text,
            }
            for message in messages
        ],
    }


def _requester_notify(session: Session, numbers: list[int]) -> dict[int, bool]:
    if not numbers:
        return {}
    rows = session.execute(
        select(Participant.request_id, Participant.notify).where(
            Participant.request_id.in_(numbers), Participant.role == "requester"
        )
    )
    return {key: value for key, value in rows}


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
