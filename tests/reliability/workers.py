"""mailgate as separate processes that a test can kill outright or stop politely.

Each worker starts in a session of its own (`start_new_session=True`), so
that ``os.killpg`` takes down the whole process group at once: the worker
and its SMTP pump child, as ``kill -9`` by an admin or the OOM killer would.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

SETTLE = 0.3
"""Seconds after a kill during which the sink may still finish a DATA it had whole."""

_PROBLEM = re.compile(r"^\S+ (WARNING|ERROR|CRITICAL) ")


def mailgate_command(config: Path, *args: str, log_level: str = "WARNING") -> list[str]:
    return [
        sys.executable, "-m", "mailgate.cli", "--config", str(config),
        "--log-level", log_level, *args,
    ]  # fmt: skip


def start_worker(
    config: Path, *args: str, log: Path, log_level: str = "WARNING"
) -> subprocess.Popen:
    """`mailgate ARGS` in its own process group, its stderr appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(
            mailgate_command(config, *args, log_level=log_level),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=output,
            start_new_session=True,
        )


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the worker's whole process group and reap the worker."""
    with contextlib.suppress(ProcessLookupError):  # the whole group had exited
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    time.sleep(SETTLE)


def stop_worker(process: subprocess.Popen, timeout: float = 60.0) -> int:
    """SIGTERM, as a service manager stops it; the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_group(process)
        raise AssertionError(f"worker {process.pid} ignored SIGTERM for {timeout} s") from None


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll for something the worker does over the network (never for business time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


class LogWatch:
    """A long-running worker's stderr, line by line, with when each line came."""

    def __init__(self, process: subprocess.Popen) -> None:
        assert process.stderr is not None
        self._lines: list[tuple[float, str]] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._read, args=(process.stderr,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        with stream:
            for raw in stream:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                with self._lock:
                    self._lines.append((time.monotonic(), line))

    def join(self, timeout: float = 10.0) -> None:
        self._thread.join(timeout)

    @property
    def text(self) -> str:
        with self._lock:
            return "\n".join(line for _, line in self._lines)

    def problems(self, since: float = 0.0) -> list[str]:
        """Log lines at WARNING or above that came after `since` (time.monotonic())."""
        with self._lock:
            return [line for at, line in self._lines if at >= since and _PROBLEM.match(line)]


def start_watched_worker(
    config: Path, *args: str, log_level: str = "INFO"
) -> tuple[subprocess.Popen, LogWatch]:
    """A long-running `mailgate ARGS` whose log the test reads as it comes."""
    process = subprocess.Popen(
        mailgate_command(config, *args, log_level=log_level),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    return process, LogWatch(process)
