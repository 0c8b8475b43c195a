"""Real mail servers on loopback, for the tests and the demo.

Two servers, both bound to 127.0.0.1 on a free high port, several instances
side by side:

- `Dovecot`: a private Dovecot IMAP server (``dovecot -F -c FILE``) whose
  configuration, sockets, state, logs and Maildirs all live in one temporary
  directory. Users come from a ``passwd-file`` with plain passwords; mail is
  owned by one unprivileged uid. It can be stopped and started again on the
  same port and Maildir, to play an outage.
- `SmtpSink`: an aiosmtpd server in a thread that keeps every message it
  receives, can require AUTH (PLAIN or LOGIN, no TLS; or XOAUTH2 checked
  against a token endpoint), and can be told at run time to answer 4xx or 5xx
  to RCPT or DATA.
- `TokenEndpoint`: an OAuth2 token-introspection endpoint (RFC 7662) over
  HTTP in a thread. A `Dovecot(oauth2_url=...)` checks XOAUTH2 and
  OAUTHBEARER log-ins against it (Dovecot's oauth2 passdb), and so does an
  `SmtpSink(oauth2_url=...)`; the test grants and revokes tokens.

`ImapAccount` is one user's view of an IMAP server with the helpers tests use
to drop mail in and read it back.

Command line (for the demo)::

    python -m mailgate.sandbox serve --dir DIR [--imap-port N] [--smtp-port N]
    python -m mailgate.sandbox append --host H --port P --user U --password W FILE.eml...

``serve`` prints one JSON line (host, ports, user, password), writes every mail
the sink receives to ``DIR/outbox/NNNN.eml`` and runs until SIGTERM or SIGINT.

aiosmtpd is a test dependency; it is imported only when an `SmtpSink` starts.
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import email
import email.policy
import json
import logging
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast

from imap_tools import MailBoxUnencrypted
from imap_tools.errors import ImapToolsError

__all__ = [
    "PERMFAIL",
    "TEMPFAIL",
    "CapturedMail",
    "Dovecot",
    "ImapAccount",
    "SandboxError",
    "SmtpSink",
    "TokenEndpoint",
    "main",
]

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
DOVECOT_BINARY = "/usr/sbin/dovecot"
DEFAULT_USER = "support@example.org"
DEFAULT_PASSWORD = "secret"

TEMPFAIL = "451 4.3.0 Try again later"
"""A temporary refusal: a well-behaved client keeps the message and retries."""
PERMFAIL = "554 5.7.1 Message rejected"
"""A permanent refusal: a well-behaved client gives the message up."""

# Unix socket paths are limited to 108 bytes; Dovecot's longest socket name
# under base_dir is about 30 characters.
_MAX_BASE_DIR_LENGTH = 70
_IMAP_TIMEOUT = 10.0
_USER_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]*")
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)")


class SandboxError(RuntimeError):
    """A sandbox server could not be started or used."""


def find_free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (bind to port 0 and let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


# --------------------------------------------------------------------------- IMAP


@dataclass(frozen=True, slots=True, kw_only=True)
class ImapAccount:
    """One user on an IMAP server, with helpers to put mail in and read it back.

    Every helper opens its own connection, so an account can be used from any
    thread while the code under test holds its own connections.
    """

    host: str
    port: int
    user: str
    password: str
    maildir: Path | None = None

    @contextlib.contextmanager
    def connect(self, *, initial_folder: str | None = "INBOX") -> Iterator[MailBoxUnencrypted]:
        """A logged-in imap-tools mailbox; logs out on exit."""
        mailbox = MailBoxUnencrypted(self.host, self.port, timeout=_IMAP_TIMEOUT)
        try:
            mailbox.login(self.user, self.password, initial_folder=initial_folder)
        except BaseException:
            with contextlib.suppress(Exception):
                mailbox.client.shutdown()
            raise
        with mailbox:
            yield mailbox

    def append(self, raw: bytes, folder: str = "INBOX", *, flags: Iterable[str] = ()) -> int | None:
        """APPEND one raw message; returns its UID (from APPENDUID)."""
        return self.append_many([raw], folder, flags=flags)[0]

    def append_many(
        self, raws: Iterable[bytes], folder: str = "INBOX", *, flags: Iterable[str] = ()
    ) -> list[int | None]:
        """APPEND many raw messages over one connection; returns their UIDs in order."""
        flag_set = list(flags)
        uids: list[int | None] = []
        with self.connect(initial_folder=None) as mailbox:
            for raw in raws:
                _, data = mailbox.append(raw, folder, flag_set=flag_set)
                uids.append(_parse_appenduid(data))
        return uids

    def list_folder(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in a folder, oldest UID first. Does not set \\Seen."""
        with self.connect(initial_folder=None) as mailbox:
            mailbox.folder.set(folder, readonly=True)
            typ, data = mailbox.client.uid("SEARCH", "ALL")
            if typ != "OK":
                raise SandboxError(f"UID SEARCH failed in {folder!r}: {data!r}")
            if not data or not data[0].split():
                return []
            typ, data = mailbox.client.uid("FETCH", "1:*", "(UID BODY.PEEK[])")
            if typ != "OK":
                raise SandboxError(f"UID FETCH failed in {folder!r}: {data!r}")
        messages: list[tuple[int, bytes]] = []
        for item in data:
            if isinstance(item, tuple):
                match = _FETCH_UID.search(item[0])
                uid = int(match.group(1)) if match else len(messages)
                messages.append((uid, item[1]))
        messages.sort(key=lambda pair: pair[0])
        return [raw for _, raw in messages]

    def folder_names(self) -> list[str]:
        """Every folder of this user, decoded, as the server lists them."""
        with self.connect(initial_folder=None) as mailbox:
            return [info.name for info in mailbox.folder.list()]

    def create_folder(self, name: str) -> None:
        """CREATE a folder (an error if it exists)."""
        with self.connect(initial_folder=None) as mailbox:
            mailbox.folder.create(name)


