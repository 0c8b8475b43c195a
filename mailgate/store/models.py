"""The ORM classes of the tables, for the read-only views, the operations and
Alembic. The worker's tables are Core `Table`s in `store/tables.py` (the
round does not import the ORM); the classes here are mapped onto them, in
one `MetaData`. Changing a table means adding an Alembic revision.
"""

from __future__ import annotations

import datetime as dt
from typing import ClassVar

from sqlalchemy.orm import DeclarativeBase

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

    __table__ = tables.WORKER_ROUNDS
