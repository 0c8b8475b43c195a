"""`mailgate hooks list|retry`: the queue of event hook calls (SPEC §16), and calling
again now, as `outbox list|retry` does for notifications.

`retry` makes failed (or waiting) calls due now with a fresh count of attempts
and makes them at once, waiting a bounded time; a call already made is never
made again.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from typing import TYPE_CHECKING

from mailgate.commands.output import (
    EXIT_NOT_FOUND,
    complain,
    iso,
    print_json,
    register_queue,
    report_retry,
)

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.store.operations import HookCallRow

def register(commands: argparse._SubParsersAction) -> None:
    register_queue(commands, "hooks", what="hook call", things="event hook calls",
                   list_handler=list_calls, retry_handler=retry_calls)  # fmt: skip


def as_json(row: HookCallRow) -> dict:
    return {
        "id": row.id,
        "hook": row.hook,
        "event": row.event,
        "delivery": row.delivery,
        "request": _request_tag(row.payload),
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.state == "pending" else None,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


def _request_tag(payload: str) -> str | None:
    request = json.loads(payload).get("request")
    return request["tag"] if request else None


def list_calls(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import hook_call_rows

    with reading(app.engine) as connection:
        rows = [as_json(row) for row in hook_call_rows(connection, state=args.state)]
    if args.json:
        print_json(rows)
        return 0
    configured = {hook.name for hook in app.settings.hooks}
    for row in rows:
        print(f"{row['id']:>6}  {row['state']:<8} {row['request'] or '-':>10}  "
              f"{row['hook']:<16} {row['event']:<24} attempts {row['attempts']}")  # fmt: skip
        if row["last_error"] and row["state"] != "sent":
            print(f"        {row['last_error']}")
        if row["state"] != "sent" and row["hook"] not in configured:
            print(f"        no hook {row['hook']!r} in the config: this call waits for it")
    return 0


def retry_calls(app: App, args: argparse.Namespace) -> int:
    from mailgate.hooks.pump import HookPump
    from mailgate.store.engine import reading
    from mailgate.store.operations import failed_hook_call_ids, hook_call_rows, requeue_hook_calls

    now = dt.datetime.now(dt.UTC)
    with app.engine.begin() as connection:
        ids = failed_hook_call_ids(connection) if args.all_failed else [args.id]
        found = {row.id: row for row in hook_call_rows(connection, ids=ids)}
        requeued = requeue_hook_calls(connection, list(found), now=now)
    if not args.all_failed and args.id not in found:
        complain(f"no hook call {args.id} (see `mailgate hooks list`)")
        return EXIT_NOT_FOUND
    if requeued and app.settings.hooks:
        HookPump(app.store, app.settings.hooks, lambda: dt.datetime.now(dt.UTC)).finish()
    with reading(app.engine) as connection:
        after = {row.id: row.state for row in hook_call_rows(connection, ids=requeued)}
    return report_retry(args, before={i: row.state for i, row in found.items()},
                        requeued=requeued, after=after, done="already made, never made twice",
                        none_failed="no failed hook calls")  # fmt: skip
