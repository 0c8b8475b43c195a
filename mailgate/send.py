"""SMTP with aiosmtplib: the `SmtpPump`, a child process that only speaks SMTP.

It never touches the database (so sending uses the second core and SQLite
keeps one writer): the outbox (`mailgate/outbox.py`) hands it jobs and records
the results it reports. Each delivery is appended to the sent journal
(`mailgate/journal.py`) before its connection takes the next job, so at most
`[smtp] connections` messages are ever delivered and in no journal: what a
crash may send twice. The results go back in lists, each put at most
`REPORT_AFTER` (5 ms) after its first result: one put and one wake-up of the
worker for a few results instead of one each (a crash relies on the journal).

A large message (a relayed file) never exists twice in either process: the
outbox's copy goes to the child in pieces cut at line ends, written straight
from that copy into a pipe, and the child writes the pieces to the SMTP
connection one by one, dot-stuffed piece by piece, waiting for the socket
to drain between them. `sendmail` (aiosmtplib) would make three more full
copies: line endings, dot-stuffing, the write buffer.

Every message, large or small, is sent by `send_message`: the envelope and
DATA as `sendmail` sends them, with its exceptions, at a fraction of its CPU
(it parses each address with `email.utils.parseaddr` and runs regexes for
line endings and dot-stuffing over every message; here a composed notice,
its line ends already CRLF, is only counted and dot-stuffed by
`bytes.replace`). An address is sent as it is or refused (`AddressError`, a
permanent failure), never cut down to what `parseaddr` finds in it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import queue
import re
import ssl
from collections.abc import Callable, Sequence
from email.utils import parseaddr
from multiprocessing.connection import Connection
from typing import Protocol

import aiosmtplib
from aiosmtplib.email import quote_address

from mailgate.config import SmtpSettings
from mailgate.journal import append_sent

log = logging.getLogger(__name__)

# The server is unreachable, not refusing one message: the rest of the round waits too.
CONNECTION_FAILURES = (aiosmtplib.SMTPConnectError, TimeoutError)
# outbound id, recipient, raw message, attempts so far, envelope sender (its return
# path, `support+b.<id>.<mac>@domain`: a bounce names the notification, SPEC §14)
Job = tuple[int, str, bytes, int, str]
PIECE = 1024 * 1024  # a message larger than this goes to the child, and to SMTP, in pieces
# As aiosmtplib's DATA: lone CR or LF made CRLF.
_LINE_ENDINGS = re.compile(rb"(?:\r\n|\n|\r(?!\n))")
# An address `quote_address` would send unchanged: a dot-atom local part, a host name.
_PLAIN_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
)
_RECIPIENT_ACCEPTED = (aiosmtplib.SMTPStatus.completed, aiosmtplib.SMTPStatus.will_forward)
_STREAMS_ON = "5."  # the aiosmtplib major version whose protocol `_data` was written for
_STREAM_NEEDS = ("_command_lock", "_response_pending", "_drain_helper", "read_response", "write")
REPORT_AFTER = 0.005  # s: results go to the worker in lists, the first of each this late at most
Failure = tuple[bool, str]  # temporary?, what the server said
Result = tuple[int, int, Failure | None]  # outbound id, attempts so far, failure or None


class AddressError(ValueError):
    """An address that cannot go on an SMTP command line as it is."""


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

    async def send(self, sender: str, recipient: str, raw: bytes | list[bytes]) -> None:
        """`raw` is the message, or its pieces, each ending at a line end (`pieces`)."""
        client = self._idle.pop() if self._idle else await self.connect()
        try:
            await send_message(client, sender, recipient, raw if isinstance(raw, list) else [raw])
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


def pieces(raw: bytes, size: int = PIECE) -> list[tuple[int, int]]:
    """(offset, length) of consecutive pieces of about `size` bytes, each cut after a
    line end, so that line endings and dot-stuffing can be fixed piece by piece."""
    found, start = [], 0
    while start < len(raw):
        end = raw.find(b"\n", start + size - 1) + 1 or len(raw)
        found.append((start, end - start))
        start = end
    return found


async def send_message(
    client: aiosmtplib.SMTP, sender: str, recipient: str, message: Sequence[bytes]
) -> None:
    """`SMTP.sendmail` to one recipient for a message in pieces (see `pieces`; a small
    message is one piece), with the same commands, bytes and exceptions.

    The envelope goes through `SMTP.execute_command`; DATA is written here on
    its protocol, as `execute_data_command` writes it (line endings made CRLF,
    lines starting with a period doubled, the SIZE it declares), but a piece
    at a time, waiting for the socket to drain between them.
    """
    if not _can_stream(client):  # another aiosmtplib inside: its sendmail, at its cost
        await client.sendmail(sender, [recipient], b"".join(message))
        return
    message = [_crlf_line_ends(piece) for piece in message]
    if not message[-1].endswith(b"\r\n"):
        message[-1] += b"\r\n"
    from_address, to_address = _mailbox(sender), _mailbox(recipient)  # both checked first
    if client.is_ehlo_or_helo_needed:
        await _greet(client)
    options = [b"size=%d" % sum(map(len, message))] if client.supports_extension("size") else []
    try:
        response = await client.execute_command(b"MAIL", b"FROM:" + from_address, *options)
        if response.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, sender)
        response = await client.execute_command(b"RCPT", b"TO:" + to_address)
        if response.code not in _RECIPIENT_ACCEPTED:
            refused = aiosmtplib.SMTPRecipientRefused(response.code, response.message, recipient)
            raise aiosmtplib.SMTPRecipientsRefused([refused])
        await _data(client, message)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()  # as sendmail does; the first error is the one to report
        raise


def _mailbox(address: str) -> bytes:
    """`<address>` for MAIL FROM or RCPT TO, the address exactly as given, or AddressError.

    aiosmtplib's `quote_address`, which `sendmail` uses, sends whatever part of
    a string `email.utils.parseaddr` finds (`a>@b` goes as `<a>`); here an
    address is sent as it is or not at all. From Python 3.13 on, `parseaddr`
    finds nothing in `a@b,c@d`, and `quote_address` then sends the string
    whole, two addresses as one: so `parseaddr` must find the address itself.
    """
    try:
        if _PLAIN_ADDRESS.fullmatch(address) or (
            quote_address(address) == f"<{address}>" and parseaddr(address)[1] == address
        ):
            return b"<%s>" % address.encode("ascii")
    except ValueError:  # CR, LF, white space or <> outside a quoted local part; not ASCII
        pass
    raise AddressError(f"{address!r} is not one address that SMTP can carry as it is")


async def _greet(client: aiosmtplib.SMTP) -> None:
    """EHLO, or HELO where EHLO is refused, as `sendmail` greets."""
    try:
        await client.ehlo()
    except aiosmtplib.SMTPHeloError:
        if not client.is_connected:
            raise
        await client.helo()


def _crlf_line_ends(piece: bytes) -> bytes:
    """The piece with lone CR and LF made CRLF; unchanged (not copied) if it has none."""
    crlf = piece.count(b"\r\n")
    if piece.count(b"\n") == crlf and piece.count(b"\r") == crlf:
        return piece
    return _LINE_ENDINGS.sub(b"\r\n", piece)


def _dot_stuffed(piece: bytes) -> bytes:
    """A piece with CRLF line ends, its lines starting with a period given a second one
    (as aiosmtplib's regex does it, at a quarter of the CPU)."""
    if piece.startswith(b"."):
        piece = b"." + piece
    return piece.replace(b"\n.", b"\n..")


def _can_stream(client: aiosmtplib.SMTP) -> bool:
    """Whether `_data` may stream on the connection's protocol: aiosmtplib 5, whose
    private parts it uses (there is no public way to write DATA a piece at a time),
    and has them. Any other version sends with the public `sendmail`."""
    if not aiosmtplib.__version__.startswith(_STREAMS_ON):
        return False
    protocol = client.protocol
    return all(hasattr(protocol, name) for name in _STREAM_NEEDS)


async def _data(client: aiosmtplib.SMTP, message: Sequence[bytes]) -> None:
    protocol = client.protocol
    if protocol is None or protocol._command_lock is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    timeout = client.timeout
    async with protocol._command_lock:
        protocol._response_pending = True
        protocol.write(b"DATA\r\n")
        response = await protocol.read_response(timeout=timeout)
        if response.code != aiosmtplib.SMTPStatus.start_input:
            raise aiosmtplib.SMTPDataError(response.code, response.message)
        for piece in message[:-1]:
            protocol.write(_dot_stuffed(piece))
            await protocol._drain_helper()
        protocol._response_pending = True
        protocol.write(_dot_stuffed(message[-1]) + b".\r\n")  # one write for a small message
        response = await protocol.read_response(timeout=timeout)
        if response.code != aiosmtplib.SMTPStatus.completed:
            raise aiosmtplib.SMTPDataError(response.code, response.message)


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
        reader, self._pieces = context.Pipe(duplex=False)  # large messages, in pieces
        self._process = context.Process(
            target=_pump_main,
            args=(settings, self._jobs, (reader, self._pieces), self._results, journal),
            daemon=True,
        )
        self._process.start()
        reader.close()

    def submit(self, jobs: list[Job]) -> None:
        """Queue the jobs; a large message's pieces follow on the pipe, in the same
        order, written from its one copy (the child reads them as it reads the batch)."""
        if not jobs:
            return
        large = {job[0]: pieces(job[2]) for job in jobs if len(job[2]) > PIECE}
        self._jobs.put([(i, to, len(large[i]) if i in large else raw, n, sender)
                        for i, to, raw, n, sender in jobs])  # fmt: skip
        for outbound_id, _, raw, _, _ in jobs:
            for offset, size in large.get(outbound_id, ()):
                self._pieces.send_bytes(raw, offset, size)

    def results(self, *, wait: float = 0.0) -> list[Result]:
        found: list[Result] = []
        try:
            found += self._results.get(timeout=wait) if wait else self._results.get_nowait()
            while True:
                found += self._results.get_nowait()
        except queue.Empty:
            pass
        return found

    def close(self) -> None:
        self._jobs.put(None)
        self._process.join(timeout=60)
        if self._process.is_alive():
            self._process.kill()
        self._jobs.close()
        self._pieces.close()
        self._results.close()


def _pump_main(
    settings: SmtpSettings,
    jobs: multiprocessing.Queue,
    pipe: tuple[Connection, Connection],
    results: multiprocessing.Queue,
    journal: int | None,
) -> None:
    reader, writer = pipe
    writer.close()  # the parent's end: this process only reads
    asyncio.run(_pump(settings, lambda: _next_batch(jobs, reader), results, journal))


def _next_batch(jobs: multiprocessing.Queue, reader: Connection) -> list | None:
    """The next batch of jobs, a large message's raw as the list of its pieces."""
    batch = jobs.get()
    if batch is None:
        return None
    return [(i, to, [reader.recv_bytes() for _ in range(raw)] if isinstance(raw, int) else raw, n,
             sender) for i, to, raw, n, sender in batch]  # fmt: skip


async def _pump(
    settings: SmtpSettings,
    next_batch: Callable[[], list | None],
    results: multiprocessing.Queue,
    journal: int | None,
) -> None:
    mailer = Mailer(settings)
    semaphore = asyncio.Semaphore(settings.connections)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task] = set()
    unreachable: list[str] = []  # set once the server cannot be reached: don't wait on it again
    reported: list[Result] = []  # not yet put: one put, one wake-up of the worker, for them all

    def report(result: Result) -> None:
        if not reported:
            loop.call_later(REPORT_AFTER, flush)
        reported.append(result)

    def flush() -> None:
        if reported:
            results.put(reported.copy())
            reported.clear()

    async def send(job: Job) -> None:
        outbound_id, recipient, raw, attempts, sender = job
        async with semaphore:
            if unreachable:
                failure: Failure | None = (True, f"not tried: {unreachable[0]}")
            else:
                try:
                    await mailer.send(sender or settings.from_address, recipient, raw)
                    failure = None
                    if journal is not None:  # before this connection takes its next job
                        append_sent(journal, outbound_id)
                except CONNECTION_FAILURES as exc:
                    unreachable.append(str(exc) or type(exc).__name__)
                    failure = (True, unreachable[0])
                except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                    failure = (_is_temporary(exc), str(exc) or type(exc).__name__)
                except AddressError as exc:  # never deliverable
                    failure = (False, str(exc))
        report((outbound_id, attempts, failure))

    while (batch := await loop.run_in_executor(None, next_batch)) is not None:
        for job in batch:
            task = asyncio.create_task(send(job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    await mailer.close()
    flush()
    results.close()
    results.join_thread()


def _is_temporary(error: Exception) -> bool:
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        return all(400 <= response.code < 500 for response in error.recipients)
    code = getattr(error, "code", None)
    return not (isinstance(code, int) and code >= 500)
