"""What every operations command prints: one JSON document with --json, else
short lines; and the exit codes beside those of `mailgate.cli`."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mailgate import exits

EXIT_FAILED = exits.FAILED
EXIT_NOT_FOUND = exits.NOT_FOUND
EXIT_REFUSED = exits.REFUSED


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2, default=_jsonable))


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def complain(text: str) -> None:
    print(f"mailgate: {text}", file=sys.stderr)


# -- the queues with `list` and `retry` (outbox, hooks) ---------------------------------

QUEUE_STATES = ("pending", "failed", "sent")
Handler = Callable[..., int]


def register_queue(
    commands: argparse._SubParsersAction, name: str, *, what: str, things: str,
    list_handler: Handler, retry_handler: Handler,
) -> None:  # fmt: skip
    """`mailgate NAME list [--state S] [--json]` and `NAME retry ID|--all-failed [--json]`;
    `what` is one of the queue's items (`notification`), `things` several."""
    queue = commands.add_parser(name, help=f"{things}: list, retry")
    actions = queue.add_subparsers(dest=f"{name}_command", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help=f"one line per {what}, oldest first")
    listing.add_argument("--state", choices=QUEUE_STATES, help=f"only {things} in this state")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=list_handler)
    retry = actions.add_parser("retry", help="again now; never one already done")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help=f"the id shown by `{name} list`")
    which.add_argument("--all-failed", action="store_true", help=f"every failed {what}")
    retry.add_argument("--json", action="store_true", help="print one JSON object")
    retry.set_defaults(handler=retry_handler)


def report_retry(
    args: argparse.Namespace,
    *,
    before: Mapping[int, str],
    requeued: Sequence[int],
    after: Mapping[int, str],
    done: str,
    none_failed: str,
) -> int:
    """What a `retry` did: `before` and `after` are the states by id of the rows asked
    for and of those requeued; `done` says why a sent row was left alone."""
    sent = [i for i in requeued if after.get(i) == "sent"]
    still_pending = [i for i in requeued if after.get(i) == "pending"]
    failed = [i for i in requeued if after.get(i) == "failed"]
    skipped = [{"id": i, "why": done if state == "sent" else "being done by a worker right now"}
               for i, state in before.items() if i not in requeued]  # fmt: skip
    if args.json:
        print_json({"requeued": list(requeued), "sent": sent, "still_pending": still_pending,
                    "failed": failed, "skipped": skipped})  # fmt: skip
    else:
        for item in skipped:
            print(f"{item['id']}: {item['why']}; nothing done")
        if requeued:
            print(f"requeued {len(requeued)}: sent {len(sent)}, "
                  f"waiting for a retry {len(still_pending)}, failed {len(failed)}")  # fmt: skip
        if not before:
            print(none_failed)
    return EXIT_FAILED if failed or still_pending else 0
