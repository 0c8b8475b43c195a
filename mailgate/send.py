"""Deliver queued notifications with aiosmtplib. Changes no request.

Temporary failures (4xx, connection trouble) are retried with exponential
backoff; permanent ones (5xx) mark the row failed. A crash between sending and
recording means a message may go out twice, never that one is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event as EventType

import aiosmtplib
from sqlalchemy.orm import Session, sessionmaker

from mailgate.config import SmtpSettings
from mailgate.store import repository as repo
from mailgate.store.engine import make_engine, make_sessions
from mailgate.store.models import Outbound

log = logging.getLogger(__name__)

BATCH = 200  # outbox rows claimed at a time
LEASE = dt.timedelta(minutes=10)  # a claimed row is retried by others after this
MAX_ATTEMPTS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> dt.timedelta:
    """1 min, 2 min, 4 min, ... capped at 2 hours."""
    return dt.timedelta(minutes=min(2 ** max(attempts - 1, 0), 120))


class Mailer:
    """A pool of SMTP connections, opened lazily and reused across sends."""

    def __init__(self, settings: SmtpSettings) -> None:
        self._settings = settings
        self._idle: list[aiosmtplib.SMTP] = []

    async def connect(self) -> aiosmtplib.SMTP:
        settings = self._settings
        client = aiosmtplib.SMTP(
            hostname=settings.host,
            port=settings.port,
            timeout=settings.timeout,
            use_tls=settings.security == "tls",
            start_tls=settings.security == "starttls",
            tls_context=ssl.create_default_context() if settings.security != "none" else None,
        )
        await client.connect()
        credentials = settings.credentials
        if credentials.username and credentials.secret is not None:
            if credentials.oauth2:
                await client.auth_xoauth2(credentials.username, credentials.secret.reveal())
            else:
                await client.login(credentials.username, credentials.secret.reveal())
        return client

    async def send(self, sender: str, recipient: str, raw: bytes) -> None:
        client = self._idle.pop() if self._idle else await self.connect()
        try:
            await client.sendmail(sender, [recipient], raw)
        except Exception:
            client.close()
            raise
        self._idle.append(client)

    async def close(self) -> None:
        for client in self._idle:
            try:
                await client.quit()
            except aiosmtplib.SMTPException:
                client.close()
        self._idle.clear()


async def deliver_pending(
    sessions: sessionmaker[Session], settings: SmtpSettings, *, now: dt.datetime
) -> SendReport:
    """Send every due row of the outbox, `settings.connections` at a time."""
    return await deliver_until(sessions, settings, clock=lambda: now, done=lambda: True)


async def deliver_until(
    sessions: sessionmaker[Session],
    settings: SmtpSettings,
    *,
    clock: Callable[[], dt.datetime],
    done: Callable[[], bool],
    poll: float = 0.05,
) -> SendReport:
    """Keep sending what falls due until `done()` holds and a last pass is over.

    Reuses its SMTP connections across passes.
    """
    mailer = Mailer(settings)
    totals = {"sent": 0, "retried": 0, "failed": 0}
    try:
        while True:
            finished = done()  # read first: rows queued before `done` are seen by this pass
            handled = await _deliver_due(mailer, sessions, settings, clock(), totals)
            if finished:
                break
            if not handled:
                await asyncio.sleep(poll)
    finally:
        await mailer.close()
    if any(totals.values()):
        log.info("outbox delivered", extra=totals)
    return SendReport(**totals)


async def _deliver_due(
    mailer: Mailer,
    sessions: sessionmaker[Session],
    settings: SmtpSettings,
    now: dt.datetime,
    totals: dict[str, int],
) -> int:
    handled = 0
    semaphore = asyncio.Semaphore(settings.connections)
    while rows := await asyncio.to_thread(_claim, sessions, now, BATCH):
        results = await asyncio.gather(
            *(_send_one(mailer, semaphore, settings.from_address, row) for row in rows)
        )
        await asyncio.to_thread(_record, sessions, rows, results, now)
        handled += len(rows)
        for result in results:
            totals[_outcome(result)] += 1
        if any(result is not None and _is_temporary(result) for result in results):
            break  # the server is struggling: leave the rest for the next round
    return handled


class SenderProcess:
    """Delivers the outbox from a child process while the parent applies mail.

    Applying and sending are both CPU-bound Python; two processes use two
    cores where two threads would share one interpreter lock.
    """

    def __init__(
        self, database_url: str, settings: SmtpSettings, clock: Callable[[], dt.datetime]
    ) -> None:
        context = multiprocessing.get_context("fork")
        self._done = context.Event()
        self._receive, send_end = context.Pipe(duplex=False)
        self._process = context.Process(
            target=_sender_main,
            args=(database_url, settings, clock, self._done, send_end),
            name="mailgate-sender",
            daemon=True,
        )
        self._process.start()
        send_end.close()

    def finish(self, timeout: float = 3600) -> SendReport:
        """Tell the child to finish once the queue is empty; wait for its report."""
        self._done.set()
        report = SendReport()
        if self._receive.poll(timeout):
            report = self._receive.recv()
        self._process.join(timeout=10)
        self._receive.close()
        return report


def _sender_main(
    database_url: str,
    settings: SmtpSettings,
    clock: Callable[[], dt.datetime],
    done: EventType,
    report_to: Connection,
) -> None:
    engine = make_engine(database_url)  # never the parent's pool: its connections are not ours
    try:
        report = asyncio.run(
            deliver_until(make_sessions(engine), settings, clock=clock, done=done.is_set)
        )
    except Exception:
        log.exception("sender process failed")
        report = SendReport()
    finally:
        engine.dispose()
    report_to.send(report)
    report_to.close()


async def _send_one(
    mailer: Mailer, semaphore: asyncio.Semaphore, sender: str, row: Outbound
) -> Exception | None:
    async with semaphore:
        try:
            await mailer.send(sender, row.recipient, row.raw)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return exc
    return None


def _claim(sessions: sessionmaker[Session], now: dt.datetime, batch: int) -> list[Outbound]:
    with sessions.begin() as session:
        ids = repo.due_outbound_ids(session, now, batch)
        return repo.claim_outbound(session, ids, now + LEASE) if ids else []


def _record(
    sessions: sessionmaker[Session],
    rows: list[Outbound],
    results: list[Exception | None],
    now: dt.datetime,
) -> None:
    with sessions.begin() as session:
        for row, error in zip(rows, results, strict=True):
            if error is None:
                repo.finish_outbound(session, row.id, state="sent", now=now)
                continue
            attempts = row.attempts + 1
            retry = _is_temporary(error) and attempts < MAX_ATTEMPTS
            log.warning(
                "send failed",
                extra={"outbound": row.id, "error": str(error)[:200], "retry": retry},
            )
            repo.finish_outbound(
                session,
                row.id,
                state="pending" if retry else "failed",
                now=now,
                error=str(error)[:2000],
                retry_at=now + backoff(attempts) if retry else None,
            )


def _is_temporary(error: Exception) -> bool:
    code = getattr(error, "code", None)
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [response.code for response in error.recipients]
        return all(400 <= c < 500 for c in codes)
    return not (isinstance(code, int) and code >= 500)


def _outcome(error: Exception | None) -> str:
    if error is None:
        return "sent"
    return "retried" if _is_temporary(error) else "failed"
