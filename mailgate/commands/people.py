"""`mailgate people export|erase|erasures`: privacy requests (SPEC §16, docs/privacy.md).

`export ADDRESS` writes everything mailgate keeps of one person into a
directory: `export.json` (their requests, messages, events, and an index of
the rest), `mail/` (the raw mail they sent and were sent, as `.eml`) and
`files/` (the files of that mail). `erase ADDRESS --by ADMIN` removes their
texts, raw mail, files and address (a stable pseudonym in its place), drops
the mail queued to them, keeps the shape of the history, records the erasure,
then deletes their mail from the IMAP processed, failed and spam folders
(`--keep-imap` leaves it; an account that cannot be reached is named, with
what is left there). `erasures` lists the record.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mailgate.commands.output import EXIT_FAILED, EXIT_REFUSED, complain, print_json

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.people import ErasureReport


def register(commands: argparse._SubParsersAction) -> None:
    people = commands.add_parser(
        "people", help="privacy requests: export or erase one person's data",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    actions = people.add_subparsers(dest="people_command", required=True, metavar="ACTION")
    export = actions.add_parser("export", help="write everything kept of ADDRESS to a directory")
    export.add_argument("address", help="the person's e-mail address (any case)")
    export.add_argument("--output", type=Path, metavar="DIR",
                        help="a new or empty directory (default: ./export-ADDRESS)")  # fmt: skip
    export.add_argument("--json", action="store_true", help="print one JSON object")
    export.set_defaults(handler=export_command)
    erase = actions.add_parser(
        "erase", help="remove ADDRESS's texts, mail, files and address; cannot be undone"
    )
    erase.add_argument("address", help="the person's e-mail address (any case)")
    erase.add_argument("--by", required=True, metavar="ADMIN", help="who erases (recorded)")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    erase.add_argument("--force", action="store_true",
                       help="erase an agent or team address too")  # fmt: skip
    erase.add_argument("--keep-imap", action="store_true",
                       help="leave their mail in the IMAP folders")  # fmt: skip
    erase.add_argument("--dry-run", action="store_true",
                       help="only say what would go (the erasure, rolled back)")  # fmt: skip
    erase.add_argument("--json", action="store_true", help="print one JSON object")
    erase.set_defaults(handler=erase_command)
    listing = actions.add_parser("erasures", help="the erasures recorded: when, by whom, pseudonym")
    listing.add_argument("--json", action="store_true", help="print a JSON list")
    listing.set_defaults(handler=erasures_command)


def export_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.people import export_person, normalized_address

    address = normalized_address(args.address)
    if address is None:
        complain(f"not one e-mail address: {args.address!r}")
        return EXIT_REFUSED
    directory = args.output or Path(f"export-{address}")
    try:
        summary = export_person(app.settings, app.engine, address, directory,
                                now=dt.datetime.now(dt.UTC))  # fmt: skip
    except FileExistsError as exc:
        complain(f"{exc}: give a new or empty --output directory")
        return EXIT_FAILED
    counts = {"requests": summary.requests, "messages": summary.messages,
              "events": summary.events, "mail": summary.mail, "files": summary.files}  # fmt: skip
    if args.json:
        print_json({"address": address, "directory": str(directory), **counts})
    else:
        listed = ", ".join(f"{count} {name}" for name, count in counts.items())
        print(f"exported {address} to {directory}: {listed}")
    return 0


def erase_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.people import (
        PrivacyRefused,
        check_erasable,
        clean_imap,
        erase_person,
        normalized_address,
    )

    address = normalized_address(args.address)
    if address is None:
        complain(f"not one e-mail address: {args.address!r}")
        return EXIT_REFUSED
    if not args.by.strip():
        complain("--by must name who erases")
        return EXIT_REFUSED
    try:
        check_erasable(app.settings, address, force=args.force)
    except PrivacyRefused as exc:
        complain(str(exc))
        return EXIT_REFUSED
    if not (args.yes or args.dry_run or _confirmed(address)):
        complain("not erased: confirm by typing the address, or give --yes")
        return EXIT_REFUSED
    report = erase_person(app.engine, address, by=args.by.strip(), now=dt.datetime.now(dt.UTC),
                          dry_run=args.dry_run)  # fmt: skip
    if not (args.keep_imap or args.dry_run):
        clean_imap(app.settings, report, address)
    left = [cleanup for cleanup in report.imap if cleanup.error]
    if args.json:
        print_json({"dry_run": args.dry_run, "pseudonym": report.pseudonym, **report.counts,
                    "imap": [cleanup.to_json() for cleanup in report.imap],
                    "imap_kept": args.keep_imap, "checkpoint": report.checkpoint or None})
    else:
        _print_report(report, keep_imap=args.keep_imap, dry_run=args.dry_run)
    return EXIT_FAILED if left or report.checkpoint else 0


def _confirmed(address: str) -> bool:
    if not sys.stdin.isatty():
        return False
    print(f"This erases every text, file and mention of {address}; it cannot be undone.")
    return input("Type the address to confirm: ").strip().lower() == address


def _print_report(report: ErasureReport, *, keep_imap: bool, dry_run: bool) -> None:
    counts = report.counts
    verb = "would erase" if dry_run else "erased"
    print(f"{verb} as {report.pseudonym}: {counts['requests']} requests, "
          f"{counts['messages']} messages of theirs, raw copies of {counts['raw_inbound']} "
          f"received and {counts['raw_outbound']} sent messages, "
          f"{counts['queued_dropped']} notifications not sent")  # fmt: skip
    if report.checkpoint:
        print(f"left in the database file: {report.checkpoint}")
    if dry_run:
        print(f"IMAP: would look for {len(report.message_ids)} messages, and any other from "
              "the person, in the processed, failed and spam folders")  # fmt: skip
    elif keep_imap:
        print(f"IMAP: left as it is (--keep-imap); {len(report.message_ids)} of the erased "
              "messages may still be in the processed, failed and spam folders")  # fmt: skip
    for cleanup in report.imap:
        if cleanup.error:
            print(f"IMAP {cleanup.mailbox} at {cleanup.server}: NOT cleaned ({cleanup.error}); "
                  f"{len(report.message_ids)} erased messages and any other mail from the "
                  "person are left in its processed, failed and spam folders")  # fmt: skip
        else:
            done = ", ".join(f"{count} from {folder}" for folder, count in cleanup.deleted.items())
            print(f"IMAP {cleanup.mailbox}: deleted {done}")


def erasures_command(app: App, args: argparse.Namespace) -> int:
    import json

    from mailgate.store.engine import reading
    from mailgate.store.people import erasures

    with reading(app.engine) as connection:
        rows = erasures(connection)
    if args.json:
        print_json([{"at": row["at"], "by": row["erased_by"], "pseudonym": row["pseudonym"],
                     "summary": json.loads(row["summary"])} for row in rows])  # fmt: skip
        return 0
    if not rows:
        print("no erasures")
    for row in rows:
        print(f"{row['at'].isoformat()}  {row['pseudonym']}  by {row['erased_by']}")
    return 0
