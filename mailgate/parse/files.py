"""The files of a message (SPEC §10): which parts they are, their names, sizes and digests.

A file is any leaf the sender did not write as the body: a part with a name
or `Content-Disposition: attachment`, an inline image of HTML mail, a
forwarded message (kept whole, as an `.eml`). Parts inside a forwarded
message belong to that `.eml`, not to this message. A `winmail.dat` is
unpacked into the files it carries when it can be (see `tnef`).

Only metadata is kept; `file_bytes` reads a file again from the message's bytes.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from typing import TYPE_CHECKING, TypedDict

from mailgate.domain import Attachment
from mailgate.parse.headers import safe_filename
from mailgate.parse.tnef import is_tnef, unpack_tnef
from mailgate.parse.transfer import decode_transfer

if TYPE_CHECKING:
    from mailgate.parse.mimetree import MimePart

# Parts of delivery and disposition reports: read as text by the bounce reader, not files.
REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "text/rfc822-headers",
        "message/global-headers",
    }
)
MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})
_BODY_TYPES = ("text/plain", "text/html")
_CONTENT_ID = re.compile(r"[^\x21-\x7e]")


class _Span(TypedDict):
    """Where a part's encoded body lies in the message, and its transfer encoding."""

    start: int
    end: int
    encoding: str


def list_files(buf: bytes, parts: tuple[MimePart, ...]) -> tuple[Attachment, ...]:
    """Every file of the message in document order, each decoded once to count and hash it."""
    files: list[Attachment] = []
    for part in parts:
        if not _is_file(part):
            continue
        data = decode_transfer(buf[part.body_start : part.body_end], part.encoding)
        name = _filename(part, len(files) + 1)
        span: _Span = {"start": part.body_start, "end": part.body_end, "encoding": part.encoding}
        unpacked = unpack_tnef(data) if is_tnef(name, part.content_type) else None
        if unpacked:
            for index, (inner_name, inner) in enumerate(unpacked):
                inner_name = _as_saved(safe_filename(inner_name))
                inner_name = inner_name or f"attachment-{len(files) + 1}.bin"
                guessed = mimetypes.guess_type(inner_name, strict=False)[0]
                files.append(_attachment(inner_name, guessed or "application/octet-stream",
                                         inner, inline=False, packed=index, **span))  # fmt: skip
            continue
        content_id = _content_id(part)
        inline = bool(content_id) and _disposition(part) != "attachment"
        files.append(_attachment(name, part.content_type, data, inline=inline,
                                 content_id=content_id, **span))  # fmt: skip
    return tuple(files)


def file_bytes(buf: bytes, attachment: Attachment) -> bytes:
    """A file's bytes as received, from the message's bytes (as `list_files` read them)."""
    data = decode_transfer(buf[attachment.start : attachment.end], attachment.encoding)
    if attachment.packed < 0:
        return data
    unpacked = unpack_tnef(data) or []
    return unpacked[attachment.packed][1]


def _attachment(
    name: str,
    content_type: str,
    data: bytes,
    *,
    inline: bool,
    start: int,
    end: int,
    encoding: str,
    content_id: str = "",
    packed: int = -1,
) -> Attachment:
    digest = hashlib.sha256(data).hexdigest()
    return Attachment(filename=name, content_type=content_type, size=len(data), sha256=digest,
                      inline=inline, content_id=content_id, start=start, end=end,
                      encoding=encoding, packed=packed)  # fmt: skip


def _is_file(part: MimePart) -> bool:
    content_type = part.content_type
    if content_type.startswith("multipart/") or part.in_message or content_type in REPORT_TYPES:
        return False
    if part.index == 0:  # a one-part message: a file only when it is no text at all
        return not content_type.startswith(("text/", "message/"))
    if part.starts_message:  # the top of a forwarded message: inside the .eml
        return False
    if content_type in _BODY_TYPES:
        return part.is_attachment
    return True


def _filename(part: MimePart, number: int) -> str:
    name = _as_saved(part.filename)
    if part.content_type in MESSAGE_TYPES:
        stem = name.removesuffix(".eml") or f"message-{number}"
        return f"{stem}.eml"
    if name:
        return name
    stem = "image" if part.content_type.startswith("image/") else "attachment"
    extension = mimetypes.guess_extension(part.content_type, strict=False) or ".bin"
    return f"{stem}-{number}{extension}"


def _as_saved(name: str) -> str:
    """The name without the trailing dots and blanks Windows drops when it saves a file
    (`evil.exe. .` is saved as `evil.exe`): the name listed is the name a file gets."""
    end = len(name)
    while end and (name[end - 1] == "." or name[end - 1].isspace()):
        end -= 1
    return name[:end]


def _content_id(part: MimePart) -> str:
    value = (part.header("content-id") or "").strip().removeprefix("<").removesuffix(">")
    return _CONTENT_ID.sub("", value)[:250]


def _disposition(part: MimePart) -> str:
    value = part.header("content-disposition") or ""
    return value.split(";", 1)[0].strip().lower()


def stored_files(raw: bytes) -> tuple[Attachment, ...]:
    """The files of a stored raw message, read again from its bytes (the CLI's views);
    none when it cannot be read (purged, or not mail)."""
    from mailgate.parse.errors import MalformedMessage
    from mailgate.parse.mimetree import decode

    try:
        return decode(raw).attachments
    except MalformedMessage:
        return ()
