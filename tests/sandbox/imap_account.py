"""`ImapAccount`: one user's view of any IMAP server, to put mail in and read it back."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imap_tools import MailBoxUnencrypted

from tests.sandbox.ports import SandboxError

_IMAP_TIMEOUT = 10.0
_APPENDUID = re.compile(rb"\[APPENDUID \d+ (\d+)\]")
_FETCH_UID = re.compile(rb"\bUID (\d+)")


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
