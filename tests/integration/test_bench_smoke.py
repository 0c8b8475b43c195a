"""The benchmarks still run: small backlogs on SQLite, one repeat. Time nothing.

bench/ is a script, not a timed test; this only keeps it from rotting when
mailgate's CLI, config or sandbox change under it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def bench_output(module: str, *args: str) -> str:
    """What `python -m bench.MODULE ARGS` prints; it must exit 0."""
    command = [sys.executable, "-m", f"bench.{module}", *args]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_the_benchmark_measures_a_small_backlog_on_sqlite() -> None:
    output = bench_output("backlog", "20", "--database", "sqlite", "--repeat", "1")

    assert "| ceiling: fetch (bulk 500) + `email` parse + UID MOVE | " in output
    assert "| `mailgate run --once`, SQLite | " in output
    assert "| `mailgate parse` of one message | " in output


def test_the_attachments_benchmark_measures_files_and_one_big_mail() -> None:
    output = bench_output("attachments", "10", "--repeat", "1", "--big-mib", "1")

    assert "| `mailgate run --once`, with files | " in output
    assert "of the small-mail msgs/s (goal ≥ 70%)" in output
    assert "peak RSS with the 1 MiB file: " in output


def test_the_hostile_text_benchmark_prints_its_table() -> None:
    output = bench_output("hostile", "--quick", "--shapes", "approval,html-nested,headers")

    assert "approval: 'you can close the request, everything works' wrapped" in output
    assert "    size   decode     html    split    block     cmds     appr" in output
    assert "worst per shape (s/MiB, exponent; stage):" in output
    assert "goals (≤ 1.0 s/MiB, exponent ≤ 1.15, nothing skipped): " in output
