"""How much of a message's text each reader reads (SPEC §14, "Bounded cost").

Every reader is linear in what it reads; these caps bound what that is, so
that one message costs a bounded time whatever its size. The raw message
always keeps everything. See docs/new-text.md, "How much is read".
"""

from __future__ import annotations

DEFAULT_MAX_TEXT_BYTES = 2 * 1024 * 1024
"""The decoded text of all text parts of one message together (`max_text_bytes`)."""

APPROVAL_BYTES = 8 * 1024
"""Approval phrases: the sentences that end within the first 8 KiB of the new text."""

COMMAND_BYTES = 64 * 1024
"""Command lines: the lines that end within the first 64 KiB of the new text."""

QUOTED_SCAN_BYTES = 64 * 1024
"""Look-alike commands reported as "quoted": the first 64 KiB of the quoted text."""

REASON_BYTES = 8 * 1024
"""An escalation reason is judged on its first 8 KiB."""


def utf8_head(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 is at most `limit` bytes (whole characters).

    Costs time linear in `limit`, not in `text`: a character is at least one byte.
    """
    head = text[:limit]
    if head.isascii():
        return head
    data = head.encode("utf-8", "surrogatepass")
    if len(data) <= limit:
        return head
    cut = limit
    while cut and data[cut] & 0xC0 == 0x80:  # not inside a character
        cut -= 1
    return data[:cut].decode("utf-8", "surrogatepass")


def utf8_size(text: str) -> int:
    """The length of `text` in UTF-8 bytes."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def whole_lines(text: str, limit: int | None) -> str:
    """The lines of `text` that end within its first `limit` bytes; all of it when it fits."""
    if limit is None:
        return text
    head = utf8_head(text, limit)
    if len(head) == len(text):
        return text
    return head[: head.rfind("\n") + 1]
