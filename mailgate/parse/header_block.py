"""Header blocks cut to a budget before they are parsed, and read into (name, value) pairs.

With `policy.default`, a 437 KiB Subject of encoded-words took 18.8 s and a To:
of 16,000 addresses 4.9 s, so a block is cut to `MAX_HEADER_BYTES` and a field
to `MAX_FIELD_BYTES` first. Fields that mailgate reads are kept even when the
block is over its budget.

Some mailers fold Content-Type with the next parameter at column 0
(`multipart/mixed;` then `boundary="..."` on a line of its own). Read strictly,
that line ends the header block and the raw MIME becomes the text; it is read
as a continuation instead (see `_unindented_parameters`).
"""

from __future__ import annotations

import re

from mailgate.parse.charsets import decode_bytes
from mailgate.parse.machine_fields import FIELDS_READ as MACHINE_FIELDS

MAX_HEADER_BYTES = 64 * 1024  # one header block (the message's, or an attached message's)
MAX_PART_HEADER_BYTES = 8 * 1024  # the header block of a body part
MAX_FIELD_BYTES = 16 * 1024  # one header field
MAX_CONTENT_FIELD_BYTES = 4 * 1024  # Content-* fields: the parameter parser is slow on long ones
MAX_SCANNED_HEADER_BYTES = 4 * 1024 * 1024  # fields past this point of a block are not looked at
MAX_SCANNED_FIELDS = 20_000  # nor are fields past this many
MAX_FIELDS = 1000  # fields kept from one block

# Fields that mailgate reads: kept even when a block is over its budget.
_ESSENTIAL_FIELDS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "content-disposition",
        *MACHINE_FIELDS,
    }
)

MAX_UNINDENTED_PARAMETERS = 16  # column-0 parameter lines taken as continuations, per block

_HEADER_LINES = re.compile(rb"(?:(?:[\x21-\x39\x3b-\x7e]+[ \t]*:|[ \t])[^\n]*+(?:\n|\Z))*+")
_FIELD = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:([^\n]*+(?:\n[ \t][^\n]*+)*+)\n?", re.M)
_FOLD = re.compile(rb"\r?\n")
# `boundary="..."`, `; charset=utf-8`: a MIME parameter starting a line.
_PARAMETER_LINE = re.compile(rb";?[ \t]*[A-Za-z][A-Za-z0-9_.*-]{0,63}[ \t]*=[^\n]*+(?:\n|\Z)")
_CONTENT_FIELD = re.compile(rb"content-[A-Za-z0-9-]*[ \t]*:", re.I)
_MAX_FIELD_LINES = 200  # lines walked back to find the field a parameter line continues
# Fields every mail has or many mailers write: after a stray line, one of them shows that
# the header block goes on.
_KNOWN_FIELD = re.compile(
    rb"(?:from|to|cc|bcc|subject|date|message-id|received|return-path|mime-version|reply-to"
    rb"|sender|in-reply-to|references|content-[a-z-]{1,40}|x-[\x21-\x39\x3b-\x7e]{1,76}"
    rb"|dkim-signature|arc-[a-z-]{1,40}|authentication-results|user-agent|delivered-to"
    rb"|list-[a-z-]{1,40}|thread-[a-z-]{1,40}|importance|priority|organization)[ \t]*:",
    re.I,
)
_TRACE_FIELD = re.compile(
    rb"(?:received|x-received|received-spf|dkim-signature|arc-[a-z-]{1,40}"
    rb"|authentication-results|x-google-smtp-source)[ \t]*:",
    re.I,
)
_WORD = re.compile(rb"[\x21-\x39\x3b-\x7e]{1,76}")  # one word, no colon: a field name alone
_MAX_STRAYS = 3  # stray lines in a row
_STRAY_WINDOW = 8  # lines looked at for the field after them (continuations included)
_MAX_STRAY_LINE = 998


def read_header_block(
    buf: bytes, start: int, end: int, *, cap: int, defects: list[str], strays: bool = False
) -> tuple[list[tuple[str, str]], int]:
    """The fields of the header block at `start` and the offset where its body begins.

    As in RFC 5322 and the standard parser, the block ends at the first empty
    line, or at the first line that is neither a field nor a continuation.
    With `strays` (a message's own header block, not a body part's), a stray
    line or two that is neither (a `Received:` line a gateway unfolded, an
    empty field a mailer wrote as `Cc` with no colon) does not end the block
    when a well-known field follows it: read strictly, the rest of the
    header became the text, and the text a quoted header block.
    """
    block_end, unindented = _unindented_parameters(buf, start, end, strays=strays)
    if block_end < end and buf.startswith(b"\r\n", block_end):
        body_start = block_end + 2
    elif block_end < end and buf[block_end] == 0x0A:
        body_start = block_end + 1
    else:
        body_start = block_end
        if block_end < end and block_end > start:
            defects.append("no header/body separator")
    fields: list[tuple[str, str]] = []
    used = 0
    seen: set[str] = set()
    source, first, last = buf, start, block_end
    if unindented:
        defects.append("header continuation without indent")
        source, first = _indented(buf, start, block_end, unindented), 0
        last = len(source)
    scan_end = min(last, first + MAX_SCANNED_HEADER_BYTES)
    if scan_end < last:
        defects.append("header block truncated")
    for count, match in enumerate(_FIELD.finditer(source, first, scan_end)):
        if count >= MAX_SCANNED_FIELDS:
            defects.append("header block truncated")
            break
        name = match.group(1).decode("ascii").lower()
        raw = match.group(2)
        over = used + len(raw) > cap or len(fields) >= MAX_FIELDS
        if over and (name not in _ESSENTIAL_FIELDS or name in seen):
            if "header block truncated" not in defects:
                defects.append("header block truncated")
            continue
        limit = MAX_CONTENT_FIELD_BYTES if name.startswith("content-") else MAX_FIELD_BYTES
        if len(raw) > limit:
            raw = _cut(raw, limit)
            defects.append(f"header field truncated: {name}")
        used += len(raw)
        seen.add(name)
        value = (_FOLD.sub(b"", raw) if b"\n" in raw else raw).strip(b" \t\r")
        fields.append(
            (name, value.decode("ascii") if value.isascii() else decode_bytes(value, None))
        )
    return fields, body_start


