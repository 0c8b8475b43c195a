"""How fast `mailgate run --once` clears a backlog, beside what the libraries allow.

In one run, on one generated corpus of new requests (bench/corpus.py) in a
private Dovecot, for each backlog size:

- the ceiling (bench/ceiling.py): fetch + parse + move, nothing else;
- `mailgate run --once` as a subprocess, on a new SQLite file and on a new
  PostgreSQL database, each acknowledgement and agent notice delivered to an
  SMTP sink in its own process (bench/sink.py);

then the start-up figures (`run --once` on an empty inbox, `mailgate parse`).
Every figure is the median of ``--repeat`` runs, interleaved so that the
machine's noise falls on all of them alike. Only ratios taken in one run
compare: the machine is shared. See bench/README.md.

    .venv/bin/python -m bench.backlog [N ...] [--database sqlite|postgresql]
        [--repeat 3] [--python PATH] [--profile PATH]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench import inbox
from bench.corpus import make_corpus
from bench.mailgate_cli import DATABASES, Mailgate, Servers, configured, describe
from bench.measure import BenchError, Run, run_measured, summarize
from bench.profiling import profile_run_once
from bench.report import (
    BacklogFigures,
    StartupFigures,
    render_backlog,
    render_scaling,
    render_startup,
)
from bench.sink import SinkProcess
from mailgate.sandbox import Dovecot

CEILING_SCRIPT = Path(__file__).with_name("ceiling.py")
"""Run by path, not with -m: the measured interpreter may not see this checkout."""
NOTICES_PER_REQUEST = 2
"""The acknowledgement to the client and the notice to `agent_notify`."""


class Bench:
    """The servers, the corpus in the inbox, and the measured commands."""

    def __init__(
        self, imap: Dovecot, sink: SinkProcess, *, python: str, workdir: Path, repeats: int
    ) -> None:
        self.imap = imap
        self.sink = sink
        self.python = python
        self.workdir = workdir
        self.repeats = repeats
        self.servers = Servers(
            imap_host=imap.host,
            imap_port=imap.port,
            imap_user=imap.user,
            imap_password=imap.password,
            smtp_host=sink.host,
            smtp_port=sink.port,
        )

    def backlog(self, corpus: Sequence[bytes], databases: Sequence[str]) -> BacklogFigures:
        """Load the corpus once, then measure the ceiling and each database in turns."""
        count = len(corpus)
        inbox.load(self.imap.account, corpus)
        ceiling: list[Run] = []
        runs: dict[str, list[Run]] = {database: [] for database in databases}
        idle_after: list[Run] = []
        for _ in range(self.repeats):
            ceiling.append(self._ceiling(count))
            for database in databases:
                with self.mailgate(database) as mailgate:
                    runs[database].append(self._drain(mailgate, count))
                    if database == "sqlite":
                        idle_after.append(mailgate.run_once())
                self._refill(count)
        return BacklogFigures(
            ceiling=summarize(count, ceiling),
            mailgate={database: summarize(count, found) for database, found in runs.items()},
            idle_after=summarize(1, idle_after).wall if idle_after else None,
        )

    def startup(self, sample: bytes) -> StartupFigures:
        """`run --once` on an empty inbox and `parse` of one mail, after one run to warm up."""
        if inbox.count_waiting(self.imap.account):
            raise BenchError("the start-up figures need an empty inbox")
        message = self.workdir / "one.eml"
        message.write_bytes(sample)
        with self.mailgate("sqlite") as mailgate:
            mailgate.run_once()
            empty = [mailgate.run_once() for _ in range(self.repeats)]
            parse = mailgate.command("parse", str(message))
            mailgate.run(parse)
            parsed = [mailgate.run(parse) for _ in range(self.repeats)]
        return StartupFigures(
            empty_run=summarize(1, empty).wall,
            parse=summarize(1, parsed).wall,
            repeats=self.repeats,
        )

    def profile(self, count: int, report_path: Path) -> str:
        """One extra SQLite run over the loaded corpus under pyinstrument; not in the figures."""
        with self.mailgate("sqlite") as mailgate:
            sent_before = self.sink.received()
            run, summary = profile_run_once(mailgate, report_path)
            self._check_delivered(count, sent_before, run.output)
        self._refill(count)
        return summary

    def mailgate(self, database: str) -> contextlib.AbstractContextManager[Mailgate]:
        return configured(self.python, self.workdir, self.servers, database)

    def _ceiling(self, count: int) -> Run:
        run = run_measured(
            [
                self.python, str(CEILING_SCRIPT), self.imap.host, str(self.imap.port),
                self.imap.user, self.imap.password, inbox.PROCESSED,
            ]
        )  # fmt: skip
        if f'"moved": {count}' not in run.output:
            raise BenchError(f"the ceiling moved less than {count}: {run.output[-2000:]}")
        self._refill(count)
        return run

    def _drain(self, mailgate: Mailgate, count: int) -> Run:
        sent_before = self.sink.received()
        run = mailgate.run_once()
        self._check_delivered(count, sent_before, run.output)
        return run

    def _check_delivered(self, count: int, sent_before: int, output: str) -> None:
        sent = self.sink.received() - sent_before
        left = inbox.count_waiting(self.imap.account)
        if sent != NOTICES_PER_REQUEST * count or left:
            raise BenchError(
                f"mailgate sent {sent} of {NOTICES_PER_REQUEST * count} notifications "
                f"and left {left} of {count} messages in the inbox:\n{output[-3000:]}"
            )

    def _refill(self, count: int) -> None:
        waiting = inbox.restore(self.imap.account)
        if waiting != count:
            raise BenchError(f"{waiting} messages back in the inbox, expected {count}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    databases = args.database or list(DATABASES)
    backlogs = args.backlogs or [1000]
    corpus = make_corpus(max(backlogs))
    print(
        f"## mailgate bench, {dt.date.today().isoformat()}, {os.cpu_count()} CPUs\n\n"
        f"mailgate: {describe(args.python)}\n",
        flush=True,
    )
    results: list[BacklogFigures] = []
    with (
        tempfile.TemporaryDirectory(prefix="mailgate-bench-") as workdir,
        Dovecot() as imap,
        SinkProcess() as sink,
    ):
        bench = Bench(imap, sink, python=args.python, workdir=Path(workdir), repeats=args.repeat)
        try:
            print(render_startup(bench.startup(corpus[0])), flush=True)
            for count in backlogs:
                results.append(bench.backlog(corpus[:count], databases))
                print(render_backlog(results[-1]), flush=True)
                if args.profile and count == backlogs[0]:
                    summary = bench.profile(count, args.profile)
                    print(f"### Profile of one SQLite run ({args.profile})\n\n```\n{summary}```\n")
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    print(render_scaling(results), flush=True)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.backlog", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "backlogs", nargs="*", type=int, metavar="N", help="backlog sizes (default: 1000)"
    )
    parser.add_argument(
        "--database",
        action="append",
        choices=DATABASES,
        help="measure this database only (repeatable; default: both)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure, the median is shown (default: 3)"
    )
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter whose mailgate is measured (default: this one)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="also profile one SQLite run of the first backlog with pyinstrument into PATH",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
