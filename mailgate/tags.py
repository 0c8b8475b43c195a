"""The request tag: `[REQ-123]` in subjects, `REQ-123` on the CLI and in JSON.

Standard library only, so that every command can format a tag cheaply.
"""

from __future__ import annotations

import re


def tag_pattern(prefix: str) -> re.Pattern[str]:
    """A regex for `[PREFIX-123]`, tolerant of case and spaces inside the brackets."""
    return re.compile(rf"\[\s*{re.escape(prefix)}\s*[-#]?\s*(\d{{1,12}})\s*\]", re.I)


def format_tag(prefix: str, number: int) -> str:
    """`REQ-123`, the tag without brackets (as shown in JSON and on the CLI)."""
    return f"{prefix}-{number}"


def strip_tag(subject: str, prefix: str) -> str:
    """The subject without its tags: `Re: [REQ-12] Printer` -> `Re: Printer`."""
    return re.sub(rf"\s*{tag_pattern(prefix).pattern}\s*", " ", subject, flags=re.I).strip()
