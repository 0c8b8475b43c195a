"""Which of a message's files a notification attaches, and which it only lists (SPEC §10). Pure.

Files are taken in the order they came while their sum stays within
`max_relay_bytes`; a file over what is left, or with a blocked extension,
is not attached but listed with its reason. Nothing is left out silently.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailgate.decide.model import FileRelay, RelayedFile

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
        extension = file.filename.rpartition(".")[2].lower() if "." in file.filename else ""
        if extension and extension in limits.blocked_extensions:
            relayed.append(RelayedFile(file=file, left_out="blocked"))
        elif file.size > room:
            relayed.append(RelayedFile(file=file, left_out="too_large"))
        else:
            relayed.append(RelayedFile(file=file))
            room -= file.size
    return FileRelay(files=tuple(relayed), limit=limits.max_relay_bytes)
