"""`mailgate status`: queue depths, the oldest waiting message, the last rounds,
for the install and for each mailbox.

Reads the database only (no IMAP or SMTP log-in), so that it answers at once
even while a server is down; what the inbox held is as the last round saw it.
A mailbox's figures count inbound mail where it was read and notifications
where their request belongs (as the metrics do); its last round is the newest
that read it, alone (`run`) or with the others (`run --once`).
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING

from mailgate.commands.output import iso, print_json

if TYPE_CHECKING:
    from mailgate.app import App


def register(commands: argparse._SubParsersAction) -> None:
    status = commands.add_parser(
        "status", help="queues, the oldest waiting message, the last round, the last error"
    )
    status.add_argument("--json", action="store_true", help="print one JSON object")
    status.set_defaults(handler=show_status)


def collect(app: App) -> dict:
    from mailgate.store.engine import reading
    from mailgate.store.operations import (
        hook_call_depths,
        last_rounds,
        queue_depths,
        queue_depths_by_mailbox,
    )

    names = [mailbox.mailbox for mailbox in app.settings.mailboxes]
    with reading(app.engine) as connection:
        depths = queue_depths(connection)
        by_mailbox = queue_depths_by_mailbox(connection, names)
        rounds = last_rounds(connection)
        hooks = hook_call_depths(connection)
    return {
        **_queues_json(depths),
        "hook_calls": hooks,
        "last_round": _round_json(rounds[0]) if rounds else None,
        "workers": [_round_json(r) for r in rounds],
        "last_error": _error_json(_latest_error(rounds)),
        "mailboxes": {
            name: {**_queues_json(by_mailbox[name]), **_last_of(name, rounds)} for name in names
        },
    }


def _queues_json(depths) -> dict:
    return {
        "inbound": depths.inbound,
        "outbox": depths.outbox,
        "oldest_waiting": {
            "inbound": iso(depths.oldest_pending_inbound),
            "outbox": iso(depths.oldest_pending_outbox),
        },
    }


def _last_of(name: str, rounds: list) -> dict:
    """A mailbox's last round and last error: of the rounds that read it ("": all)."""
    mine = [r for r in rounds if r.mailbox in (name, "")]
    return {
        "last_round": _round_json(mine[0]) if mine else None,
        "last_error": _error_json(_latest_error(mine)),
    }


def _latest_error(rounds: list):
    errors = [r for r in rounds if r.last_error_at is not None]
    return max(errors, key=lambda r: r.last_error_at) if errors else None


def _error_json(done) -> dict | None:
    if done is None:
        return None
    return {"at": iso(done.last_error_at), "worker": done.worker, "mailbox": done.mailbox,
            "error": done.last_error}  # fmt: skip


def _round_json(done) -> dict:
    shown = {k: v for k, v in asdict(done).items() if k not in ("last_error", "last_error_at")}
    shown["ok"] = not done.error
    return {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in shown.items()}


def show_status(app: App, args: argparse.Namespace) -> int:
    shown = collect(app)
    if args.json:
        print_json(shown)
        return 0
    _print_figures(shown, indent="")
    calls = shown["hook_calls"]
    if any(calls.values()):
        print(f"hook calls: {calls['pending']} pending, {calls['failed']} failed, "
              f"{calls['sent']} made")  # fmt: skip
    if len(shown["mailboxes"]) > 1:
        for name, figures in shown["mailboxes"].items():
            print(f"mailbox {name}:")
            _print_figures(figures, indent="  ")
    return 0


def _print_figures(shown: dict, *, indent: str) -> None:
    inbound, outbox, oldest = shown["inbound"], shown["outbox"], shown["oldest_waiting"]
    print(f"{indent}inbound: {inbound['pending']} pending, {inbound['failed']} quarantined, "
          f"{inbound['held']} held, {inbound['applied']} applied")  # fmt: skip
    print(f"{indent}outbox:  {outbox['pending']} pending, {outbox['failed']} failed, "
          f"{outbox['sent']} sent")  # fmt: skip
    print(f"{indent}oldest waiting: message {oldest['inbound'] or '-'}, notification "
          f"{oldest['outbox'] or '-'}")  # fmt: skip
    last = shown["last_round"]
    if last is None:
        print(f"{indent}last round: none yet (is the worker running?)")
    else:
        state = "ok" if last["ok"] else f"failed: {last['error']}"
        print(f"{indent}last round: {last['finished_at']} by {last['worker']}, "
              f"{last['seconds']:.2f} s, {last['imap_waiting']} waiting in IMAP, "
              f"{last['applied']} applied, {last['sent']} sent; {state}")  # fmt: skip
    error = shown["last_error"]
    print(f"{indent}last error: {error['at']} {error['error']}" if error
          else f"{indent}last error: none")  # fmt: skip
