"""Who reads a mailbox: one worker at a time on PostgreSQL.

Two workers that fetch and `UID MOVE` the same messages at the same moment
pay the fetch twice, and Dovecot may then keep the message twice in the
processed folder. On PostgreSQL the read step of a mailbox (fetch, store,
apply, move) therefore runs under a session-level advisory lock, taken with
`pg_try_advisory_lock` on a connection of its own: a worker that does not get
it skips reading that mailbox this round. PostgreSQL releases the lock when
that connection ends, so a worker that dies or loses the database holds
nothing back. On SQLite (one writer) there is nothing to take.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import InterfaceError, OperationalError

log = logging.getLogger(__name__)

_NAMESPACE = b"mailgate inbox reader\0"  # keeps the keys apart from other users of the database
_TRY_LOCK = text("SELECT pg_try_advisory_lock(:key)")
_UNLOCK = text("SELECT pg_advisory_unlock(:key)")


def reader_key(mailbox: str) -> int:
    """The advisory lock key of a mailbox: a signed 64-bit integer, the same in
    every process and on every host (unlike `hash`)."""
    digest = hashlib.blake2b(_NAMESPACE + mailbox.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


INIT_KEY = int.from_bytes(
    hashlib.blake2b(b"mailgate init\0", digest_size=8).digest(), "big", signed=True
)  # `mailgate init` holds it to its commit: two at once run one after the other


@contextlib.contextmanager
def inbox_reader(engine: Engine, mailbox: str) -> Iterator[bool]:
    """True inside the block when this process may read `mailbox` now: always on
    SQLite; on PostgreSQL when no other connection holds its lock.

    The database unreachable while taking the lock raises `OperationalError` or
    `InterfaceError` (the caller makes it `StoreUnavailable`). Released when the
    block ends; if the release fails, the connection is closed, not pooled, so
    the server drops the lock with it.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    key = reader_key(mailbox)
    connection = engine.connect()
    try:
        held = bool(connection.execute(_TRY_LOCK, {"key": key}).scalar())
        connection.commit()  # a session lock outlives it; no transaction stays open meanwhile
    except BaseException:
        connection.invalidate()
        connection.close()
        raise
    try:
        yield held
    finally:
        if held:
            _release(connection, key)
        connection.close()


def _release(connection: Connection, key: int) -> None:
    try:
        connection.execute(_UNLOCK, {"key": key})
        connection.commit()
    except (OperationalError, InterfaceError):  # the connection is gone, and its lock with it
        log.debug("inbox reader lock not released; its connection is closed", exc_info=True)
        connection.invalidate()
