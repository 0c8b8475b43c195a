"""Privacy requests (SPEC §16, docs/privacy.md): a person's data exported, or erased.

`export_person` writes what the store finds of an address (store/people.py) as
`export.json`, the raw mail as `.eml` files and the files of that mail;
`erase_person` removes it in one transaction, then deletes the person's mail
from the IMAP folders mailgate moved it to (or says what is left there).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailgate.config import Settings
from mailgate.errors import TransportError
from mailgate.parse.files import stored_files
from mailgate.parse.headers import parse_addresses
from mailgate.parse.mimetree import read_attachment, read_top_headers
from mailgate.store import people as stored
from mailgate.store.engine import reading
from mailgate.store.views import tag_of

log = logging.getLogger(__name__)

EXPORT_FILE = "export.json"
EXPORT_VERSION = 1


class PrivacyRefused(Exception):
    """The address may not be erased (or not without --force); the text says why."""


def normalized_address(given: str) -> str | None:
    """The address as mailgate stores it (lower-cased addr-spec), or None when `given`
    is not one address."""
    found = parse_addresses([given])
    return found[0].address if len(found) == 1 and "," not in given else None


def pseudonym_of(secret: str, address: str) -> str:
    """The stable stand-in of an erased address: the same within one install (so the
    history still shows one person), not computable without the install's secret."""
    digest = hmac.new(secret.encode(), b"erase:" + address.encode(), hashlib.sha256)
    return f"erased-{digest.hexdigest()[:12]}@invalid"


def check_erasable(settings: Settings, address: str, *, force: bool) -> None:
    """Refuse the install's own addresses always, agents and the team's addresses
    unless forced: erasing them would rewrite every request they worked on."""
    for mailbox in settings.mailboxes:
        if address in mailbox.own_addresses:
            raise PrivacyRefused(f"{address} is an address of mailbox {mailbox.mailbox}; "
                                 "it cannot be erased")  # fmt: skip
        if mailbox.is_staff(address) and not force:
            raise PrivacyRefused(f"{address} is an agent or team address of mailbox "
                                 f"{mailbox.mailbox}; give --force to erase it anyway "
                                 "(remove it from the config first)")  # fmt: skip


# -- export ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ExportSummary:
    directory: Path
    requests: int
    messages: int
    events: int
    mail: int
    files: int


def export_person(settings: Settings, engine: Any, address: str, directory: Path,
                  *, now: dt.datetime) -> ExportSummary:  # fmt: skip
    """Write the export into `directory` (made; it must not hold anything yet)."""
    with reading(engine) as connection:
        records = stored.person_records(connection, address)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)  # their mail: the admin's eyes only
    if any(directory.iterdir()):
        raise FileExistsError(f"{directory} is not empty")
    prefixes = settings.tag_prefixes
    tags = {r["id"]: tag_of(prefixes, r["mailbox"], r["id"]) for r in records.requests}
    mail_files: dict[tuple[str, int], str] = {}
    files: list[dict[str, Any]] = []
    for mail in records.mail:
        name = f"mail/{mail.direction}-{mail.id}.eml"
        _write(directory / name, mail.raw)
        mail_files[mail.direction, mail.id] = name
        for attachment in stored_files(mail.raw):
            path = f"files/{export_file_name(len(files) + 1, attachment.filename)}"
            _write(directory / path, read_attachment(mail.raw, attachment))
            files.append({"file": path, "mail": name, **attachment.to_json()})
    document = {
        "format": EXPORT_VERSION,
        "address": address,
        "exported_at": now.isoformat(),
        "requests": [_request_json(r, tags) for r in records.requests],
        "messages": [_message_json(m, tags, mail_files) for m in records.messages],
        "events": [_event_json(e, tags) for e in records.events],
        "mail": [_mail_json(m, mail_files) for m in records.mail],
        "files": files,
    }
    text = json.dumps(document, ensure_ascii=False, indent=2, default=_iso)
    (directory / EXPORT_FILE).write_text(text + "\n", encoding="utf-8")
    return ExportSummary(directory=directory, requests=len(records.requests),
                         messages=len(records.messages), events=len(records.events),
                         mail=len(records.mail), files=len(files))  # fmt: skip


