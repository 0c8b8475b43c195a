"""mailgate: a support mailbox that runs a ticket workflow by e-mail.

It fetches mail from one IMAP folder, files each message under a request
([REQ-123] in the subject), applies the commands and approval phrases people
write, and answers with notifications over SMTP. Every command but `parse`,
`completion` and `manpage` needs the TOML config (--config FILE or $MAILGATE_CONFIG).
"""

# Imports of what only some commands use (SQLAlchemy, Jinja2, asyncio, the
# worker) stay inside the functions that use them: `--help` and `parse` must
# start fast and never load the database layer.
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn
from zoneinfo import ZoneInfo

from mailgate import __version__, attachments_cli, cli_docs, exits
from mailgate.commands import register as register_operations
from mailgate.domain import PRIORITIES, Status
from mailgate.errors import ConfigError, DatabaseError, TransportError
from mailgate.logs import setup_logging
from mailgate.tags import parse_tag

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.config import Settings
    from mailgate.store.views import RequestView

log = logging.getLogger("mailgate")

DETAIL_WIDTH = 60  # characters of an event's detail shown by `requests show`


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    if args.command not in _WITHOUT_CONFIG and not args.config:
        parser.error("give --config FILE or set MAILGATE_CONFIG")
    try:
        if args.command == "completion":
            print(cli_docs.completion(parser, args.shell), end="")
            code = 0
        elif args.command == "manpage":
            print(cli_docs.manpage(parser), end="")
            code = 0
        elif args.command == "parse":
            from mailgate.explain import explain_file

            code = explain_file(args.message, config_path=args.config, as_json=args.json)
        else:
            code = _with_config(args)
        sys.stdout.flush()  # here, not at exit, so that a closed pipe is caught below
        return code
    except BrokenPipeError:  # the reader went away (`requests list | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


