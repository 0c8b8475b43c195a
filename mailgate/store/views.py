"""Read-only views of requests for the CLI, in the shapes of SPEC §8.

Core queries over `store/tables.py`, on the caller's connection
(`engine.connect()`). The rows are typed dicts, so that `--json` prints
them as they are, keys in the order shown here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict, overload

from sqlalchemy import Connection, select

from mailgate.domain import Attachment, StatusChange
from mailgate.store.snapshots import participants, status_history
from mailgate.store.tables import (
    EVENTS,
    INBOUND,
    MESSAGES,
    PARTICIPANTS,
    REQUEST_LABELS,
    REQUESTS,
)
from mailgate.tags import format_tag

Prefixes = str | Mapping[str, str]  # one tag prefix, or each mailbox's (the first: the default)

_r, _p, _m, _e, _i = REQUESTS.c, PARTICIPANTS.c, MESSAGES.c, EVENTS.c, INBOUND.c
_l = REQUEST_LABELS.c


class RequestSummary(TypedDict):
    """A row of `requests list`."""

    number: int
    tag: str
    mailbox: str
    subject: str
    status: str
    requester: str
    notify: bool
    owner: str | None
    updated_at: str
    priority: str
    labels: list[str]
    rating: str | None  # good | bad | None: not rated


# An entry of a request's history; "from" is a keyword, hence the functional form.
EventView = TypedDict(
    "EventView",
    {
        "at": str,
        "actor": str,
        "kind": str,
        "from": str | None,
        "to": str | None,
        "detail": str,
        "message_id": str | None,  # the message that caused it, if any
    },
)

MessageView = TypedDict(
    "MessageView",
    {
        "message_id": str,
        "direction": str,
        "from": str,
        "to": str | None,
        "at": str,
        "kind": str,
        "text": str,
        "forwarded": str | None,  # what a received message forwarded (issue 21)
        "attachments": list[dict[str, str | int | bool]],
    },
)


class RequestView(TypedDict):
    """`requests show`: the request, its history and its messages."""

    number: int
    tag: str
    mailbox: str
    subject: str
    status: str
    requester: str
    notify: bool
    owner: str | None
    participants: list[str]
    created_at: str
    updated_at: str
    closed_at: str | None
    auto_close_at: str | None
    remind_at: str | None
    linked_request: str | None
    priority: str
    labels: list[str]
    rating: dict[str, str] | None  # {"value": "good"|"bad", "comment", "at"}; None: not rated
    events: list[EventView]
    sla: dict[str, Any] | None
    messages: list[MessageView]


# (status history, first answer, priority) -> the `sla` object
SlaView = Callable[[list[StatusChange], dt.datetime | None, str], dict[str, Any]]
# The files of a stored raw message, as the parser reads them; () when none can be read.
FileReader = Callable[[bytes], tuple[Attachment, ...]]


def tag_of(prefixes: Prefixes, mailbox: str, number: int) -> str:
    """The tag of a request of `mailbox`, with that mailbox's prefix."""
    if isinstance(prefixes, str):
        return format_tag(prefixes, number)
    prefix = prefixes.get(mailbox) or next(iter(prefixes.values()))
    return format_tag(prefix, number)


def list_requests(
    connection: Connection,
    *,
    tag_prefix: Prefixes,
    status: str | None = None,
    breached: bool = False,
    mailbox: str | None = None,
    priority: str | None = None,
    label: str | None = None,
    rated: str | None = None,
) -> list[RequestSummary]:
    """`rated`: "good", "bad", or "any" rating."""
    statement = select(
        _r.id, _r.mailbox, _r.subject, _r.status, _r.requester, _r.owner, _r.updated_at,
        _r.priority, _r.rating
    ).order_by(_r.id)  # fmt: skip
    if priority:
        statement = statement.where(_r.priority == priority)
    if label:
        labelled = select(_l.request_id).where(_l.label == label.lower())
        statement = statement.where(_r.id.in_(labelled))
    if rated:
        wanted = _r.rating.is_not(None) if rated == "any" else _r.rating == rated
        statement = statement.where(wanted)
    if mailbox:
        statement = statement.where(_r.mailbox == mailbox)
    if status:
        statement = statement.where(_r.status == status)
    if breached:
        breaches = select(_e.request_id).where(_e.kind == "sla_breach")
        statement = statement.where(_r.id.in_(breaches))
    requests = connection.execute(statement).all()
    requester_notify = _requester_notify(connection, [r.id for r in requests])
    labels = _labels(connection, [r.id for r in requests])
    return [
        RequestSummary(
            number=request.id,
            tag=tag_of(tag_prefix, request.mailbox, request.id),
            mailbox=request.mailbox,
            subject=request.subject,
            status=request.status,
            requester=request.requester,
            notify=requester_notify.get(request.id, True),
            owner=request.owner,
            updated_at=_iso(request.updated_at),
            priority=request.priority,
            labels=labels.get(request.id, []),
            rating=request.rating,
        )
        for request in requests
    ]