def export_file_name(number: int, filename: str, *, most_bytes: int = 200) -> str:
    """`NNN-filename`, cut to fit a file system's name limit (255 bytes) whatever the
    sender called it, its extension kept. The name is a safe base name already
    (`safe_filename`): no directory, no control character."""
    stem, dot, extension = filename.rpartition(".")
    if not dot or len(extension.encode()) > 16:
        stem, dot, extension = filename, "", ""
    budget = most_bytes - len(dot + extension)
    stem = stem.encode()[:budget].decode("utf-8", "ignore")
    return f"{number:03d}-{stem}{dot}{extension}"


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _iso(value: object) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _tag(tags: dict[int, str], number: int | None) -> str | None:
    return tags.get(number, str(number)) if number is not None else None


def _request_json(row: dict[str, Any], tags: dict[int, str]) -> dict[str, Any]:
    return {"number": row["id"], "tag": tags[row["id"]], "mailbox": row["mailbox"],
            "subject": row["subject"], "status": row["status"], "role": row["role"],
            "notify": row["notify"], "rating": row["rating"],
            "rating_comment": row["rating_comment"], "rated_at": row["rated_at"],
            "requester": row["requester"], "created_at": row["created_at"],
            "updated_at": row["updated_at"], "closed_at": row["closed_at"]}  # fmt: skip


def _message_json(
    row: dict[str, Any], tags: dict[int, str], mail_files: dict[tuple[str, int], str]
) -> dict[str, Any]:
    inbound = row["inbound_id"]
    return {"request": _tag(tags, row["request_id"]), "message_id": row["message_id"],
            "direction": row["direction"], "kind": row["kind"], "from": row["from_address"],
            "to": row["to_address"], "at": row["at"], "subject": row["subject"],
            "text": row["new_text"], "forwarded": row["forwarded"],
            "mail": mail_files.get(("in", inbound)) if inbound is not None else None}  # fmt: skip


def _mail_json(mail: stored.StoredMail, mail_files: dict[tuple[str, int], str]) -> dict[str, Any]:
    return {"file": mail_files[mail.direction, mail.id], "direction": mail.direction,
            "state": mail.state, "at": mail.at}  # fmt: skip


def _event_json(row: dict[str, Any], tags: dict[int, str]) -> dict[str, Any]:
    return {"request": _tag(tags, row["request_id"]), "at": row["at"], "actor": row["actor"],
            "kind": row["kind"], "from": row["from_status"], "to": row["to_status"],
            "detail": row["detail"]}  # fmt: skip


# -- erase ----------------------------------------------------------------------------------


@dataclass(slots=True, kw_only=True)
class ImapCleanup:
    """What became of the person's mail in one IMAP account's folders."""

    mailbox: str
    server: str  # host:port, and the user
    deleted: dict[str, int] = field(default_factory=dict)  # folder -> messages deleted
    error: str = ""  # the account could not be cleaned: its copies are left

    def to_json(self) -> dict[str, Any]:
        return {"mailbox": self.mailbox, "server": self.server, "deleted": self.deleted,
                "error": self.error or None}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasureReport:
    pseudonym: str
    counts: dict[str, int]
    message_ids: list[str]  # of the raw mail dropped, to find its copies in IMAP
    checkpoint: str  # SQLite: what the WAL checkpoint left; "" when all is written over
    imap: list[ImapCleanup] = field(default_factory=list)


