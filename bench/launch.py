"""Run a command and write its wall time and resource usage as JSON: a clean peak RSS.

Linux keeps a process's RSS high-water mark across `exec`, and Python's
`subprocess` starts children with vfork, so a command started straight from
the benchmark reports at least the benchmark's own peak (the corpus it
built, a 25 MiB mail). Forked from this small, fresh interpreter instead, the
command's `ru_maxrss` starts at this process's ~10 MiB. Run by path with the
benchmark's interpreter:

    python bench/launch.py USAGE.json COMMAND [ARG ...]

Exits with the command's status; its output is inherited.
"""

from __future__ import annotations

import json
import os
import sys
import time


def main() -> int:
    usage_path, *command = sys.argv[1:]
    started = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            os.execvp(command[0], command)
        finally:
            os._exit(127)
    _, status, usage = os.wait4(pid, 0)
    wall = time.perf_counter() - started
    with open(usage_path, "w", encoding="utf-8") as out:
        json.dump(
            {
                "wall": wall,
                "cpu": usage.ru_utime + usage.ru_stime,
                "max_rss_kib": usage.ru_maxrss,
            },
            out,
        )
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
