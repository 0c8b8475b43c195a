"""The database tables. Changing one means adding an Alembic revision."""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC; SQLite would otherwise drop the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict] = {dt.datetime: UtcDateTime()}


class Request(Base):
    """A support request. Its `id` is the number in the tag."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32), index=True)
    requester: Mapped[str] = mapped_column(String(320))
    owner: Mapped[str | None] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="en")
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    closed_at: Mapped[dt.datetime | None]
    status_since: Mapped[dt.datetime]  # when the current status was entered
    auto_close_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    # Derived from the history when it changes, so the timers find due work by index:
    remind_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    sla_check_at: Mapped[dt.datetime | None] = mapped_column(index=True)
    first_response_at: Mapped[dt.datetime | None]
    linked_request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    # The `[[mailbox]]` it belongs to (SPEC §12): its rules, templates and From.
    mailbox: Mapped[str] = mapped_column(String(64), index=True, server_default="default")


class Participant(Base):
    """Someone who gets mail about a request: requester, first-message CC, or agent."""

    __tablename__ = "participants"
    __table_args__ = (UniqueConstraint("request_id", "address"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    address: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(16))  # requester | cc | agent
    notify: Mapped[bool] = mapped_column(Boolean, default=True)


class StoredMessage(Base):
    """A message received or sent for a request (or not yet tied to one)."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(998), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    kind: Mapped[str] = mapped_column(String(16))
    from_address: Mapped[str] = mapped_column(String(320))
    to_address: Mapped[str | None] = mapped_column(String(320))  # of a notification
    subject: Mapped[str] = mapped_column(Text)
    new_text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime]
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound.id"))


class Event(Base):
    """One entry of a request's history."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(320))
    kind: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))


class Inbound(Base):
    """A raw message taken from the inbox, stored before it leaves it.

    `key` (the Message-ID, or a hash of the raw bytes) makes applying idempotent.
    """

    __tablename__ = "inbound"

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(998), unique=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | applied | failed
    error: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")  # failed applies
    received_at: Mapped[dt.datetime]
    processed_at: Mapped[dt.datetime | None]
    mailbox: Mapped[str] = mapped_column(String(64), server_default="default")  # read from
    purged_at: Mapped[dt.datetime | None]  # raw bytes dropped by `mailgate purge` (retention)


class Outbound(Base):
    """A rendered notification waiting to be sent (the outbox)."""

    __tablename__ = "outbound"
    __table_args__ = (Index("ix_outbound_due", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(998))
    template: Mapped[str] = mapped_column(String(64))
    recipient: Mapped[str] = mapped_column(String(320), index=True)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(16))  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The process sending it now ("host:pid:start"), so that a restart can tell a
    # dead owner's claim from a live one instead of waiting out the lease.
    claimed_by: Mapped[str | None] = mapped_column(String(200))
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    purged_at: Mapped[dt.datetime | None]  # raw copy dropped by `mailgate purge` (retention)


class AddressState(Base):
    """What we know of an address across requests: whether mail to it bounces."""

    __tablename__ = "addresses"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    bouncing_since: Mapped[dt.datetime | None]


class WorkerRound(Base):
    """The last round of each worker process and mailbox, for `mailgate status`."""

    __tablename__ = "worker_rounds"

    worker: Mapped[str] = mapped_column(String(200), primary_key=True)  # "host:pid:start"
    # The mailbox the round read; "": every mailbox at once (`run --once` with several).
    mailbox: Mapped[str] = mapped_column(String(64), primary_key=True, server_default="")
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime] = mapped_column(index=True)
    seconds: Mapped[float] = mapped_column(Float)
    fetched: Mapped[int] = mapped_column(Integer)
    applied: Mapped[int] = mapped_column(Integer)
    failed: Mapped[int] = mapped_column(Integer)
    sent: Mapped[int] = mapped_column(Integer)
    send_failures: Mapped[int] = mapped_column(Integer)
    imap_waiting: Mapped[int] = mapped_column(Integer)  # in the inbox when the round began
    error: Mapped[str] = mapped_column(Text, default="")  # of this round; empty: it succeeded
    last_error: Mapped[str] = mapped_column(Text, default="")  # the latest of any round
    last_error_at: Mapped[dt.datetime | None]