def _parse_appenduid(data: list[Any]) -> int | None:
    for item in data:
        if isinstance(item, bytes) and (match := _APPENDUID.search(item)):
            return int(match.group(1))
    return None


def _mail_owner() -> tuple[int, int, str]:
    """The uid, gid and user name that own the Maildirs.

    Dovecot refuses uid 0 for mail ("userdb returned 0 as uid") whatever
    first_valid_uid says, so as root the mail belongs to ``nobody``; as anyone
    else it belongs to that user.
    """
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam("nobody")
        except KeyError:
            return 65534, 65534, "nobody"
        return entry.pw_uid, entry.pw_gid, entry.pw_name
    uid = os.geteuid()
    try:
        name = pwd.getpwuid(uid).pw_name
    except KeyError as error:
        raise SandboxError(f"uid {uid} has no passwd entry; Dovecot needs a user name") from error
    return uid, os.getegid(), name


def _check_traversable(path: Path, uid: int) -> None:
    """Fail early, with a clear message, when the mail uid could not reach `path`."""
    if os.geteuid() != 0:
        return
    for directory in [path, *path.parents]:
        info = directory.stat()
        allowed = info.st_mode & stat.S_IXOTH or (
            info.st_uid == uid and info.st_mode & stat.S_IXUSR
        )
        if not allowed:
            raise SandboxError(
                f"{directory} is not searchable by uid {uid}, who owns the sandbox Maildirs; "
                "put the sandbox under a world-searchable directory (TMPDIR=/tmp)"
            )


def _let_dovecot_read(path: Path, *, directory: bool = False) -> None:
    """Make a passwd-file (or their directory) readable by Dovecot's auth process only.

    As root, Dovecot reads passwd-files as its internal user (``dovecot``), not
    as root.
    """
    mode = 0o700 if directory else 0o600
    if os.geteuid() != 0:
        path.chmod(mode)
        return
    try:
        internal_gid = pwd.getpwnam("dovecot").pw_gid
    except KeyError:
        path.chmod(mode | 0o055 if directory else mode | 0o044)
        return
    os.chown(path, 0, internal_gid)
    path.chmod(mode | 0o050 if directory else mode | 0o040)