def show_request(
    connection: Connection,
    number: int,
    *,
    tag_prefix: Prefixes,
    read_files: FileReader,
    sla: SlaView | None = None,
) -> RequestView | None:
    """`sla` turns the status history and first answer into the `sla` object;
    `read_files` reads a stored raw message's files (the parser's, given by the caller)."""
    request = connection.execute(select(REQUESTS).where(_r.id == number)).first()
    if request is None:
        return None
    people = participants(connection, request.id)
    events = connection.execute(
        select(_e.at, _e.actor, _e.kind, _e.from_status, _e.to_status, _e.detail,
               _m.message_id)
        .select_from(EVENTS.outerjoin(MESSAGES, _e.message_id == _m.id))
        .where(_e.request_id == request.id)
        .order_by(_e.id)
    ).all()  # fmt: skip
    messages = _messages(connection, request.id)
    inbound_ids = [m.inbound_id for m in messages if m.inbound_id is not None]
    files = _files_of(connection, inbound_ids, read_files)
    requester = next((p for p in people if p.address == request.requester), None)
    return RequestView(
        number=request.id,
        tag=tag_of(tag_prefix, request.mailbox, request.id),
        mailbox=request.mailbox,
        subject=request.subject,
        status=request.status,
        requester=request.requester,
        notify=requester.notify if requester else True,
        owner=request.owner,
        participants=[p.address for p in people],
        created_at=_iso(request.created_at),
        updated_at=_iso(request.updated_at),
        closed_at=_iso(request.closed_at),
        auto_close_at=_iso(request.auto_close_at),
        remind_at=_iso(request.remind_at),
        linked_request=(
            tag_of(tag_prefix, request.mailbox, request.linked_request_id)
            if request.linked_request_id
            else None
        ),
        priority=request.priority,
        labels=_labels(connection, [request.id]).get(request.id, []),
        rating=_rating(request),
        events=[
            {
                "at": _iso(event.at),
                "actor": event.actor,
                "kind": event.kind,
                "from": event.from_status,
                "to": event.to_status,
                "detail": event.detail,
                "message_id": event.message_id,
            }
            for event in events
        ],
        sla=(
            sla(status_history(connection, request.id), request.first_response_at, request.priority)
            if sla
            else None
        ),
        messages=[
            {
                "message_id": message.message_id,
                "direction": message.direction,
                "from": message.from_address,
                "to": message.to_address,
                "at": _iso(message.at),
                "kind": message.kind,
                "text": message.new_text,
                "forwarded": message.forwarded,
                "attachments": [
                    file.to_json() for file in files.get(message.inbound_id or 0, (b"", ()))[1]
                ],
            }
            for message in messages
        ],
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestFile:
    """A file of a request, numbered from 1 over its messages in order (`attachments list`)."""

    number: int
    message_id: str
    file: Attachment
    raw: bytes  # the stored message it is read from

    def to_json(self) -> dict[str, str | int | bool]:
        return {"number": self.number, "message_id": self.message_id, **self.file.to_json()}


def request_files(
    connection: Connection, number: int, *, read_files: FileReader
) -> list[RequestFile] | None:
    """Every file of a request's messages, or None when there is no such request."""
    if connection.scalar(select(_r.id).where(_r.id == number)) is None:
        return None
    messages = _messages(connection, number)
    inbound_ids = [m.inbound_id for m in messages if m.inbound_id is not None]
    files = _files_of(connection, inbound_ids, read_files)
    listed: list[RequestFile] = []
    for message in messages:
        if message.inbound_id is None:  # sent, not received: no raw message of ours to read
            continue
        raw, attachments = files.get(message.inbound_id, (b"", ()))
        for file in attachments:
            listed.append(RequestFile(number=len(listed) + 1, message_id=message.message_id,
                                      file=file, raw=raw))  # fmt: skip
    return listed


@dataclass(frozen=True, slots=True, kw_only=True)
class _StoredMessage:
    message_id: str
    direction: str  # in | out
    from_address: str
    to_address: str | None  # of a notification
    at: dt.datetime
    kind: str
    new_text: str
    inbound_id: int | None  # the raw message it was read from, if it came in
    forwarded: str | None  # what it forwarded, as stored (`ForwardedMessage.as_text`)


def _messages(connection: Connection, number: int) -> list[_StoredMessage]:
    """A request's stored messages, in the order they were stored."""
    rows = connection.execute(
        select(_m.message_id, _m.direction, _m.from_address, _m.to_address, _m.at, _m.kind,
               _m.new_text, _m.inbound_id, _m.forwarded)
        .where(_m.request_id == number)
        .order_by(_m.id)
    )  # fmt: skip
    return [_StoredMessage(**row._mapping) for row in rows]


def _files_of(
    connection: Connection, inbound_ids: list[int], read_files: FileReader
) -> dict[int, tuple[bytes, tuple[Attachment, ...]]]:
    """The stored raw messages and their files, read again from the bytes: the files are
    kept once, inside the raw message, never beside it."""
    if not inbound_ids:
        return {}
    rows = connection.execute(select(_i.id, _i.raw).where(_i.id.in_(inbound_ids)))
    return {inbound_id: (raw, read_files(raw)) for inbound_id, raw in rows}


def _rating(request: Any) -> dict[str, str] | None:
    """The `rating` of `requests show --json` (SPEC §16), None when not rated."""
    if not request.rating:
        return None
    return {"value": request.rating, "comment": request.rating_comment or "",
            "at": _iso(request.rated_at)}  # fmt: skip


def _labels(connection: Connection, numbers: list[int]) -> dict[int, list[str]]:
    """The labels of each request, sorted."""
    found: dict[int, list[str]] = {}
    if numbers:
        rows = connection.execute(
            select(_l.request_id, _l.label).where(_l.request_id.in_(numbers)).order_by(_l.label)
        )
        for number, label in rows:
            found.setdefault(number, []).append(label)
    return found


def _requester_notify(connection: Connection, numbers: list[int]) -> dict[int, bool]:
    if not numbers:
        return {}
    rows = connection.execute(
        select(_p.request_id, _p.notify).where(_p.request_id.in_(numbers), _p.role == "requester")
    )
    return {key: value for key, value in rows}


@overload
def _iso(moment: dt.datetime) -> str: ...
@overload
def _iso(moment: dt.datetime | None) -> str | None: ...
def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None
