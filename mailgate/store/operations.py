"""Queries of the operations commands (SPEC §11): quarantined mail, the outbox,
the workers' last rounds, retention.

Each function runs on the caller's connection (`Store.engine.begin()`), so a
command that reads and then changes a row does both in one transaction.
Changes are compare-and-set on the row's state: a message applied or a
notification sent meanwhile is left alone and reported as such.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    update,
)

from mailgate.store.engine import upsert_insert
from mailgate.store.tables import HOOK_CALLS, INBOUND, MESSAGES, OUTBOUND, REQUESTS, WORKER_ROUNDS

# The inbound states `status` counts: a released message counts as pending.
INBOUND_STATES = ("pending", "applied", "failed", "held")
HEAD_BYTES = 65536  # what `failed list` reads of each message: enough for its header block
ROUNDS_KEPT = dt.timedelta(days=7)  # rows of workers that stopped longer ago are dropped

_IN, _OUT, _ROUNDS, _REQUESTS = INBOUND, OUTBOUND, WORKER_ROUNDS, REQUESTS
_i, _o, _w = _IN.c, _OUT.c, _ROUNDS.c
_r, _m, _h = REQUESTS.c, MESSAGES.c, HOOK_CALLS.c
CALL_STATES = ("pending", "sent", "failed")


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredInbound:
    key: str
    state: str  # pending | applied | failed | held | released
    error: str
    attempts: int
    received_at: dt.datetime
    processed_at: dt.datetime | None
    size: int  # of what is stored: only the header block of a message refused for its size
    raw: bytes  # the first HEAD_BYTES only, unless read with `whole=True`
    digest: str | None = None  # of the whole message (mailgate/digest.py); None: stored before


def failed_messages(connection: Connection) -> list[StoredInbound]:
    """Quarantined messages, oldest first, each read only as far as its header block."""
    return _inbound(connection, _i.state == "failed", whole=False)


def held_messages(connection: Connection) -> list[StoredInbound]:
    """Messages held by the trust rules (SPEC §14), oldest first, read as far as their
    header block."""
    return _inbound(connection, _i.state == "held", whole=False)


def inbound_message(connection: Connection, key: str, *, whole: bool) -> StoredInbound | None:
    found = _inbound(connection, _i.key == key, whole=whole)
    return found[0] if found else None


def _inbound(
    connection: Connection, where: ColumnElement[bool], *, whole: bool
) -> list[StoredInbound]:
    raw = _i.raw if whole else func.substr(_i.raw, 1, HEAD_BYTES)
    rows = connection.execute(
        select(_i.key, _i.state, _i.error, _i.attempts, _i.received_at, _i.processed_at,
               func.length(_i.raw), raw, _i.digest).where(where).order_by(_i.id)
    )  # fmt: skip
    return [
        StoredInbound(key=key, state=state, error=error, attempts=attempts, received_at=received,
                      processed_at=processed, size=size or 0, raw=bytes(data or b""),
                      digest=digest)
        for key, state, error, attempts, received, processed, size, data, digest in rows
    ]  # fmt: skip


def requeue_failed(connection: Connection, key: str, *, raw: bytes | None = None) -> bool:
    """A quarantined message back to pending (with its whole `raw` when given).

    False when it is not quarantined (any more): applied or requeued meanwhile.
    """
    values: dict[str, object] = {"state": "pending", "attempts": 0, "error": "",
                                 "processed_at": None}  # fmt: skip
    if raw is not None:
        values["raw"] = raw
    changed = connection.execute(
        update(_IN).where(_i.key == key, _i.state == "failed").values(**values)
    )
    return changed.rowcount == 1


def release_held(connection: Connection, key: str, *, note: str) -> bool:
    """A held message to `released`: the worker applies it as pending mail with the
    trust rules' holds waived, and `note` is what its history records.

    False when it is not held (any more): released or applied meanwhile, so a
    release that races another applies the message once.
    """
    changed = connection.execute(
        update(_IN).where(_i.key == key, _i.state == "held")
        .values(state="released", attempts=0, error=note[:2000], processed_at=None)
    )  # fmt: skip
    return changed.rowcount == 1


def request_of_inbound(connection: Connection, key: str) -> int | None:
    """The request a stored inbound message was filed under, if any."""
    return connection.scalar(
        select(_m.request_id).join(_IN, _m.inbound_id == _i.id).where(_i.key == key).limit(1)
    )


def failed_keys(connection: Connection) -> list[str]:
    return list(connection.scalars(select(_i.key).where(_i.state == "failed").order_by(_i.id)))


# -- the outbox ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxRow:
    id: int
    request: int | None
    template: str
    recipient: str
    state: str  # pending | sent | failed
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


def outbox_rows(
    connection: Connection, *, state: str | None = None, ids: Sequence[int] = ()
) -> list[OutboxRow]:
    statement = select(_o.id, _o.request_id, _o.template, _o.recipient, _o.state, _o.attempts,
                       _o.next_attempt_at, _o.last_error, _o.created_at,
                       _o.sent_at).order_by(_o.id)  # fmt: skip
    if state is not None:
        statement = statement.where(_o.state == state)
    if ids:
        statement = statement.where(_o.id.in_(list(ids)))
    return [
        OutboxRow(id=i, request=request, template=template, recipient=recipient, state=s,
                  attempts=attempts, next_attempt_at=due, last_error=error, created_at=created,
                  sent_at=sent)
        for i, request, template, recipient, s, attempts, due, error, created, sent
        in connection.execute(statement)
    ]  # fmt: skip


def requeue_outbound(connection: Connection, ids: Sequence[int], *, now: dt.datetime) -> list[int]:
    """Make failed or waiting notifications due now, with a fresh count of attempts.

    Sent ones are never touched (sending twice is what an admin must not be
    able to do by mistake), nor those a live sender holds right now.
    """
    return _requeue(connection, _OUT, ids, now=now)


def _requeue(connection: Connection, table: Table, ids: Sequence[int], *,
             now: dt.datetime) -> list[int]:  # fmt: skip
    """`requeue_outbound`, of a queue table (outbound, hook_calls)."""
    if not ids:
        return []
    columns = table.c
    where = and_(
        columns.id.in_(list(ids)),
        or_(columns.state == "failed",
            and_(columns.state == "pending", columns.claimed_by.is_(None))),
    )  # fmt: skip
    requeued = list(connection.scalars(select(columns.id).where(where).order_by(columns.id)))
    if requeued:
        connection.execute(
            update(table).where(columns.id.in_(requeued))
            .values(state="pending", attempts=0, next_attempt_at=now, claimed_by=None)
        )  # fmt: skip
    return requeued


def failed_outbound_ids(connection: Connection) -> list[int]:
    return list(connection.scalars(select(_o.id).where(_o.state == "failed").order_by(_o.id)))


# -- the hook calls ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class HookCallRow:
    id: int
    hook: str
    event: str
    delivery: str
    request: int | None
    state: str  # pending | sent | failed
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    payload: str


def hook_call_rows(
    connection: Connection, *, state: str | None = None, ids: Sequence[int] = ()
) -> list[HookCallRow]:
    statement = select(_h.id, _h.hook, _h.event, _h.delivery, _h.request_id, _h.state,
                       _h.attempts, _h.next_attempt_at, _h.last_error, _h.created_at,
                       _h.sent_at, _h.payload).order_by(_h.id)  # fmt: skip
    if state is not None:
        statement = statement.where(_h.state == state)
    if ids:
        statement = statement.where(_h.id.in_(list(ids)))
    return [
        HookCallRow(id=i, hook=hook, event=event, delivery=delivery, request=request, state=s,
                    attempts=attempts, next_attempt_at=due, last_error=error,
                    created_at=created, sent_at=sent, payload=payload)
        for i, hook, event, delivery, request, s, attempts, due, error, created, sent, payload
        in connection.execute(statement)
    ]  # fmt: skip


def requeue_hook_calls(
    connection: Connection, ids: Sequence[int], *, now: dt.datetime
) -> list[int]:
    """Make failed or waiting hook calls due now, with a fresh count of attempts; never
    one already made, nor one a live worker is making right now."""
    return _requeue(connection, HOOK_CALLS, ids, now=now)


def failed_hook_call_ids(connection: Connection) -> list[int]:
    return list(connection.scalars(select(_h.id).where(_h.state == "failed").order_by(_h.id)))


def hook_call_depths(connection: Connection) -> dict[str, int]:
    """How many hook calls are in each state."""
    found: dict[str, int] = dict(
        connection.execute(select(_h.state, func.count()).group_by(_h.state)).all()
    )
    return {state: int(found.get(state, 0)) for state in CALL_STATES}


# -- queues and rounds -------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class QueueDepths:
    inbound: dict[str, int]  # state -> count
    outbox: dict[str, int]
    oldest_pending_inbound: dt.datetime | None  # stored, not applied yet
    oldest_pending_outbox: dt.datetime | None  # queued, not sent yet


def queue_depths(connection: Connection) -> QueueDepths:
    inbound: dict[str, int] = dict(
        connection.execute(select(_i.state, func.count()).group_by(_i.state)).all()
    )
    inbound["pending"] = inbound.get("pending", 0) + inbound.pop("released", 0)
    outbox: dict[str, int] = dict(
        connection.execute(select(_o.state, func.count()).group_by(_o.state)).all()
    )
    return QueueDepths(
        inbound={state: inbound.get(state, 0) for state in INBOUND_STATES},
        outbox={state: outbox.get(state, 0) for state in ("pending", "sent", "failed")},
        oldest_pending_inbound=connection.scalar(
            select(func.min(_i.received_at)).where(_i.state.in_(("pending", "released")))
        ),
        oldest_pending_outbox=connection.scalar(
            select(func.min(_o.created_at)).where(_o.state == "pending")
        ),
    )


def queue_depths_by_mailbox(
    connection: Connection, mailboxes: Sequence[str]
) -> dict[str, QueueDepths]:
    """`queue_depths` of each of `mailboxes` (the configured ones, the first first):
    inbound mail by the mailbox it was read from, notifications by their request's
    mailbox. A mailbox no longer configured counts for the first, which serves it."""
    request_mailbox = func.coalesce(_r.mailbox, "")
    inbound = connection.execute(
        select(_i.mailbox, _i.state, func.count(), func.min(_i.received_at))
        .group_by(_i.mailbox, _i.state)
    )  # fmt: skip
    outbox = connection.execute(
        select(request_mailbox, _o.state, func.count(), func.min(_o.created_at))
        .select_from(_OUT.outerjoin(_REQUESTS, _o.request_id == _r.id))
        .group_by(request_mailbox, _o.state)
    )  # fmt: skip
    counts = {name: {"inbound": dict.fromkeys(INBOUND_STATES, 0),
                     "outbox": dict.fromkeys(("pending", "sent", "failed"), 0)}
              for name in mailboxes}  # fmt: skip
    oldest: dict[tuple[str, str], dt.datetime] = {}
    for queue, rows in (("inbound", inbound), ("outbox", outbox)):
        for name, state, count, first_at in rows:
            name = name if name in counts else mailboxes[0]
            state = "pending" if state == "released" else state  # waiting to be applied, too
            counts[name][queue][state] = counts[name][queue].get(state, 0) + count
            if state == "pending" and first_at is not None:
                known = oldest.get((name, queue))
                oldest[name, queue] = min(known, first_at) if known else first_at
    return {
        name: QueueDepths(inbound=queues["inbound"], outbox=queues["outbox"],
                          oldest_pending_inbound=oldest.get((name, "inbound")),
                          oldest_pending_outbox=oldest.get((name, "outbox")))
        for name, queues in counts.items()
    }  # fmt: skip


def ratings_by_mailbox(
    connection: Connection, mailboxes: Sequence[str]
) -> dict[str, dict[str, int]]:
    """How many requests of each mailbox their clients rated good and bad (SPEC §16); a
    mailbox no longer configured counts for the first."""
    counts = {name: {"good": 0, "bad": 0} for name in mailboxes}
    rows = connection.execute(
        select(_r.mailbox, _r.rating, func.count())
        .where(_r.rating.is_not(None))
        .group_by(_r.mailbox, _r.rating)
    )  # fmt: skip
    for name, value, count in rows:
        counts[name if name in counts else mailboxes[0]][value] += count
    return counts


@dataclass(frozen=True, slots=True, kw_only=True)
class Round:
    worker: str
    started_at: dt.datetime
    finished_at: dt.datetime
    seconds: float
    fetched: int
    applied: int
    failed: int
    sent: int
    send_failures: int
    imap_waiting: int
    error: str = ""
    last_error: str = ""
    last_error_at: dt.datetime | None = None
    mailbox: str = ""  # the mailbox it read; "": every mailbox at once


def record_round(connection: Connection, done: Round) -> None:
    """Keep `done` as its worker's last round of its mailbox; its last error stays until
    another one."""
    previous = connection.execute(
        select(_w.last_error, _w.last_error_at)
        .where(_w.worker == done.worker, _w.mailbox == done.mailbox)
    ).first()  # fmt: skip
    values = {name: getattr(done, name) for name in _ROUNDS.c.keys()}  # noqa: SIM118
    if done.error:
        values.update(last_error=done.error, last_error_at=done.finished_at)
    elif previous is not None:
        values.update(last_error=previous.last_error, last_error_at=previous.last_error_at)
    insert = upsert_insert(connection, _ROUNDS).values(**values)
    connection.execute(
        insert.on_conflict_do_update(
            index_elements=["worker", "mailbox"],
            set_={k: v for k, v in values.items() if k not in ("worker", "mailbox")},
        )
    )
    connection.execute(delete(_ROUNDS).where(_w.finished_at < done.finished_at - ROUNDS_KEPT))


def last_rounds(connection: Connection) -> list[Round]:
    """The last round of each worker and mailbox, newest first."""
    rows = connection.execute(select(_ROUNDS).order_by(_w.finished_at.desc()))
    return [Round(**row._mapping) for row in rows]


# -- retention ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Purgeable:
    requests: int  # closed before the cutoff, with something left to drop
    inbound: int  # raw inbound messages
    inbound_bytes: int
    outbound: int  # raw copies of notifications
    outbound_bytes: int


def _closed_before(cutoff: dt.datetime) -> Select[Any]:
    return select(_r.id).where(_r.status == "closed", _r.closed_at <= cutoff)


def _purgeable_inbound(cutoff: dt.datetime) -> ColumnElement[bool]:
    of_closed = select(_m.inbound_id).where(
        _m.inbound_id.is_not(None), _m.request_id.in_(_closed_before(cutoff))
    )
    return and_(_i.id.in_(of_closed), _i.state == "applied", _i.purged_at.is_(None))


def _purgeable_outbound(cutoff: dt.datetime) -> ColumnElement[bool]:
    return and_(_o.request_id.in_(_closed_before(cutoff)), _o.state.in_(("sent", "failed")),
                _o.purged_at.is_(None))  # fmt: skip


def purgeable(connection: Connection, cutoff: dt.datetime) -> Purgeable:
    """What `purge` would drop for requests closed at or before `cutoff`."""
    inbound = connection.execute(
        select(func.count(), func.coalesce(func.sum(func.length(_i.raw)), 0))
        .where(_purgeable_inbound(cutoff))
    ).one()  # fmt: skip
    outbound = connection.execute(
        select(func.count(), func.coalesce(func.sum(func.length(_o.raw)), 0))
        .where(_purgeable_outbound(cutoff))
    ).one()  # fmt: skip
    requests = connection.scalar(
        select(func.count()).select_from(_REQUESTS).where(
            _r.id.in_(_closed_before(cutoff)),
            or_(_r.id.in_(select(_m.request_id).join(_IN, _m.inbound_id == _i.id)
                          .where(_purgeable_inbound(cutoff))),
                _r.id.in_(select(_o.request_id).where(_purgeable_outbound(cutoff)))),
        )
    )  # fmt: skip
    return Purgeable(requests=requests or 0, inbound=inbound[0], inbound_bytes=int(inbound[1]),
                     outbound=outbound[0], outbound_bytes=int(outbound[1]))  # fmt: skip


def purge(connection: Connection, cutoff: dt.datetime, *, now: dt.datetime) -> None:
    """Drop the raw bytes; the text, history and attachment metadata stay."""
    connection.execute(update(_IN).where(_purgeable_inbound(cutoff)).values(raw=b"", purged_at=now))
    connection.execute(
        update(_OUT).where(_purgeable_outbound(cutoff)).values(raw=b"", purged_at=now)
    )
