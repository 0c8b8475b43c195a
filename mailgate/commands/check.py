"""`mailgate check [--send-test ADDRESS]`: walk the road to each mail server a step
at a time, and stop at the first step that fails with one line naming the fix.

For IMAP, then SMTP: name resolution, TCP, TLS (the certificate's problem
named), the log-in (a wrong password told apart from a refused XOAUTH2 token),
and for IMAP the folders (the processed and failed folders are created if
missing, as `run` does). Every step prints one line; the failing one goes to
stderr and sets the exit status. With several mailboxes each is checked apart.
`--send-test` then sends a test notification through SMTP, as the worker
would, and a probe to the support address's plus address (`support+check.…`):
it reports whether the probe reached the mailbox, as the agents' reply
addresses must (SPEC §14), and removes it there. The database is checked
first (reachable, initialised, its schema this version's), without creating
an SQLite file that is not there; a failure there (status 6) does not stop
the mail servers' steps. No line ever holds a password or token.

With `[trust] agents = "from"` it warns that the From address alone makes an agent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailgate import exits

# The network and e-mail modules are imported where used: they cost every command's start.
if TYPE_CHECKING:
    import socket
    import ssl
    from email.message import EmailMessage

    from mailgate.app import App
    from mailgate.config import Credentials, ImapSettings, Settings

EXIT_IMAP = 10  # the tens say which server, the units which step failed (`Step`)
EXIT_SMTP = 20
SUBJECTS = {"en": "Test notification from mailgate check",
            "ru": "Тестовое уведомление от mailgate check"}  # fmt: skip
DEFAULT_PORTS = {("imap", "tls"): 993, ("imap", "starttls"): 143,
                 ("smtp", "tls"): 465, ("smtp", "starttls"): 587}  # fmt: skip
# What to do about a certificate, by OpenSSL's verify code.
CERTIFICATE_FIXES = {
    10: "renew the server's certificate",
    18: "add its CA to this machine's trust store (or SSL_CERT_FILE)",
    19: "add its CA to this machine's trust store (or SSL_CERT_FILE)",
    20: "add its CA to this machine's trust store (or SSL_CERT_FILE)",
    62: "give as host the name the certificate is for",
}
# OpenSSL's reasons when the first bytes back are not TLS: a plain-text greeting.
PLAIN_TEXT_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "UNKNOWN_PROTOCOL"}
)


class Step(enum.IntEnum):
    """The steps in order; the value is the units digit of the exit status."""

    DNS = 1
    TCP = 2
    TLS = 3
    LOGIN = 4
    FOLDERS = 5  # IMAP only
    SEND = 6  # SMTP only: --send-test


class StepFailed(Exception):
    def __init__(self, line: str, code: int) -> None:
        super().__init__(line)
        self.line = line
        self.code = code


EPILOG = f"""exit status:
  0      every step passed
  2      bad configuration (the line names the key)
  6      the database: unreachable, not initialised, or its schema not this version's
  {EXIT_IMAP + Step.DNS}/{EXIT_SMTP + Step.DNS}  IMAP/SMTP host name does not resolve
  {EXIT_IMAP + Step.TCP}/{EXIT_SMTP + Step.TCP}  IMAP/SMTP port refused or no answer
  {EXIT_IMAP + Step.TLS}/{EXIT_SMTP + Step.TLS}  IMAP/SMTP TLS failed (plain port, certificate)
  {EXIT_IMAP + Step.LOGIN}/{EXIT_SMTP + Step.LOGIN}  IMAP/SMTP log-in refused (password or token)
  {EXIT_IMAP + Step.FOLDERS}     IMAP folder missing or cannot be created
  {EXIT_SMTP + Step.SEND}     --send-test: the SMTP server refused the test notification
