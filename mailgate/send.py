"""Deliver queued notifications with aiosmtplib. Changes no request.

The outbox is drained by the worker, which stays the only writer of the
database: it claims due rows, hands them to an `SmtpPump` (a child process
that only speaks SMTP, so sending uses the second core), and records what the
pump reports. Temporary failures (4xx, connection trouble) are retried with
exponential backoff; permanent ones (5xx) mark the row failed. A crash between
sending and recording means a message may go out twice, never that one is lost.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import multiprocessing
import queue
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiosmtplib

from mailgate.config import SmtpSettings
from mailgate.store.database import Store

log = logging.getLogger(__name__)

BATCH = 200  # outbox rows claimed at a time
IN_FLIGHT = 1000  # rows handed to the pump and not yet reported
LEASE = dt.timedelta(minutes=10)  # a claimed row is retried by others after this
MAX_ATTEMPTS = 12

# The server is unreachable, not refusing one message: the rest of the round waits too.
CONNECTION_FAILURES = (aiosmtplib.SMTPConnectError, TimeoutError)
Job = tuple[int, str, bytes, int]  # outbound id, recipient, raw message, attempts so far
Failure = tuple[bool, str]  # temporary?, what the server said
Result = tuple[int, int, Failure | None]  # outbound id, attempts so far, failure or None


@dataclass(slots=True)
class SendReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int, first: float = 60.0) -> dt.timedelta:
    """`first` seconds, then twice as long at each attempt, capped at 2 hours."""
    return dt.timedelta(seconds=min(first * 2 ** max(attempts - 1, 0), 7200))


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


class Pump(Protocol):
    """What the outbox hands jobs to: `SmtpPump`, or a capturing one in tests."""

    in_flight: int

    def submit(self, jobs: list[Job]) -> None: ...

    def results(self, *, wait: float = 0.0) -> list[Result]: ...

    def close(self) -> None: ...


class SmtpPump:
    """Sends jobs from a child process and reports each result; never touches the database."""

    def __init__(self, settings: SmtpSettings) -> None:
        context = multiprocessing.get_context("fork")
        self._jobs: multiprocessing.Queue = context.Queue()
        self._results: multiprocessing.Queue = context.Queue()
        self._process = context.Process(
            target=_pump_main, args=(settings, self._jobs, self._results), daemon=True
        )
        self._process.start()
        self.in_flight = 0

    def submit(self, jobs: list[Job]) -> None:
        if jobs:
            self.in_flight += len(jobs)
            self._jobs.put(jobs)

    def results(self, *, wait: float = 0.0) -> list[Result]:
        """What has been reported so far; waits up to `wait` seconds for the first one."""
        found: list[Result] = []
        try:
            found.append(self._results.get(timeout=wait) if wait else self._results.get_nowait())
            while True:
                found.append(self._results.get_nowait())
        except queue.Empty:
            pass
        self.in_flight -= len(found)
        return found

    def close(self) -> None:
        self._jobs.put(None)
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()
        self._jobs.close()
        self._results.close()


class Outbox:
    """The worker's side of sending: claim due rows, feed the pump, record results."""

    def __init__(
        self,
        store: Store,
        pump: Pump,
        clock: Callable[[], dt.datetime],
        *,
        retry_seconds: float = 60.0,
    ) -> None:
        self._retry_seconds = retry_seconds
        self._store = store
        self._pump = pump
        self._clock = clock
        self.report = SendReport()
        self._struggling = False  # a temporary failure: leave the rest for the next round

    def feed(self) -> None:
        """Record what the pump reported, and hand it more due rows. Never blocks long."""
        self._record(self._pump.results())
        if self._struggling:
            return
        while self._pump.in_flight < IN_FLIGHT:
            jobs = self._claim()
            if not jobs:
                return
            self._pump.submit(jobs)

    def finish(self) -> SendReport:
        """Send everything due, wait for every result."""
        while True:
            self.feed()
            if self._pump.in_flight == 0:
                return self.report
            self._record(self._pump.results(wait=60))

    def _claim(self) -> list[Job]:
        now = self._clock()
        with self._store.transaction() as tx:
            rows = tx.claim_outbound(now, lease_until=now + LEASE, limit=BATCH)
        return [(row.id, row.recipient, row.raw, row.attempts) for row in rows]

    def _record(self, results: list[Result]) -> None:
        if not results:
            return
        now = self._clock()
        with self._store.transaction() as tx:
            tx.mark_sent([i for i, _, failure in results if failure is None], now)
            for outbound_id, attempts, failure in results:
                if failure is None:
                    self.report.sent += 1
                    log.info("notification sent", extra={"outbound": outbound_id})
                    continue
                temporary, error = failure
                retry = temporary and attempts + 1 < MAX_ATTEMPTS
                self._struggling = self._struggling or temporary
                if retry:
                    self.report.retried += 1
                else:
                    self.report.failed += 1
                log.warning("send failed", extra={"outbound": outbound_id, "retry": retry,
                                                  "error": error[:200]})  # fmt: skip
                tx.mark_unsent(
                    outbound_id,
                    error=error[:2000],
                    retry_at=now + backoff(attempts + 1, self._retry_seconds) if retry else None,
                )


def _pump_main(
    settings: SmtpSettings, jobs: multiprocessing.Queue, results: multiprocessing.Queue
) -> None:
    asyncio.run(_pump(settings, jobs, results))


async def _pump(
    settings: SmtpSettings, jobs: multiprocessing.Queue, results: multiprocessing.Queue
) -> None:
    mailer = Mailer(settings)
    semaphore = asyncio.Semaphore(settings.connections)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task] = set()
    unreachable: list[str] = []  # set once the server cannot be reached: don't wait on it again

    async def send(job: Job) -> None:
        outbound_id, recipient, raw, attempts = job
        async with semaphore:
            if unreachable:
                failure: Failure | None = (True, f"not tried: {unreachable[0]}")
            else:
                try:
                    await mailer.send(settings.from_address, recipient, raw)
                    failure = None
                except CONNECTION_FAILURES as exc:
                    unreachable.append(str(exc) or type(exc).__name__)
                    failure = (True, unreachable[0])
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    failure = (_is_temporary(exc), str(exc) or type(exc).__name__)
        results.put((outbound_id, attempts, failure))

    while (batch := await loop.run_in_executor(None, jobs.get)) is not None:
        for job in batch:
            task = asyncio.create_task(send(job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await mailer.close()
    results.close()
    results.join_thread()


def _is_temporary(error: Exception) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= response.code < 500 for response in error.recipients)
    code = getattr(error, "code", None)
    return not (isinstance(code, int) and code >= 500)