_RUNNING: set[Dovecot] = set()


@atexit.register
def _stop_leftovers() -> None:
    """Stop and remove servers whose owner forgot to (the interpreter exits normally)."""
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.close()


class Dovecot:
    """A private Dovecot IMAP server on 127.0.0.1 for tests and the demo.

    Everything lives in a temporary directory (`root`): ``dovecot.conf``,
    ``run/`` (base_dir), ``state/``, ``dovecot.log``, ``passwd/<user>`` (one
    passwd-file per user) and ``home/<user>/Maildir``. `close` stops the server and
    removes that directory; `stop` alone keeps it, so `start` brings the same
    mail back on the same port.

    The master runs in the foreground (``-F``) as our child in its own session:
    its pid is the `Popen`'s, it is stopped with SIGTERM (it then takes about
    1.1 s, a fixed pause of Dovecot's to drain its log process) and SIGKILLed
    with its process group if it does not exit in time. Its stdout and stderr
    go to ``stderr.log``, never to ours. Servers still running when the
    interpreter exits normally are closed by an atexit hook; a Python process
    killed outright leaves its Dovecot behind (``ps`` shows
    ``dovecot -F -c /tmp/mailgate-dovecot-…/dovecot.conf``).
    """

    def __init__(
        self,
        *,
        user: str = DEFAULT_USER,
        password: str = DEFAULT_PASSWORD,
        port: int | None = None,
        binary: str | os.PathLike[str] = DOVECOT_BINARY,
        start_timeout: float = 10.0,
        parent_dir: str | os.PathLike[str] | None = None,
        oauth2_url: str | None = None,
        oauth2_mode: Literal["post", "get", "auth"] = "post",
    ) -> None:
        """`oauth2_url`: also take XOAUTH2 and OAUTHBEARER log-ins, each token checked
        at that introspection URL (a `TokenEndpoint`'s `url`) the way `oauth2_mode`
        says: ``post`` (a form ``token=...``), ``get`` (the URL with the token
        appended: give it ending in ``?token=``) or ``auth`` (a GET with the token
        as the Bearer of its Authorization header). Passwords keep working."""
        self.host = LOOPBACK
        self._oauth2 = (oauth2_url, oauth2_mode) if oauth2_url else None
        self._may_pick_port = port is None
        self._port = port or find_free_port(self.host)
        self._binary = os.fspath(binary)
        self._start_timeout = start_timeout
        self._uid, self._gid, self._owner_name = _mail_owner()
        self._token = secrets.token_hex(4)
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._users: dict[str, str] = {}
        self.root = Path(tempfile.mkdtemp(prefix="mailgate-dovecot-", dir=parent_dir))
        try:
            self.root.chmod(0o711)
            _check_traversable(self.root, self._uid)
            if len(str(self.base_dir)) > _MAX_BASE_DIR_LENGTH:
                raise SandboxError(
                    f"{self.base_dir} is too long for Dovecot's unix sockets; "
                    "use a shorter parent_dir or TMPDIR"
                )
            for directory in (self.base_dir, self.root / "state", self.root / "home"):
                directory.mkdir(mode=0o755)
            (self.root / "passwd").mkdir(mode=0o700)
            _let_dovecot_read(self.root / "passwd", directory=True)
            self.account = self.add_user(user, password)
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise

    # -- where things are

    @property
    def base_dir(self) -> Path:
        return self.root / "run"

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def log_path(self) -> Path:
        return self.root / "dovecot.log"

    @property
    def stderr_path(self) -> Path:
        return self.root / "stderr.log"

    @property
    def port(self) -> int:
        return self._port

    @property
    def user(self) -> str:
        return self.account.user

    @property
    def password(self) -> str:
        return self.account.password

    @property
    def maildir(self) -> Path:
        assert self.account.maildir is not None
        return self.account.maildir

    @property
    def pid(self) -> int | None:
        """The master's pid while it runs."""
        return self._process.pid if self.is_running else None

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- users

    def add_user(self, name: str, password: str) -> ImapAccount:
        """Add a user with an empty Maildir; works while the server runs.

        The account carries the server's port; if the very first `start` had to
        move off a port someone else took, accounts made before it are stale
        (`account_for` refreshes one).
        """
        login = name.lower()  # Dovecot lowercases user names (auth_username_format = %Lu)
        if not _USER_NAME.fullmatch(login):
            raise ValueError(f"unusable IMAP user name {name!r}: letters, digits, ._@+- only")
        if not password or any(char in password for char in ":\r\n"):
            raise ValueError("an IMAP password must be non-empty, without ':' or line breaks")
        with self._lock:
            if login in self._users:
                raise ValueError(f"IMAP user {login!r} exists")
            home = self.root / "home" / login
            home.mkdir(mode=0o700)
            if os.geteuid() == 0:
                os.chown(home, self._uid, self._gid)
            self._users[login] = password
            # One passwd-file per user: Dovecot checks a passwd-file for changes
            # at most once a second, so a user appended to a shared file would
            # be unknown for up to a second; a new file is read at once.
            staging = self.root / "passwd" / f".{login}.tmp"
            staging.write_text(f"{login}:{{PLAIN}}{password}\n", encoding="utf-8")
            _let_dovecot_read(staging)
            staging.replace(self.root / "passwd" / login)
        return ImapAccount(
            host=self.host,
            port=self._port,
            user=name,
            password=password,
            maildir=home / "Maildir",
        )

    def account_for(self, account: ImapAccount) -> ImapAccount:
        """The same account with this server's current port."""
        return ImapAccount(
            host=self.host,
            port=self.port,
            user=account.user,
            password=account.password,
            maildir=account.maildir,
        )

    # -- helpers on the default user

    def append(self, raw: bytes, folder: str = "INBOX", *, flags: Iterable[str] = ()) -> int | None:
        return self.account.append(raw, folder, flags=flags)

    def append_many(
        self, raws: Iterable[bytes], folder: str = "INBOX", *, flags: Iterable[str] = ()
    ) -> list[int | None]:
        return self.account.append_many(raws, folder, flags=flags)

    def list_folder(self, folder: str = "INBOX") -> list[bytes]:
        return self.account.list_folder(folder)

    def folder_names(self) -> list[str]:
        return self.account.folder_names()

    def create_folder(self, name: str) -> None:
        self.account.create_folder(name)

    # -- life cycle

    def start(self) -> None:
        """Start the server and wait until it greets; a no-op if it runs."""
        if self.is_running:
            return
        for attempt in range(3):
            try:
                self._spawn_and_wait()
            except _PortTaken:
                # Someone took the port between find_free_port() and Dovecot's
                # bind. Only a port we picked ourselves, before the first start,
                # may change: a restart must come back where it was.
                if self._may_pick_port and attempt < 2:
                    self._port = find_free_port(self.host)
                    self.account = self.account_for(self.account)
                    continue
                raise SandboxError(
                    f"port {self._port} is in use; Dovecot could not listen\n{self.log_tail()}"
                ) from None
            break
        self._may_pick_port = False
        _RUNNING.add(self)
        log.debug("dovecot sandbox started", extra={"port": self._port, "root": str(self.root)})

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the master and wait for it; SIGKILL its process group if it hangs."""
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                # Still running, so its process group id is still ours to kill.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def log_tail(self, size: int = 3000) -> str:
        """The end of Dovecot's log and of the master's stderr, for error messages."""
        parts = []
        for path in (self.log_path, self.stderr_path):
            try:
                with path.open("rb") as file:
                    file.seek(max(0, path.stat().st_size - size))
                    text = file.read().decode("utf-8", "replace").strip()
            except FileNotFoundError:
                continue
            if text:
                parts.append(f"--- {path.name}\n{text}")
        return "\n".join(parts) or "(dovecot wrote no log)"

    def __repr__(self) -> str:
        state = f"pid {self.pid}" if self.is_running else "stopped"
        return f"<Dovecot {self.host}:{self._port} {state} in {self.root}>"

    # -- internals

    def _spawn_and_wait(self) -> None:
        self.config_path.write_text(self._render_config(), encoding="utf-8")
        log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.stderr_path.open("ab") as output:
            process = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        self._process = process
        deadline = time.monotonic() + self._start_timeout
        while True:
            status = process.poll()
            if status is not None:
                self._process = None
                if b"Address already in use" in self._read_log_from(log_start):
                    raise _PortTaken
                raise SandboxError(
                    f"dovecot exited with status {status} while starting\n{self.log_tail()}"
                )
            greeting = _read_greeting(self.host, self._port)
            if greeting is not None:
                if self._token.encode() in greeting:
                    return
                self.stop()
                raise SandboxError(
                    f"port {self._port} answers, but not as our Dovecot: {greeting!r}"
                )
            if time.monotonic() > deadline:
                self.stop(timeout=2.0)
                raise SandboxError(
                    f"dovecot did not greet on {self.host}:{self._port} within "
                    f"{self._start_timeout} s\n{self.log_tail()}"
                )
            time.sleep(0.01)

    def _read_log_from(self, offset: int) -> bytes:
        try:
            with self.log_path.open("rb") as file:
                file.seek(offset)
                return file.read()
        except FileNotFoundError:
            return b""

    def _render_oauth2(self) -> tuple[str, str, str]:
        """The auth mechanisms, the oauth2 passdb (its args file written) and what limits
        the passwd-file to passwords, if OAuth2 was asked for."""
        if self._oauth2 is None:
            return "plain login", "", ""
        url, mode = self._oauth2
        args = self.root / "dovecot-oauth2.conf.ext"
        args.write_text(
            f"introspection_mode = {mode}\nintrospection_url = {url}\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
            encoding="utf-8",
        )
        args.chmod(0o644)
        # A token is never tried as a password, nor a password as a token.
        passdb = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
"""
        return "plain login xoauth2 oauthbearer", passdb, "\n  mechanisms = plain login"

    def _render_config(self) -> str:
        root = self.root
        mechanisms, oauth2_passdb, passwords_only = self._render_oauth2()
        # Non-root Dovecot runs every process as the caller and cannot chroot.
        unprivileged = (
            ""
            if os.geteuid() == 0
            else f"""
default_login_user = {self._owner_name}
default_internal_user = {self._owner_name}
service imap-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
"""
        )
        return f"""\
# Written by mailgate.sandbox: a private, throw-away Dovecot. Do not edit.
instance_name = mailgate-sandbox-{self._token}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
login_greeting = mailgate sandbox {self._token} ready.
protocols = imap
listen = {self.host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_verbose = yes
# Failed logins: answer after 0.5 s (the floor), not 2 s.
auth_failure_delay = 0
first_valid_uid = {self._uid}
first_valid_gid = {self._gid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
# Seconds, not the default 30, when inotify cannot wake an IDLE client.
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2_passdb}passdb {{
  driver = passwd-file{passwords_only}
  args = scheme=PLAIN {root}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={self._uid} gid={self._gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {self._port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# No anvil penalty socket, no auth penalty: after one wrong password Dovecot
# would otherwise delay every login from 127.0.0.1 by 2 to 15 s.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{unprivileged}"""