class _Parser(argparse.ArgumentParser):
    """Usage errors exit 64 (EX_USAGE), apart from a bad config's 2."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(exits.USAGE, f"{self.prog}: error: {message}\n")


_WITHOUT_CONFIG = ("parse", "completion", "manpage")
# Commands that check the database themselves: `init` makes it, `check` reports it.
_OWN_DATABASE_CHECK = ("init", "check")


def _with_config(args: argparse.Namespace) -> int:
    """Load the config and run the command; errors of config, database and servers
    become one line and their exit status (mailgate/exits.py)."""
    from mailgate.config import load_settings

    try:
        settings = load_settings(args.config)
        if hasattr(args, "settings_handler"):  # needs the settings only (`config show`)
            return args.settings_handler(settings, args)
        from mailgate.store.health import database_errors

        with database_errors(settings.database_url):
            return _with_database(settings, args)
    except ConfigError as exc:
        print(f"mailgate: config error: {exc}", file=sys.stderr)
        return exits.CONFIG
    except DatabaseError as exc:
        print(f"mailgate: {exc}", file=sys.stderr)
        return exits.DATABASE
    except TransportError as exc:
        print(f"mailgate: {exc}", file=sys.stderr)
        return exits.TRANSPORT


def _with_database(settings: Settings, args: argparse.Namespace) -> int:
    from mailgate.store.health import require_schema

    if args.command == "requests" and args.requests_command == "list":
        return _list_requests(settings, args)
    from mailgate.app import build_app

    app = build_app(settings)
    try:
        if args.command not in _OWN_DATABASE_CHECK:
            require_schema(app.engine, settings.database_url)
        return _dispatch(app, args)
    finally:
        app.engine.dispose()


def _dispatch(app: App, args: argparse.Namespace) -> int:
    if hasattr(args, "handler"):  # the commands of mailgate/commands/
        return args.handler(app, args)
    if args.command == "init":
        from mailgate.store.engine import upgrade_schema

        print(upgrade_schema(app.engine))
        return 0
    if args.command == "requests":
        return _show_request(app, args)
    if args.command == "attachments":
        return attachments_cli.run(app, args)
    raise AssertionError(args.command)  # argparse allows nothing else


def _list_requests(settings: Settings, args: argparse.Namespace) -> int:
    """Only the database: not the templates, calendar and worker that `build_app` assembles."""
    from mailgate.store import views
    from mailgate.store.engine import make_engine, reading
    from mailgate.store.health import require_schema

    names = [mailbox.mailbox for mailbox in settings.mailboxes]
    if args.mailbox and args.mailbox not in names:
        print(f"mailgate: no mailbox {args.mailbox!r}; configured: {', '.join(names)}",
              file=sys.stderr)  # fmt: skip
        return exits.CONFIG
    engine = make_engine(settings.database_url)
    try:
        require_schema(engine, settings.database_url)
        with reading(engine) as connection:
            rows = views.list_requests(connection, tag_prefix=settings.tag_prefixes,
                                       status=args.status, breached=args.breached,
                                       mailbox=args.mailbox, priority=args.priority,
                                       label=args.label, rated=args.rated)  # fmt: skip
    finally:
        engine.dispose()
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        for row in rows:
            status, requester = row["status"], row["requester"]
            print(f"{row['tag']:>10}  {status:<22} {requester:<30} {row['subject']}")
    return 0


def _show_request(app: App, args: argparse.Namespace) -> int:
    from mailgate.parse.files import stored_files
    from mailgate.store import views
    from mailgate.store.engine import reading

    prefixes = app.settings.tag_prefixes
    number = parse_tag(args.tag, prefixes.values())
    now = args.now or dt.datetime.now(dt.UTC)
    deadlines = app.install.primary.rules.deadlines

    def sla(history: list, first_response_at: dt.datetime | None, priority: str) -> dict:
        return deadlines.sla(history, first_response_at, now, priority=priority).to_json()

    shown = None
    if number is not None:
        with reading(app.engine) as connection:
            shown = views.show_request(connection, number, tag_prefix=prefixes, sla=sla,
                                       read_files=stored_files)  # fmt: skip
    if shown is None:
        print(f"mailgate: no request {args.tag}", file=sys.stderr)
        return exits.NOT_FOUND
    if args.json:
        print(json.dumps(shown, ensure_ascii=False, indent=2))
    else:
        _print_request(shown, ZoneInfo(app.settings.business_hours.timezone))
    return 0


def _print_request(shown: RequestView, zone: ZoneInfo) -> None:
    """For a person: times in the business time zone ([business_hours] timezone), to the
    minute, with its offset; no owner is "nobody". `--json` keeps the stored ISO times."""

    def local(moment: str | None) -> str:
        if not moment:
            return ""
        return dt.datetime.fromisoformat(moment).astimezone(zone).strftime("%Y-%m-%d %H:%M %z")

    print(f"[{shown['tag']}] {shown['subject']}")
    print(f"status: {shown['status']}   requester: {shown['requester']}   "
          f"owner: {shown['owner'] or 'nobody'}")  # fmt: skip
    print(f"participants: {', '.join(shown['participants'])}")
    if shown["auto_close_at"]:
        print(f"closes automatically at: {local(shown['auto_close_at'])}")
    print("history:")
    for event in shown["events"]:
        change = f"{event['from'] or ''} -> {event['to']}" if event["to"] else ""
        detail = _one_line(event["detail"])
        at, kind, actor = local(event["at"]), event["kind"], event["actor"]
        print(f"  {at}  {kind:<12} {change:<34} {actor}  {detail}")
    print("messages:")
    for message in shown["messages"]:
        # A notification: to whom it went; anything received: who wrote it.
        who = f"to {message['to']}" if message["direction"] == "out" else message["from"]
        print(f"  {local(message['at'])}  {message['direction']:<3} {message['kind']:<12} {who}")


def _one_line(text: str) -> str:
    """The first line of an event's detail (an answer's whole text), cut to fit a table row."""
    lines = text.strip().splitlines()
    first = lines[0].strip() if lines else ""
    if len(first) > DETAIL_WIDTH or len(lines) > 1:
        return first[: DETAIL_WIDTH - 1].rstrip() + "…"
    return first


def _timestamp(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the offset, e.g. 2026-12-01T10:00:00+03:00")
    return moment


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mailgate",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit status:\n"
        + "".join(f"  {code:<3} {meaning}\n" for code, meaning in exits.MEANINGS.items())
        + "  check has its own for each step (mailgate check --help)",
    )
    parser.add_argument("--version", action="version", version=f"mailgate {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MAILGATE_CONFIG"),
        metavar="FILE",
        help="the TOML config (default: $MAILGATE_CONFIG)",
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("MAILGATE_LOG_LEVEL", "INFO"),
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        type=str.upper,
        help="log lines on stderr from this level up (default: $MAILGATE_LOG_LEVEL or INFO)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser(
        "init", help="create or upgrade the database (safe to repeat)", description=_INIT
    )
    run = commands.add_parser(
        "run", help="the worker: fetch, apply, send, until stopped", description=_RUN
    )
    run.add_argument("--once", action="store_true", help="one round, then exit")
    run.add_argument(
        "--now",
        type=_timestamp,
        metavar="TIME",
        help="with --once: run the timers as of this ISO 8601 time, e.g. 2026-12-01T10:00:00+03:00",
    )
    requests = commands.add_parser("requests", help="list requests or show one")
    sub = requests.add_subparsers(dest="requests_command", required=True, metavar="ACTION")
    listing = sub.add_parser(
        "list", help="one line per request, oldest first", description="List requests."
    )
    statuses = [status.value for status in Status]
    listing.add_argument(
        "--status",
        choices=statuses,
        metavar="STATUS",
        help=f"only requests in this status: {', '.join(statuses)}",
    )
    listing.add_argument("--breached", action="store_true", help="only requests with an SLA breach")
    listing.add_argument("--mailbox", metavar="NAME", help="only the requests of this mailbox")
    listing.add_argument("--priority", choices=PRIORITIES, help="only requests of this priority")
    listing.add_argument("--label", metavar="NAME", help="only requests with this label")
    listing.add_argument(
        "--rated",
        choices=("good", "bad", "any"),
        help="only requests whose client rated them so (any: rated at all)",
    )
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    show = sub.add_parser(
        "show",
        help="one request: status, participants, history, messages",
        description="Show one request with its history and messages.",
    )
    show.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    show.add_argument("--json", action="store_true", help="print JSON with every field")
    show.add_argument(
        "--now", type=_timestamp, metavar="TIME", help="show the SLA clock as of this time"
    )
    register_operations(commands, requests_actions=sub, timestamp=_timestamp)
    attachments_cli.register(commands)
    cli_docs.register(commands)
    parse = commands.add_parser(
        "parse", help="what mailgate reads from one message file", description=_PARSE
    )
    parse.add_argument("message", type=Path, help="a raw message (.eml)")
    parse.add_argument(
        "--json", action="store_true", help="print JSON, with stable keys, for scripts"
    )
    return parser


_INIT = "Create the database tables, or upgrade them to this version. Safe to run again."
_RUN = (
    "Run the worker: fetch waiting mail, apply it to requests, run the timers (reminders, "
    "auto-close, SLA), send the notifications. Without --once it keeps going (IMAP IDLE where "
    "the server has it, else polling) until SIGTERM or Ctrl-C."
)
_PARSE = (
    "Show what mailgate reads from one message: the request tag, the sender, whether it is "
    "automatic or a bounce, the new text without quotes and signature, and the commands found "
    "or rejected. Uses no database or network; with --config it applies the config's tag "
    "prefix and agents."
)


if __name__ == "__main__":
    sys.exit(main())
