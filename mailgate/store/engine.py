"""Engines and schema migration."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, Table, create_engine, event, make_url, text

if TYPE_CHECKING:
    import sqlite3

    from sqlalchemy.dialects import postgresql, sqlite
    from sqlalchemy.pool import ConnectionPoolEntry

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
CONNECT_TIMEOUT = 10  # seconds to reach PostgreSQL
READ_ONLY = "mailgate_read_only"  # execution option of a connection whose transaction only reads


def make_engine(url: str, *, mailboxes: int = 1) -> Engine:
    """An engine tuned per backend: SQLite in WAL mode with a busy timeout.

    On PostgreSQL each mailbox thread of `run` may hold two connections at once
    (a transaction, and the lock of the mailbox it reads), besides the sender's:
    the pool keeps that many, so that threads never wait on each other for one."""
    if url.startswith("sqlite"):
        # No statement cache: a cached statement keeps the values last bound to it until
        # it runs again, and a raw message or notice with a 25 MB file in it is 34 MB
        # held for nothing. Preparing the worker's few statements a batch costs less.
        engine = create_engine(url, connect_args={"timeout": 30, "cached_statements": 0})
        path = sqlite_file(url)
        # At the first connection, not here: a command that never connects (`check`)
        # leaves no file behind.
        event.listen(engine, "do_connect", lambda *_: create_private(path))
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    # A server that drops the packets must not hang a command (or a round) for minutes.
    return create_engine(url, pool_pre_ping=True, pool_size=max(5, 2 * mailboxes + 1),
                         connect_args={"connect_timeout": CONNECT_TIMEOUT})  # fmt: skip


def sqlite_file(url: str) -> str | None:
    """The path of an SQLite database's file; None for memory or another backend."""
    if not url.startswith("sqlite"):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def create_private(database: str | None) -> None:
    """Create a new SQLite database file readable and writable by its owner only (0600)
    before SQLite opens it, which would make it 0644 under the usual umask: the file
    holds every client's mail and the install's token secret. SQLite gives its -wal,
    -shm and -journal files the main file's permissions. An existing file is left as
    it is (its mode is the admin's choice); a path that cannot be created is left for
    SQLite to report."""
    if database is None:
        return
    try:
        descriptor = os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError:  # it exists (or a link is there): never touched; or SQLite will say why
        return
    try:
        os.fchmod(descriptor, 0o600)  # whatever the umask: 0600 exactly
    finally:
        os.close(descriptor)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    # Transactions are begun by `_sqlite_begin_immediate`, not by the driver.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin_immediate(connection: Connection) -> None:
    """Take the write lock when a transaction begins, waiting for it if need be.

    A deferred transaction that reads first and writes later fails at once with
    "database is locked" when another process (the sender) wrote in between;
    BEGIN IMMEDIATE makes it wait its turn instead. A transaction that only reads
    (`Store.reading`) takes no lock: in WAL mode it never waits for a writer.
    """
    read_only = connection.get_execution_options().get(READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def upsert_insert(connection: Connection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """The dialect's INSERT of `table`, which has ON CONFLICT; the PostgreSQL dialect
    is imported only by an install on PostgreSQL (it costs SQLite's start a few
    hundredths of a second)."""
    if connection.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


@dataclass(frozen=True, slots=True)
class Upgrade:
    """What `upgrade_schema` did: the revision before (None: a new database) and after."""

    before: str | None
    after: str
    steps: int

    def __str__(self) -> str:
        plural = "step" if self.steps == 1 else "steps"
        if self.steps == 0:
            return f"database is up to date at {self.after}"
        if self.before is None:
            return f"database created at {self.after} ({self.steps} {plural})"
        return f"database migrated {self.before} → {self.after} ({self.steps} {plural})"


_INIT_LOCK = text("SELECT pg_advisory_xact_lock(:key)")


def upgrade_schema(engine: Engine) -> Upgrade:
    """Create or upgrade the schema to the newest revision; safe to run again, also
    twice at once: the second waits for the first (PostgreSQL: an advisory lock held
    to the commit; SQLite: the write lock BEGIN IMMEDIATE takes), then finds the
    schema up to date."""
    from alembic import command  # imported here: it costs every other command 0.15 s
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from mailgate.store.locks import INIT_KEY

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(_INIT_LOCK, {"key": INIT_KEY})
        before = MigrationContext.configure(connection).get_current_revision()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        after = MigrationContext.configure(connection).get_current_revision()
    assert after is not None  # upgraded to head: there is one
    steps = 0 if after == before else len(list(script.iterate_revisions(after, before or "base")))
    return Upgrade(before=before, after=after, steps=steps)


@contextlib.contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that only reads: on SQLite it takes no write lock
    (a deferred BEGIN), so the CLI's views never wait for a worker's batch, nor hold
    one up; in WAL mode a reader sees the last commit."""
    with engine.connect() as connection:
        connection.execution_options(**{READ_ONLY: True})
        with connection.begin():
            yield connection
