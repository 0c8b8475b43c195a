"""One person's data (SPEC §16): what `people export` reads and `people erase` removes.

A person is an address, matched lower-cased (every stored address is). Their
requests are those they opened or take part in; their messages those they
sent. `erase` works in the caller's transaction: a person's rows are changed
in place (the shape of the history stays), then every text column of every
table is searched for the address, so that a column added later is covered
without a change here. Parsing raw mail is the caller's (the store parses
nothing): the rows carry the raw bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    String,
    Table,
    Text,
    and_,
    cast,
    delete,
    false,
    func,
    insert,
    or_,
    select,
    update,
)

from mailgate.states import InboundState, OutboundState
from mailgate.store.tables import (
    ADDRESSES,
    ERASURES,
    EVENTS,
    HOOK_CALLS,
    INBOUND,
    INSTALL_SECRETS,
    MESSAGES,
    METADATA,
    OUTBOUND,
    PARTICIPANTS,
    REQUESTS,
)

ERASED_TEXT = "(erased)"  # the subject left in place of one the person wrote
_r, _p, _m, _e, _i, _o = (REQUESTS.c, PARTICIPANTS.c, MESSAGES.c, EVENTS.c, INBOUND.c,
                          OUTBOUND.c)  # fmt: skip


def install_secret(connection: Connection) -> str | None:
    """The secret `mailgate init` made (store/tables.py): pseudonyms are keyed on it, so
    the same address gets the same pseudonym in one install, and nobody without the
    database can compute it."""
    secrets = INSTALL_SECRETS.c
    return connection.scalar(select(secrets.value).where(secrets.name == "token"))


def _requests_of(address: str) -> Any:
    """The ids of the requests `address` opened or takes part in."""
    return select(_r.id).where(_r.requester == address).union(
        select(_p.request_id).where(_p.address == address)
    )


# -- export -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredMail:
    """A raw message kept in the database: received (`inbound`) or sent (`outbound`)."""

    direction: str  # in | out
    id: int
    raw: bytes
    at: dt.datetime
    state: str


@dataclass(slots=True, kw_only=True)
class PersonRecords:
    """Everything `people export` writes, as plain rows."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    mail: list[StoredMail] = field(default_factory=list)


def person_records(connection: Connection, address: str) -> PersonRecords:
    """Their requests (with their role), the messages they sent or that were sent to
    them (and the public answers of their requests), the events that name them or
    record a status of their requests, and the raw mail they sent or were sent.

    Internal notes and the notices to agents are the team's: left out (docs/privacy.md).
    """
    found = PersonRecords()
    mine = _requests_of(address)
    roles = {number: (role, notify) for number, role, notify in connection.execute(
        select(_p.request_id, _p.role, _p.notify).where(_p.address == address)
    )}  # fmt: skip
    for row in connection.execute(select(REQUESTS).where(_r.id.in_(mine)).order_by(_r.id)):
        values = dict(row._mapping)
        values["role"], values["notify"] = roles.get(row.id, ("requester", True))
        found.requests.append(values)
    theirs = or_(
        _m.from_address == address,
        _m.to_address == address,
        and_(_m.kind == "agent", _m.request_id.in_(mine)),
    )
    messages = connection.execute(select(MESSAGES).where(theirs).order_by(_m.id)).all()
    found.messages = [dict(row._mapping) for row in messages]
    their_ids = [row.id for row in messages if row.from_address == address]
    naming = or_(
        _e.actor == address,
        func.lower(_e.detail).contains(address, autoescape=True),
        _e.message_id.in_(their_ids) if their_ids else false(),
        and_(_e.request_id.in_(mine), _e.to_status.is_not(None)),
    )
    found.events = [dict(row._mapping) for row in
                    connection.execute(select(EVENTS).where(naming).order_by(_e.id))]  # fmt: skip
    inbound_ids = {row.inbound_id for row in messages
                   if row.inbound_id is not None and row.from_address == address}  # fmt: skip
    inbound_ids |= set(_inbound_addressed(connection, address))
    for row in connection.execute(
        select(_i.id, _i.raw, _i.received_at, _i.state)
        .where(_i.id.in_(inbound_ids), func.length(_i.raw) > 0).order_by(_i.id)
    ):  # fmt: skip
        found.mail.append(StoredMail(direction="in", id=row.id, raw=bytes(row.raw),
                                     at=row.received_at, state=row.state))  # fmt: skip
    for row in connection.execute(
        select(_o.id, _o.raw, _o.created_at, _o.state)
        .where(_o.recipient == address, func.length(_o.raw) > 0).order_by(_o.id)
    ):  # fmt: skip
        found.mail.append(StoredMail(direction="out", id=row.id, raw=bytes(row.raw),
                                     at=row.created_at, state=row.state))  # fmt: skip
    return found


