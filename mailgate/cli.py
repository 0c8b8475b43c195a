"""`mailgate` command line: arguments and logging, nothing else (SPEC §8)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from mailgate import __version__
from mailgate.app import App, build_app
from mailgate.config import load_settings
from mailgate.errors import ConfigError, TransportError
from mailgate.logs import setup_logging

log = logging.getLogger("mailgate")

EXIT_CONFIG = 2
EXIT_TRANSPORT = 3
EXIT_NOT_FOUND = 4


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    if args.command == "parse":
        from mailgate.explain import explain_file

        return explain_file(args.message, config_path=args.config, as_json=args.json)
    if not args.config:
        parser.error("give --config FILE or set MAILGATE_CONFIG")
    try:
        app = build_app(load_settings(args.config))
        try:
            return _dispatch(app, args)
        finally:
            app.engine.dispose()
    except ConfigError as exc:
        print(f"mailgate: config error: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except TransportError as exc:
        print(f"mailgate: {exc}", file=sys.stderr)
        return EXIT_TRANSPORT


def _dispatch(app: App, args: argparse.Namespace) -> int:
    if args.command == "init":
        from mailgate.store.engine import upgrade_schema

        upgrade_schema(app.engine)
        print("database is up to date")
        return 0
    if args.command == "check":
        return _check(app)
    if args.command == "run":
        return _run(app, once=args.once, now=args.now)
    if args.command == "requests":
        return _requests(app, args)
    raise AssertionError(args.command)  # argparse allows nothing else


def _check(app: App) -> int:
    from mailgate.ingest import Inbox
    from mailgate.send import Mailer

    settings = app.settings
    print(f"config: ok ({settings.database_url.split('://')[0]} database)")
    with Inbox(settings.imap) as inbox:
        count = len(inbox.waiting_uids())
    print(f"imap: ok, logged in to {settings.imap.host}:{settings.imap.port}, {count} waiting")

    async def smtp_login() -> None:
        mailer = Mailer(settings.smtp)
        client = await mailer.connect()
        await client.quit()

    try:
        asyncio.run(smtp_login())
    except Exception as exc:
        raise TransportError(
            f"SMTP {settings.smtp.host}:{settings.smtp.port}: {exc}", temporary=True
        ) from None
    print(f"smtp: ok, connected to {settings.smtp.host}:{settings.smtp.port}")
    return 0


def _run(app: App, *, once: bool, now: dt.datetime | None) -> int:
    clock = (lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC))
    worker = app.worker(clock)
    if once:
        report = worker.run_once()
        print(
            f"fetched {report.fetched}, applied {report.applied}, failed {report.failed}, "
            f"duplicates {report.duplicates}, timers {report.timers}, sent {report.sent}, "
            f"send failures {report.send_failures}"
        )
        for error in report.errors:
            print(f"mailgate: {error}", file=sys.stderr)
        return EXIT_TRANSPORT if report.errors else 0
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop_requested.set())
    log.info("worker started")
    worker.run_forever()
    log.info("worker stopped")
    return 0


def _requests(app: App, args: argparse.Namespace) -> int:
    from mailgate.store import views

    prefix = app.settings.tag_prefix
    with app.sessions() as session:
        if args.requests_command == "list":
            rows = views.list_requests(
                session, tag_prefix=prefix, status=args.status, breached=args.breached
            )
            if args.json:
                print(json.dumps(rows, ensure_ascii=False, indent=2))
            else:
                for row in rows:
                    status, requester = row["status"], row["requester"]
                    print(f"{row['tag']:>10}  {status:<22} {requester:<30} {row['subject']}")
            return 0
        number = _number(args.tag, prefix)
        now = args.now or dt.datetime.now(dt.UTC)
        deadlines = app.services.deadlines

        def sla(history: list, first_response_at: dt.datetime | None) -> dict:
            return deadlines.sla(history, first_response_at, now).to_json()

        shown = views.show_request(session, number, tag_prefix=prefix, sla=sla) if number else None
        if shown is None:
            print(f"mailgate: no request {args.tag}", file=sys.stderr)
            return EXIT_NOT_FOUND
        if args.json:
            print(json.dumps(shown, ensure_ascii=False, indent=2))
        else:
            _print_request(shown)
        return 0


def _number(tag: str, prefix: str) -> int | None:
    text = tag.strip().strip("[]")
    if text.upper().startswith(prefix.upper() + "-"):
        text = text[len(prefix) + 1 :]
    return int(text) if text.isdigit() else None


def _print_request(shown: dict) -> None:
    print(f"[{shown['tag']}] {shown['subject']}")
    print(f"status: {shown['status']}   requester: {shown['requester']}   owner: {shown['owner']}")
    print(f"participants: {', '.join(shown['participants'])}")
    if shown["auto_close_at"]:
        print(f"closes automatically at: {shown['auto_close_at']}")
    print("history:")
    for event in shown["events"]:
        change = f"{event['from'] or ''} -> {event['to']}" if event["to"] else ""
        detail = event["detail"][:60]
        print(f"  {event['at']}  {event['kind']:<12} {change:<34} {event['actor']}  {detail}")
    print("messages:")
    for message in shown["messages"]:
        print(
            f"  {message['at']}  {message['direction']:<3} {message['kind']:<12} {message['from']}"
        )


def _timestamp(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError("give the offset, e.g. 2026-12-01T10:00:00+03:00")
    return moment


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mailgate", description=__doc__)
    parser.add_argument("--version", action="version", version=f"mailgate {__version__}")
    parser.add_argument(
        "--config",
        type=Path,
        default=os.environ.get("MAILGATE_CONFIG"),
        help="the TOML file (default: $MAILGATE_CONFIG)",
    )
    parser.add_argument("--log-level", default=os.environ.get("MAILGATE_LOG_LEVEL", "INFO"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or upgrade the database")
    commands.add_parser("check", help="validate the config, log in to IMAP and SMTP")
    run = commands.add_parser("run", help="the worker")
    run.add_argument("--once", action="store_true", help="one round, then exit")
    run.add_argument("--now", type=_timestamp, help="with --once: run the timers as of this time")
    requests = commands.add_parser("requests", help="list and show requests")
    sub = requests.add_subparsers(dest="requests_command", required=True)
    listing = sub.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--breached", action="store_true", help="only requests with an SLA breach")
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show")
    show.add_argument("tag", help="REQ-123 or 123")
    show.add_argument("--json", action="store_true")
    show.add_argument("--now", type=_timestamp, help="show the SLA clock as of this time")
    parse = commands.add_parser("parse", help="what mailgate reads from one message")
    parse.add_argument("message", type=Path)
    parse.add_argument("--json", action="store_true")
    return parser


if __name__ == "__main__":
    sys.exit(main())
