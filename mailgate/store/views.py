"""Read-only views of requests for the CLI: plain dicts in the shapes of SPEC §8."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailgate.domain import Attachment, StatusChange
from mailgate.store.models import Event, Inbound, Participant, Request, StoredMessage
from mailgate.store.snapshots import participants, status_history
from mailgate.tags import format_tag

Prefixes = str | Mapping[str, str]  # one tag prefix, or each mailbox's (the first: the default)


def tag_of(prefixes: Prefixes, mailbox: str, number: int) -> str:
    """The tag of a request of `mailbox`, with that mailbox's prefix."""
    if isinstance(prefixes, str):
        return format_tag(prefixes, number)
    prefix = prefixes.get(mailbox) or next(iter(prefixes.values()))
    return format_tag(prefix, number)


def list_requests(
    session: Session,
    *,
    tag_prefix: Prefixes,
    status: str | None = None,
    breached: bool = False,
    mailbox: str | None = None,
) -> list[dict]:
    statement = select(Request).order_by(Request.id)
    if mailbox:
        statement = statement.where(Request.mailbox == mailbox)
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
            "tag": tag_of(tag_prefix, request.mailbox, request.id),
            "mailbox": request.mailbox,
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
    session: Session, number: int, *, tag_prefix: Prefixes, sla: SlaView | None = None
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
    messages = list(_messages(session, request.id))
    files = _files_of(session, [m.inbound_id for m in messages if m.inbound_id is not None])
    requester = next((p for p in people if p.address == request.requester), None)
    return {
        "number": request.id,
        "tag": tag_of(tag_prefix, request.mailbox, request.id),
        "mailbox": request.mailbox,
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
            tag_of(tag_prefix, request.mailbox, request.linked_request_id)
            if request.linked_request_id
            else None
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
                "attachments": [
                    file.to_json() for file in files.get(message.inbound_id or 0, (b"", ()))[1]
                ],
            }
            for message in messages
        ],
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFile:
    """A file of a request, numbered from 1 over its messages in order (`attachments list`)."""

    number: int
    message_id: str
    file: Attachment
    raw: bytes  # the stored message it is read from

    def to_json(self) -> dict[str, Any]:
        return {"number": self.number, "message_id": self.message_id, **self.file.to_json()}


def request_files(session: Session, number: int) -> list[RequestFile] | None:
    """Every file of a request's messages, or None when there is no such request."""
    if session.get(Request, number) is None:
        return None
    messages = [m for m in _messages(session, number) if m.inbound_id is not None]
    files = _files_of(session, [m.inbound_id for m in messages if m.inbound_id is not None])
    listed: list[RequestFile] = []
    for message in messages:
        raw, attachments = files.get(message.inbound_id or 0, (b"", ()))
        for file in attachments:
            listed.append(RequestFile(number=len(listed) + 1, message_id=message.message_id,
                                      file=file, raw=raw))  # fmt: skip
    return listed


def _messages(session: Session, number: int):
    return session.scalars(
        select(StoredMessage).where(StoredMessage.request_id == number).order_by(StoredMessage.id)
    )


def _files_of(
    session: Session, inbound_ids: list[int]
) -> dict[int, tuple[bytes, tuple[Attachment, ...]]]:
    """The stored raw messages and their files, read again from the bytes: the files are
    kept once, inside the raw message, never beside it."""
    from mailgate.parse.errors import MalformedMessage
    from mailgate.parse.mimetree import decode

    found: dict[int, tuple[bytes, tuple[Attachment, ...]]] = {}
    if not inbound_ids:
        return found
    rows = session.execute(select(Inbound.id, Inbound.raw).where(Inbound.id.in_(inbound_ids)))
    for inbound_id, raw in rows:
        try:
            found[inbound_id] = (raw, decode(raw).attachments)
        except MalformedMessage:  # purged, or nothing to read: no files left to show
            found[inbound_id] = (raw, ())
    return found


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