class _PortTaken(Exception):
    pass


def _read_greeting(host: str, port: int) -> bytes | None:
    try:
        with socket.create_connection((host, port), timeout=1.0) as connection:
            return connection.makefile("rb").readline(1000)
    except OSError:
        return None


# --------------------------------------------------------------------------- OAuth2


class TokenEndpoint:
    """An OAuth2 token-introspection endpoint (RFC 7662) on 127.0.0.1, in a thread.

    `grant` makes a token active for a user, `revoke` inactive again. It answers
    ``{"active": true, "username": USER}`` for an active token and
    ``{"active": false}`` for any other, whichever way the token comes: a POST
    form ``token=...``, a GET with ``?token=...`` (Dovecot's ``get`` mode
    appends ``&client_id=&client_secret=``), or a GET with ``Authorization:
    Bearer``. `asked` lists every token it was asked about, in order. With
    ``single_use`` a token is active the first time it is asked about only: a
    client that logs in twice with one token is refused the second time.
    """

    def __init__(self, *, single_use: bool = False) -> None:
        self._single_use = single_use
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self._asked: list[str] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _introspection_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="token-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/introspect"

    def grant(self, token: str, user: str) -> None:
        with self._lock:
            self._tokens[token] = user.lower()

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    @property
    def asked(self) -> list[str]:
        with self._lock:
            return list(self._asked)

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            self._asked.append(token)
            user = self._tokens.pop(token, None) if self._single_use else self._tokens.get(token)
        return {"active": True, "username": user} if user else {"active": False}

    def start(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TokenEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _introspection_handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            self._answer(form.get("token", [""])[0])

        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            bearer = self.headers.get("Authorization", "")
            token = query.get("token", [""])[0]
            self._answer(bearer[7:] if bearer.startswith("Bearer ") else token)

        def _answer(self, token: str) -> None:
            body = json.dumps(endpoint.introspect(token)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def token_is_active(url: str, user: str, token: str, *, timeout: float = 5.0) -> bool:
    """Ask an introspection endpoint (RFC 7662, form POST) whether `token` is active
    for `user`, as Dovecot's oauth2 passdb does."""
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode({"token": token}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    return answer.get("active") is True and str(answer.get("username", "")) == user.lower()


# --------------------------------------------------------------------------- SMTP


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedMail:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    login: str | None = None
    """The AUTH user name, when the client authenticated."""


Stage = Literal["rcpt", "data"]


class SmtpSink:
    """An SMTP server in a thread on 127.0.0.1 that keeps what it receives.

    With ``auth=(user, password)`` it offers AUTH PLAIN and LOGIN without TLS
    and answers ``530`` to MAIL until the client has authenticated. With
    ``oauth2_url`` (a `TokenEndpoint`'s `url`) it offers AUTH XOAUTH2 only, each
    token checked at that endpoint, and likewise wants AUTH before MAIL; a
    refused token gets the base64 JSON challenge Gmail sends, then ``535``. `fail`
    makes it refuse RCPT or DATA with a given reply, for the next N commands
    or until `recover`. `on_message` is called in the server thread with each
    accepted message, before the ``250``; if it raises, the client gets a 500
    (aiosmtpd turns handler errors into replies).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        on_message: Callable[[CapturedMail], None] | None = None,
        oauth2_url: str | None = None,
    ) -> None:
        if auth is not None and oauth2_url is not None:
            raise ValueError("give auth (passwords) or oauth2_url (XOAUTH2), not both")
        self.host = LOOPBACK
        self._may_pick_port = port is None
        self._port = port or find_free_port(self.host)
        self._credentials = auth
        self.oauth2_url = oauth2_url
        self._on_message = on_message
        self._changed = threading.Condition()
        self._messages: list[CapturedMail] = []
        self._failure: tuple[Stage, str, int | None] | None = None
        self._rejected = 0
        self._controller: Any = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    @property
    def auth(self) -> tuple[str, str] | None:
        """The (user, password) AUTH needs, or None when the sink takes mail without AUTH."""
        return self._credentials

    @property
    def wants_auth(self) -> bool:
        return self._credentials is not None or self.oauth2_url is not None

    # -- what arrived

    @property
    def messages(self) -> list[CapturedMail]:
        """A copy of what has arrived so far, in order."""
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[CapturedMail]:
        """Block until at least `count` messages have arrived; all of them.

        Raises TimeoutError, saying how many came, after `timeout` seconds.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._messages)} of {count} messages in {timeout} s"
                )
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received and the count of refusals."""
        with self._changed:
            self._messages.clear()
            self._rejected = 0

    # -- failure modes

    def fail(
        self, reply: str = TEMPFAIL, *, stage: Stage = "data", count: int | None = None
    ) -> None:
        """Answer `reply` to the next `count` RCPT or DATA commands (None: until `recover`)."""
        if not re.fullmatch(r"[45]\d\d [^\r\n]*", reply):
            raise ValueError(f"a failure reply is a 4xx or 5xx code and text, not {reply!r}")
        if stage not in ("rcpt", "data"):
            raise ValueError(f"stage is 'rcpt' or 'data', not {stage!r}")
        if count is not None and count < 1:
            raise ValueError("count is at least 1, or None for 'until recover()'")
        with self._changed:
            self._failure = (stage, reply, count)

    def recover(self) -> None:
        """Accept mail again."""
        with self._changed:
            self._failure = None

    @property
    def rejected(self) -> int:
        """How many RCPT/DATA commands were refused by `fail` so far."""
        with self._changed:
            return self._rejected

    # -- life cycle

    def start(self) -> None:
        """Listen (again, after `stop`: same port, messages kept)."""
        if self._controller is not None:
            return
        for attempt in range(3):
            controller = self._make_controller()
            try:
                controller.start()
            except OSError:
                with contextlib.suppress(Exception):
                    controller.stop(no_assert=True)
                if not controller.loop.is_closed():
                    controller.loop.close()
                if self._may_pick_port and attempt < 2:
                    self._port = find_free_port(self.host)
                    continue
                raise
            self._controller = controller
            self._may_pick_port = False
            return

    def stop(self) -> None:
        """Stop listening; open connections are dropped."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpSink {self.host}:{self._port} {len(self.messages)} messages>"

    # -- internals

    def _make_controller(self) -> Any:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self._credentials is not None:
            # Only the authenticator: aiosmtpd's own auth_required=True warns
            # (UserWarning) on every connection when TLS is not required, so
            # the sink enforces AUTH itself in handle_MAIL.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
            _quiet_aiosmtpd_login_data_notice()
        if self.oauth2_url is not None:
            kwargs.update(auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
        handler = _SinkHandler(self) if self.oauth2_url is None else _OAuth2SinkHandler(self)
        return Controller(
            handler,
            hostname=self.host,
            port=self._port,
            server_hostname="sandbox.invalid",
            ready_timeout=5.0,
            **kwargs,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        assert self._credentials is not None
        user, password = self._credentials
        accepted = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    def _take_failure(self, stage: Stage) -> str | None:
        with self._changed:
            if self._failure is None or self._failure[0] != stage:
                return None
            _, reply, count = self._failure
            if count is not None:
                self._failure = (stage, reply, count - 1) if count > 1 else None
            self._rejected += 1
            return reply

    def _capture(self, envelope: Any, session: Any) -> None:
        data = bytes(envelope.original_content or envelope.content or b"")
        login = getattr(session.auth_data, "login", None)
        mail = CapturedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=cast(EmailMessage, email.message_from_bytes(data, policy=email.policy.default)),
            login=login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
        )
        if self._on_message is not None:
            self._on_message(mail)
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()


class _SinkHandler:
    """aiosmtpd hooks; policy lives in `SmtpSink`."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self._sink.wants_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if (reply := self._sink._take_failure("rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (reply := self._sink._take_failure("data")) is not None:
            return reply
        self._sink._capture(envelope, session)
        return "250 2.0.0 Message accepted"


@dataclass(frozen=True, slots=True)
class _TokenLogin:
    login: bytes  # what `CapturedMail.login` shows


class _OAuth2SinkHandler(_SinkHandler):
    """`_SinkHandler` with AUTH XOAUTH2 (aiosmtpd offers every ``auth_*`` method)."""

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        import asyncio

        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        user, token = _parse_xoauth2(blob)
        url = self._sink.oauth2_url
        assert url is not None
        active = user is not None and await asyncio.to_thread(token_is_active, url, user, token)
        if active:
            return AuthResult(success=True, auth_data=_TokenLogin(login=(user or "").encode()))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "SMTP.Send"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(success=False, handled=False, message="535 5.7.8 XOAUTH2 token refused")


def _parse_xoauth2(blob: bytes) -> tuple[str | None, str]:
    """``user=U^Aauth=Bearer T^A^A``, base64-encoded: (U, T), or (None, "") if malformed."""
    import base64
    import binascii

    try:
        text = base64.b64decode(blob, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
    user, auth = fields.get("user"), fields.get("auth", "")
    if not user or not auth.startswith("Bearer "):
        return None, ""
    return user, auth[len("Bearer ") :]


class _DropLoginDataNotice(logging.Filter):
    """aiosmtpd 1.4 logs "Session.login_data is deprecated" on every AUTH, by itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


def _quiet_aiosmtpd_login_data_notice() -> None:
    logger = logging.getLogger("mail.log")
    if not any(isinstance(existing, _DropLoginDataNotice) for existing in logger.filters):
        logger.addFilter(_DropLoginDataNotice())


# --------------------------------------------------------------------------- CLI


def _serve(args: argparse.Namespace) -> int:
    outbox = Path(args.dir) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1_000_000_000))
    counter_lock = threading.Lock()

    def write_eml(mail: CapturedMail) -> None:
        with counter_lock:
            number = next(counter)
        staging = outbox / f".{number:04d}.eml.tmp"
        staging.write_bytes(mail.data)
        staging.replace(outbox / f"{number:04d}.eml")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    smtp_auth = (args.user, args.password) if args.smtp_auth else None
    with (
        Dovecot(user=args.user, password=args.password, port=args.imap_port) as imap,
        SmtpSink(port=args.smtp_port, auth=smtp_auth, on_message=write_eml) as smtp,
    ):
        line = {
            "host": imap.host,
            "imap_port": imap.port,
            "smtp_port": smtp.port,
            "user": imap.user,
            "password": imap.password,
            "smtp_auth": smtp_auth is not None,
            "outbox": str(outbox),
            "maildir": str(imap.maildir),
        }
        print(json.dumps(line), flush=True)
        stop.wait()
    return 0


