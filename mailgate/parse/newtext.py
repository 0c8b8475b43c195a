"""Split a reply into what the sender wrote now and what they quoted.

A first version: `>` quotes, an "On ... wrote:" attribution, an Outlook
"-----Original Message-----" separator and a `-- ` signature.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailgate.parse.html import html_to_text

_ATTRIBUTION = re.compile(r"^(on\s.+wrote:|.+\s(написал|пишет)\S*:)\s*$", re.I)
_ORIGINAL = re.compile(r"^-{2,}\s*(original message|исходное сообщение)\s*-{2,}\s*$", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySplit:
    new_text: str
    quoted_text: str


def split_reply(plain: str | None, html: str | None) -> ReplySplit:
    """The new text and the quoted rest of a message body."""
    text = plain if plain is not None else html_to_text(html or "")
    lines = text.replace("\r\n", "\n").split("\n")
    new: list[str] = []
    quoted: list[str] = []
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped == "--" or _ORIGINAL.match(stripped) or _ATTRIBUTION.match(stripped):
            quoted.extend(lines[index:])
            break
        (quoted if stripped.startswith(">") else new).append(line)
    return ReplySplit(new_text="\n".join(new).strip(), quoted_text="\n".join(quoted).strip())
