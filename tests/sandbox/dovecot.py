"""`Dovecot`: a private Dovecot IMAP server on 127.0.0.1, one per test if need be.

Its configuration, sockets, state, logs and Maildirs all live in one temporary
directory; users come from passwd-files with plain passwords; mail is owned by
one unprivileged uid. It can be stopped and started again on the same port and
Maildir, to play an outage. Importing this module registers an atexit hook
that closes the servers still running.
"""

from __future__ import annotations

import atexit
import contextlib
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
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from tests.sandbox.dovecot_config import render_config
from tests.sandbox.imap_account import ImapAccount
from tests.sandbox.ports import LOOPBACK, SandboxError, find_free_port

log = logging.getLogger(__name__)

DOVECOT_BINARY = "/usr/sbin/dovecot"
DEFAULT_USER = "support@example.org"
DEFAULT_PASSWORD = "secret"

# Unix socket paths are limited to 108 bytes; Dovecot's longest socket name
# under base_dir is about 30 characters.
_MAX_BASE_DIR_LENGTH = 70
_USER_NAME = re.compile(r"[a-z0-9][a-z0-9._@+-]*")


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
        config = render_config(
            root=self.root,
            host=self.host,
            port=self._port,
            uid=self._uid,
            gid=self._gid,
            owner_name=self._owner_name,
            token=self._token,
            oauth2=self._oauth2,
        )
        self.config_path.write_text(config, encoding="utf-8")
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


class _PortTaken(Exception):
    pass


def _read_greeting(host: str, port: int) -> bytes | None:
    try:
        with socket.create_connection((host, port), timeout=1.0) as connection:
            return connection.makefile("rb").readline(1000)
    except OSError:
        return None