def _append(args: argparse.Namespace) -> int:
    account = ImapAccount(host=args.host, port=args.port, user=args.user, password=args.password)
    raws = [Path(name).read_bytes() for name in args.files]
    uids = account.append_many(raws, args.folder)
    print(json.dumps({"folder": args.folder, "uids": uids}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mailgate.sandbox", description="Loopback mail servers for the demo."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run Dovecot and an SMTP sink until SIGTERM")
    serve.add_argument("--dir", required=True, help="captured mail goes to DIR/outbox/")
    serve.add_argument("--imap-port", type=int, default=None)
    serve.add_argument("--smtp-port", type=int, default=None)
    serve.add_argument("--user", default=DEFAULT_USER)
    serve.add_argument("--password", default=DEFAULT_PASSWORD)
    serve.add_argument(
        "--smtp-auth", action="store_true", help="require SMTP AUTH with the same user/password"
    )
    serve.set_defaults(handler=_serve)

    append = commands.add_parser("append", help="APPEND .eml files to an IMAP folder")
    append.add_argument("--host", default=LOOPBACK)
    append.add_argument("--port", type=int, required=True)
    append.add_argument("--user", required=True)
    append.add_argument("--password", required=True)
    append.add_argument("--folder", default="INBOX")
    append.add_argument("files", nargs="+", metavar="FILE.eml")
    append.set_defaults(handler=_append)

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (SandboxError, ImapToolsError, OSError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
