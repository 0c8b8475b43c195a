"""The ORM classes of the tables, for the read-only views, the operations and
Alembic. The worker's tables are Core `Table`s in `store/tables.py` (the
round does not import the ORM); the classes here are mapped onto them, in
one `MetaData`. Changing a table means adding an Alembic revision.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy import Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mailgate.store import tables
from mailgate.store.tables import Id, UtcDateTime

__all__ = ["Id", "UtcDateTime"]  # and the classes; the revisions name these two


class Base(DeclarativeBase):
    metadata = tables.METADATA
    type_annotation_map: ClassVar[dict] = {dt.datetime: UtcDateTime()}


class Request(Base):
    """A support request. Its `id` is the number in the tag."""

    __table__ = tables.REQUESTS


class Participant(Base):
    """Someone who gets mail about a request: requester, first-message CC, or agent."""

    __table__ = tables.PARTICIPANTS


class StoredMessage(Base):
    """A message received or sent for a request (or not yet tied to one)."""

    __table__ = tables.MESSAGES


class Event(Base):
    """One entry of a request's history."""

    __table__ = tables.EVENTS


class Inbound(Base):
    """A raw message taken from the inbox, stored before it leaves it."""

    __table__ = tables.INBOUND


class Outbound(Base):
    """A rendered notification waiting to be sent (the outbox)."""

    __table__ = tables.OUTBOUND


class AddressState(Base):
    """What we know of an address across requests: whether mail to it bounces."""

    __table__ = tables.ADDRESSES


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
