"""`mailgate attachments list REQ-N [--json]` and `get REQ-N K [--output PATH]` (SPEC §10).

Files are read from the stored raw messages, numbered from 1 over the
request's messages in order; `get` writes one back byte for byte.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from mailgate import exits
from mailgate.tags import parse_tag

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.store.views import RequestFile

EXIT_NOT_FOUND = exits.NOT_FOUND


def register(commands: argparse._SubParsersAction) -> None:
    attachments = commands.add_parser("attachments", help="the files of a request: list or get")
    actions = attachments.add_subparsers(dest="attachments_command", required=True,
                                         metavar="ACTION")  # fmt: skip
    listing = actions.add_parser("list", help="number, message, name, size, sha256 of each file",
                                 description="List the files of a request's messages.")  # fmt: skip
    listing.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    get = actions.add_parser(
        "get",
        help="write one file, byte for byte",
        description="Write file N (as numbered by list) to PATH or stdout.",
    )
    get.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    get.add_argument("file", type=int, metavar="N", help="the file's number in `list`, from 1")
    get.add_argument("--output", type=Path, metavar="PATH", help="write here, not to stdout")


def run(app: App, args: argparse.Namespace) -> int:
    from mailgate.parse.files import stored_files
    from mailgate.store import views
    from mailgate.store.engine import reading

    number = parse_tag(args.tag, app.settings.tag_prefixes.values())
    files = None
    if number is not None:
        with reading(app.engine) as connection:
            files = views.request_files(connection, number, read_files=stored_files)
    if files is None:
        print(f"mailgate: no request {args.tag}", file=sys.stderr)
        return EXIT_NOT_FOUND
    if args.attachments_command == "list":
        _print_list(files, as_json=args.json)
        return 0
    if not 1 <= args.file <= len(files):
        print(f"mailgate: {args.tag} has no file {args.file} ({len(files)} files)",
              file=sys.stderr)  # fmt: skip
        return EXIT_NOT_FOUND
    from mailgate.parse.mimetree import read_attachment

    chosen = files[args.file - 1]
    data = read_attachment(chosen.raw, chosen.file)
    if args.output is not None:
        args.output.write_bytes(data)
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
    return 0


def _print_list(files: list[RequestFile], *, as_json: bool) -> None:
    if as_json:
        print(json.dumps([f.to_json() for f in files], ensure_ascii=False, indent=2))
        return
    for item in files:
        file = item.file
        kind = f"{file.content_type}, inline" if file.inline else file.content_type
        print(f"{item.number:>3}  {file.size:>10}  {file.sha256[:12]}  {file.filename}"
              f"  ({kind})  <{item.message_id}>")  # fmt: skip
