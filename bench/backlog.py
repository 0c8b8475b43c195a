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
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import inbox
from bench.corpus import CORPORA, make_corpus
from bench.mailgate_cli import (
    DATABASES,
    Mailgate,
    Servers,
    compile_bytecode,
    configured,
    describe,
)
from bench.measure import BenchError, Run, run_measured, summarize
from bench.profiling import profile_run_once
from bench.report import (
    AGAINST,
    BacklogFigures,
    StartupFigures,
    render_backlog,
    render_scaling,
    render_startup,
    render_statements,
)
from bench.sink import SinkProcess
from tests.sandbox import Dovecot

CEILING_SCRIPT = Path(__file__).with_name("ceiling.py")
COUNTER_SCRIPT = Path(__file__).with_name("count_statements.py")
"""Run by path, not with -m: the measured interpreter may not see this checkout."""
NOTICES_PER_REQUEST = 2
"""The acknowledgement to the client and the notice to `agent_notify`."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Round:
    """One run of the ceiling and of each database over the same loaded backlog."""

    ceiling: Run
    mailgate: dict[str, Run]
    idle_after: Run | None
    """`run --once` on the emptied inbox, the SQLite database kept (when asked for)."""


def figures_of(count: int, rounds: Sequence[Round]) -> BacklogFigures:
    """The medians of repeated rounds over a backlog of `count` messages."""
    idle_after = [found.idle_after for found in rounds if found.idle_after is not None]
    return BacklogFigures(
        ceiling=summarize(count, [found.ceiling for found in rounds]),
        mailgate={
            database: summarize(count, [found.mailgate[database] for found in rounds])
            for database in rounds[0].mailgate
        },
        idle_after=summarize(1, idle_after).wall if idle_after else None,
    )


class Bench:
    """The servers, the corpus in the inbox, and the measured commands."""

    def __init__(
        self,
        imap: Dovecot,
        sink: SinkProcess,
        *,
        python: str,
        workdir: Path,
        repeats: int,
        config_extra: str = "",
        against: str | None = None,
    ) -> None:
        self.imap = imap
        self.sink = sink
        self.python = python
        self.workdir = workdir
        self.repeats = repeats
        self.config_extra = config_extra
        """TOML added to each mailgate's config (see `configured`)."""
        self.against = against
        """Another interpreter whose mailgate is measured in the same rounds (`--against`)."""
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
        inbox.load(self.imap.account, corpus)
        rounds = [self.measure_round(len(corpus), databases) for _ in range(self.repeats)]
        return figures_of(len(corpus), rounds)

    def measure_round(
        self, count: int, databases: Sequence[str], *, idle_after: bool = True
    ) -> Round:
        """The ceiling, then each database, over the `count` messages loaded in the inbox."""
        ceiling = self._ceiling(count)
        runs: dict[str, Run] = {}
        idle: Run | None = None
        for database in databases:
            with self.mailgate(database) as mailgate:
                runs[database] = self._drain(mailgate, count)
                if database == "sqlite" and idle_after:
                    idle = mailgate.run_once()
            self._refill(count)
            if self.against is not None:
                with self.mailgate(database, python=self.against) as mailgate:
                    runs[f"{AGAINST}{database}"] = self._drain(mailgate, count)
                self._refill(count)
        return Round(ceiling=ceiling, mailgate=runs, idle_after=idle)

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

    def statements(self, count: int, databases: Sequence[str], prefix: Path) -> str:
        """One more run per database under bench/count_statements.py, its counts written
        to PREFIX-DATABASE.json; not in the figures."""
        counted = {}
        for database in databases:
            with self.mailgate(database) as mailgate:
                counts_path = prefix.with_name(f"{prefix.name}-{database}.json")
                sent_before = self.sink.received()
                python, *command = mailgate.command("run", "--once")
                run = mailgate.run([python, str(COUNTER_SCRIPT), str(counts_path), *command])
                self._check_delivered(count, sent_before, run.output)
                counted[database] = json.loads(counts_path.read_text(encoding="utf-8"))
            self._refill(count)
        return render_statements(count, counted)

    def mailgate(
        self, database: str, *, python: str | None = None
    ) -> contextlib.AbstractContextManager[Mailgate]:
        return configured(
            python or self.python, self.workdir, self.servers, database, extra=self.config_extra
        )

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
    corpus = make_corpus(max(backlogs), kind=args.corpus)
    for python in filter(None, (args.python, args.against)):
        compile_bytecode(python)
    print(
        f"## mailgate bench, {dt.date.today().isoformat()}, {os.cpu_count()} CPUs\n\n"
        f"mailgate: {describe(args.python)}\n"
        + (f"against: {describe(args.against)}\n" if args.against else ""),
        flush=True,
    )
    results: list[BacklogFigures] = []
    with (
        tempfile.TemporaryDirectory(prefix="mailgate-bench-") as workdir,
        Dovecot() as imap,
        SinkProcess(write_to=_sink_dir(workdir) if args.sink_writes else None) as sink,
    ):
        bench = Bench(imap, sink, python=args.python, workdir=Path(workdir), repeats=args.repeat,
                      against=args.against)  # fmt: skip
        try:
            print(render_startup(bench.startup(corpus[0])), flush=True)
            for count in backlogs:
                results.append(bench.backlog(corpus[:count], databases))
                print(render_backlog(results[-1]), flush=True)
                if args.profile and count == backlogs[0]:
                    summary = bench.profile(count, args.profile)
                    print(f"### Profile of one SQLite run ({args.profile})\n\n```\n{summary}```\n")
                if args.statements and count == backlogs[0]:
                    print(bench.statements(count, databases, args.statements), flush=True)
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    print(render_scaling(results), flush=True)
    return 0


def _sink_dir(workdir: str) -> str:
    path = Path(workdir) / "sink"
    path.mkdir()
    return str(path)


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
        "--corpus",
        choices=CORPORA,
        default="small",
        help="small: short mail, a third with HTML (default); mixed: a quarter HTML only, "
        "one in ten with a 20-60 KB file",
    )
    parser.add_argument(
        "--sink-writes",
        action="store_true",
        help="the SMTP sink writes every mail it accepts to a file, as a real server stores it",
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
        "--against",
        metavar="PATH",
        help="also measure the mailgate this interpreter imports, in the same rounds "
        "(rows marked 'against'): before and after compared under the same load",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        help="also profile one SQLite run of the first backlog with pyinstrument into PATH",
    )
    parser.add_argument(
        "--statements",
        type=Path,
        metavar="PREFIX",
        help="also count the SQL of one run of the first backlog per database, into "
        "PREFIX-DATABASE.json",
    )
    return parser


if __name__ == "__main__":
    sys.exit(main())
