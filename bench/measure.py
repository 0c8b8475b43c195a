"""Time a command as a subprocess: wall time, CPU of its process tree, peak RSS.

`os.wait4` returns the child's resource usage including every descendant it
waited for (mailgate's SMTP pump is one), and the peak RSS of the largest
process in that tree; it needs no dependency and, unlike RUSAGE_CHILDREN,
does not mix up runs. It is called in bench/launch.py, a small process of
its own, since a child of the benchmark would inherit the benchmark's RSS
high-water mark.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

LAUNCHER = Path(__file__).with_name("launch.py")


class BenchError(RuntimeError):
    """A measured command failed, or did not do all the work it was given."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    wall: float
    """Seconds from start to exit."""
    cpu: float
    """User + system seconds of the process and its waited-for descendants."""
    peak_rss_mib: float
    output: str


def run_measured(command: Sequence[str], *, cwd: Path | None = None) -> Run:
    """Run `command` to its end; its output goes to a file (a pipe could fill and block it)."""
    with tempfile.TemporaryFile() as output, tempfile.TemporaryDirectory() as scratch:
        usage_path = Path(scratch) / "usage.json"
        launched = [sys.executable, str(LAUNCHER), str(usage_path), *command]
        done = subprocess.run(launched, stdout=output, stderr=subprocess.STDOUT, cwd=cwd)
        output.seek(0)
        text = output.read().decode("utf-8", "replace")
        if done.returncode != 0:
            raise BenchError(f"{' '.join(command)} exited {done.returncode}:\n{text[-3000:]}")
        usage = json.loads(usage_path.read_text(encoding="utf-8"))
    return Run(
        wall=usage["wall"], cpu=usage["cpu"], peak_rss_mib=usage["max_rss_kib"] / 1024, output=text
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Figures:
    """The median of repeated runs over the same backlog."""

    messages: int
    repeats: int
    wall: float
    rate: float
    """Messages per second."""
    cpu_ms: float
    """CPU milliseconds per message."""
    peak_rss_mib: float
    """The highest of the runs."""


def summarize(messages: int, runs: Sequence[Run]) -> Figures:
    wall = statistics.median(run.wall for run in runs)
    cpu = statistics.median(run.cpu for run in runs)
    return Figures(
        messages=messages,
        repeats=len(runs),
        wall=wall,
        rate=messages / wall,
        cpu_ms=1000 * cpu / messages,
        peak_rss_mib=max(run.peak_rss_mib for run in runs),
    )
