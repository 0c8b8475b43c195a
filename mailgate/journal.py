"""The sent journal: what the SMTP pump delivered, written before its next job.

The pump appends the outbox id of each notification right after the server's
`250` (one `write` to an append-only file: in the kernel once it returns, so it
survives a `kill -9`), and only then takes the next job. The worker records
results in the database in bulk; after a crash, the next start reads the
journals of dead owners on this host and marks those notifications sent before
anything is sent again. So at most the mail in flight at the moment of a crash
(`[smtp] connections`) may go twice, and recording costs the database nothing
while a backlog is applied.

One file per owner (`owner.current_owner()`) and outbox (one per mailbox:
several may run in one process, and none may empty another's), in a
directory beside the SQLite
database, or for another database in the state directory, under a name derived
from the database URL: `$MAILGATE_STATE_DIR`, else systemd's `$STATE_DIRECTORY`
(the unit's `StateDirectory=`), else `~/.local/state/mailgate`.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path

from mailgate.config import state_directory

_SUFFIX = ".sent"


def journal_dir(database_url: str) -> Path:
    if database_url.startswith("sqlite:///") and not database_url.endswith(":memory:"):
        database = Path(database_url.removeprefix("sqlite:///"))
        return database.parent / f"{database.name}{_SUFFIX}"
    chosen = os.environ.get("MAILGATE_STATE_DIR")
    state = Path(chosen) if chosen else state_directory() or Path.home() / ".local/state/mailgate"
    return state / f"{hashlib.sha256(database_url.encode()).hexdigest()[:16]}{_SUFFIX}"


def journal_path(directory: Path, owner: str, outbox: str = "") -> Path:
    key = f"{owner}\0{outbox}".encode()
    return directory / f"{hashlib.sha256(key).hexdigest()[:16]}.log"


def open_journal(directory: Path, owner: str, outbox: str = "") -> int:
    """A file descriptor to append to; creates the directory and, beside the
    journal, a file with its owner's name, so that a later start can check it."""
    directory.mkdir(parents=True, exist_ok=True)
    path = journal_path(directory, owner, outbox)
    path.with_suffix(".owner").write_text(owner)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)


def append_sent(descriptor: int, outbound_id: int) -> None:
    os.write(descriptor, b"%d\n" % outbound_id)


def journals(directory: Path) -> Iterator[tuple[str, Path]]:
    """(owner, journal) of every journal in the directory."""
    if not directory.is_dir():
        return
    for owner in sorted(directory.glob("*.owner")):
        yield owner.read_text(), owner.with_suffix(".log")


def read_sent(journal: Path) -> list[int]:
    """The ids in a journal; a last line cut short by a crash is ignored."""
    try:
        lines = journal.read_bytes().split(b"\n")[:-1]  # only lines with their newline
    except FileNotFoundError:
        return []
    return [int(line) for line in lines if line.isdigit()]


def remove(journal: Path) -> None:
    journal.unlink(missing_ok=True)
    journal.with_suffix(".owner").unlink(missing_ok=True)
