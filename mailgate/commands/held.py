"""`mailgate held list|show|release`: mail held by the trust rules (SPEC §14).

A message is held whole when it is spam (a spam verdict of the MX, a blocked
sender, `dmarc=fail` for its From domain) or a new mail from an agent address
without proof: nothing of it is applied, nothing is sent, and the worker moves
it to `[imap] spam_folder`. `release` is the admin vouching for one message:
it is applied as if it had just arrived, with the one check that held it waived
for it (decide/spam.py `Check`; a DMARC failure or a missing agent proof waived
vouches for the sender as `require_authenticated_sender` asks too), and
"released by admin" in its request's history. Another check may hold it again,
with its own reason: each release is a decision about one reason. The state
changes from held to released with a compare-and-set, so a message is applied
once however many releases race; the copy in the spam folder stays there
(mailgate never reads that folder again).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from mailgate.commands.failed import describe, print_stored, write_bytes
from mailgate.commands.output import EXIT_NOT_FOUND, complain, print_json

if TYPE_CHECKING:
    from mailgate.app import App

LISTED = ("key", "reason", "from", "subject", "at")


def register(commands: argparse._SubParsersAction) -> None:
    held = commands.add_parser("held", help="mail held as spam or unproven: list, show, release")
    actions = held.add_subparsers(dest="held_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="key, reason, from, subject, when")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_held)
    show = actions.add_parser("show", help="one held message")
    show.add_argument("key", help="the key shown by `held list` (its Message-ID)")
    show.add_argument("--raw", action="store_true", help="print the message as it was received")
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(handler=show_held)
    release = actions.add_parser(
        "release", help="apply it as if it had just arrived, its hold waived; never twice"
    )
    release.add_argument("key", help="the key shown by `held list`")
    release.add_argument("--json", action="store_true", help="print one JSON object")
    release.set_defaults(handler=release_held)


def list_held(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import held_messages

    with reading(app.engine) as connection:
        rows = [describe(message) for message in held_messages(connection)]
    if args.json:
        print_json([{name: row[name] for name in LISTED} for row in rows])
        return 0
    print_stored(rows, none="no held messages")
    return 0


def show_held(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import inbound_message

    with reading(app.engine) as connection:
        message = inbound_message(connection, args.key, whole=args.raw)
    if message is None:
        complain(f"no stored message with key {args.key!r} (see `mailgate held list`)")
        return EXIT_NOT_FOUND
    if args.raw:
        write_bytes(message.raw)
        return 0
    shown = {name: value for name, value in describe(message).items() if name != "header_only"}
    if args.json:
        print_json(shown)
        return 0
    for name in ("key", "state", "reason", "from", "subject", "at", "size"):
        print(f"{name + ':':<10}{shown[name]}")
    return 0


def release_held(app: App, args: argparse.Namespace) -> int:
    outcome = release_one(app, args.key)
    if args.json:
        print_json(outcome)
    else:
        print(f"{outcome['key']}: {outcome['detail']}")
    return EXIT_NOT_FOUND if outcome["outcome"] == "not_found" else 0


def release_one(app: App, key: str) -> dict:
    """Release one held message and apply it; what came of it, as a JSON object."""
    import datetime as dt

    from mailgate.decide.spam import release_note
    from mailgate.store.engine import reading
    from mailgate.store.operations import inbound_message, release_held, request_of_inbound
    from mailgate.tags import format_tag

    def outcome(name: str, detail: str, request: str | None = None) -> dict:
        return {"key": key, "outcome": name, "detail": detail, "request": request}

    with reading(app.engine) as connection:
        message = inbound_message(connection, key, whole=False)
    if message is None:
        return outcome("not_found", "no stored message with this key")
    if message.state != "held":
        return outcome("nothing_done", f"not held (it is {message.state}); nothing done")
    with app.engine.begin() as connection:
        if not release_held(connection, key, note=release_note(message.error)):
            return outcome("nothing_done", "released or applied meanwhile; nothing done")
    app.worker(lambda: dt.datetime.now(dt.UTC)).apply_stored([key])
    with reading(app.engine) as connection:
        message = inbound_message(connection, key, whole=False)
        number = request_of_inbound(connection, key)
    tag = format_tag(app.settings.tag_prefix, number) if number is not None else None
    folder = app.settings.imap.spam_folder
    if message is not None and message.state == "applied":
        where = f"applied to {tag}" if tag else "applied (filed under no request)"
        detail = (f"{where} as if it had just arrived; its notifications go out with the next "
                  f"round; its copy stays in the IMAP folder {folder}")  # fmt: skip
        return outcome("applied", detail, tag)
    if message is not None and message.state == "held":
        return outcome("held", f"held again: {message.error}")
    if message is not None and message.state == "failed":
        return outcome("failed", f"quarantined: {message.error}")
    return outcome("released", "left for the next round of the worker")
