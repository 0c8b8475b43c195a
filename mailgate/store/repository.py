"""Queries over one Session. The callers own the transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from mailgate.domain import Status
from mailgate.sla import StatusChange
from mailgate.store.models import (
    AddressState,
    Event,
    Inbound,
    Outbound,
    Participant,
    Request,
    StoredMessage,
)


def store_inbound(
    session: Session,
    *,
    key: str,
    raw: bytes,
    now: dt.datetime,
    state: str = "pending",
    error: str = "",
) -> bool:
    """Insert a raw message unless its key is known. True when it was new."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    statement = (
        insert(Inbound)
        .values(key=key, raw=raw, state=state, error=error, received_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    return session.execute(statement).rowcount == 1


def inbound_states(session: Session, keys: Sequence[str]) -> dict[str, str]:
    rows = session.execute(select(Inbound.key, Inbound.state).where(Inbound.key.in_(keys)))
    return {key: value for key, value in rows}


def claim_pending_inbound(session: Session, keys: Sequence[str]) -> dict[str, Inbound]:
    """Lock pending messages for this transaction, by key.

    Keys missing from the answer are done already or taken by another worker.
    """
    statement = (
        select(Inbound)
        .where(Inbound.key.in_(keys), Inbound.state == "pending")
        .with_for_update(skip_locked=True)
    )
    return {row.key: row for row in session.scalars(statement)}


def pending_inbound_keys(session: Session, limit: int) -> list[str]:
    statement = select(Inbound.key).where(Inbound.state == "pending").order_by(Inbound.id)
    return list(session.scalars(statement.limit(limit)))


def mark_inbound_failed(session: Session, key: str, error: str, now: dt.datetime) -> None:
    statement = (
        update(Inbound)
        .where(Inbound.key == key)
        .values(state="failed", error=error[:2000], processed_at=now)
    )
    session.execute(statement)


def lock_request(session: Session, number: int) -> Request | None:
    """The request, row-locked so that concurrent workers apply changes one after another."""
    return session.scalars(select(Request).where(Request.id == number).with_for_update()).first()


def request_of_message_ids(session: Session, message_ids: Iterable[str]) -> int | None:
    """The request that a stored or sent message with one of these IDs belongs to."""
    ids = [message_id for message_id in message_ids if message_id]
    if not ids:
        return None
    statement = (
        select(StoredMessage.request_id)
        .where(StoredMessage.message_id.in_(ids), StoredMessage.request_id.is_not(None))
        .order_by(StoredMessage.id.desc())
        .limit(1)
    )
    return session.scalars(statement).first()


def participants(session: Session, request_id: int) -> list[Participant]:
    statement = select(Participant).where(Participant.request_id == request_id)
    return list(session.scalars(statement.order_by(Participant.id)))


def participant(session: Session, request_id: int, participant_id: int) -> Participant | None:
    found = session.get(Participant, participant_id)
    return found if found is not None and found.request_id == request_id else None


def add_participant(session: Session, request_id: int, address: str, role: str) -> Participant:
    participant = Participant(request_id=request_id, address=address, role=role, notify=True)
    session.add(participant)
    return participant


@dataclass(frozen=True, slots=True)
class Thread:
    """What a request's notices thread under, read in two queries for all recipients."""

    messages: list[tuple[dt.datetime, str, str]]  # (at, Message-ID, kind), oldest first
    sent: list[tuple[dt.datetime, str, str]]  # (at, Message-ID, recipient) of notifications

    def ids_for(self, recipient: str, *, staff: bool, limit: int = 20) -> list[str]:
        """Message-IDs to thread a notice under: the first and the latest ones.

        Only what the recipient has seen: the notifications sent to that
        address and, for a client, the client side's own mail; for staff, all
        mail received. Agents' notes and notices never reach a client's References.
        """
        seen = [(at, mid) for at, mid, kind in self.messages if staff or kind == "client"]
        seen += [(at, mid) for at, mid, to in self.sent if to == recipient]
        ids = [message_id for _, message_id in sorted(seen, key=lambda row: row[0])]
        return ids if len(ids) <= limit else [ids[0], *ids[-(limit - 1) :]]


def thread(session: Session, request_id: int) -> Thread:
    messages = select(StoredMessage.at, StoredMessage.message_id, StoredMessage.kind).where(
        StoredMessage.request_id == request_id, StoredMessage.direction == "in"
    )
    sent = select(Outbound.created_at, Outbound.message_id, Outbound.recipient).where(
        Outbound.request_id == request_id
    )
    return Thread(
        messages=[tuple(row) for row in session.execute(messages.order_by(StoredMessage.id))],
        sent=[tuple(row) for row in session.execute(sent.order_by(Outbound.id))],
    )


def add_event(
    session: Session,
    *,
    request_id: int,
    at: dt.datetime,
    actor: str,
    kind: str,
    from_status: Status | None = None,
    to_status: Status | None = None,
    detail: str = "",
    message_id: int | None = None,
) -> None:
    session.add(
        Event(
            request_id=request_id,
            at=at,
            actor=actor,
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            detail=detail,
            message_id=message_id,
        )
    )


def status_history(session: Session, request_id: int) -> list[StatusChange]:
    """The statuses a request entered, oldest first (its creation is the first)."""
    statement = (
        select(Event.at, Event.to_status)
        .where(Event.request_id == request_id, Event.to_status.is_not(None))
        .order_by(Event.id)
    )
    return [StatusChange(at=at, status=Status(status)) for at, status in session.execute(statement)]


def has_event(session: Session, request_id: int, kind: str, detail: str) -> bool:
    statement = select(Event.id).where(
        Event.request_id == request_id, Event.kind == kind, Event.detail == detail
    )
    return session.scalars(statement.limit(1)).first() is not None


def due_requests(session: Session, column: str, now: dt.datetime) -> list[int]:
    """Requests whose timer `column` (auto_close_at, remind_at, sla_check_at) is due."""
    moment = getattr(Request, column)
    statement = select(Request.id).where(moment.is_not(None), moment <= now).order_by(moment)
    return list(session.scalars(statement))


def sent_counts_since(
    session: Session, recipients: Sequence[str], since: dt.datetime
) -> dict[str, int]:
    """How many notifications were queued to each address since `since`."""
    if not recipients:
        return {}
    statement = (
        select(Outbound.recipient, func.count(Outbound.id))
        .where(Outbound.recipient.in_(recipients), Outbound.created_at >= since)
        .group_by(Outbound.recipient)
    )
    return {recipient: count for recipient, count in session.execute(statement)}


def bouncing_among(session: Session, addresses: Sequence[str]) -> set[str]:
    if not addresses:
        return set()
    statement = select(AddressState.address).where(
        AddressState.address.in_(addresses), AddressState.bouncing_since.is_not(None)
    )
    return set(session.scalars(statement))


def is_bouncing(session: Session, address: str) -> bool:
    state = session.get(AddressState, address)
    return state is not None and state.bouncing_since is not None


def set_bouncing(session: Session, address: str, since: dt.datetime | None) -> None:
    state = session.get(AddressState, address)
    if state is None:
        session.add(AddressState(address=address, bouncing_since=since))
    else:
        state.bouncing_since = since


def due_outbound_ids(session: Session, now: dt.datetime, limit: int) -> list[int]:
    statement = (
        select(Outbound.id)
        .where(Outbound.state == "pending", Outbound.next_attempt_at <= now)
        .order_by(Outbound.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


def claim_outbound(
    session: Session, ids: Sequence[int], lease_until: dt.datetime
) -> list[Outbound]:
    """Take due rows for sending; pushing `next_attempt_at` out is the lease other workers see."""
    statement = (
        select(Outbound)
        .where(Outbound.id.in_(ids), Outbound.state == "pending")
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    rows = list(session.scalars(statement))
    if rows:
        session.execute(
            update(Outbound)
            .where(Outbound.id.in_([row.id for row in rows]))
            .values(next_attempt_at=lease_until)
            .execution_options(synchronize_session=False)
        )
    return rows


def mark_sent(session: Session, ids: Sequence[int], now: dt.datetime) -> None:
    if ids:
        session.execute(
            update(Outbound)
            .where(Outbound.id.in_(ids))
            .values(state="sent", sent_at=now, last_error="", attempts=Outbound.attempts + 1)
        )


def mark_unsent(
    session: Session,
    outbound_id: int,
    *,
    error: str,
    retry_at: dt.datetime | None,
) -> None:
    """A failed attempt: pending again from `retry_at`, or failed for good when None."""
    values: dict[str, object] = {"last_error": error, "attempts": Outbound.attempts + 1}
    if retry_at is not None:
        values.update(state="pending", next_attempt_at=retry_at)
    else:
        values.update(state="failed")
    session.execute(update(Outbound).where(Outbound.id == outbound_id).values(**values))
