"""Errors of the pure parsing path.

The parser reads what it can from hostile or broken mail and records what it
had to cut or guess as defects (`DecodedMail.defects`). It raises only when
nothing at all can be read from the bytes; the worker then moves the mail to
the failed folder with its raw bytes kept (SPEC §5).
"""

from __future__ import annotations


class ParseError(Exception):
    """Base of the errors raised while reading a raw message."""


class MalformedMessage(ParseError):
    """The bytes hold no message: nothing can be read from them.

    `reason` is a short, stable text (for logs and the failed-folder record);
    it never quotes the message itself.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