With several mailboxes the status is that of the first one that failed."""


def register(commands: argparse._SubParsersAction) -> None:
    check = commands.add_parser(
        "check", help="walk the steps to IMAP and SMTP; name the one that fails",
        description=__doc__, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    check.add_argument(
        "--send-test", type=_address, metavar="ADDRESS",
        help="then send a test notification to ADDRESS, from each mailbox, and a probe to "
        "its support+ address to see that the agents' reply addresses reach the mailbox",
    )  # fmt: skip
    check.add_argument(
        "--probe-wait", type=float, default=60.0, metavar="SECONDS",
        help="how long to wait for the support+ probe in the mailbox (default 60)",
    )  # fmt: skip
    check.set_defaults(handler=check_command)


def check_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.config import verify_secrets
    from mailgate.template_check import check_templates

    settings = app.settings
    check_templates(app.install)  # an admin's broken template is a config error, named
    print(f"config: ok ({settings.database_url.split('://')[0]} database)")
    if (warning := database_file_warning(settings.database_url)) is not None:
        print(warning, file=sys.stderr)
    if settings.trust.agents == "from":
        print(
            "warning: [trust] agents = \"from\": anyone who writes From an agent address acts "
            "as that agent; keep it only if your MX rejects outside mail claiming the agents' "
            "domains (docs/trust.md)",
            file=sys.stderr,
        )
    verify_secrets(settings)  # a missing password stops us here, named (status 2)
    for warning in hook_warnings(settings):
        print(warning, file=sys.stderr)
    several = len(settings.mailboxes) > 1
    first_failure = check_database(app)
    for mailbox in settings.mailboxes:
        label = f"mailbox {mailbox.mailbox}: " if several else ""
        code = check_mailbox(mailbox, label=label, send_test=args.send_test,
                             probe_wait=args.probe_wait)  # fmt: skip
        first_failure = first_failure or code
    return first_failure


def check_database(app: App) -> int:
    """The database's line: ok with its schema revision, or what is wrong (status 6)."""
    from mailgate.errors import DatabaseError
    from mailgate.store.health import database_errors, require_schema
    from mailgate.urls import masked_url

    url = app.settings.database_url
    try:
        with database_errors(url):
            revision = require_schema(app.engine, url)
    except DatabaseError as exc:
        print(f"mailgate: {exc}", file=sys.stderr)
        return exits.DATABASE
    print(f"database: ok ({masked_url(url)}, schema at {revision})", flush=True)
    return 0


def hook_warnings(settings: Settings) -> list[str]:
    """A line for each command hook whose program is not there to run: every call of
    it would fail, and wait in the queue (docs/hooks.md)."""
    import shutil

    return [f"warning: hook {hook.name}: {hook.command[0]} is not an executable program here; "
            "its calls will fail and wait until it is"
            for hook in settings.hooks
            if hook.command and shutil.which(hook.command[0]) is None]  # fmt: skip


def database_file_warning(database_url: str) -> str | None:
    """A line when the SQLite file is readable or writable by others: it holds every
    client's mail and the token secret. Only its mode is read, never its content."""
    import os
    import stat

    from mailgate.store.engine import sqlite_file

    path = sqlite_file(database_url)
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode) if path is not None else 0
    except OSError:  # not there yet: `init` creates it readable by its owner only
        return None
    if not mode & 0o077:
        return None
    return (f"warning: the database file {path} is open to others (mode {mode:04o}): "
            f"chmod 600 {path}, and its -wal and -shm files")  # fmt: skip


def check_mailbox(
    settings: Settings, *, label: str, send_test: str | None, probe_wait: float = 60.0
) -> int:
    """Print each step's line; the exit status of the first that fails, else 0."""
    try:
        for line in _imap_steps(settings.imap):
            print(label + line, flush=True)
        for line in _smtp_steps(settings, send_test):
            print(label + line, flush=True)
        if send_test is not None:
            reached, line = _plus_address_probe(settings, wait=probe_wait)
            print(label + line, flush=True, file=sys.stdout if reached else sys.stderr)
    except StepFailed as failed:
        print(f"mailgate: {label}{failed.line}", file=sys.stderr)
        return failed.code
    return 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Endpoint:
    """One server as the config names it: `kind` is "imap" or "smtp"."""

    kind: str
    host: str
    port: int
    security: str
    timeout: float

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def failed(self, step: Step, problem: str) -> StepFailed:
        base = EXIT_IMAP if self.kind == "imap" else EXIT_SMTP
        return StepFailed(f"{self.kind}: {step.name.lower()} {problem}", base + step)


def _imap_steps(imap: ImapSettings) -> Iterator[str]:
    endpoint = Endpoint(kind="imap", host=imap.host, port=imap.port, security=imap.security,
                        timeout=imap.timeout)  # fmt: skip
    yield from _reach(endpoint)
    yield from _imap_session(endpoint, imap)


def _smtp_steps(settings: Settings, send_test: str | None) -> Iterator[str]:
    smtp = settings.smtp
    endpoint = Endpoint(kind="smtp", host=smtp.host, port=smtp.port, security=smtp.security,
                        timeout=smtp.timeout)  # fmt: skip
    yield from _reach(endpoint)
    yield _smtp_login(endpoint, settings)
    if send_test is not None:
        yield _send_test(endpoint, settings, send_test)


# -- the steps both servers share: name, port, TLS ------------------------------------


