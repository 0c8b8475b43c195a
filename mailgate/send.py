"""SMTP with aiosmtplib: the `SmtpPump`, a child process that only speaks SMTP.

It never touches the database (so sending uses the second core and SQLite
keeps one writer): the outbox (`mailgate/outbox.py`) hands it jobs and records
the results it reports. Each delivery is appended to the sent journal
(`mailgate/journal.py`) before its connection takes the next job, so at most
`[smtp] connections` messages are ever delivered and in no journal: what a
crash may send twice.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import queue
import ssl
from typing import Protocol

import aiosmtplib

from mailgate.config import SmtpSettings
from mailgate.journal import append_sent

log = logging.getLogger(__name__)

# The server is unreachable, not refusing one message: the rest of the round waits too.
CONNECTION_FAILURES = (aiosmtplib.SMTPConnectError, TimeoutError)
Job = tuple[int, str, bytes, int]  # outbound id, recipient, raw message, attempts so far
Failure = tuple[bool, str]  # temporary?, what the server said
Result = tuple[int, int, Failure | None]  # outbound id, attempts so far, failure or None


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
            try:
                if credentials.oauth2:
                    await client.auth_xoauth2(credentials.username, credentials.secret.reveal())
                else:
                    await client.login(credentials.username, credentials.secret.reveal())
            except BaseException:  # a refused log-in must not leave the connection open
                client.close()
                raise
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

    def submit(self, jobs: list[Job]) -> None: ...

    def results(self, *, wait: float = 0.0) -> list[Result]:
        """What has been reported so far; waits up to `wait` seconds for the first one."""
        ...

    def close(self) -> None: ...


class SmtpPump:
    """Sends jobs from a child process and reports each result; never touches the database."""

    def __init__(self, settings: SmtpSettings, *, journal: int | None = None) -> None:
        """`journal`: a file descriptor of the sent journal, inherited by the child."""
        context = multiprocessing.get_context("fork")
        self._jobs: multiprocessing.Queue = context.Queue()
        self._results: multiprocessing.Queue = context.Queue()
        self._process = context.Process(
            target=_pump_main, args=(settings, self._jobs, self._results, journal), daemon=True
        )
        self._process.start()

    def submit(self, jobs: list[Job]) -> None:
        if jobs:
            self._jobs.put(jobs)

    def results(self, *, wait: float = 0.0) -> list[Result]:
        found: list[Result] = []
        try:
            found.append(self._results.get(timeout=wait) if wait else self._results.get_nowait())
            while True:
                found.append(self._results.get_nowait())
        except queue.Empty:
            pass
        return found

    def close(self) -> None:
        self._jobs.put(None)
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()
        self._jobs.close()
        self._results.close()


def _pump_main(
    settings: SmtpSettings,
    jobs: multiprocessing.Queue,
    results: multiprocessing.Queue,
    journal: int | None,
) -> None:
    asyncio.run(_pump(settings, jobs, results, journal))


async def _pump(
    settings: SmtpSettings,
    jobs: multiprocessing.Queue,
    results: multiprocessing.Queue,
    journal: int | None,
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
                    if journal is not None:  # before this connection takes its next job
                        append_sent(journal, outbound_id)
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
