"""mailgate in one process: an inbox in memory, a sender that captures, SQLite in tmp_path.

The worker is the real one (`mailgate.app.build_app(...).worker(clock).run_once`);
only its two edges are replaced, by fakes of our own edges rather than mocks of
servers: `MemoryInbox` stands for the IMAP folder, `CapturingPump` for the SMTP
pump. Nothing opens a socket: the config names the discard port on loopback,
so a stray connection would fail at once instead of waiting.

`InProcessGate` has the methods of `tests.harness.Gate`, so a scenario moves
between the two by moving its file (tests/scenarios/conftest.py provides
`gate` and `make_gate`). A gate builds the app once and gives each round a
new worker, as the long-running `mailgate run` does: a round costs what
applying the mail costs, not a start-up.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import functools
import itertools
import sqlite3
import subprocess
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, cast

from sqlalchemy import create_engine

from mailgate.app import App, build_app
from mailgate.config import load_settings
from mailgate.ingest import FetchedMail
from mailgate.store.engine import upgrade_schema
from tests.harness import ReadsMailgate, run_cli, write_config

if TYPE_CHECKING:  # names only: the fakes follow the protocols, not these modules' layout
    from mailgate.send import Failure, Job, Result
    from mailgate.worker import RunReport

TEMPORARY = "451 4.3.0 Try again later"
PERMANENT = "550 5.1.1 No such user"


@dataclass(frozen=True, slots=True, kw_only=True)
class Nowhere:
    """Server settings for a config whose servers are never contacted."""

    host: str = "127.0.0.1"
    port: int = 9  # discard: nothing listens here, a connection is refused at once
    user: str = "support@example.org"
    password: str = "never-used"


class MemoryInbox:
    """IMAP folders as lists: what `Worker.run_once` needs of `mailgate.ingest.Inbox`.

    UIDs increase across deliveries, as on a server; a moved message leaves
    its folder for the target one, and every move is recorded in `moves`.
    """

    def __init__(self, folder: str = "INBOX") -> None:
        self._folder = folder
        self._folders: dict[str, list[FetchedMail]] = {folder: []}
        self._uids = itertools.count(1)
        self.moves: list[tuple[tuple[str, ...], str]] = []

    def deliver(self, *raws: bytes) -> list[str]:
        """Put messages in the watched folder; returns their UIDs."""
        mails = [FetchedMail(uid=str(next(self._uids)), raw=raw) for raw in raws]
        self._folders[self._folder].extend(mails)
        return [mail.uid for mail in mails]

    def waiting_uids(self) -> list[str]:
        return [mail.uid for mail in self._folders[self._folder]]

    def fetch(self, uids: Sequence[str]) -> list[FetchedMail]:
        wanted = set(uids)
        return [mail for mail in self._folders[self._folder] if mail.uid in wanted]

    def move(self, uids: Sequence[str], folder: str) -> None:
        """Like IMAP MOVE: UIDs no longer in the folder are skipped."""
        wanted = set(uids)
        moving = [mail for mail in self._folders[self._folder] if mail.uid in wanted]
        if not moving:
            return
        staying = [mail for mail in self._folders[self._folder] if mail.uid not in wanted]
        self._folders[self._folder] = staying
        self._folders.setdefault(folder, []).extend(moving)
        self.moves.append((tuple(mail.uid for mail in moving), folder))

    def list_folder(self, folder: str = "INBOX") -> list[bytes]:
        """The raw messages in a folder, oldest first (as `ImapAccount.list_folder`)."""
        return [mail.raw for mail in self._folders.get(folder, [])]

    def folder_names(self) -> list[str]:
        return list(self._folders)


@dataclass(frozen=True, kw_only=True)
class SentMail:
    """One notification as the pump was handed it."""

    rcpt_tos: tuple[str, ...]
    data: bytes
    attempts: int
    mail_from: str = ""  # the envelope sender the job carried ("": the pump's From)

    @functools.cached_property
    def message(self) -> EmailMessage:
        """Parsed as a mail client would, when a test first reads it (most are never read)."""
        return cast(EmailMessage, email.message_from_bytes(self.data, policy=email.policy.default))


@dataclass(slots=True, kw_only=True)
class _FailureMode:
    failure: Failure
    recipients: frozenset[str]
    left: int | None  # jobs still to refuse; None: until `recover`

    def applies_to(self, recipient: str) -> bool:
        return not self.recipients or recipient in self.recipients


class CapturingPump:
    """A `mailgate.send.Pump` that keeps every message instead of speaking SMTP.

    Each job is answered at once: delivered (parsed into `messages`), or
    refused as `fail` was told. The capture outlives a round (`close` keeps
    it) so that a test reads what every round sent, like the SMTP sink.
    """

    def __init__(self) -> None:
        self.messages: list[SentMail] = []
        self.rejected = 0
        self._results: list[Result] = []
        self._failure: _FailureMode | None = None

    def fail(
        self,
        *,
        temporary: bool = True,
        message: str | None = None,
        count: int | None = None,
        recipients: Collection[str] = (),
    ) -> None:
        """Refuse the next `count` jobs (None: until `recover`), or only those to `recipients`.

        A temporary refusal is retried by the outbox later; a permanent one is not.
        """
        if count is not None and count < 1:
            raise ValueError("count is at least 1, or None for 'until recover()'")
        reply = message or (TEMPORARY if temporary else PERMANENT)
        self._failure = _FailureMode(
            failure=(temporary, reply), recipients=frozenset(recipients), left=count
        )

    def recover(self) -> None:
        self._failure = None

    def clear(self) -> None:
        """Forget the messages received and the count of refusals."""
        self.messages.clear()
        self.rejected = 0

    def lane(self) -> CapturingPump:
        """A pump for another mailbox's outbox: its results its own (as each mailbox
        has its SMTP pump), what it sends and refuses this pump's."""
        return _Lane(self)

    def submit(self, jobs: list[Job]) -> None:
        self._answer(jobs, into=self._results)

    def _answer(self, jobs: list[Job], *, into: list[Result]) -> None:
        for outbound_id, recipient, raw, attempts, sender in jobs:
            failure = self._take_failure(recipient)
            if failure is None:
                self.messages.append(SentMail(rcpt_tos=(recipient,), data=raw, attempts=attempts,
                                              mail_from=sender))  # fmt: skip
            into.append((outbound_id, attempts, failure))

    def results(self, *, wait: float = 0.0) -> list[Result]:
        """Everything answered so far; never waits, as every job is answered on submit."""
        found, self._results = self._results, []
        return found

    def close(self) -> None:
        """Nothing to release; the capture stays readable after the round."""

    def _take_failure(self, recipient: str) -> Failure | None:
        mode = self._failure
        if mode is None or not mode.applies_to(recipient):
            return None
        if mode.left is not None:
            mode.left -= 1
            if mode.left == 0:
                self._failure = None
        self.rejected += 1
        return mode.failure