def _reach(endpoint: Endpoint) -> Iterator[str]:
    import socket

    host, port = endpoint.host, endpoint.port
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise endpoint.failed(
            Step.DNS,
            f"failed: cannot resolve {host!r} ({exc.strerror}): is [{endpoint.kind}] host right?",
        ) from None
    addresses = sorted({str(info[4][0]) for info in found})
    yield f"{endpoint.kind}: dns ok, {host} is {', '.join(addresses[:3])}"
    try:
        connection = socket.create_connection((host, port), timeout=endpoint.timeout)
    except ConnectionRefusedError:
        raise endpoint.failed(Step.TCP, f"{endpoint.where} refused: is the port right?") from None
    except TimeoutError:
        raise endpoint.failed(
            Step.TCP,
            f"{endpoint.where}: no answer in {endpoint.timeout:g} s: a firewall, or the wrong "
            "host or port?",
        ) from None
    except OSError as exc:
        raise endpoint.failed(
            Step.TCP, f"{endpoint.where}: {exc.strerror or exc}: is the host right?"
        ) from None
    with connection:
        yield f"{endpoint.kind}: tcp ok, {endpoint.where} answers"
        if endpoint.security == "tls":
            yield _handshake(endpoint, connection)
    if endpoint.security == "starttls":
        yield _starttls(endpoint)
    if endpoint.security == "none":
        yield f'{endpoint.kind}: tls off (security = "none"): fine on loopback only'


def _handshake(endpoint: Endpoint, connection: socket.socket) -> str:
    """TLS from the first byte (`security = "tls"`), verified as the worker verifies it."""
    import ssl

    context = ssl.create_default_context()
    try:
        with context.wrap_socket(connection, server_hostname=endpoint.host) as tls:
            return _tls_ok(endpoint, tls)
    except (ssl.SSLError, OSError) as exc:
        raise _tls_failed(endpoint, exc) from None


def _starttls(endpoint: Endpoint) -> str:
    """Plain text, then STARTTLS (`security = "starttls"`), over the standard library's
    clients: only the upgrade is tested here; the log-in step uses mailgate's own."""
    import imaplib
    import smtplib
    import ssl

    context = ssl.create_default_context()
    host, port, timeout = endpoint.host, endpoint.port, endpoint.timeout
    try:
        if endpoint.kind == "imap":
            imap = imaplib.IMAP4(host, port, timeout=timeout)
            try:
                imap.starttls(ssl_context=context)
                assert isinstance(imap.sock, ssl.SSLSocket)  # starttls wrapped it
                return _tls_ok(endpoint, imap.sock)
            finally:
                imap.shutdown()
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.starttls(context=context)
            assert isinstance(smtp.sock, ssl.SSLSocket)  # starttls wrapped it
            return _tls_ok(endpoint, smtp.sock)
    except (imaplib.IMAP4.error, smtplib.SMTPNotSupportedError):
        tls_port = DEFAULT_PORTS[(endpoint.kind, "tls")]
        raise endpoint.failed(
            Step.TLS,
            f'{endpoint.where}: the server offers no STARTTLS here: use security = "tls" '
            f'(usually port {tls_port}), or "none" on loopback',
        ) from None
    except (ssl.SSLError, OSError, smtplib.SMTPException) as exc:
        raise _tls_failed(endpoint, exc) from None


def _tls_ok(endpoint: Endpoint, tls: ssl.SSLSocket) -> str:
    certificate = tls.getpeercert() or {}
    until = certificate.get("notAfter", "?")
    return f"{endpoint.kind}: tls ok, {tls.version()}, certificate valid until {until}"


def _tls_failed(endpoint: Endpoint, exc: Exception) -> StepFailed:
    import ssl

    if isinstance(exc, ssl.SSLCertVerificationError):
        fix = CERTIFICATE_FIXES.get(exc.verify_code, "see the server's certificate")
        return endpoint.failed(
            Step.TLS, f"{endpoint.where} certificate verify failed: {exc.verify_message}: {fix}"
        )
    if isinstance(exc, ssl.SSLError) and exc.reason in PLAIN_TEXT_REASONS:
        other = "starttls" if endpoint.security == "tls" else "none"
        usual = DEFAULT_PORTS[(endpoint.kind, endpoint.security)]
        return endpoint.failed(
            Step.TLS,
            f"{endpoint.where}: the server answers in plain text, not TLS: is this the port for "
            f'security = "{other}"? (TLS is usually on port {usual})',
        )
    return endpoint.failed(Step.TLS, f"{endpoint.where}: {exc}")


# -- log-in, folders, sending: through the code the worker runs ------------------------


