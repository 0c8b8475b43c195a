"""The benchmark's tables: each figure beside its ceiling, the ratio, and the goal.

Printed as Markdown, so a run can be pasted into bench/README.md or an issue
as it is. Goals are those of issue 8 for this 2-core machine class.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bench.measure import Figures

GOAL_SHARE_OF_CEILING = 0.45
GOAL_POSTGRESQL_OF_SQLITE = 0.70
GOAL_CPU_TIMES_CEILING = 2.5
GOAL_PEAK_RSS_MIB = 100
GOAL_EMPTY_RUN_SECONDS = 0.5
GOAL_PARSE_SECONDS = 0.3
LABELS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
AGAINST = "against "
"""The prefix of the rows of `--against`'s mailgate, before the database."""


def label(key: str) -> str:
    """ "SQLite", or "SQLite, against" for the other mailgate's row."""
    database = key.removeprefix(AGAINST)
    return LABELS[database] + (", against" if key != database else "")


@dataclass(frozen=True, slots=True, kw_only=True)
class BacklogFigures:
    ceiling: Figures
    mailgate: Mapping[str, Figures]
    """By database: "sqlite", "postgresql"."""
    idle_after: float | None
    """Median wall seconds of `run --once` on the emptied inbox, SQLite database kept."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartupFigures:
    empty_run: float
    """Median wall seconds of `run --once`: empty inbox, new SQLite database."""
    parse: float
    """Median wall seconds of `mailgate parse` of one message."""
    repeats: int


def render_backlog(figures: BacklogFigures) -> str:
    ceiling = figures.ceiling
    lines = [
        f"### {ceiling.messages:,} new requests, median of {ceiling.repeats}",
        "",
        "| | msgs/s | of the ceiling | CPU per message | × the ceiling | wall | peak RSS |",
        "|---|---|---|---|---|---|---|",
        row("ceiling: fetch (bulk 500) + `email` parse + UID MOVE", ceiling, ceiling),
    ]
    for database, measured in figures.mailgate.items():
        lines.append(row(f"`mailgate run --once`, {label(database)}", measured, ceiling))
    lines += ["", *_goals(figures)]
    against = [f"{AGAINST}sqlite", f"{AGAINST}postgresql"]
    if all(key in figures.mailgate for key in against):
        share = figures.mailgate[against[1]].rate / figures.mailgate[against[0]].rate
        lines.append(f"- against: PostgreSQL at {share:.0%} of SQLite's msgs/s")
    return "\n".join(lines) + "\n"


def render_startup(figures: StartupFigures) -> str:
    return (
        f"### Start-up, median of {figures.repeats}\n\n"
        "| | wall | goal |\n|---|---|---|\n"
        f"| `run --once`, empty inbox, new SQLite database | {figures.empty_run:.2f} s "
        f"| ≤ {GOAL_EMPTY_RUN_SECONDS} s {_mark(figures.empty_run <= GOAL_EMPTY_RUN_SECONDS)} |\n"
        f"| `mailgate parse` of one message | {figures.parse:.2f} s "
        f"| ≤ {GOAL_PARSE_SECONDS} s {_mark(figures.parse <= GOAL_PARSE_SECONDS)} |\n"
    )


def render_statements(count: int, counted: Mapping[str, Mapping]) -> str:
    """Statements and commits per message of one run per database (bench/count_statements.py)."""
    lines = [
        f"### SQL per message, one run of {count:,} (bench/count_statements.py)",
        "",
        "| | statements | of them executemany | commits | the most frequent |",
        "|---|---|---|---|---|",
    ]
    for database, found in counted.items():
        totals, statements = found["totals"], found["statements"]
        frequent = ", ".join(
            f"{name} {number / count:.2f}"
            for name, number in sorted(statements.items(), key=lambda kv: -kv[1])[:6]
        )
        lines.append(
            f"| {LABELS[database]} | {totals.get('statements', 0) / count:.2f} "
            f"| {totals.get('executemany', 0) / count:.2f} "
            f"| {totals.get('commits', 0) / count:.3f} | {frequent} |"
        )
    return "\n".join(lines) + "\n"


def render_scaling(backlogs: Sequence[BacklogFigures]) -> str:
    """How the rate of the largest backlog compares with the smallest's."""
    if len(backlogs) < 2:
        return ""
    small, large = backlogs[0], backlogs[-1]
    lines = [f"### {large.ceiling.messages:,} against {small.ceiling.messages:,}", ""]
    for database, measured in large.mailgate.items():
        if database in small.mailgate:
            share = measured.rate / small.mailgate[database].rate
            lines.append(f"- {label(database)}: the rate is {share:.0%} of the smaller backlog's")
    return "\n".join(lines) + "\n"


def row(label: str, measured: Figures, ceiling: Figures) -> str:
    return (
        f"| {label} | {measured.rate:.1f} | {measured.rate / ceiling.rate:.0%} "
        f"| {measured.cpu_ms:.2f} ms | {measured.cpu_ms / ceiling.cpu_ms:.1f} × "
        f"| {measured.wall:.2f} s | {measured.peak_rss_mib:.0f} MiB |"
    )


def _goals(figures: BacklogFigures) -> list[str]:
    ceiling, found = figures.ceiling, figures.mailgate
    goals = []
    if "sqlite" in found:
        share = found["sqlite"].rate / ceiling.rate
        goals.append(
            f"- SQLite at {share:.0%} of the ceiling's msgs/s "
            f"(goal ≥ {GOAL_SHARE_OF_CEILING:.0%}) {_mark(share >= GOAL_SHARE_OF_CEILING)}"
        )
    if "sqlite" in found and "postgresql" in found:
        share = found["postgresql"].rate / found["sqlite"].rate
        goals.append(
            f"- PostgreSQL at {share:.0%} of SQLite's msgs/s "
            f"(goal ≥ {GOAL_POSTGRESQL_OF_SQLITE:.0%}) {_mark(share >= GOAL_POSTGRESQL_OF_SQLITE)}"
        )
    for database, measured in found.items():
        if database.startswith(AGAINST):  # the goals are this mailgate's
            continue
        times = measured.cpu_ms / ceiling.cpu_ms
        rss_ok = measured.peak_rss_mib <= GOAL_PEAK_RSS_MIB
        goals.append(
            f"- {LABELS[database]}: CPU {times:.1f} × the ceiling's "
            f"(goal ≤ {GOAL_CPU_TIMES_CEILING} ×) {_mark(times <= GOAL_CPU_TIMES_CEILING)}, "
            f"peak RSS {measured.peak_rss_mib:.0f} MiB (goal ≤ {GOAL_PEAK_RSS_MIB}) "
            f"{_mark(rss_ok)}"
        )
    if figures.idle_after is not None:
        goals.append(
            f"- `run --once` on the emptied inbox, {ceiling.messages:,} requests in SQLite: "
            f"{figures.idle_after:.2f} s"
        )
    return goals


def _mark(met: bool) -> str:
    return "(met)" if met else "(not met)"
