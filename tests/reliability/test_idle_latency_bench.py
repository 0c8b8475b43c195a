"""bench/idle_latency.py still runs: one mail through an idle `mailgate run`.

It times nothing; it keeps the script working when the CLI, config or
sandbox change under it. The figures come from running it by hand
(50 mails by default).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_idle_latency_bench_measures_a_few_mails() -> None:
    command = [sys.executable, "-m", "bench.idle_latency", "1", "--pause", "0.2"]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "| IDLE, APPEND to acknowledgement, sqlite | 1 | " in done.stdout