def _imap_session(endpoint: Endpoint, imap: ImapSettings) -> Iterator[str]:
    import imaplib

    from imap_tools.errors import ImapToolsError

    from mailgate.errors import TransportError
    from mailgate.ingest import Inbox

    inbox = Inbox(imap)
    logged_in = False
    try:
        inbox.open()
        logged_in = True
        waiting = len(inbox.waiting_uids())
    except TransportError as exc:
        if exc.temporary:  # the road was open a moment ago: the IMAP session broke
            raise endpoint.failed(Step.LOGIN, f"failed, the session broke: {exc}") from None
        raise endpoint.failed(Step.LOGIN, _refused(imap.credentials, "IMAP")) from None
    except imaplib.IMAP4.error as exc:  # not IMAP at all: it hung up or said nonsense
        raise endpoint.failed(Step.LOGIN, f"failed, the session broke: {exc}") from None
    except ImapToolsError as exc:
        logged_in = True
        yield _logged_in(endpoint, imap.credentials)
        raise endpoint.failed(Step.FOLDERS, _folder_problem(inbox, imap, exc)) from None
    finally:
        if logged_in:
            inbox.close()
    yield _logged_in(endpoint, imap.credentials)
    yield (
        f"imap: folders ok, {imap.folder} has {waiting} waiting; {imap.processed_folder}, "
        f"{imap.failed_folder} and {imap.spam_folder} are there"
    )


def _folder_problem(inbox, imap: ImapSettings, exc: Exception) -> str:
    """Which folder, and the names the account has, so that a typo shows."""
    from imap_tools.errors import ImapToolsError, MailboxFolderSelectError

    try:
        names = ", ".join(sorted(folder.name for folder in inbox.box.folder.list()))
    except ImapToolsError:
        names = "?"
    if isinstance(exc, MailboxFolderSelectError):
        return (
            f"failed: {imap.folder!r} cannot be selected: is [imap] folder right? the account "
            f"has: {names}"
        )
    return (
        f"failed: {imap.processed_folder!r}, {imap.failed_folder!r} or {imap.spam_folder!r} "
        f"cannot be created ({exc}): create them, or name existing ones in [imap] "
        f"processed_folder, failed_folder and spam_folder; the account has: {names}"
    )


def _smtp_login(endpoint: Endpoint, settings: Settings) -> str:
    import asyncio

    import aiosmtplib

    from mailgate.send import Mailer

    credentials = settings.smtp.credentials

    async def log_in() -> None:
        client = await Mailer(settings.smtp).connect()
        await client.quit()

    try:
        asyncio.run(log_in())
    except aiosmtplib.SMTPAuthenticationError:
        raise endpoint.failed(Step.LOGIN, _refused(credentials, "SMTP")) from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise endpoint.failed(Step.LOGIN, f"{endpoint.where}: {exc}") from None
    if not credentials.username:
        return "smtp: login not asked for ([smtp] username is not set)"
    return _logged_in(endpoint, credentials)


def _send_test(endpoint: Endpoint, settings: Settings, address: str) -> str:
    import asyncio

    import aiosmtplib

    from mailgate.send import Mailer

    message = render_test_notification(settings, address, now=dt.datetime.now(dt.UTC))
    # As the worker sends: from a return path at [smtp] from_address (SPEC §14),
    # shaped like a notification's but naming none (this one has no outbound row).
    local, _, domain = settings.smtp.from_address.partition("@")
    sender = f"{local}+b.check@{domain}"

    async def send() -> None:
        mailer = Mailer(settings.smtp)
        try:
            await mailer.send(sender, address, message.as_bytes())
        finally:
            await mailer.close()

    try:
        asyncio.run(send())
    except aiosmtplib.SMTPSenderRefused as exc:
        raise endpoint.failed(
            Step.SEND,
            f"refused the sender {exc.sender}: {exc.code} {exc.message}: may this log-in send "
            "as [smtp] from_address with a +suffix (notifications' return paths, "
            "docs/trust.md)?",
        ) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        said = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        raise endpoint.failed(Step.SEND, f"refused the recipient {address}: {said}") from None
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise endpoint.failed(Step.SEND, f"of the test notification failed: {exc}") from None
    return f"smtp: send ok, test notification {message['Message-ID']} to {address}"


