"""The sandbox's command line, for trying mailgate by hand; run it from the checkout::

    python -m tests.sandbox serve --dir DIR [--imap-port N] [--smtp-port N] [--smtp-auth]
    python -m tests.sandbox append --host H --port P --user U --password W FILE.eml...

``serve`` prints one JSON line (host, ports, user, password), writes every mail
the sink receives to ``DIR/outbox/NNNN.eml`` and runs until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from imap_tools.errors import ImapToolsError

from tests.sandbox.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, Dovecot
from tests.sandbox.imap_account import ImapAccount
from tests.sandbox.ports import LOOPBACK, SandboxError
from tests.sandbox.smtp_sink import CapturedMail, SmtpSink


def _serve(args: argparse.Namespace) -> int:
    outbox = Path(args.dir) / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 1_000_000_000))
    counter_lock = threading.Lock()

    def write_eml(mail: CapturedMail) -> None:
        with counter_lock:
            number = next(counter)
        staging = outbox / f".{number:04d}.eml.tmp"
        staging.write_bytes(mail.data)
        staging.replace(outbox / f"{number:04d}.eml")

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())

    smtp_auth = (args.user, args.password) if args.smtp_auth else None
    with (
        Dovecot(user=args.user, password=args.password, port=args.imap_port) as imap,
        SmtpSink(port=args.smtp_port, auth=smtp_auth, on_message=write_eml) as smtp,
    ):
        line = {
            "host": imap.host,
            "imap_port": imap.port,
            "smtp_port": smtp.port,
            "user": imap.user,
            "password": imap.password,
            "smtp_auth": smtp_auth is not None,
            "outbox": str(outbox),
            "maildir": str(imap.maildir),
        }
        print(json.dumps(line), flush=True)
        stop.wait()
    return 0


def _append(args: argparse.Namespace) -> int:
    account = ImapAccount(host=args.host, port=args.port, user=args.user, password=args.password)
    raws = [Path(name).read_bytes() for name in args.files]
    uids = account.append_many(raws, args.folder)
    print(json.dumps({"folder": args.folder, "uids": uids}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tests.sandbox", description="Loopback mail servers for the demo."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run Dovecot and an SMTP sink until SIGTERM")
    serve.add_argument("--dir", required=True, help="captured mail goes to DIR/outbox/")
    serve.add_argument("--imap-port", type=int, default=None)
    serve.add_argument("--smtp-port", type=int, default=None)
    serve.add_argument("--user", default=DEFAULT_USER)
    serve.add_argument("--password", default=DEFAULT_PASSWORD)
    serve.add_argument(
        "--smtp-auth", action="store_true", help="require SMTP AUTH with the same user/password"
    )
    serve.set_defaults(handler=_serve)

    append = commands.add_parser("append", help="APPEND .eml files to an IMAP folder")
    append.add_argument("--host", default=LOOPBACK)
    append.add_argument("--port", type=int, required=True)
    append.add_argument("--user", required=True)
    append.add_argument("--password", required=True)
    append.add_argument("--folder", default="INBOX")
    append.add_argument("files", nargs="+", metavar="FILE.eml")
    append.set_defaults(handler=_append)

    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (SandboxError, ImapToolsError, OSError) as error:
        print(f"sandbox: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
