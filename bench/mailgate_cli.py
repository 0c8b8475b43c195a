"""mailgate as an admin runs it: a config file, a fresh database, the CLI as a subprocess.

`python` is the interpreter whose mailgate is measured: the benchmark's own,
or one in a separate venv holding an older checkout (see bench/README.md).
Commands run in the benchmark's temporary directory, never in a checkout,
so that ``-m mailgate.cli`` imports that interpreter's mailgate.
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from bench.corpus import AGENT_ADDRESS, SUPPORT_ADDRESS
from bench.measure import Run, run_measured

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
DATABASES = ("sqlite", "postgresql")


@dataclass(frozen=True, slots=True, kw_only=True)
class Servers:
    imap_host: str
    imap_port: int
    imap_user: str
    imap_password: str
    smtp_host: str
    smtp_port: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Mailgate:
    """One configured mailgate: its interpreter and its config file."""

    python: str
    config: Path
    log_level: str = "WARNING"

    def command(self, *args: str) -> list[str]:
        return [
            self.python, "-m", "mailgate.cli", "--config", str(self.config),
            "--log-level", self.log_level, *args,
        ]  # fmt: skip

    def run(self, command: list[str]) -> Run:
        return run_measured(command, cwd=self.config.parent)

    def init(self) -> None:
        self.run(self.command("init"))

    def run_once(self) -> Run:
        return self.run(self.command("run", "--once"))


def compile_bytecode(python: str) -> None:
    """Write the bytecode of the mailgate `python` imports, as installing a wheel does.

    Where PYTHONDONTWRITEBYTECODE is set (this machine's shells), a checkout
    never gets its __pycache__, so every start would compile mailgate's source
    again (about 0.07 s of an empty `run --once`), while the libraries, the
    ceiling's among them, had their bytecode written when they were installed.
    """
    subprocess.run(
        [python, "-c", "import compileall, mailgate, os; "
         "compileall.compile_dir(os.path.dirname(mailgate.__file__), quiet=1)"],
        cwd="/", check=True,
    )  # fmt: skip


def describe(python: str) -> str:
    """Which checkout `python` imports mailgate from, and its commit."""
    where = run_measured(
        [python, "-c", "import mailgate, os; print(os.path.dirname(mailgate.__file__))"],
        cwd=Path("/"),
    ).output.strip()
    found = subprocess.run(
        ["git", "-C", where, "log", "-1", "--format=%h %cs %s"], capture_output=True, text=True
    )
    changes = subprocess.run(
        ["git", "-C", where, "status", "--porcelain", "--", "."], capture_output=True, text=True
    )
    commit = found.stdout.strip() or "not a git checkout"
    dirty = " (with uncommitted changes)" if changes.stdout.strip() else ""
    return f"{where} at {commit}{dirty}, run by {python}"


@contextlib.contextmanager
def configured(
    python: str, workdir: Path, servers: Servers, database: str, *, extra: str = ""
) -> Iterator[Mailgate]:
    """A mailgate on a new, initialised database, which is dropped afterwards.

    `extra` is TOML put after the top-level keys: more of them, then tables.
    """
    with fresh_database(database, workdir) as url:
        config = workdir / f"mailgate-{uuid.uuid4().hex[:8]}.toml"
        config.write_text(
            f'support_address = "{SUPPORT_ADDRESS}"\n'
            f'agent_notify = ["{AGENT_ADDRESS}"]\n'
            f"{_flood_allowed(python)}"
            f"{extra}"
            f'[database]\nurl = "{url}"\n'
            f'[imap]\nhost = "{servers.imap_host}"\nport = {servers.imap_port}\n'
            f'security = "none"\nusername = "{servers.imap_user}"\n'
            f'password = "{servers.imap_password}"\n'
            f'[smtp]\nhost = "{servers.smtp_host}"\nport = {servers.smtp_port}\n'
            f'security = "none"\n',
            encoding="utf-8",
        )
        mailgate = Mailgate(python=python, config=config)
        mailgate.init()
        yield mailgate


@functools.cache
def _flood_allowed(python: str) -> str:
    """A backlog is a flood of new requests, each acknowledged: no hourly limit, where the
    measured mailgate has one (an older one, measured `--against`, knows no such key)."""
    probe = "import mailgate.config as c; print('max_acknowledgements_per_hour' in dir(c.Settings))"
    known = subprocess.run([python, "-c", probe], capture_output=True, text=True, check=True,
                           cwd="/")  # not this checkout: the interpreter's own mailgate
    return "max_acknowledgements_per_hour = 1000000\n" if known.stdout.strip() == "True" else ""


@contextlib.contextmanager
def fresh_database(kind: str, workdir: Path) -> Iterator[str]:
    """The SQLAlchemy URL of an empty database: a new SQLite file or PostgreSQL database."""
    name = f"mailgate_bench_{uuid.uuid4().hex[:10]}"
    if kind == "sqlite":
        path = workdir / f"{name}.sqlite3"
        try:
            yield f"sqlite:///{path}"
        finally:
            for leftover in workdir.glob(f"{name}.sqlite3*"):  # -wal, -shm, the .sent journal
                if leftover.is_dir():
                    shutil.rmtree(leftover)
                else:
                    leftover.unlink()
        return
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_URL.format(name=name)
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
