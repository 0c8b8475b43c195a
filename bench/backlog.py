"""How fast `mailgate run --once` clears a backlog of new requests.

Loads N new-request mails into a private Dovecot, then times one
`mailgate run --once` (a subprocess, as an admin runs it) that fetches,
applies and answers them all: an acknowledgement to each client and a notice
to the agents, delivered to an SMTP sink. Prints messages per second and the
worker's peak RSS, which must not grow with the backlog.

    .venv/bin/python bench/backlog.py 1000 10000 [--database sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import psycopg

from mailgate.sandbox import Dovecot, SmtpSink

PG_ADMIN = "host=127.0.0.1 port=5432 dbname=test user=postgres"
BODIES = [
    "Hello,\n\nour phones cannot call out since this morning. Extension {n} shows 'no trunk'.\n\n"
    "Best regards,\nClient {n}",
    "Здравствуйте!\n\nНе работает переадресация на номер {n}. Проверьте, пожалуйста.\n\n"
    "С уважением,\nКлиент {n}",
]


def make_mail(n: int) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = f"Client {n} <client{n}@corp{n % 50}.example>"
    message["To"] = "support@example.org"
    message["Subject"] = f"Problem number {n}"
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0300"
    message["Message-ID"] = f"<bench-{n}-{uuid.uuid4().hex[:8]}@corp.example>"
    message.set_content(BODIES[n % 2].format(n=n))
    if n % 3 == 0:
        message.add_alternative(f"<p>{BODIES[n % 2].format(n=n)}</p>", subtype="html")
    return message.as_bytes()


def database_url(kind: str, workdir: Path) -> tuple[str, str | None]:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.sqlite3'}", None
    name = f"mailgate_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def run_backlog(count: int, kind: str) -> None:
    with tempfile.TemporaryDirectory() as tmp, Dovecot() as imap, SmtpSink() as smtp:
        workdir = Path(tmp)
        url, pg_name = database_url(kind, workdir)
        config = workdir / "bench.toml"
        config.write_text(
            f'support_address = "support@example.org"\nagent_notify = ["team@example.org"]\n'
            f'[database]\nurl = "{url}"\n'
            f'[imap]\nhost = "{imap.host}"\nport = {imap.port}\nsecurity = "none"\n'
            f'username = "{imap.user}"\npassword = "{imap.password}"\n'
            f'[smtp]\nhost = "{smtp.host}"\nport = {smtp.port}\nsecurity = "none"\n'
        )
        mailgate = [sys.executable, "-m", "mailgate.cli", "--config", str(config)]
        subprocess.run([*mailgate, "init"], check=True, capture_output=True)
        loaded = time.perf_counter()
        for start in range(0, count, 500):
            imap.append_many([make_mail(n) for n in range(start, min(start + 500, count))])
        load_seconds = time.perf_counter() - loaded

        started = time.perf_counter()
        process = subprocess.Popen(
            [*mailgate, "--log-level", "WARNING", "run", "--once"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - started
        output = process.stdout.read().decode() + process.stderr.read().decode()
        process.stdout.close()
        process.stderr.close()
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"run --once failed:\n{output}")
        sent = len(smtp.messages)
        left = len(imap.list_folder("INBOX"))
        print(
            f"{kind:<10} {count:>6} mails  run --once {elapsed:7.2f} s  "
            f"{count / elapsed:7.1f} msg/s  peak RSS {usage.ru_maxrss / 1024:6.1f} MiB  "
            f"sent {sent} (expected {2 * count})  left in INBOX {left}  "
            f"(loading took {load_seconds:.1f} s)",
            flush=True,
        )
        if pg_name:
            with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("counts", nargs="*", type=int, default=[1000, 10000])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    for count in args.counts:
        run_backlog(count, args.database)


if __name__ == "__main__":
    main()
