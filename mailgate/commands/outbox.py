"""`mailgate outbox list|retry`: the notifications queue, and sending again now.

`retry` makes failed (or waiting) notifications due now with a fresh count
of attempts and runs the outbox once, as a round of the worker would; a
notification already sent is never sent again.
"""

from __future__ import annotations

import argparse
import datetime as dt
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
    from mailgate.send import Pump
    from mailgate.store.operations import OutboxRow


def register(commands: argparse._SubParsersAction) -> None:
    register_queue(commands, "outbox", what="notification", things="queued notifications",
                   list_handler=list_outbox, retry_handler=retry_outbox)  # fmt: skip


def as_json(row: OutboxRow, prefix: str) -> dict:
    from mailgate.tags import format_tag

    return {
        "id": row.id,
        "request": format_tag(prefix, row.request) if row.request is not None else None,
        "template": row.template,
        "recipient": row.recipient,
        "state": row.state,
        "attempts": row.attempts,
        "next_attempt_at": iso(row.next_attempt_at) if row.state == "pending" else None,
        "last_error": row.last_error,
        "created_at": iso(row.created_at),
        "sent_at": iso(row.sent_at),
    }


def list_outbox(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.engine import reading
    from mailgate.store.operations import outbox_rows

    with reading(app.engine) as connection:
        rows = [as_json(row, app.settings.tag_prefix) for row in
                outbox_rows(connection, state=args.state)]  # fmt: skip
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['id']:>6}  {row['state']:<8} {row['request'] or '-':>10}  "
              f"{row['template']:<22} {row['recipient']}  attempts {row['attempts']}")  # fmt: skip
        if row["last_error"] and row["state"] != "sent":
            print(f"        {row['last_error']}")
    return 0


def retry_outbox(app: App, args: argparse.Namespace, *, pump: Pump | None = None) -> int:
    """`pump` defaults to the configured SMTP server; tests pass their own."""
    from mailgate.store.engine import reading
    from mailgate.store.operations import failed_outbound_ids, outbox_rows, requeue_outbound

    now = dt.datetime.now(dt.UTC)
    with app.engine.begin() as connection:
        ids = failed_outbound_ids(connection) if args.all_failed else [args.id]
        found = {row.id: row for row in outbox_rows(connection, ids=ids)}
        requeued = requeue_outbound(connection, list(found), now=now)
    if not args.all_failed and args.id not in found:
        complain(f"no notification {args.id} (see `mailgate outbox list`)")
        return EXIT_NOT_FOUND
    if requeued:
        send_due(app, pump)
    with reading(app.engine) as connection:
        after = {row.id: row.state for row in outbox_rows(connection, ids=requeued)}
    return report_retry(args, before={i: row.state for i, row in found.items()},
                        requeued=requeued, after=after, done="already sent, never sent twice",
                        none_failed="no failed notifications")  # fmt: skip


def send_due(app: App, pump: Pump | None):
    """Send everything due now, as a round of the worker would (`pump`: tests pass their own)."""
    return app.worker(lambda: dt.datetime.now(dt.UTC)).send_queue(pump=pump)
