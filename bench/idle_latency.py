"""How long a mail waits when `mailgate run` is idle: APPEND to acknowledgement.

`mailgate run` (IDLE on the inbox, polling only every 60 s) runs on a private
Dovecot, a new database and an SMTP sink in this process. Mails are APPENDed
one at a time, each after the previous one's acknowledgement and a pause, and
the delay from the APPEND to the sink receiving the acknowledgement to that
sender is measured. It includes Dovecot noticing the new mail (inotify, or
its 1-second `mailbox_idle_check_interval` fallback), the IDLE wake-up, the
fetch, the apply, and the SMTP pump. The first mail, which pays for starting
the pump, is not counted.

    .venv/bin/python -m bench.idle_latency [COUNT] [--database sqlite|postgresql]
        [--pause 0.5] [--python PATH]

Prints one Markdown table row per run: p50, p90, p99 (nearest rank) and max.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import email.utils
import math
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.corpus import make_corpus
from bench.mailgate_cli import DATABASES, Mailgate, Servers, configured
from bench.measure import BenchError
from tests.sandbox import CapturedMail, Dovecot, SmtpSink

WAIT = 30.0  # seconds for one acknowledgement: twice the worst an IDLE wake-up should take


class Arrivals:
    """When the first mail to each address reached the sink (time.monotonic())."""

    def __init__(self) -> None:
        self._first: dict[str, float] = {}
        self._changed = threading.Condition()

    def record(self, mail: CapturedMail) -> None:
        now = time.monotonic()
        with self._changed:
            for address in mail.rcpt_tos:
                self._first.setdefault(address.lower(), now)
            self._changed.notify_all()

    def wait_for(self, address: str, timeout: float) -> float:
        with self._changed:
            if not self._changed.wait_for(lambda: address in self._first, timeout):
                raise BenchError(f"no acknowledgement to {address} within {timeout} s")
            return self._first[address]


def sender_of(raw: bytes) -> str:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    return email.utils.parseaddr(str(message["From"]))[1].lower()


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[max(math.ceil(share * len(ordered)) - 1, 0)]


def measure(mailgate: Mailgate, imap: Dovecot, arrivals: Arrivals, corpus: Sequence[bytes],
            pause: float) -> list[float]:  # fmt: skip
    """Start `mailgate run`, send the corpus one mail at a time; the delays after the first."""
    log = mailgate.config.with_suffix(".log")
    with log.open("wb") as output:
        worker = subprocess.Popen(
            mailgate.command("run"), cwd=mailgate.config.parent, stdout=output, stderr=output
        )
    try:
        delays = []
        for raw in corpus:
            time.sleep(pause)  # let the worker go back to IDLE
            appended = time.monotonic()
            imap.append(raw)
            if worker.poll() is not None:
                raise BenchError(f"mailgate run exited {worker.returncode}: see {log}")
            delays.append(arrivals.wait_for(sender_of(raw), WAIT) - appended)
        return delays[1:]
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def render(database: str, delays: Sequence[float]) -> str:
    figures = (
        " | ".join(f"{percentile(delays, share):.2f} s" for share in (0.5, 0.9, 0.99))
        + f" | {max(delays):.2f} s"
    )
    return f"| IDLE, APPEND to acknowledgement, {database} | {len(delays)} | {figures} |"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.idle_latency", description=__doc__)
    parser.add_argument("count", nargs="?", type=int, default=50, help="mails measured")
    parser.add_argument("--database", choices=DATABASES, action="append")
    parser.add_argument("--pause", type=float, default=0.5, help="seconds between mails")
    parser.add_argument("--python", default=sys.executable, help="the interpreter measured")
    args = parser.parse_args(argv)
    corpus = make_corpus(args.count + 1)
    print("| row | mails | p50 | p90 | p99 | max |\n|---|---|---|---|---|---|", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="mailgate-idle-") as workdir:
            for database in args.database or ["sqlite"]:
                arrivals = Arrivals()
                with Dovecot() as imap, SmtpSink(on_message=arrivals.record) as sink:
                    servers = Servers(
                        imap_host=imap.host, imap_port=imap.port, imap_user=imap.user,
                        imap_password=imap.password, smtp_host=sink.host, smtp_port=sink.port,
                    )  # fmt: skip
                    with configured(args.python, Path(workdir), servers, database) as mailgate:
                        delays = measure(mailgate, imap, arrivals, corpus, args.pause)
                print(render(database, delays), flush=True)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
