"""Which of a message's files a notification attaches, and which it only lists (SPEC §10). Pure.

Files are taken in the order they came while their sum stays within
`max_relay_bytes`; a file over what is left, or with a blocked extension,
is not attached but listed with its reason. Nothing is left out silently.

An extension is read as Windows reads it, where a blocked file would run:
trailing dots and spaces do not count (`evil.exe. .` is saved as `evil.exe`),
nor does case (`EVIL.Exe`). Other trailing blanks and invisible characters
are dropped too, and case is folded every way Unicode does: a name is blocked
more often than Windows would run it, never less.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

from mailgate.decision import FileRelay, RelayedFile

if TYPE_CHECKING:
    from mailgate.config import AttachmentSettings
    from mailgate.domain import Attachment


def plan_relay(files: tuple[Attachment, ...], limits: AttachmentSettings) -> FileRelay | None:
    """None for a message without files: a notice about it carries nothing more."""
    if not files:
        return None
    relayed: list[RelayedFile] = []
    room = limits.max_relay_bytes
    for file in files:
        if is_blocked(file.filename, limits.blocked_extensions):
            relayed.append(RelayedFile(file=file, left_out="blocked"))
        elif file.size > room:
            relayed.append(RelayedFile(file=file, left_out="too_large"))
        else:
            relayed.append(RelayedFile(file=file))
            room -= file.size
    return FileRelay(files=tuple(relayed), limit=limits.max_relay_bytes)


# Besides blanks: what Windows drops from the end of a name, and what no one sees there.
_TRAILING = frozenset(".\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff")


def is_blocked(filename: str, blocked: tuple[str, ...]) -> bool:
    """Whether the name's extension is one of `blocked` (lower case, without the dot)."""
    if not blocked:
        return False
    end = len(filename)
    while end and (filename[end - 1] in _TRAILING or filename[end - 1].isspace()):
        end -= 1
    name = filename[:end]
    if "." not in name:
        return False
    extension = name.rpartition(".")[2]
    forms = {extension.lower(), extension.casefold(), extension.upper().lower(),
             unicodedata.normalize("NFKC", extension).casefold()}  # fmt: skip
    return not forms.isdisjoint(blocked)
