"""The request tag: `[REQ-123]` in subjects, `REQ-123` on the CLI and in JSON.

Standard library only, so that every command can format a tag cheaply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable


def tag_pattern(*prefixes: str) -> re.Pattern[str]:
    """A regex for `[PREFIX-123]` of any of these prefixes (one per mailbox), tolerant
    of case and spaces inside the brackets; group 1 is the prefix, group 2 the number."""
    names = "|".join(re.escape(prefix) for prefix in prefixes)
    return re.compile(rf"\[\s*({names})\s*[-#]?\s*(\d{{1,12}})\s*\]", re.I)


def format_tag(prefix: str, number: int) -> str:
    """`REQ-123`, the tag without brackets (as shown in JSON and on the CLI)."""
    return f"{prefix}-{number}"


def strip_tag(subject: str, prefix: str) -> str:
    """The subject without its tags: `Re: [REQ-12] Printer` -> `Re: Printer`."""
    return re.sub(rf"\s*{tag_pattern(prefix).pattern}\s*", " ", subject, flags=re.I).strip()


def parse_tag(tag: str, prefixes: Iterable[str]) -> int | None:
    """123 from `REQ-123`, `[REQ-123]` or `123`, for a prefix of any mailbox; None
    when it is none of these. Numbers are unique per install, so any prefix will do."""
    text = tag.strip().strip("[]").strip()
    for prefix in prefixes:
        if text.upper().startswith(prefix.upper() + "-"):
            text = text[len(prefix) + 1 :]
            break
    return int(text) if text.isdigit() else None
