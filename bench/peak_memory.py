"""Where a Python command's memory is at its peak: tracemalloc's snapshot of that moment.

Run by path with the measured interpreter (it imports nothing from the bench),
in front of a module and its arguments::

    python bench/peak_memory.py REPORT -m mailgate.cli --config C run --once

A thread polls tracemalloc every few milliseconds and keeps a snapshot
whenever the traced memory passes its highest so far by 1 MiB; at exit the
last one (the peak, within that step) goes to REPORT: the blocks alive then,
grouped by the innermost frames of the traceback that allocated them. It
traces this process only: a forked child (mailgate's SMTP pump) stops
tracing, and memory outside Python's allocator (C libraries' own buffers,
sqlite3's page cache) does not show. Slow, and not a figure: only the shares
mean something.
"""

from __future__ import annotations

import runpy
import sys
import threading
import tracemalloc

FRAMES = 12
STEP = 1024 * 1024
POLL_SECONDS = 0.002
TOP = 15
SHOWN_FRAMES = 5


class PeakWatcher(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak = 0
        self.snapshot: tracemalloc.Snapshot | None = None
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(POLL_SECONDS):
            current, _ = tracemalloc.get_traced_memory()
            if current > self.peak + STEP:
                self.snapshot = tracemalloc.take_snapshot()
                self.peak = current


def report(watcher: PeakWatcher) -> str:
    _, peak = tracemalloc.get_traced_memory()
    lines = [
        f"tracemalloc peak: {peak / 2**20:.1f} MiB; snapshot at {watcher.peak / 2**20:.1f} MiB",
        "",
    ]
    if watcher.snapshot is None:
        return "\n".join(lines) + "(no snapshot)\n"
    snapshot = watcher.snapshot.filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    for stat in snapshot.statistics("traceback")[:TOP]:
        lines.append(f"{stat.size / 2**20:8.1f} MiB in {stat.count} blocks, allocated at:")
        lines += [
            f"    {line.strip()}" for line in stat.traceback.format(most_recent_first=True)[:8]
        ]
    return "\n".join(lines) + "\n"


def main() -> None:
    report_path, dash_m, module, *arguments = sys.argv[1:]
    if dash_m != "-m":
        raise SystemExit("usage: peak_memory.py REPORT -m MODULE [ARG ...]")
    tracemalloc.start(FRAMES)
    watcher = PeakWatcher()
    watcher.start()
    sys.argv = [module, *arguments]
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    finally:
        watcher.stopped.set()
        watcher.join()
        with open(report_path, "w", encoding="utf-8") as out:
            out.write(report(watcher))


if __name__ == "__main__":
    main()