# -- erase --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Erased:
    """What an erasure changed, and the raw mail it dropped (for the IMAP folders)."""

    counts: dict[str, int]
    dropped_heads: list[bytes]  # the header blocks of the inbound mail whose bytes went
    # The Message-IDs of the mail received in their requests and from them, also when
    # an earlier erasure dropped the bytes (its IMAP cleanup may have failed).
    message_ids: list[str]


HEAD_BYTES = 65536  # of a dropped message, kept in memory to find its copy in IMAP


def erase_person(
    connection: Connection, address: str, pseudonym: str, *, by: str, now: dt.datetime
) -> Erased:
    """Remove `address`'s texts, raw mail and address (the pseudonym in its place),
    drop the mail waiting for them, record the erasure. In the caller's transaction."""
    mine = list(connection.scalars(_requests_of(address)))
    their_messages = list(connection.scalars(
        select(_m.id).where(_m.from_address == address, _m.direction == "in")
    ))  # fmt: skip
    counts = {"requests": len(mine), "messages": len(their_messages)}
    heads = _drop_raw_inbound(connection, address, their_messages, now=now)
    counts["raw_inbound"] = len(heads)
    counts |= _drop_outbound(connection, address, now=now)
    counts |= _drop_hook_calls(connection, address)
    _empty_texts(connection, address, their_messages, mine)
    connection.execute(delete(ADDRESSES).where(ADDRESSES.c.address == address))
    # The pseudonym never gets mail; where an earlier erasure left it beside the address
    # (they were added again), one participant row is enough.
    connection.execute(update(PARTICIPANTS).where(_p.address == address).values(notify=False))
    connection.execute(delete(PARTICIPANTS).where(
        _p.address == address,
        _p.request_id.in_(select(_p.request_id).where(_p.address == pseudonym).scalar_subquery()),
    ))  # fmt: skip
    # The address itself, in every text column of every table (requester, participants,
    # senders, recipients, actors, details, errors, keys, Message-IDs …).
    counts["addresses_replaced"] = sum(
        _replace_in(connection, table, column, address, pseudonym)
        for table in METADATA.sorted_tables
        for column in table.columns
        if isinstance(column.type, String | Text) and table is not ERASURES
    )
    received = connection.scalars(
        select(_m.message_id).where(
            _m.direction == "in",
            or_(_m.from_address == pseudonym, _m.request_id.in_(_requests_of(pseudonym))),
        )
    )
    summary = json.dumps(counts, sort_keys=True)
    connection.execute(insert(ERASURES).values(at=now, erased_by=by[:320], pseudonym=pseudonym,
                                               summary=summary))  # fmt: skip
    return Erased(counts=counts, dropped_heads=heads, message_ids=sorted(set(received)))


