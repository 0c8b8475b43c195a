"""The benchmark still runs: a backlog of 20 on SQLite, one repeat. Times nothing.

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
