"""The request tag: `[REQ-123]` in subjects, `REQ-123` on the CLI and in JSON.

Standard library only, so that every command can format a tag cheaply.
"""

from __future__ import annotations

import re


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
