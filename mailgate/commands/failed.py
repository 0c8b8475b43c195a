"""`mailgate failed list|show|retry`: quarantined messages, and applying them again.

A message is quarantined when it cannot be parsed, when applying it kept
failing, or when it is over `max_message_bytes`; the last kind keeps only its
header block in the database, the whole message being in the IMAP failed
folder, where `show --raw` and `retry` read it back. `retry` puts a message
back to pending with a compare-and-set on its state and applies it at once,
so a message applied in the meantime is never applied twice.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mailgate.commands.output import (
    EXIT_FAILED,
    EXIT_NOT_FOUND,
    complain,
    iso,
    print_json,
)

# The e-mail modules load where a failed message is described: not with every command.
if TYPE_CHECKING:
    import email.message

    from mailgate.app import App
    from mailgate.config import ImapSettings
    from mailgate.store.operations import StoredInbound

TOO_LARGE = "too large"  # how the worker's reason for an oversized message begins


def register(commands: argparse._SubParsersAction) -> None:
    failed = commands.add_parser("failed", help="quarantined messages: list, show, retry")
    actions = failed.add_subparsers(dest="failed_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="key, reason, from, subject, when")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_failed)
    show = actions.add_parser("show", help="why one message is quarantined")
    show.add_argument("key", help="the key shown by `failed list` (its Message-ID)")
    show.add_argument("--raw", action="store_true", help="print the message as it was received")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=show_failed)
    retry = actions.add_parser(
        "retry", help="apply it again (after the cause was fixed); never twice"
    )
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("key", nargs="?", help="the key shown by `failed list`")
    which.add_argument("--all", action="store_true", help="every quarantined message")
    retry.add_argument("--json", action="store_true", help="print a JSON list of outcomes")
    retry.set_defaults(handler=retry_failed)


def describe(message: StoredInbound) -> dict:
    import email
    import email.policy

    headers = email.message_from_bytes(message.raw, policy=email.policy.compat32)
    return {
        "key": message.key,
        "state": message.state,
        "reason": message.error,
        "from": _header(headers, "From"),
        "subject": _header(headers, "Subject"),
        "at": iso(message.received_at),
        "size": message.size,
        "attempts": message.attempts,
        "header_only": message.error.startswith(TOO_LARGE),
    }


def _header(headers: email.message.Message, name: str) -> str:
    import email.header

    try:
        value = headers.get(name)
        return str(email.header.make_header(email.header.decode_header(value))) if value else ""
    except Exception:  # a broken header is why some of these are here: show it as it is
        return str(headers.get(name, ""))


def list_failed(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import failed_messages

    with reading(app.engine) as connection:
        rows = [describe(message) for message in failed_messages(connection)]
    if args.json:
        print_json(rows)
        return 0
    print_stored(rows, none="no quarantined messages")
    return 0


def print_stored(rows: list[dict[str, Any]], *, none: str) -> None:
    """Stored messages as `failed list` and `held list` show them: when, key, who, why."""
    for row in rows:
        print(f"{row['at']}  {row['key']}")
        print(f"    from {row['from'] or '?'}: {row['subject'] or '(no subject)'}")
        print(f"    {row['reason']}")
    if not rows:
        print(none)


def show_failed(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import inbound_message

    with reading(app.engine) as connection:
        message = inbound_message(connection, args.key, whole=args.raw)
    if message is None:
        complain(f"no stored message with key {args.key!r} (see `mailgate failed list`)")
        return EXIT_NOT_FOUND
    shown = describe(message)
    if args.raw:
        raw = message.raw
        if shown["header_only"]:
            fetched = fetch_from_failed_folder(app.settings.imap, message.key, message.digest)
            if fetched is None:
                complain(_not_in_folder(app.settings.imap, message.key))
                return EXIT_FAILED
            raw = fetched
        write_bytes(raw)
        return 0
    if args.json:
        print_json(shown)
        return 0
    for name in ("key", "state", "reason", "from", "subject", "at", "size", "attempts"):
        print(f"{name + ':':<10}{shown[name]}")
    if shown["header_only"]:
        folder = app.settings.imap.failed_folder
        print(f"only its header block is stored; the whole message is in the IMAP folder {folder}")
    return 0


def retry_failed(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import failed_keys

    if args.all:
        with reading(app.engine) as connection:
            keys = failed_keys(connection)
    else:
        keys = [args.key]
    outcomes = [retry_one(app, key) for key in keys]
    if args.json:
        print_json(outcomes)
    else:
        for outcome in outcomes:
            print(f"{outcome['key']}: {outcome['detail']}")
        if not outcomes:
            print("no quarantined messages")
    worst = {"not_found": EXIT_NOT_FOUND, "cannot": EXIT_FAILED}
    return max((worst.get(o["outcome"], 0) for o in outcomes), default=0)


def retry_one(app: App, key: str) -> dict:
    """Requeue one quarantined message and apply it; what came of it, as a JSON object."""
    import datetime as dt

    from mailgate.store.engine import reading
    from mailgate.store.operations import inbound_message, request_of_inbound, requeue_failed
    from mailgate.tags import format_tag

    def outcome(name: str, detail: str, request: str | None = None) -> dict:
        return {"key": key, "outcome": name, "detail": detail, "request": request}

    with reading(app.engine) as connection:
        message = inbound_message(connection, key, whole=False)
    if message is None:
        return outcome("not_found", "no stored message with this key")
    if message.state != "failed":
        why = {"applied": "applied meanwhile", "held": "held, not quarantined: see `mailgate "
               "held list`"}.get(message.state, "already waiting to be applied")  # fmt: skip
        return outcome("nothing_done", f"{why}; nothing done")
    whole = None
    if message.error.startswith(TOO_LARGE):
        whole = fetch_from_failed_folder(app.settings.imap, key, message.digest)
        if whole is None:
            return outcome("cannot", _not_in_folder(app.settings.imap, key))
        limit = app.settings.max_message_bytes
        if len(whole) > limit:
            return outcome("cannot", f"still too large: {len(whole)} bytes, max_message_bytes "
                           f"is {limit}; raise it in the config first")  # fmt: skip
    with app.engine.begin() as connection:
        if not requeue_failed(connection, key, raw=whole):
            return outcome("nothing_done", "applied or requeued meanwhile; nothing done")
    worker = app.worker(lambda: dt.datetime.now(dt.UTC))
    worker.apply_stored([key])
    with reading(app.engine) as connection:
        message = inbound_message(connection, key, whole=False)
        number = request_of_inbound(connection, key)
    tag = format_tag(app.settings.tag_prefix, number) if number is not None else None
    if message is not None and message.state == "applied":
        where = f"applied to {tag}" if tag else "applied (filed under no request)"
        return outcome("applied", f"{where}; its notifications go out with the next round", tag)
    if message is not None and message.state == "failed":
        return outcome("failed", f"quarantined again: {message.error}")
    return outcome("pending", "left for the next round of the worker")


def write_bytes(raw: bytes) -> None:
    """The bytes as they are on a real stdout; decoded where stdout is text only (tests)."""
    sys.stdout.flush()
    if hasattr(sys.stdout, "buffer"):
        sys.stdout.buffer.write(raw)
    else:
        sys.stdout.write(raw.decode("utf-8", "surrogateescape"))


def fetch_from_failed_folder(imap: ImapSettings, key: str, digest: str | None) -> bytes | None:
    """The whole message with this key from the IMAP failed folder, or None: the one
    with the stored digest, where one was stored (another message may have the same
    Message-ID, and this one's key then ends in `#` and the start of its digest)."""
    from mailgate.digest import content_digest
    from mailgate.ingest import Inbox
    from mailgate.parse import message_key, variant_key

    message_id = key.rpartition("#")[0] if "#" in key else key
    with Inbox(imap) as inbox:
        inbox.box.folder.set(imap.failed_folder)
        if message_id.endswith("@mailgate.invalid"):  # a digest: no header to search by
            criteria = ["ALL"]
        else:  # a substring search: the id, whether or not it has a # of its own
            quoted = message_id.replace("\\", "\\\\").replace('"', '\\"')
            criteria = ["HEADER", "Message-ID", f'"{quoted}"']
        status, data = inbox.box.client.uid("SEARCH", *criteria)
        uids = data[0].decode().split() if status == "OK" and data and data[0] else []
        for uid in reversed(uids):
            for mail in inbox.fetch([uid]):
                found = message_key(mail.raw)
                if digest is not None:
                    if content_digest(mail.raw) == digest and key in (
                        found, variant_key(found, digest)
                    ):
                        return mail.raw
                elif found == key:
                    return mail.raw
    return None


def _not_in_folder(imap: ImapSettings, key: str) -> str:
    return (
        f"only the header block of {key} is stored (it was over max_message_bytes) and the "
        f"whole message is no longer in the IMAP folder {imap.failed_folder}: "
        "put it back there, then retry"
    )
