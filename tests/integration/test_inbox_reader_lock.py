"""One worker at a time reads a mailbox on PostgreSQL (store/locks.py), on the real
server: a second store on the same database is refused while the first holds the
mailbox, gets it once released or once the holder's connection is gone, and a
worker refused skips reading but still applies and sends what is stored."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import threading
import time

import psycopg
import pytest

from mailgate.app import build_app
from mailgate.config import load_settings
from mailgate.store.database import Store, StoreUnavailable
from mailgate.store.locks import reader_key
from mailgate.worker import Worker
from tests.harness import TEAM, write_config
from tests.inprocess import CapturingPump, MemoryInbox, Nowhere
from tests.mails import make_mail

NOW = dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC)
POSTGRES = [pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def stores(database_url):
    """Two stores on one fresh PostgreSQL database, as two worker processes have."""
    first, second = Store(database_url), Store(database_url)
    yield first, second
    first.close()
    second.close()


def _holders(database_url: str, mailbox: str) -> list[int]:
    """The backend pids holding the mailbox's advisory lock, as PostgreSQL lists them."""
    key = reader_key(mailbox) & 0xFFFFFFFFFFFFFFFF  # pg_locks gives the key as two halves
    dsn = database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 1",
            (key >> 32, key & 0xFFFFFFFF),
        ).fetchall()
    return [pid for (pid,) in rows]


def _terminate(database_url: str, pid: int) -> None:
    dsn = database_url.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_the_key_is_stable_and_differs_per_mailbox():
    assert reader_key("support") == reader_key("support")
    assert reader_key("support") != reader_key("billing")
    assert -(2**63) <= reader_key("support") < 2**63


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_second_store_is_refused_while_the_first_reads_and_gets_it_after(stores):
    first, second = stores
    with first.inbox_reader("support") as reading:
        assert reading
        with second.inbox_reader("support") as other:
            assert other is False
        with second.inbox_reader("billing") as other_mailbox:
            assert other_mailbox  # the lock is per mailbox
    with second.inbox_reader("support") as reading:
        assert reading
        with first.inbox_reader("support") as other:
            assert other is False
    with first.inbox_reader("support") as reading:
        assert reading


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_the_lock_is_released_when_the_block_raises(stores):
    first, second = stores
    with pytest.raises(RuntimeError), first.inbox_reader("support"):
        raise RuntimeError("IMAP broke mid-read")
    with second.inbox_reader("support") as reading:
        assert reading


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_dead_holders_lock_is_released_by_postgresql(stores, database_url):
    first, second = stores
    with first.inbox_reader("support") as reading:
        assert reading
        [holder] = _holders(database_url, "support")
        _terminate(database_url, holder)  # the worker's connection dies mid-read
        deadline = time.monotonic() + 10
        while _holders(database_url, "support") and time.monotonic() < deadline:
            time.sleep(0.05)  # the backend exits asynchronously (not business time)
        with second.inbox_reader("support") as other:
            assert other
    # Leaving the block found the connection dead: no error, and nothing left held.
    assert _holders(database_url, "support") == []
    with first.inbox_reader("support") as reading:
        assert reading


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_lock_released_goes_back_to_the_pool_without_it(database_url):
    store = Store(database_url)
    try:
        for _ in range(3):  # the same pooled connection each time
            with store.inbox_reader("support") as reading:
                assert reading
            assert _holders(database_url, "support") == []
    finally:
        store.close()


def test_the_database_down_while_taking_the_lock_is_store_unavailable():
    store = Store("postgresql+psycopg://postgres@127.0.0.1:9/nothing")  # nothing listens
    try:
        with pytest.raises(StoreUnavailable, match="database:"), store.inbox_reader("support"):
            pytest.fail("the block must not run")
    finally:
        store.close()


def test_on_sqlite_every_store_reads(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    first, second = Store(url), Store(url)
    try:
        with first.inbox_reader("support") as a, second.inbox_reader("support") as b:
            assert a and b
    finally:
        first.close()
        second.close()


@pytest.fixture
def app(tmp_path, database_url):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=Nowhere(), smtp=Nowhere(), database_url=database_url)
    app = build_app(load_settings(config))
    app.store.upgrade()
    yield app
    app.store.close()