def _drop_raw_inbound(
    connection: Connection, address: str, their_messages: list[int], *, now: dt.datetime
) -> list[bytes]:
    """Empty the raw bytes of what they sent, of every message of their requests (the
    others quote them), and of any other message whose bytes name them; a message not
    applied yet never will be. Returns the header blocks of those emptied now."""
    inbound_ids = set(_inbound_mentioning(connection, address))
    of_theirs = or_(_m.request_id.in_(_requests_of(address)),
                    _m.id.in_(their_messages) if their_messages else false())  # fmt: skip
    inbound_ids |= set(connection.scalars(
        select(_m.inbound_id).where(_m.inbound_id.is_not(None), of_theirs)
    ))  # fmt: skip
    heads: list[bytes] = []
    for ids in _chunks(sorted(inbound_ids)):
        heads += [bytes(head) for head in connection.scalars(
            select(func.substr(_i.raw, 1, HEAD_BYTES))
            .where(_i.id.in_(ids), func.length(_i.raw) > 0)
        )]  # fmt: skip
        connection.execute(update(INBOUND).where(_i.id.in_(ids)).values(raw=b"", purged_at=now))
        connection.execute(
            update(INBOUND).where(_i.id.in_(ids), _i.state != InboundState.APPLIED)
            .values(state=InboundState.ERASED, error="")
        )  # fmt: skip
    return heads


def _drop_outbound(connection: Connection, address: str, *, now: dt.datetime) -> dict[str, int]:
    """Notifications to them, about their requests, or naming them: those waiting (or
    failed, waiting for a retry) are deleted, never sent, as they quote them; the raw
    copies of those sent are emptied."""
    outbound_ids = set(_outbound_mentioning(connection, address))
    outbound_ids |= set(connection.scalars(
        select(_o.id).where(or_(_o.recipient == address,
                                _o.request_id.in_(_requests_of(address))),
                            func.length(_o.raw) > 0)
    ))  # fmt: skip
    unsent = (OutboundState.PENDING, OutboundState.FAILED)
    counts = {"queued_dropped": 0, "raw_outbound": 0}
    for ids in _chunks(sorted(outbound_ids)):
        counts["queued_dropped"] += connection.execute(
            delete(OUTBOUND).where(_o.id.in_(ids), _o.state.in_(unsent))
        ).rowcount
        counts["raw_outbound"] += connection.execute(
            update(OUTBOUND).where(_o.id.in_(ids)).values(raw=b"", purged_at=now)
        ).rowcount
    return counts


def _drop_hook_calls(connection: Connection, address: str) -> dict[str, int]:
    """Hook calls about their requests or naming them: those not sent yet are deleted
    (they would carry their texts to the hook), the bodies of those sent are emptied."""
    _h = HOOK_CALLS.c
    theirs = or_(_h.request_id.in_(_requests_of(address)),
                 func.lower(_h.payload).contains(address, autoescape=True))  # fmt: skip
    dropped = connection.execute(delete(HOOK_CALLS).where(theirs, _h.state != "sent")).rowcount
    emptied = connection.execute(update(HOOK_CALLS).where(theirs).values(payload="{}")).rowcount
    return {"hook_calls_dropped": dropped, "hook_calls_emptied": emptied}


def _empty_texts(
    connection: Connection, address: str, their_messages: list[int], mine: list[int]
) -> None:
    """Their texts (and what their messages caused the events to say), the subjects of
    the requests they opened, the copies of the notices of their requests (which quote
    them). Others' own texts stay."""
    for ids in _chunks(their_messages):
        connection.execute(
            update(MESSAGES).where(_m.id.in_(ids))
            .values(new_text="", subject=ERASED_TEXT, forwarded=None)
        )  # fmt: skip
        connection.execute(update(EVENTS).where(_e.message_id.in_(ids)).values(detail=""))
    for ids in _chunks(mine):
        copies = and_(_m.request_id.in_(ids), _m.direction == "out")
        connection.execute(update(MESSAGES).where(copies).values(new_text=""))
    opened = select(_r.id).where(_r.requester == address).scalar_subquery()
    connection.execute(
        update(MESSAGES).where(_m.request_id.in_(opened))
        .values(subject=ERASED_TEXT, forwarded=None)
    )  # fmt: skip
    # The rating stays (the team's figures), the comment they wrote with it goes.
    connection.execute(update(REQUESTS).where(_r.requester == address)
                       .values(subject=ERASED_TEXT, rating_comment=None))  # fmt: skip
    connection.execute(update(EVENTS).where(_e.actor == address).values(detail=""))


