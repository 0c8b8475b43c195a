"""Stored mail wakes the other workers: PostgreSQL LISTEN/NOTIFY.

One worker at a time reads a mailbox (store/locks.py); the others apply what
it stores. Without a signal they would find that work only at their next
poll, a minute later, by when the reader has applied it alone. So storing
new messages notifies a channel in the same transaction (PostgreSQL delivers
it at the commit, never for a rolled-back batch), and a worker that may not
read waits on that channel as well as on its poll interval.

The listener has a connection of its own, outside the pool, since it waits
on it between rounds. If it cannot connect, or its connection breaks, it
raises `PendingListenerLost`; the worker then waits its poll interval as
before and listens again later. On SQLite there is one worker: nothing to
signal. psycopg is imported by the listener only: SQLite never loads it.
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, Engine, text

log = logging.getLogger(__name__)

CHANNEL = "mailgate_pending"
_NOTIFY = text(f"SELECT pg_notify('{CHANNEL}', :mailbox)")


class PendingListenerLost(Exception):
    """The listener's connection broke: poll instead, and listen again later."""


def notify_pending(connection: Connection, mailbox: str) -> None:
    """Tell listening workers, at this transaction's commit, that `mailbox` has new
    stored mail to apply."""
    if connection.dialect.name == "postgresql":
        connection.execute(_NOTIFY, {"mailbox": mailbox})


class PendingListener:
    """Waits until some worker stores new mail, on a connection of its own."""

    def __init__(self, engine: Engine) -> None:
        import psycopg

        self._errors = psycopg.Error
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            self._connection = psycopg.connect(url, autocommit=True, connect_timeout=10)
            self._connection.execute(f"LISTEN {CHANNEL}")
        except psycopg.Error as exc:
            raise PendingListenerLost(str(exc)) from exc

    def wait(self, timeout: float) -> bool:
        """True as soon as new mail is stored (then every signal already queued is
        taken too, so one burst wakes the worker once); False after `timeout` seconds."""
        try:
            woken = any(True for _ in self._connection.notifies(timeout=timeout, stop_after=1))
            if woken:
                for _ in self._connection.notifies(timeout=0):
                    pass
        except self._errors as exc:
            self.close()
            raise PendingListenerLost(str(exc)) from exc
        return woken

    def close(self) -> None:
        try:
            self._connection.close()
        except self._errors:
            log.debug("closing the pending-mail listener failed", exc_info=True)
