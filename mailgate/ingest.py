"""IMAP: log in, fetch raw bytes without marking them seen, move after commit.

Does not interpret content. The inbox is the queue: everything still in the
folder is work to do, oldest UID first; what has been stored and applied is
moved to the processed folder, what could not be parsed to the failed folder,
what the trust rules hold to the spam folder.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import imap_tools
from imap_tools import MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import MailboxLoginError, MailboxMoveError

from mailgate.config import ImapSettings
from mailgate.errors import TransportError

log = logging.getLogger(__name__)

_FETCH_UID = re.compile(rb"UID (\d+)")
_MSG_ID = re.compile(r"<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>")  # no <, >, space


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedMail:
    uid: str
    raw: bytes


class Inbox:
    """One logged-in IMAP session on the configured folder."""

    def __init__(self, settings: ImapSettings) -> None:
        self._settings = settings
        self._box: MailBox | MailBoxUnencrypted | MailBoxStartTls | None = None

    def __enter__(self) -> Inbox:
        self.open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def box(self) -> MailBox | MailBoxUnencrypted | MailBoxStartTls:
        if self._box is None:
            raise RuntimeError("inbox is not open")
        return self._box

    def open(self) -> None:
        settings = self._settings
        credentials = settings.credentials
        # Before connecting: a failing token_command must not leave a socket open.
        secret = credentials.secret.reveal() if credentials.secret else ""
        try:
            box = _connect(settings)
        except (OSError, TimeoutError, imap_tools.errors.ImapToolsError) as exc:
            raise TransportError(
                f"IMAP {settings.host}:{settings.port}: cannot connect: {exc}", temporary=True
            ) from None
        try:
            if credentials.oauth2:
                box.xoauth2(credentials.username or "", secret, initial_folder=None)
            else:
                box.login(credentials.username or "", secret, initial_folder=None)
        except imaplib.IMAP4.abort:
            raise
        except (MailboxLoginError, imaplib.IMAP4.error):  # AUTHENTICATE's NO raises the latter
            _close_quietly(box)
            raise TransportError(
                f"IMAP {settings.host}:{settings.port}: login failed for {credentials.username}",
                temporary=False,
            ) from None
        self._box = box
        _refresh_capabilities(box)
        for folder in (settings.processed_folder, settings.failed_folder, settings.spam_folder):
            _ensure_folder(box, folder)
        box.folder.set(settings.folder)

    def close(self) -> None:
        if self._box is not None:
            try:
                self._box.logout()
            except Exception:  # already broken; the socket is closed either way
                _close_quietly(self._box)
            self._box = None

    def has_idle(self) -> bool:
        return "IDLE" in self.box.client.capabilities

    def waiting_uids(self) -> list[str]:
        """UIDs of every message in the folder, oldest first."""
        self.box.folder.set(self._settings.folder)
        return sorted(self.box.uids("ALL"), key=int)

    def fetch(self, uids: Sequence[str]) -> list[FetchedMail]:
        """Raw bytes of these messages in one command; `BODY.PEEK[]` leaves them unseen."""
        if not uids:
            return []
        status, data = self.box.client.uid("FETCH", ",".join(uids), "(UID BODY.PEEK[])")
        if status != "OK":
            raise TransportError(f"IMAP FETCH failed: {status}", temporary=True)
        fetched = []
        for item in data:
            if not isinstance(item, tuple) or len(item) < 2:
                continue
            match = _FETCH_UID.search(item[0])
            if match is not None:
                fetched.append(FetchedMail(uid=match.group(1).decode(), raw=item[1]))
        return fetched

    def move(self, uids: Sequence[str], folder: str) -> None:
        """Move messages out of the folder; those another worker moved already are skipped."""
        remaining = list(uids)
        for _ in range(3):
            if not remaining:
                return
            try:
                self.box.move(remaining, folder)
                return
            except MailboxMoveError:
                # NO [EXPUNGEISSUED]: some are gone (moved by another worker). Move the rest.
                self.box.client.noop()
                remaining = self.box.uids(f"UID {','.join(remaining)}")
        raise TransportError(f"IMAP MOVE to {folder} keeps failing", temporary=True)

    def delete_copies(
        self,
        folder: str,
        message_ids: Sequence[str],
        *,
        sender: str,
        is_sender: Callable[[bytes], bool],
    ) -> int:
        """Delete from `folder` the messages with one of `message_ids`, and those whose
        From header block `is_sender` accepts (`people erase`); how many went.

        SEARCH matches substrings: a Message-ID is searched only whole, in its angle
        brackets (a stranger's `<>` or `@` would match every message), and a From
        match is read back and checked. Only these UIDs are expunged (UID EXPUNGE,
        where the server has UIDPLUS).
        """
        client = self.box.client
        if not self.box.folder.exists(folder):
            return 0  # nothing of theirs in it
        self.box.folder.set(folder)
        uids: set[str] = set()
        searched = [f"HEADER Message-ID {_quoted(m)}" for m in message_ids if _MSG_ID.fullmatch(m)]
        for chunk in chunks(searched, 50):  # one SEARCH for many: OR OR a b c
            uids |= self._search(*["OR"] * (len(chunk) - 1), *chunk)
        senders = self._search("FROM", _quoted(sender))
        for chunk in chunks(sorted(senders - uids, key=int), 200):
            status, data = client.uid("FETCH", ",".join(chunk),
                                      "(UID BODY.PEEK[HEADER.FIELDS (FROM)])")  # fmt: skip
            for item in data if status == "OK" else ():
                match = _FETCH_UID.search(item[0]) if isinstance(item, tuple) else None
                if match is not None and is_sender(item[1]):
                    uids.add(match.group(1).decode())
        if not uids:
            return 0
        listed = ",".join(sorted(uids, key=int))
        client.uid("STORE", listed, "+FLAGS.SILENT", "(\\Deleted)")
        if "UIDPLUS" in client.capabilities:
            client.uid("EXPUNGE", listed)
        else:
            client.expunge()
        return len(uids)

    def _search(self, *criteria: str) -> set[str]:
        status, data = self.box.client.uid("SEARCH", *criteria)
        if status != "OK" or not data or not data[0]:
            return set()
        return set(data[0].decode("ascii").split())

    def wait_for_mail(self, timeout: float) -> bool:
        """Block until the server reports new mail (IDLE) or `timeout` passes."""
        responses = self.box.idle.wait(timeout=timeout)
        return bool(responses)


def _quoted(value: str) -> str:
    """An IMAP quoted string (RFC 3501): backslash and double quote escaped."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def chunks(items: Sequence[str], size: int) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _connect(settings: ImapSettings) -> MailBox | MailBoxUnencrypted | MailBoxStartTls:
    if settings.security == "tls":
        context = ssl.create_default_context()
        return MailBox(settings.host, settings.port, timeout=settings.timeout, ssl_context=context)
    if settings.security == "starttls":
        context = ssl.create_default_context()
        return MailBoxStartTls(
            settings.host, settings.port, timeout=settings.timeout, ssl_context=context
        )
    return MailBoxUnencrypted(settings.host, settings.port, timeout=settings.timeout)


def _refresh_capabilities(box: MailBox | MailBoxUnencrypted | MailBoxStartTls) -> None:
    """Ask again after login: servers (Dovecot) announce MOVE and UIDPLUS only then.

    With the pre-login list, imap-tools' `move` falls back to COPY + EXPUNGE of
    the whole folder, which would also expunge mail another client deleted.
    """
    status, data = box.client.capability()
    if status == "OK" and data and data[-1]:
        box.client.capabilities = tuple(data[-1].decode("ascii", "replace").upper().split())


def _ensure_folder(box: MailBox | MailBoxUnencrypted | MailBoxStartTls, folder: str) -> None:
    """Create `folder` unless it exists; another worker may create it between the two steps."""
    if box.folder.exists(folder):
        return
    try:
        box.folder.create(folder)
    except imap_tools.errors.MailboxFolderCreateError:
        if not box.folder.exists(folder):
            raise


def _close_quietly(box: MailBox | MailBoxUnencrypted | MailBoxStartTls) -> None:
    try:
        box.client.shutdown()
    except Exception:  # nothing more to do for a broken connection
        log.debug("IMAP shutdown failed", exc_info=True)
