"""What files cost `mailgate run --once`: a backlog with files beside one without, one big file.

Issue 10's goals, on this 2-core machine class:

- a backlog in which 12 % of the messages carry a 5–150 KB file and 3 % a
  200–600 KB one (bench/file_corpus.py) runs at ≥ 70 % of the msgs/s of the
  same backlog without them (bench/corpus.py: the same texts and senders);
- one new request with a 25 MiB file, relayed to the agents with the notice
  (`max_relay_bytes` and `max_message_bytes` raised so that it is), keeps
  the worker's peak RSS ≤ 250 MB.

The two backlogs sit in two private Dovecots and are measured in turns, each
with its ceiling (bench/ceiling.py), on new SQLite databases, as
bench/backlog.py measures them; the 25 MiB mail beside one small mail and
the ceiling fetching and parsing it. See bench/README.md.

    .venv/bin/python -m bench.attachments [N] [--repeat 3] [--big-mib 25]
        [--python PATH] [--profile PATH]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from bench import inbox
from bench.backlog import Bench, Round, figures_of
from bench.corpus import make_corpus
from bench.file_corpus import MIB, make_big_mail, make_mixed_corpus
from bench.mailgate_cli import compile_bytecode, describe
from bench.measure import BenchError, Figures
from bench.report import BacklogFigures, row
from bench.sink import SinkProcess
from tests.sandbox import Dovecot

GOAL_FILES_OF_SMALL = 0.70
GOAL_BIG_PEAK_RSS_MB = 250
SMALL, FILES = "small mail", "with files"
DATABASE = "sqlite"


def big_mail_limits(size: int) -> str:
    """Config that lets a mail carrying a file of `size` bytes in and its file out to agents."""
    return f"max_message_bytes = {2 * size + MIB}\n[attachments]\nmax_relay_bytes = {size + MIB}\n"


def measure_backlogs(
    benches: Mapping[str, Bench], corpora: Mapping[str, Sequence[bytes]], repeats: int
) -> dict[str, BacklogFigures]:
    """Each corpus in its own bench's inbox, the benches measured in turns, `repeats` times."""
    for label, bench in benches.items():
        inbox.load(bench.imap.account, corpora[label])
    rounds: dict[str, list[Round]] = {label: [] for label in benches}
    for _ in range(repeats):
        for label, bench in benches.items():
            count = len(corpora[label])
            rounds[label].append(bench.measure_round(count, [DATABASE], idle_after=False))
    return {label: figures_of(len(corpora[label]), found) for label, found in rounds.items()}


def measure_one(bench: Bench, raw: bytes, repeats: int) -> BacklogFigures:
    """One message alone in the inbox: its ceiling and `run --once`, `repeats` times."""
    inbox.load(bench.imap.account, [raw])
    sent_before = bench.sink.received_bytes()
    rounds = [bench.measure_round(1, [DATABASE], idle_after=False) for _ in range(repeats)]
    relayed = (bench.sink.received_bytes() - sent_before) / repeats
    if relayed < len(raw) * 0.9:
        raise BenchError(f"{relayed:.0f} bytes reached the sink per run: the file was not relayed")
    return figures_of(1, rounds)