def _unindented_parameters(
    buf: bytes, start: int, end: int, *, strays: bool = False
) -> tuple[int, list[int]]:
    """Where the header block at `start` ends, and the column-0 lines inside it that
    are read as continuations (see `read_header_block`).

    A line like `boundary="b1"` counts as a continuation only right after a
    Content-* field whose last line ends with `;` (or when it starts with `;`
    itself): a body that starts without a blank line stays a body.
    """
    lines = _HEADER_LINES.match(buf, start, end)
    assert lines is not None  # the pattern matches the empty string: it always matches
    pos = lines.end()
    unindented: list[int] = []
    while pos < end and len(unindented) < MAX_UNINDENTED_PARAMETERS:
        parameter = _PARAMETER_LINE.match(buf, pos, end)
        if parameter is not None and _continues_content_field(buf, start, pos, unindented):
            line_end = parameter.end()
        elif strays and (stray := _stray_line_end(buf, start, pos, end)) is not None:
            line_end = stray
        else:
            break
        unindented.append(pos)
        lines = _HEADER_LINES.match(buf, line_end, end)
        assert lines is not None
        pos = lines.end()
    return pos, unindented


def _stray_line_end(buf: bytes, start: int, pos: int, end: int) -> int | None:
    """The end of the line at `pos` when it is a stray line inside a header block, else
    None. A stray line is a single word (`Cc`: an empty field without its colon), or
    any short line under a trace field (`Received:`, `DKIM-Signature:` … that a
    gateway unfolded); at most three in a row, and a well-known field must follow
    them (past their continuation lines). A sentence under `Subject:` is a body."""
    under_trace = pos > start and _TRACE_FIELD.match(buf, _field_start(buf, start, pos)) is not None
    first_end: int | None = None
    strays = 0
    line = pos
    for _ in range(_STRAY_WINDOW):
        if line >= end or buf[line] in b"\r\n":
            return None  # a blank line: the block really ends here
        newline = buf.find(b"\n", line, min(end, line + _MAX_STRAY_LINE + 1))
        if newline < 0:
            return None  # a long line, or the last one: text, not a header
        if _KNOWN_FIELD.match(buf, line):
            return first_end
        if buf[line] not in b" \t":
            strays += 1
            word = buf[line:newline].strip()
            if strays > _MAX_STRAYS or not (under_trace or _WORD.fullmatch(word)):
                return None
        if first_end is None:
            first_end = newline + 1
        line = newline + 1
    return None


def _field_start(buf: bytes, start: int, pos: int) -> int:
    """Where the field whose lines end right above `pos` starts (continuations skipped)."""
    line_start = _line_start(buf, start, pos - 1)
    for _ in range(_MAX_FIELD_LINES):
        if line_start <= start or buf[line_start] not in b" \t":
            break
        line_start = _line_start(buf, start, line_start - 1)
    return line_start


def _continues_content_field(buf: bytes, start: int, pos: int, unindented: list[int]) -> bool:
    """Is the line at `pos` the next parameter of the Content-* field on the lines above it?"""
    if pos <= start:
        return False
    line_start = _line_start(buf, start, pos - 1)
    above = buf[line_start:pos].rstrip(b" \t\r\n")
    if not (above.endswith(b";") or buf.startswith(b";", pos)):
        return False
    for _ in range(_MAX_FIELD_LINES):
        if line_start <= start or (buf[line_start] not in b" \t" and line_start not in unindented):
            break
        line_start = _line_start(buf, start, line_start - 1)
    return _CONTENT_FIELD.match(buf, line_start) is not None


def _line_start(buf: bytes, start: int, pos: int) -> int:
    """Where the line ending at `pos` (its newline, or any byte of it) starts."""
    return max(start, buf.rfind(b"\n", start, pos) + 1)


def _indented(buf: bytes, start: int, block_end: int, unindented: list[int]) -> bytes:
    """The header block with one space put before each column-0 parameter line."""
    pieces: list[bytes] = []
    previous = start
    for offset in unindented:
        pieces += [buf[previous:offset], b" "]
        previous = offset
    pieces.append(buf[previous:block_end])
    return b"".join(pieces)


def _cut(raw: bytes, limit: int) -> bytes:
    """`raw` cut to `limit` bytes, at a space or comma when one is near, so no word is split."""
    head = raw[:limit]
    split = max(head.rfind(b" "), head.rfind(b","), head.rfind(b"\t"))
    return head[:split] if split > limit * 3 // 4 else head
