"""`mailgate outbox list|retry`: the notifications queue, and sending again now.

`retry` makes failed (or waiting) notifications due now with a fresh count
of attempts and runs the outbox once, as a round of the worker would; a
notification already sent is never sent again.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

from mailgate.commands.output import EXIT_FAILED, EXIT_NOT_FOUND, complain, iso, print_json

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.send import Pump
    from mailgate.store.operations import OutboxRow

STATES = ("pending", "failed", "sent")


def register(commands: argparse._SubParsersAction) -> None:
    outbox = commands.add_parser("outbox", help="queued notifications: list, retry")
    actions = outbox.add_subparsers(dest="outbox_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="one line per notification, oldest first")
    listing.add_argument("--state", choices=STATES, help="only notifications in this state")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_outbox)
    retry = actions.add_parser("retry", help="send again now; never one already sent")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the id shown by `outbox list`")
    which.add_argument("--all-failed", action="store_true", help="every failed notification")
    retry.add_argument("--json", action="store_true", help="print one JSON object")
    retry.set_defaults(handler=retry_outbox)


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
    from mailgate.store.operations import outbox_rows

    with app.engine.begin() as connection:
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
    from mailgate.store.operations import failed_outbound_ids, outbox_rows, requeue_outbound

    now = dt.datetime.now(dt.UTC)
    with app.engine.begin() as connection:
        ids = failed_outbound_ids(connection) if args.all_failed else [args.id]
        found = {row.id: row for row in outbox_rows(connection, ids=ids)}
        requeued = requeue_outbound(connection, list(found), now=now)
    if not args.all_failed and args.id not in found:
        complain(f"no notification {args.id} (see `mailgate outbox list`)")
        return EXIT_NOT_FOUND
    skipped = {i: found[i].state for i in found if i not in requeued}
    report = send_due(app, pump) if requeued else None
    with app.engine.begin() as connection:
        after = {row.id: row.state for row in outbox_rows(connection, ids=requeued)}
    sent = [i for i in requeued if after.get(i) == "sent"]
    still_pending = [i for i in requeued if after.get(i) == "pending"]
    failed = [i for i in requeued if after.get(i) == "failed"]
    not_requeued = [{"id": i, "why": _why_skipped(state)} for i, state in skipped.items()]
    if args.json:
        print_json({"requeued": requeued, "sent": sent, "still_pending": still_pending,
                    "failed": failed, "skipped": not_requeued})  # fmt: skip
    else:
        for item in not_requeued:
            print(f"{item['id']}: {item['why']}; nothing done")
        if report is not None:
            print(f"requeued {len(requeued)}: sent {len(sent)}, "
                  f"waiting for a retry {len(still_pending)}, failed {len(failed)}")  # fmt: skip
        if not found:
            print("no failed notifications")
    return EXIT_FAILED if failed or still_pending else 0


def _why_skipped(state: str) -> str:
    if state == "sent":
        return "already sent, never sent twice"
    return "being sent by a worker right now"


def send_due(app: App, pump: Pump | None):
    """Send everything due now, as a round of the worker would (`pump`: tests pass their own)."""
    return app.worker(lambda: dt.datetime.now(dt.UTC)).send_queue(pump=pump)