def _mail(n: int) -> bytes:
    return make_mail(sender=f"c{n}@corp.example", subject=f"Problem {n}", body="Help.",
                     message_id=f"p{n}@corp.example")  # fmt: skip


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_worker_refused_the_mailbox_skips_reading_but_applies_and_sends(app, database_url):
    mailbox = app.settings.mailbox
    inbox, pump = MemoryInbox(), CapturingPump()
    inbox.deliver(_mail(1))
    other = Store(database_url)  # the reader: another worker, which stored p0 meanwhile
    try:
        with other.inbox_reader(mailbox) as reading, other.transaction() as tx:
            assert reading
            tx.save_inbound(key="p0@corp.example", raw=_mail(0), now=NOW, mailbox=mailbox)
        with other.inbox_reader(mailbox) as reading:
            assert reading
            report = app.worker(lambda: NOW).run_once(inbox=inbox, pump=pump)
    finally:
        other.close()
    assert report.errors == [] and report.read_elsewhere == [mailbox]
    assert report.fetched == 0 and inbox.waiting_uids() == ["1"]  # not read: the other's
    assert report.applied == 1  # the message the reader stored, applied here
    assert sorted(r for m in pump.messages for r in m.rcpt_tos) == sorted(["c0@corp.example", TEAM])
    report = app.worker(lambda: NOW).run_once(inbox=inbox, pump=pump)  # the reader is done
    assert report.read_elsewhere == [] and report.fetched == 1 and report.applied == 1
    assert inbox.waiting_uids() == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_on_sqlite_a_worker_reads_while_another_store_is_open(app, database_url):
    inbox, pump = MemoryInbox(), CapturingPump()
    inbox.deliver(_mail(1))
    other = Store(database_url)
    try:
        with other.inbox_reader(app.settings.mailbox) as reading:
            assert reading
            report = app.worker(lambda: NOW).run_once(inbox=inbox, pump=pump)
    finally:
        other.close()
    assert report.read_elsewhere == [] and report.fetched == 1 and inbox.waiting_uids() == []


class _Inbox:
    """What `Worker._wait` asks of an inbox: it offers IDLE, and counts the IDLEs."""

    def __init__(self) -> None:
        self.idles = 0

    def has_idle(self) -> bool:
        return True

    def wait_for_mail(self, timeout: float) -> bool:
        self.idles += 1
        return True


class _Stop(threading.Event):
    """A stop request whose waits are recorded and end the loop at once (no real wait)."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        self.set()
        return True


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_worker_refused_the_mailbox_polls_instead_of_idling(app):
    imap = dataclasses.replace(app.settings.imap, poll_interval=30.0, idle=True)
    worker: Worker = app.worker(lambda: NOW)
    inbox = _Inbox()
    worker._wait(inbox, imap)  # the reader: IDLE
    assert inbox.idles == 1
    worker.stop_requested = stop = _Stop()
    worker._wait(inbox, imap, read_elsewhere=True)  # refused: no IDLE; on SQLite, polls
    assert inbox.idles == 1 and stop.waits and 0 < stop.waits[0] <= 30.0


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_every_mailbox_thread_gets_its_two_connections_at_once(database_url):
    """Under `run`, each of eight mailbox threads may hold a transaction and its
    mailbox's reader lock at the same moment: 16 connections, more than the driver's
    default pool of 5 + 10 would give without making one thread wait 30 s."""
    store = Store(database_url, mailboxes=8)
    try:
        with contextlib.ExitStack() as held:
            for n in range(8):
                assert held.enter_context(store.inbox_reader(f"box{n}"))
                held.enter_context(store.transaction())
            assert store.engine.pool.checkedout() == 16
    finally:
        store.close()


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_storing_new_mail_wakes_a_listener_at_the_commit(stores):
    """The signal a refused worker waits on: sent by the commit that stores new mail,
    never by a rolled-back store or by mail already known."""
    reader, other = stores
    reader.upgrade()
    listener = other.listen_for_stored_mail()
    assert listener is not None
    try:
        assert listener.wait(0.1) is False
        with reader.transaction() as tx:
            tx.save_inbound_many([("one@x", b"raw one")], now=NOW)
            assert listener.wait(0.3) is False  # not before the commit
        assert listener.wait(5.0) is True
        assert listener.wait(0.1) is False  # one store, one wake-up
        with contextlib.suppress(RuntimeError), reader.transaction() as tx:
            tx.save_inbound_many([("two@x", b"raw two")], now=NOW)
            raise RuntimeError("rolled back")
        with reader.transaction() as tx:
            tx.save_inbound_many([("one@x", b"raw one")], now=NOW)  # known: nothing new
        assert listener.wait(0.3) is False
    finally:
        listener.close()


@pytest.mark.parametrize("database_url", POSTGRES, indirect=True)
def test_a_refused_worker_stops_waiting_when_the_reader_stores_mail(app, database_url):
    """Refused the mailbox, a worker waits for the reader's stored mail (to apply it
    with it), not for its whole poll interval."""
    imap = dataclasses.replace(app.settings.imap, poll_interval=60.0)
    worker: Worker = app.worker(lambda: NOW)
    reader = Store(database_url)
    worker._listener = worker.store.listen_for_stored_mail()  # listening before the store

    def store() -> None:
        with reader.transaction() as tx:
            tx.save_inbound_many([("soon@x", b"raw")], now=NOW)

    storing = threading.Thread(target=store)
    started = time.monotonic()
    storing.start()
    try:
        worker._wait(_Inbox(), imap, read_elsewhere=True)
    finally:
        storing.join()
        reader.close()
        worker._listener.close()
    assert time.monotonic() - started < 4.0  # a slice is 5 s, the poll interval 60 s