def erase_person(
    engine: Any, address: str, *, by: str, now: dt.datetime, dry_run: bool = False
) -> ErasureReport:
    """Erase `address` from the database, in one transaction (rolled back with
    `dry_run`: the counts say what would go).

    On SQLite the transaction runs with `secure_delete` (freed space is zeroed, not
    left in the file) and the WAL is checkpointed afterwards, so the file holds
    no old copy of a page; see docs/privacy.md for PostgreSQL and backups.
    """
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        transaction = connection.begin()
        if sqlite:
            connection.exec_driver_sql("PRAGMA secure_delete = ON")
        secret = stored.install_secret(connection)
        if not secret:
            raise TransportError("database: no install secret; run `mailgate init`",
                                 temporary=False)  # fmt: skip
        pseudonym = pseudonym_of(secret, address)
        erased = stored.erase_person(connection, address, pseudonym, by=by, now=now)
        if dry_run:
            transaction.rollback()
        else:
            transaction.commit()
    checkpoint = _checkpoint(engine) if sqlite and not dry_run else ""
    message_ids = {mid for head in erased.dropped_heads if (mid := _message_id(head))}
    message_ids |= {f"<{mid.strip('<>')}>" for mid in erased.message_ids}
    return ErasureReport(pseudonym=pseudonym, counts=erased.counts,
                         message_ids=sorted(message_ids),
                         checkpoint=checkpoint)  # fmt: skip


def _checkpoint(engine: Any) -> str:
    """Write the WAL into the file and empty it; outside any transaction (the engine
    begins every one IMMEDIATE), on the driver's connection."""
    connection = engine.raw_connection()
    try:
        busy, frames, written = connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    finally:
        connection.close()
    if busy or frames != written:
        return (f"the WAL could not be checkpointed ({written} of {frames} pages; a worker "
                "is reading): old copies stay in the -wal file until the next checkpoint")
    return ""


def _message_id(head: bytes) -> str | None:
    for name, value in read_top_headers(head):
        if name.lower() == "message-id":
            value = " ".join(value.split())
            return value or None
    return None


def clean_imap(settings: Settings, report: ErasureReport, address: str) -> None:
    """Delete the person's mail, and the mail whose copy the erasure dropped, from the
    processed, failed and spam folders of every mailbox's IMAP account. An account
    that cannot be reached is reported in `report.imap` with its error."""
    from mailgate.ingest import Inbox

    def is_sender(header_block: bytes) -> bool:
        values = [line for line in header_block.decode("utf-8", "replace").splitlines()
                  if line.strip()]  # fmt: skip
        text = " ".join(values).partition(":")[2]
        return any(found.address == address for found in parse_addresses([text]))

    for mailbox in _accounts(settings.mailboxes):
        imap = mailbox.imap
        cleanup = ImapCleanup(mailbox=mailbox.mailbox,
                              server=f"{imap.host}:{imap.port} ({imap.credentials.username})")
        report.imap.append(cleanup)
        folders = (imap.processed_folder, imap.failed_folder, imap.spam_folder)
        try:
            with Inbox(imap) as inbox:
                for folder in folders:
                    cleanup.deleted[folder] = inbox.delete_copies(
                        folder, report.message_ids, sender=address, is_sender=is_sender
                    )
        except Exception as exc:  # the edge: whatever the server did, say it and go on
            log.warning("IMAP cleanup failed", extra={"mailbox": mailbox.mailbox})
            cleanup.error = f"{type(exc).__name__}: {exc}"


def _accounts(mailboxes: Iterable[Settings]) -> list[Settings]:
    """One mailbox per IMAP account and set of folders (mailboxes may share one)."""
    seen: set[tuple[object, ...]] = set()
    chosen = []
    for mailbox in mailboxes:
        imap = mailbox.imap
        key = (imap.host, imap.port, imap.credentials.username, imap.processed_folder,
               imap.failed_folder, imap.spam_folder)  # fmt: skip
        if key not in seen:
            seen.add(key)
            chosen.append(mailbox)
    return chosen
