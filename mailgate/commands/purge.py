"""`mailgate purge [--dry-run]`: retention of raw mail ([retention]).

For requests closed more than `purge_raw_after_days` ago, the raw bytes of
their inbound mail and the raw copies of their notifications are dropped;
the text, the history and the attachment metadata stay, so `requests show`
still tells the whole story. Without the key nothing is ever dropped.
"""

from __future__ import annotations

import argparse
import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING

from mailgate.commands.output import print_json

if TYPE_CHECKING:
    from mailgate.app import App


def register(commands: argparse._SubParsersAction, timestamp) -> None:
    purge = commands.add_parser(
        "purge", help="drop raw mail of requests closed long ago ([retention])",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    purge.add_argument("--dry-run", action="store_true", help="only say what would go")
    purge.add_argument("--json", action="store_true", help="print one JSON object")
    purge.add_argument("--now", type=timestamp, metavar="TIME", help="as of this ISO 8601 time")
    purge.set_defaults(handler=purge_command)


def purge_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.store.operations import purge, purgeable

    days = app.settings.retention_days
    if days is None:
        print("retention is off ([retention] purge_raw_after_days is not set): nothing to purge")
        return 0
    now = args.now or dt.datetime.now(dt.UTC)
    cutoff = now - dt.timedelta(days=days)
    with app.engine.begin() as connection:
        found = purgeable(connection, cutoff)
        if not args.dry_run:
            purge(connection, cutoff, now=now)
    if args.json:
        print_json({"dry_run": args.dry_run, "closed_before": cutoff, **asdict(found)})
        return 0
    verb = "would drop" if args.dry_run else "dropped"
    print(f"{verb} the raw bytes of {found.inbound} messages ({found.inbound_bytes} bytes) and "
          f"{found.outbound} notifications ({found.outbound_bytes} bytes) of {found.requests} "
          f"requests closed before {cutoff.isoformat()}")  # fmt: skip
    return 0
