"""The benchmarks still run: small backlogs on SQLite, one repeat. Time nothing.

bench/ is a script, not a timed test; this only keeps it from rotting when
mailgate's CLI, config or sandbox change under it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_benchmark_measures_a_small_backlog_on_sqlite() -> None:
    command = [sys.executable, "-m", "bench.backlog", "20", "--database", "sqlite", "--repeat", "1"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "| ceiling: fetch (bulk 500) + `email` parse + UID MOVE | " in done.stdout
    assert "| `mailgate run --once`, SQLite | " in done.stdout
    assert "| `mailgate parse` of one message | " in done.stdout


def test_the_attachments_benchmark_measures_files_and_one_big_mail() -> None:
    command = [sys.executable, "-m", "bench.attachments", "10", "--repeat", "1", "--big-mib", "1"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "| `mailgate run --once`, with files | " in done.stdout
    assert "of the small-mail msgs/s (goal ≥ 70%)" in done.stdout
    assert "peak RSS with the 1 MiB file: " in done.stdout
