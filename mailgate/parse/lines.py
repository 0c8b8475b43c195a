"""Facts about one line of text, remembered by the line's text.

The reply rules look at a line from several neighbours (a header block's
window, an attribution's three lines, the line below a wrapped sentence),
and hostile mail repeats one short line a million times: a fact of a short
line is worked out once per distinct line. Long lines are not kept (memory);
there are few of them per megabyte.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")
REMEMBERED_CHARS = 256  # lines up to this long are remembered
REMEMBERED_LINES = 1024  # distinct lines remembered per fact (a few MiB at most in all)


def by_line(function: Callable[[str], _T]) -> Callable[[str], _T]:
    """`function` of one line's text (pure), remembered for short lines."""
    remembered = functools.lru_cache(maxsize=REMEMBERED_LINES)(function)

    @functools.wraps(function)
    def read(text: str) -> _T:
        return remembered(text) if len(text) <= REMEMBERED_CHARS else function(text)

    return read
