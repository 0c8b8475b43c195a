"""Outlook's `winmail.dat` (TNEF) unpacked into the files it carries.

Read with tnefparse (pure Python, no dependencies, the TNEF reader that
Python mail tools use). Its reader copies the rest of the data at every
attribute, so a container with very many attributes would cost quadratic
time: those, and anything it cannot read, are relayed as the winmail.dat
they came in.
"""

from __future__ import annotations

import logging
import struct
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tnefparse import TNEFAttachment

MAX_TNEF_BYTES = 50 * 1024 * 1024
MAX_TNEF_ATTRIBUTES = 2000
_SIGNATURE = b"\x78\x9f\x3e\x22"
_HEADER = 6  # signature and key
_ATTRIBUTE_OVERHEAD = 11  # level, id, type, length before the data; checksum after

log = logging.getLogger(__name__)


def is_tnef(filename: str, content_type: str) -> bool:
    return content_type == "application/ms-tnef" or filename.lower() == "winmail.dat"


def unpack_tnef(data: bytes) -> list[tuple[str, bytes]] | None:
    """The (name, bytes) of each file inside, or None: nothing to unpack, or unreadable."""
    if not data.startswith(_SIGNATURE) or len(data) > MAX_TNEF_BYTES:
        return None
    if _count_attributes(data) > MAX_TNEF_ATTRIBUTES:
        return None
    from tnefparse import TNEF  # only when a winmail.dat comes: most mail never needs it

    try:
        files = [
            (_name(attachment), bytes(attachment.data)) for attachment in TNEF(data).attachments
        ]
    except Exception:  # a hostile or damaged container: relayed as it came
        log.info("winmail.dat not unpacked")
        return None
    return files or None


def _count_attributes(data: bytes) -> int:
    count, offset = 0, _HEADER
    while offset + _ATTRIBUTE_OVERHEAD + 1 < len(data) and count <= MAX_TNEF_ATTRIBUTES:
        (length,) = struct.unpack_from("<I", data, offset + 5)
        offset += length + _ATTRIBUTE_OVERHEAD
        count += 1
    return count


def _name(attachment: TNEFAttachment) -> str:
    name = attachment.long_filename()
    if isinstance(name, bytes):
        name = name.decode("utf-8", "replace")
    return str(name).strip("\x00")