class _Lane(CapturingPump):
    def __init__(self, main: CapturingPump) -> None:
        super().__init__()
        self._main = main

    def submit(self, jobs: list[Job]) -> None:
        self._main._answer(jobs, into=self._results)

    def acknowledge(self, outbound_ids: list[int]) -> None:
        self._main.acknowledge(outbound_ids)


def create_schema(path: Path) -> Path:
    """An empty SQLite database at the newest schema, as `mailgate init` makes it."""
    engine = create_engine(f"sqlite:///{path}")
    try:
        upgrade_schema(engine)
    finally:
        engine.dispose()
    return path


def copy_database(source: Path, target: Path) -> None:
    """Copy an SQLite database whole (WAL included) with its backup API: migrating
    once and copying is ten times cheaper than migrating for every test."""
    reader, writer = sqlite3.connect(source), sqlite3.connect(target)
    try:
        reader.backup(writer)
    finally:
        reader.close()
        writer.close()


@dataclass
class InProcessGate(ReadsMailgate):
    """One mailgate installation on SQLite whose worker runs in this process."""

    config: Path
    database_url: str
    app: App
    imap: MemoryInbox
    smtp: CapturingPump
    inboxes: dict[str, MemoryInbox]  # by mailbox; `imap` is the first one's
    pumps: dict[str, CapturingPump]  # by mailbox; all capture into `smtp`

    @classmethod
    def create(cls, directory: Path, *, schema: Path, extra_toml: str = "", **top) -> InProcessGate:
        """Write the config (as tests.harness.write_config, on SQLite, then `extra_toml`,
        e.g. [[mailbox]] tables) beside a copy of `schema`, an empty database made by
        `create_schema`. `imap` is the first mailbox's inbox, `inboxes` every one's."""
        config = directory / "mailgate.toml"
        database = directory / "mailgate.sqlite3"
        copy_database(schema, database)
        database_url = f"sqlite:///{database}"
        write_config(config, imap=Nowhere(), smtp=Nowhere(), database_url=database_url, **top)
        config.write_text(config.read_text() + extra_toml)
        settings = load_settings(config)
        inboxes = {mailbox.mailbox: MemoryInbox() for mailbox in settings.mailboxes}
        smtp = CapturingPump()
        pumps = {m.mailbox: smtp.lane() for m in settings.other_mailboxes}
        return cls(config=config, database_url=database_url, app=build_app(settings),
                   imap=inboxes[settings.mailbox], smtp=smtp, inboxes=inboxes,
                   pumps={settings.mailbox: smtp, **pumps})  # fmt: skip

    def close(self) -> None:
        self.app.engine.dispose()

    def run_once(self, now: str | None = None, *, check: bool = True) -> RunReport:
        """One round of the worker, as `mailgate run --once [--now NOW]`.

        With `check`, a round that reports an error fails the test, as the
        command's non-zero exit does.
        """
        moment = dt.datetime.fromisoformat(now) if now else None
        clock = (lambda: moment) if moment else (lambda: dt.datetime.now(dt.UTC))
        report = self.app.worker(clock).run_once(inboxes=self.inboxes, pumps=self.pumps)
        assert not (check and report.errors), report.errors
        return report

    def deliver(self, *raws: bytes) -> None:
        self.imap.deliver(*raws)

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Any mailgate command, in-process, with its exit code and output."""
        result = run_cli(self.config, *args)
        assert not (check and result.returncode), result.stderr
        return result