def render_backlogs(
    figures: Mapping[str, BacklogFigures], corpora: Mapping[str, Sequence[bytes]]
) -> str:
    small, files = figures[SMALL], figures[FILES]
    count = small.ceiling.messages
    lines = [
        f"### {count:,} new requests, SQLite, median of {small.ceiling.repeats}",
        "",
        "| | msgs/s | of the ceiling | CPU per message | × the ceiling | wall | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, found in figures.items():
        size = sum(map(len, corpora[label])) / 1e6
        lines.append(row(f"ceiling, {label} ({size:.1f} MB)", found.ceiling, found.ceiling))
    for label, found in figures.items():
        lines.append(
            row(f"`mailgate run --once`, {label}", found.mailgate[DATABASE], found.ceiling)
        )
    share = files.mailgate[DATABASE].rate / small.mailgate[DATABASE].rate
    ceiling_share = files.ceiling.rate / small.ceiling.rate
    lines += [
        "",
        f"- with files at {share:.0%} of the small-mail msgs/s (goal ≥ {GOAL_FILES_OF_SMALL:.0%}) "
        f"{_mark(share >= GOAL_FILES_OF_SMALL)}; the ceiling with files at {ceiling_share:.0%} "
        "of its small-mail msgs/s",
    ]
    return "\n".join(lines) + "\n"


def render_big(one_small: BacklogFigures, one_big: BacklogFigures, big_size: int) -> str:
    label = f"one new request with a {big_size / MIB:.0f} MiB PDF"
    lines = [
        f"### One message, SQLite, median of {one_big.ceiling.repeats} (peak RSS: the highest)",
        "",
        "| | wall | CPU | peak RSS |",
        "|---|---|---|---|",
        _one_row(f"ceiling, {label}", one_big.ceiling),
        _one_row("`mailgate run --once`, one small new request", one_small.mailgate[DATABASE]),
        _one_row(f"`mailgate run --once`, {label}, relayed to agents", one_big.mailgate[DATABASE]),
        "",
    ]
    peak_mb = one_big.mailgate[DATABASE].peak_rss_mib * MIB / 1e6
    lines.append(
        f"- peak RSS with the {big_size / MIB:.0f} MiB file: {peak_mb:.0f} MB "
        f"(goal ≤ {GOAL_BIG_PEAK_RSS_MB} MB) {_mark(peak_mb <= GOAL_BIG_PEAK_RSS_MB)}"
    )
    return "\n".join(lines) + "\n"


def _one_row(label: str, found: Figures) -> str:
    cpu = found.cpu_ms / 1000
    return f"| {label} | {found.wall:.2f} s | {cpu:.2f} s | {found.peak_rss_mib:.0f} MiB |"


def _mark(met: bool) -> str:
    return "(met)" if met else "(not met)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    corpora = {SMALL: make_corpus(args.count), FILES: make_mixed_corpus(args.count)}
    big_size = args.big_mib * MIB
    compile_bytecode(args.python)
    print(
        f"## mailgate attachments bench, {dt.date.today().isoformat()}, {os.cpu_count()} CPUs\n\n"
        f"mailgate: {describe(args.python)}\n",
        flush=True,
    )
    with (
        tempfile.TemporaryDirectory(prefix="mailgate-bench-") as workdir,
        Dovecot() as small_imap,
        Dovecot() as files_imap,
        SinkProcess() as sink,
    ):

        def bench(imap: Dovecot, config_extra: str = "") -> Bench:
            return Bench(imap, sink, python=args.python, workdir=Path(workdir), repeats=1,
                         config_extra=config_extra)  # fmt: skip

        benches = {SMALL: bench(small_imap), FILES: bench(files_imap)}
        try:
            figures = measure_backlogs(benches, corpora, args.repeat)
            print(render_backlogs(figures, corpora), flush=True)
            if args.profile:
                summary = benches[FILES].profile(args.count, args.profile)
                print(f"### Profile of one run with files ({args.profile})\n\n```\n{summary}```\n")
            big = bench(files_imap, big_mail_limits(big_size))
            one_small = measure_one(big, corpora[SMALL][0], args.repeat)
            one_big = measure_one(big, make_big_mail(big_size), args.repeat)
            print(render_big(one_small, one_big, big_size), flush=True)
        except BenchError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.attachments", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "count", nargs="?", type=int, default=1000, help="backlog size (default: 1000)"
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per figure, the median is shown (default: 3)"
    )
    parser.add_argument(
        "--big-mib", type=int, default=25, help="the size of the one large file (default: 25 MiB)"
    )
    parser.add_argument(
        "--python", default=sys.executable, help="the interpreter whose mailgate is measured"
    )
    parser.add_argument(
        "--profile", type=Path, metavar="PATH",
        help="also profile one run of the backlog with files with pyinstrument into PATH",
    )  # fmt: skip
    return parser


if __name__ == "__main__":
    sys.exit(main())