def _inbound_mentioning(connection: Connection, address: str) -> list[int]:
    """Inbound rows whose raw bytes name `address` (any case) anywhere. Encoded forms
    (base64, RFC 2047) are not found: docs/privacy.md."""
    return list(connection.scalars(select(_i.id).where(_bytes_contain(connection, _i.raw,
                                                                        address))))  # fmt: skip


def _inbound_addressed(connection: Connection, address: str) -> list[int]:
    """Inbound rows whose header block names `address`: mail they sent (held or failed
    mail too, which no message row names) or that was sent to them."""
    head = func.substr(_i.raw, 1, HEAD_BYTES)
    rows = connection.execute(select(_i.id, head).where(_bytes_contain(connection, head, address)))
    needle = address.encode()
    return [inbound_id for inbound_id, data in rows
            if needle in _header_block(bytes(data)).lower()]  # fmt: skip


def _header_block(raw: bytes) -> bytes:
    """The bytes before the first empty line (a byte search, not a parse)."""
    ends = [at for at in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if at >= 0]
    return raw[: min(ends)] if ends else raw


def _outbound_mentioning(connection: Connection, address: str) -> list[int]:
    return list(connection.scalars(
        select(_o.id).where(_bytes_contain(connection, _o.raw, address))
    ))  # fmt: skip


def _bytes_contain(
    connection: Connection, raw: ColumnElement[Any], address: str
) -> ColumnElement[bool]:
    """Whether the bytes in `raw` contain the lower-case `address`, any case.

    PostgreSQL: `encode(…, 'escape')` turns the bytes into text (a zero byte and
    those past ASCII become `\\ooo`, never letters; `\\` doubles), which `lower` and `strpos` then
    read. SQLite compares a blob cast to text byte for byte.
    """
    if connection.dialect.name == "postgresql":
        escaped = "".join("\\\\" if byte == 92 else chr(byte) if 0 < byte < 128
                          else f"\\{byte:03o}" for byte in address.encode("utf-8"))  # fmt: skip
        return func.strpos(func.lower(func.encode(raw, "escape")), escaped) > 0
    return func.instr(func.lower(cast(raw, Text)), address) > 0


def _replace_in(
    connection: Connection, table: Table, column: Column[Any], address: str, pseudonym: str
) -> int:
    """Replace `address` (any case) by `pseudonym` in one column; the rows changed."""
    keys = list(table.primary_key.columns)
    found = connection.execute(
        select(*keys, column).where(func.lower(column).contains(address, autoescape=True))
    ).all()
    pattern = re.compile(re.escape(address), re.IGNORECASE)
    limit = getattr(column.type, "length", None)
    for row in found:
        *key, value = row
        replaced = pattern.sub(pseudonym, value)[:limit] if limit else pattern.sub(pseudonym, value)
        where = [k == v for k, v in zip(keys, key, strict=True)]
        connection.execute(update(table).where(*where).values({column.name: replaced}))
    return len(found)


def _chunks(ids: Iterable[int], size: int = 500) -> Iterable[Sequence[int]]:
    items = list(ids)
    for start in range(0, len(items), size):
        yield items[start : start + size]


def erasures(connection: Connection) -> list[dict[str, Any]]:
    """The record of the erasures, oldest first."""
    return [dict(row._mapping) for row in
            connection.execute(select(ERASURES).order_by(ERASURES.c.id))]  # fmt: skip
