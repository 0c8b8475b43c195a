"""`mailgate status`: queue depths, the oldest waiting message, the last rounds.

Reads the database only (no IMAP or SMTP log-in), so that it answers at once
even while a server is down; what the inbox held is as the last round saw it.
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
    from mailgate.store.operations import last_rounds, queue_depths

    with app.engine.begin() as connection:
        depths = queue_depths(connection)
        rounds = last_rounds(connection)
    errors = [r for r in rounds if r.last_error_at is not None]
    latest_error = max(errors, key=lambda r: r.last_error_at) if errors else None
    return {
        "inbound": depths.inbound,
        "outbox": depths.outbox,
        "oldest_waiting": {
            "inbound": iso(depths.oldest_pending_inbound),
            "outbox": iso(depths.oldest_pending_outbox),
        },
        "last_round": _round_json(rounds[0]) if rounds else None,
        "workers": [_round_json(r) for r in rounds],
        "last_error": _error_json(latest_error),
    }


def _error_json(done) -> dict | None:
    if done is None:
        return None
    return {"at": iso(done.last_error_at), "worker": done.worker, "error": done.last_error}


def _round_json(done) -> dict:
    shown = {k: v for k, v in asdict(done).items() if k not in ("last_error", "last_error_at")}
    shown["ok"] = not done.error
    return {k: iso(v) if isinstance(v, dt.datetime) else v for k, v in shown.items()}


def show_status(app: App, args: argparse.Namespace) -> int:
    shown = collect(app)
    if args.json:
        print_json(shown)
        return 0
    inbound, outbox, oldest = shown["inbound"], shown["outbox"], shown["oldest_waiting"]
    print(f"inbound: {inbound['pending']} pending, {inbound['failed']} quarantined, "
          f"{inbound['applied']} applied")  # fmt: skip
    print(f"outbox:  {outbox['pending']} pending, {outbox['failed']} failed, {outbox['sent']} sent")
    print(f"oldest waiting: message {oldest['inbound'] or '-'}, notification "
          f"{oldest['outbox'] or '-'}")  # fmt: skip
    last = shown["last_round"]
    if last is None:
        print("last round: none yet (is the worker running?)")
    else:
        state = "ok" if last["ok"] else f"failed: {last['error']}"
        print(f"last round: {last['finished_at']} by {last['worker']}, {last['seconds']:.2f} s, "
              f"{last['imap_waiting']} waiting in IMAP, {last['applied']} applied, "
              f"{last['sent']} sent; {state}")  # fmt: skip
    error = shown["last_error"]
    print(f"last error: {error['at']} {error['error']}" if error else "last error: none")
    return 0
