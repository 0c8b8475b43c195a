"""The progress bar of `mailgate run --once` over a backlog, on a terminal only.

tqdm rather than rich: one small pure-Python package with no dependencies of
its own, that writes one redrawn line to stderr and does nothing when
`disable` is set, which is all a bar over a backlog needs.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
from typing import TYPE_CHECKING, NoReturn, TextIO

from mailgate.monitor import Monitor

if TYPE_CHECKING:
    from tqdm import tqdm

    from mailgate.worker import RunReport

BACKLOG = 50  # fewer waiting messages than this take too little time to want a bar


class ProgressBar(Monitor):
    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self._bar: tqdm[NoReturn] | None = None  # a bar over a count, not an iterable

    @staticmethod
    def wanted(stream: TextIO | None = None) -> bool:
        stream = stream if stream is not None else sys.stderr
        return hasattr(stream, "isatty") and stream.isatty()

    def waiting(self, count: int) -> None:
        if self._bar is None:
            if count < BACKLOG:
                return
            from tqdm import tqdm

            columns, lines = _size(self.stream)
            self._bar = tqdm(total=0, unit="msg", desc="applying", file=self.stream,
                             ncols=columns, nrows=lines, leave=True)  # fmt: skip
        self._bar.total = (self._bar.total or 0) + count  # 0 from the start: never None
        self._bar.refresh()

    def taken(self, count: int) -> None:
        if self._bar is not None:
            self._bar.update(count)

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None


def _size(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and lines; 80x24 where it tells none (a new pseudo-terminal
    says 0x0, and tqdm then draws nothing)."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError):
        return 80, 24
    return size.columns or 80, size.lines or 24
