"""Who a process is, in a form that another process on the same host can check.

`host:pid:start`, where `start` is the process's start time in clock ticks
since boot (Linux `/proc`), so that a reused pid is not taken for the owner.
On a host without `/proc` the start is empty and only the pid is checked.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def current_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_start_time(pid)}"


def is_dead_here(owner: str) -> bool:
    """True only for an owner on this host whose process is gone (or was replaced)."""
    parts = owner.rsplit(":", 2)
    if len(parts) != 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid, start = int(parts[1]), parts[2]
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return bool(start) and _start_time(pid) != start


def _start_time(pid: int) -> str:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22 (starttime), counted after the command name, which may hold spaces.
    return stat.rpartition(")")[2].split()[19]
