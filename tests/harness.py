"""mailgate under test: a config on the real servers, run as admins run it.

`gate` is parametrized over both databases: SQLite in a temp dir, and a fresh
PostgreSQL database per test on 127.0.0.1:5432 (never skipped: a missing
server is an error, see .ci/run).

The same methods, with the worker run in-process on a memory inbox and a
capturing pump, are `tests.inprocess.InProcessGate` (tests/scenarios/); what
the two gates share is `ReadsMailgate`.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from sqlalchemy import create_engine, text

from mailgate.cli import main
from tests.sandbox import ImapAccount, SmtpSink

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
AGENT = "alice@support.example.org"
TEAM = "team@example.org"
LEAD = "lead@example.org"


class Server(Protocol):
    """Where a config points a mailbox: a Dovecot account, the SMTP sink, or nowhere."""

    host: str
    port: int


class Account(Server, Protocol):
    user: str
    password: str


def run_cli(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A mailgate command run in-process, its output captured as a subprocess's would be.

    `main` sets up logging for a whole process; the root logger is given back
    as it was, so pytest keeps capturing the log of what runs next.
    """
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["--config", str(config), "--log-level", "WARNING", *args])
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    return subprocess.CompletedProcess(
        ["mailgate", *args], code, stdout.getvalue(), stderr.getvalue()
    )


class ReadsMailgate:
    """What every gate offers: read-only commands in-process, and the mail that went out.

    A subclass has `config` (the TOML file), `database_url`, and `smtp`
    (anything whose `messages` have `rcpt_tos` and `message`).
    """

    config: Path
    database_url: str
    smtp: Any

    def read(self, *args: str) -> str:
        """A read-only command, run in-process: it is the same code and much faster."""
        result = run_cli(self.config, *args)
        assert result.returncode == 0, (
            f"mailgate {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
        )
        return result.stdout

    def show(self, tag: str, now: str | None = None) -> dict:
        return json.loads(
            self.read("requests", "show", tag, "--json", *(["--now", now] if now else []))
        )

    def requests(self, *args: str) -> list[dict]:
        return json.loads(self.read("requests", "list", "--json", *args))

    def sent_to(self, address: str) -> list[EmailMessage]:
        return [m.message for m in self.smtp.messages if address in m.rcpt_tos]

    def query(self, sql: str) -> list[tuple]:
        """Rows straight from the database, for what no command shows."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as connection:
                return [tuple(row) for row in connection.execute(text(sql))]
        finally:
            engine.dispose()


@dataclass
class Gate(ReadsMailgate):
    """One mailgate installation: its config file, and the servers it talks to."""

    config: Path
    imap: ImapAccount
    smtp: SmtpSink
    database_url: str
    extra: dict = field(default_factory=dict)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, "-m", "mailgate.cli", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"mailgate {' '.join(args)} exited {result.returncode}:\n{result.stderr}"
            )
        return result

    def run_once(self, now: str | None = None) -> subprocess.CompletedProcess[str]:
        return self.cli("run", "--once", *(["--now", now] if now else []))

    def deliver(self, *raws: bytes) -> None:
        self.imap.append_many(list(raws))


def write_config(path: Path, *, imap: Account, smtp: Server, database_url: str, **top) -> None:
    lines = [
        'support_address = "support@example.org"',
        f'agents = ["{AGENT}", "@agents.example.org"]',
        f'agent_notify = ["{TEAM}"]',
        f'escalation_notify = ["{LEAD}"]',
    ]
    # The tests' MX writes Authentication-Results as `mx.example.org` (tests/mails.py).
    top = {**top, "trust": {"authserv_id": "mx.example.org", **top.get("trust", {})}}
    tables = {key: value for key, value in top.items() if isinstance(value, dict)}
    for key, value in top.items():
        if key not in tables:
            lines.append(f"{key} = {json.dumps(value)}")
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
    lines += [
        "[database]",
        f'url = "{database_url}"',
        "[imap]",
        f'host = "{imap.host}"',
        f"port = {imap.port}",
        'security = "none"',
        f'username = "{imap.user}"',
        f'password = "{imap.password}"',
        "poll_interval = 1",
        "timeout = 10",
        "[smtp]",
        f'host = "{smtp.host}"',
        f"port = {smtp.port}",
        'security = "none"',
        "timeout = 10",
        "[business_hours]",
        'timezone = "Europe/Moscow"',
        'holidays_country = "RU"',
        'holidays = ["2026-12-31"]',
    ]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'mailgate.sqlite3'}"
        return
    name = f"mailgate_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def make_gate(tmp_path, dovecot, smtp_sink, database_url):
    """Build a gate with extra top-level settings, initialised and ready."""

    def build(**top) -> Gate:
        config = tmp_path / "mailgate.toml"
        write_config(config, imap=dovecot, smtp=smtp_sink, database_url=database_url, **top)
        gate = Gate(config=config, imap=dovecot, smtp=smtp_sink, database_url=database_url)
        gate.read("init")
        return gate

    return build


@pytest.fixture
def gate(make_gate) -> Gate:
    return make_gate()
