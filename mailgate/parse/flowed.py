"""format=flowed plain text (RFC 3676) read back as the lines its sender typed.

Thunderbird, Apple Mail and others send plain text as format=flowed: where
the client wrapped a long line, the piece ends in a space (a soft break) and
the line goes on in the next one; where the sender pressed Enter, the line
ends without one. Read as sent, every paragraph would keep the client's
wrapping: the new text would not be what the sender wrote, and a phrase the
client wrapped would be cut in two. Quoted lines are joined within one quote
depth only, as the RFC says, and come out as `> ` marks.
"""

from __future__ import annotations

import re

_FORMAT_FLOWED = re.compile(r";\s*format\s*=\s*\"?flowed\b", re.I)
_DELSP_YES = re.compile(r";\s*delsp\s*=\s*\"?yes\b", re.I)
_SIGNATURE_SEPARATOR = "-- "  # never a soft break (RFC 3676 §4.3)


def flowed_parameters(content_type: str) -> tuple[bool, bool]:
    """(format=flowed?, delsp=yes?) of a Content-Type field's value."""
    if not _FORMAT_FLOWED.search(content_type):
        return False, False
    return True, bool(_DELSP_YES.search(content_type))


def unflow(text: str, *, delsp: bool) -> str:
    """Soft breaks joined, space-stuffing undone (RFC 3676 §4.2, §4.4, §4.5).

    With `delsp`, the space before a soft break was added by the client and
    is dropped; otherwise it belongs to the text.
    """
    lines: list[str] = []
    pieces: list[str] = []  # the paragraph being joined
    depth = 0
    for line in text.split("\n"):
        line_depth = len(line) - len(line.lstrip(">"))
        content = line[line_depth:]
        if content.startswith(" "):
            content = content[1:]
        if pieces and line_depth != depth:  # a soft break before another depth ends there
            lines.append(_joined(depth, pieces))
            pieces = []
        depth = line_depth
        soft = content.endswith(" ") and content != _SIGNATURE_SEPARATOR
        pieces.append(content[:-1] if soft and delsp else content)
        if not soft:
            lines.append(_joined(depth, pieces))
            pieces = []
    if pieces:
        lines.append(_joined(depth, pieces))
    return "\n".join(lines)


def _joined(depth: int, pieces: list[str]) -> str:
    text = "".join(pieces)
    if not depth:
        return text
    return f"{'>' * depth} {text}" if text else ">" * depth