def _plus_address_probe(settings: Settings, *, wait: float) -> tuple[bool, str]:
    """Send a probe to `support+check.<random>@domain` and look for it in the watched
    folder for up to `wait` seconds; remove it there. Whether it came, and the line."""
    import asyncio
    import os
    import time

    from imap_tools import AND, H
    from imap_tools.errors import ImapToolsError

    from mailgate.errors import TransportError
    from mailgate.ingest import Inbox
    from mailgate.send import Mailer

    local, _, domain = settings.support_address.partition("@")
    token = os.urandom(6).hex()
    probe = f"{local}+check.{token}@{domain}"
    message = render_test_notification(settings, probe, now=dt.datetime.now(dt.UTC))
    message.replace_header("Message-ID", f"<check-probe.{token}@{domain}>")

    async def send() -> None:
        mailer = Mailer(settings.smtp)
        try:
            await mailer.send(settings.smtp.from_address, probe, message.as_bytes())
        finally:
            await mailer.close()

    started = time.monotonic()
    try:
        asyncio.run(send())
    except Exception as exc:  # the SMTP steps passed: say what this one did, don't stop
        return False, f"warning: the probe to {probe} was not accepted: {exc}"
    imap = settings.imap
    criteria = AND(header=H("Message-ID", f"check-probe.{token}@{domain}"))
    try:
        with Inbox(imap) as inbox:
            while True:
                inbox.box.folder.set(imap.folder)
                if uids := inbox.box.uids(criteria):
                    inbox.box.delete(uids)
                    seconds = time.monotonic() - started
                    return True, (
                        f"imap: plus addressing ok, a mail to {probe} reached {imap.folder} "
                        f"in {seconds:.1f} s (removed): agents' reply addresses will arrive"
                    )
                if time.monotonic() - started > wait:
                    break
                time.sleep(1.0)
    except (TransportError, ImapToolsError, OSError) as exc:
        return False, f"warning: could not look for the probe to {probe}: {exc}"
    return False, (
        f"warning: a mail to {probe} did not reach {imap.folder} within {wait:g} s: the agents' "
        "reply addresses (support+a.…) will not arrive, so agents must pass DMARC at your MX "
        "([trust] authserv_id) or their mail is held; enable plus addressing (docs/trust.md)"
    )


def _logged_in(endpoint: Endpoint, credentials: Credentials) -> str:
    how = "XOAUTH2" if credentials.oauth2 else "password"
    return f"{endpoint.kind}: login ok as {credentials.username} ({how})"


def _refused(credentials: Credentials, server: str) -> str:
    if credentials.oauth2:
        return (
            f"failed: {server} refused the XOAUTH2 token for {credentials.username} (expired, "
            "or without the mail scope? see what token_command prints)"
        )
    return f"failed for {credentials.username} (wrong password?)"


def render_test_notification(settings: Settings, address: str, *, now: dt.datetime) -> EmailMessage:
    """The `check_test` templates in the mailbox's language, in the shape of a notification:
    From the support address, marked automatic, with mailgate's loop marker."""
    import email.policy
    import email.utils
    import socket
    from email.message import EmailMessage

    from jinja2 import Environment, StrictUndefined

    from mailgate.layout import InliningLoader
    from mailgate.notify import template_loader
    from mailgate.parse.auto import MAILGATE_LOOP_MARKER

    language = settings.language if settings.language in SUBJECTS else "en"
    context = {
        "mailbox": settings.mailbox,
        "support_address": settings.support_address,
        "support_name": settings.smtp.from_name,
        "smtp_server": f"{settings.smtp.host}:{settings.smtp.port}",
        "machine": socket.gethostname(),
        "sent_at": now.strftime("%Y-%m-%d %H:%M UTC"),
    }
    loader = template_loader(settings.templates_dir)  # overrides first, then shipped
    loaders = {"txt": loader, "html": InliningLoader(loader)}  # the layout's CSS inlined
    bodies = {
        kind: Environment(loader=loaders[kind], undefined=StrictUndefined, autoescape=kind != "txt")
        .get_template(f"{language}/check_test.{kind}")
        .render(context)
        for kind in ("txt", "html")
    }
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = email.utils.formataddr((settings.smtp.from_name, settings.support_address))
    message["To"] = address
    message["Subject"] = SUBJECTS[language]
    message["Date"] = email.utils.format_datetime(now)
    message["Message-ID"] = email.utils.make_msgid("check", settings.support_address.split("@")[1])
    message["Auto-Submitted"] = "auto-generated"
    message["X-Loop"] = MAILGATE_LOOP_MARKER
    message.set_content(bodies["txt"])
    message.add_alternative(bodies["html"], subtype="html")
    return message


def _address(value: str) -> str:
    local, at, domain = value.strip().rpartition("@")
    if not at or not local or "." not in domain or any(c.isspace() for c in value.strip()):
        raise argparse.ArgumentTypeError(f"{value!r} is not an e-mail address")
    return value.strip()
