"""Raw bytes -> `DecodedMail`: the MIME tree, the sender's text and HTML, the files.

Hostile mail is ordinary mail here, so nothing is handed to a parser whose cost
or depth the sender controls:

- Header blocks are cut before they are parsed (see `header_block`).
- The MIME tree is read in one pass over the bytes with a stack of open
  boundaries: no recursion, linear time, however deep the nesting. Parts
  deeper than `MAX_DEPTH` are flattened into the deepest kept container.
  (The standard parser raises RecursionError at about 1,000 levels.)
- Only the sender's text parts are decoded into text. A file is decoded once,
  to count and hash it (see `files`), and only its place in the bytes is kept.
- Text is decoded with a charset guess when the label is missing, unknown or
  wrong (see `charsets`); encoded-words are decoded one by one, so a broken
  one costs only itself (see `headers`).

Everything cut or guessed is named in `DecodedMail.defects`.
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import TypeVar

from mailgate.domain import Attachment
from mailgate.parse.charsets import bytes_per_text_byte, decode_bytes
from mailgate.parse.errors import MalformedMessage
from mailgate.parse.files import MESSAGE_TYPES, REPORT_TYPES, file_bytes, list_files
from mailgate.parse.flowed import flowed_parameters, unflow
from mailgate.parse.header_block import MAX_HEADER_BYTES, MAX_PART_HEADER_BYTES, read_header_block
from mailgate.parse.headers import decode_header_value, first_header, safe_filename
from mailgate.parse.limits import DEFAULT_MAX_TEXT_BYTES, utf8_head, utf8_size
from mailgate.parse.transfer import decode_transfer

MAX_DEPTH = 32  # nesting kept as a tree; deeper parts are flattened
MAX_PARTS = 2000  # parts read from one message; the rest is skipped
# Encoded bytes read per byte of text still wanted, by Content-Transfer-Encoding: enough
# for CRLF line ends made LF, base64 with its line breaks, quoted-printable's "=XX" and
# soft breaks. Decoding them costs little; the text is then cut to what is wanted.
_ENCODED_PER_BYTE = {"base64": 3, "quoted-printable": 6}
_ENCODED_PER_BYTE_OTHERWISE = 2
_MAX_DELIMITER_LINE = 1000  # a boundary is at most 70 characters; padding allowed


_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_BARE_CR = re.compile(rb"\r(?!\n)")


@dataclass(frozen=True, slots=True, kw_only=True)
class MimePart:
    """One node of the MIME tree. `DecodedMail.parts` lists them in document order."""

    index: int
    parent: int  # index of the enclosing part, -1 for the message itself
    depth: int
    content_type: str  # lower-case type/subtype
    headers: tuple[tuple[str, str], ...]  # (lower-cased name, unfolded value, encoded-words kept)
    charset: str | None
    filename: str  # a safe base name, "" when none
    is_attachment: bool  # Content-Disposition: attachment, or a file name
    in_message: bool  # inside an attached message (message/rfc822): not the sender's own text
    starts_message: bool  # the top of a message: the mail itself, or an attached one
    text: str | None  # decoded text of body and report parts; None for everything else
    size: int  # decoded bytes of the body, estimated
    body_start: int = 0  # the encoded body is the bytes read [body_start:body_end]
    body_end: int = 0
    encoding: str = ""  # Content-Transfer-Encoding, lower-case

    def header(self, name: str) -> str | None:
        return first_header(self.headers, name)


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedMail:
    """A message's headers and readable body, decoded to `str`."""

    headers: tuple[tuple[str, str], ...]  # (lower-cased name, decoded value), in order
    plain: str | None  # the sender's text/plain body (inline parts joined)
    html: str | None  # the sender's text/html body (inline parts joined)
    attachments: tuple[Attachment, ...]
    content_type: str  # of the whole message
    parts: tuple[MimePart, ...] = ()
    raw_headers: tuple[tuple[str, str], ...] = ()  # (lower-cased name, unfolded raw value)
    defects: tuple[str, ...] = ()  # what was cut, flattened or guessed
    text_cut: bool = False  # the text parts hold more than `max_text_bytes`: not all was read
    # The first value of each header, for `header`: the classifiers ask for dozens.
    _first: dict[str, str] = field(init=False, repr=False, compare=False)
    _message: Message | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        first: dict[str, str] = {}
        for name, value in self.headers:
            first.setdefault(name, value)
        object.__setattr__(self, "_first", first)

    @property
    def message(self) -> Message:
        """The top-level header block only (raw values), as a compat32 `Message`; the
        tree is `parts`. Built when first asked for: most messages never need it."""
        message = self._message
        if message is None:
            message = Message()
            for name, value in self.raw_headers:
                message[name] = value
            object.__setattr__(self, "_message", message)
        return message

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return self._first.get(name.lower())

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def raw_header_all(self, name: str) -> list[str]:
        """Undecoded values: address lists must be split before their names are decoded."""
        wanted = name.lower()
        return [value for key, value in self.raw_headers if key == wanted]


# The fields a part's type, charset, file name and encoding are read from.
_HELPER_FIELDS = frozenset({"content-type", "content-disposition", "content-transfer-encoding"})


# Most parts carry one of a few Content-* headers ("text/plain; charset=utf-8"
# and its encoding), so what they say is kept once read; not a long one.
_CACHED_CONTENT_CHARS = 1024


@functools.lru_cache(maxsize=256)
def _described_cached(
    content: tuple[tuple[str, str], ...], default_type: str
) -> tuple[str, bytes, str | None, str, str, bool]:
    return _described(content, default_type)


def _described(
    content: tuple[tuple[str, str], ...], default_type: str
) -> tuple[str, bytes, str | None, str, str, bool]:
    """What a part's Content-* fields say: its type, boundary, charset, transfer
    encoding, safe file name, and whether it is an attachment.

    Read by a compat32 `Message` holding only those headers: its parameter
    parsing is lenient and cheap.
    """
    helper = Message()
    if default_type != "text/plain":
        helper.set_default_type(default_type)
    for name, value in content:
        helper[name] = value
    content_type = _safe(helper.get_content_type, "text/plain")
    boundary = b""
    if content_type.startswith("multipart/"):
        param = _safe(lambda: helper.get_param("boundary"), None)
        if param is not None:
            value = _safe(lambda: email.utils.collapse_rfc2231_value(param), "")
            boundary = str(value).strip().encode("utf-8", "replace")[:_MAX_DELIMITER_LINE]
    disposition = _safe(lambda: helper.get_content_disposition(), None)
    filename = safe_filename(_safe(helper.get_filename, None) or "")
    encoding = (helper.get("content-transfer-encoding") or "").strip().lower()
    return (
        content_type,
        boundary,
        _safe(helper.get_content_charset, None),
        encoding.split(";", 1)[0].strip(),
        filename,
        disposition == "attachment" or bool(filename),
    )


_T = TypeVar("_T")
_D = TypeVar("_D")


def _safe(call: Callable[[], _T], default: _D) -> _T | _D:
    try:
        return call()
    except (ValueError, TypeError, LookupError, UnicodeError, IndexError, AttributeError):
        return default


# --- the MIME tree --------------------------------------------------------------------------


@dataclass(slots=True)
class _Node:
    header_start: int
    body_start: int
    parent: int
    depth: int
    fields: list[tuple[str, str]]
    content_type: str
    charset: str | None
    encoding: str
    filename: str
    is_attachment: bool
    in_message: bool
    starts_message: bool
    boundary: bytes
    body_end: int = -1
    declared_type: str = ""  # the Content-Type given, when read as another one
    text: str | None = None
    size: int = 0


@dataclass(slots=True)
class _Open:
    """A multipart whose boundary is being looked for."""

    boundary: bytes
    record: int  # index of the recorded part its children hang from
    depth: int
    in_message: bool
    digest: bool


@dataclass(slots=True)
class _Delimiter:
    level: int  # position in the stack of open multiparts
    close: bool
    start: int  # offset of the leading "--"
    after: int  # offset just past the delimiter line


class _TreeReader:
    """Reads the MIME tree in one pass over the bytes; see the module docstring."""

    def __init__(self, raw: bytes, *, max_text_bytes: int | None = DEFAULT_MAX_TEXT_BYTES) -> None:
        self.buf = raw
        self.end = len(raw)
        self.text_budget = max_text_bytes  # decoded text (UTF-8 bytes) still to be read
        self.text_cut = False
        self.nodes: list[_Node] = []
        self.defects: list[str] = []
        self.stack: list[_Open] = []
        self.boundaries: dict[bytes, list[int]] = {}
        self.opened = 0
        # Attached messages read as a tree, with how many multiparts were open around
        # them: a delimiter of one of those ends the message (and gives its .eml bytes).
        self.open_messages: list[tuple[_Node, int]] = []

    def read(self) -> list[_Node]:
        node: _Node | None = self._open(
            _top_start(self.buf),
            parent=-1,
            depth=0,
            in_message=False,
            starts_message=True,
            digest=False,
        )
        while node is not None:
            node = self._consume(node)
        self._end_messages(-1, None)
        return self.nodes

    def _open(
        self,
        pos: int,
        *,
        parent: int,
        depth: int,
        in_message: bool,
        starts_message: bool,
        digest: bool,
    ) -> _Node | None:
        self.opened += 1
        if self.opened > MAX_PARTS:
            self.defects.append("too many parts")
            return None
        cap = MAX_HEADER_BYTES if starts_message else MAX_PART_HEADER_BYTES
        fields, body_start = read_header_block(
            self.buf, pos, self.end, cap=cap, defects=self.defects, strays=starts_message
        )
        return self._node(
            fields,
            header_start=pos,
            body_start=body_start,
            parent=parent,
            depth=depth,
            in_message=in_message,
            starts_message=starts_message,
            digest=digest,
        )

    def _node(
        self,
        fields: list[tuple[str, str]],
        *,
        header_start: int,
        body_start: int,
        parent: int,
        depth: int,
        in_message: bool,
        starts_message: bool,
        digest: bool,
    ) -> _Node:
        content = tuple(field for field in fields if field[0] in _HELPER_FIELDS)
        default_type = "message/rfc822" if digest else "text/plain"
        if sum(len(value) for _, value in content) <= _CACHED_CONTENT_CHARS:
            described = _described_cached(content, default_type)
        else:
            described = _described(content, default_type)
        content_type, boundary, charset, encoding, filename, is_attachment = described
        return _Node(
            header_start=header_start,
            body_start=body_start,
            parent=parent,
            depth=depth,
            fields=fields,
            content_type=content_type,
            charset=charset,
            encoding=encoding,
            filename=filename,
            is_attachment=is_attachment,
            in_message=in_message,
            starts_message=starts_message,
            boundary=boundary,
        )

    def _record(self, node: _Node) -> int:
        if node.depth > MAX_DEPTH + 1:
            node.depth = MAX_DEPTH + 1
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _consume(self, node: _Node) -> _Node | None:
        """Read `node`'s body; return the next part to read, or None at the end."""
        hidden = node.depth > MAX_DEPTH
        if node.content_type.startswith("multipart/") and node.boundary:
            if hidden:
                if "nesting flattened" not in self.defects:
                    self.defects.append("nesting flattened")
                record = node.parent
            else:
                record = self._record(node)
            self._push(node, record)
            delimiter = self._find_delimiter(node.body_start)
            if (
                delimiter is not None
                and delimiter.level == len(self.stack) - 1
                and not delimiter.close
            ):
                return self._after(delimiter)
            # The boundary never appears: the body is still text someone wrote.
            self._pop(len(self.stack) - 1)
            self.defects.append("boundary missing")
            if not hidden:
                self.nodes.pop()
            return self._as_text(node, delimiter)
        if node.content_type.startswith("multipart/"):
            self.defects.append("boundary missing")
            return self._as_text(node, self._find_delimiter(node.body_start))
        if node.content_type in MESSAGE_TYPES and node.encoding not in (
            "base64",
            "quoted-printable",
        ):
            record = node.parent if hidden else self._record(node)
            if not hidden:
                self.open_messages.append((node, len(self.stack)))
            return self._open(
                node.body_start,
                parent=record,
                depth=node.depth + 1,
                in_message=True,
                starts_message=True,
                digest=False,
            )
        delimiter = self._find_delimiter(node.body_start)
        self._finish_leaf(node, delimiter)
        if node.content_type in MESSAGE_TYPES:
            self._read_encoded_message(node)
        return self._after(delimiter) if delimiter is not None else None

    def _as_text(self, node: _Node, delimiter: _Delimiter | None) -> _Node | None:
        node.declared_type = node.content_type
        node.content_type = "text/plain"
        node.boundary = b""
        self._finish_leaf(node, delimiter)
        return self._after(delimiter) if delimiter is not None else None

    def _finish_leaf(self, node: _Node, delimiter: _Delimiter | None) -> None:
        node.body_end = self._body_end(node.body_start, delimiter)
        node.size = self._decoded_size(node.body_start, node.body_end, node.encoding)
        wants_text = node.content_type in REPORT_TYPES or (
            node.content_type in ("text/plain", "text/html")
            and not node.in_message
            and (not node.is_attachment or (node.depth == 0 and node.starts_message))
        )
        if wants_text:
            node.text = self._read_text(node)
        self._record(node)

    def _read_text(self, node: _Node) -> str:
        """The text of a body part, within what is left of `max_text_bytes` (all text
        parts together, in document order): only the encoded bytes that can give that
        much text are decoded, then the text is cut to it, at a character."""
        budget = self.text_budget
        stop = node.body_end
        if budget is not None:
            per_byte = _ENCODED_PER_BYTE.get(node.encoding, _ENCODED_PER_BYTE_OTHERWISE)
            per_byte *= bytes_per_text_byte(node.charset)
            stop = min(stop, node.body_start + budget * per_byte + 4)
        text = decode_body(self.buf[node.body_start : stop], node.encoding, node.charset)
        if node.content_type == "text/plain":
            text = _unflowed(text, node.fields)
        if budget is None:
            return text
        size = utf8_size(text)
        if size > budget or stop < node.body_end:
            self._cut_text()
            if size > budget:
                text = utf8_head(text, budget)
                size = utf8_size(text)
        self.text_budget = budget - size
        return text

    def _cut_text(self) -> None:
        if not self.text_cut:
            self.text_cut = True
            self.defects.append("text truncated")

    def _body_end(self, start: int, delimiter: _Delimiter | None) -> int:
        end = self.end if delimiter is None else delimiter.start
        if delimiter is not None and end > start:
            end -= 1  # the line break before "--" belongs to the delimiter
            if end > start and self.buf[end - 1] == 0x0D:
                end -= 1
        return max(end, start)

    def _end_messages(self, level: int, delimiter: _Delimiter | None) -> None:
        """A delimiter at `level` ends the attached messages opened inside that multipart."""
        while self.open_messages and self.open_messages[-1][1] > level:
            node, _ = self.open_messages.pop()
            node.body_end = self._body_end(node.body_start, delimiter)

    def _read_encoded_message(self, node: _Node) -> None:
        """An attached message sent base64- or QP-encoded: read its header block only."""
        stop = min(node.body_end, node.body_start + 2 * MAX_HEADER_BYTES)
        data = decode_transfer(self.buf[node.body_start : stop], node.encoding)
        fields, _ = read_header_block(
            data, 0, len(data), cap=MAX_HEADER_BYTES, defects=[], strays=True
        )
        inner = self._node(
            fields,
            header_start=node.body_start,
            body_start=node.body_end,
            parent=len(self.nodes) - 1,
            depth=node.depth + 1,
            in_message=True,
            starts_message=True,
            digest=False,
        )
        inner.body_end = node.body_end
        self._record(inner)

    def _push(self, node: _Node, record: int) -> None:
        self.stack.append(
            _Open(
                boundary=node.boundary,
                record=record,
                depth=node.depth,
                in_message=node.in_message,
                digest=node.content_type == "multipart/digest",
            )
        )
        self.boundaries.setdefault(node.boundary, []).append(len(self.stack) - 1)

    def _pop(self, level: int) -> None:
        """Close the multipart at `level` and every one opened inside it."""
        while len(self.stack) > level:
            closed = self.stack.pop()
            levels = self.boundaries[closed.boundary]
            levels.pop()
            if not levels:
                del self.boundaries[closed.boundary]

    def _after(self, delimiter: _Delimiter | None) -> _Node | None:
        """Act on a delimiter line: open the next part, or close multiparts and look further."""
        while delimiter is not None:
            self._end_messages(delimiter.level, delimiter)
            if delimiter.level < len(self.stack) - 1:
                self.defects.append("close delimiter missing")
            if delimiter.close:
                self._pop(delimiter.level)
                delimiter = self._find_delimiter(delimiter.after)  # skip the epilogue
                continue
            self._pop(delimiter.level + 1)
            container = self.stack[delimiter.level]
            return self._open(
                delimiter.after,
                parent=container.record,
                depth=container.depth + 1,
                in_message=container.in_message,
                starts_message=False,
                digest=container.digest,
            )
        if self.stack:
            self.defects.append("close delimiter missing")
            self._pop(0)
        return None

    def _find_delimiter(self, pos: int) -> _Delimiter | None:
        """The next line `--boundary` or `--boundary--` of any open multipart."""
        if not self.stack:
            return None
        buf, end = self.buf, self.end
        at_line_start = pos == 0 or buf[pos - 1] == 0x0A
        while pos < end:
            if at_line_start and buf.startswith(b"--", pos):
                start = pos
            else:
                found = buf.find(b"\n--", pos, end)
                if found < 0:
                    return None
                start = found + 1
            at_line_start = False
            newline = buf.find(b"\n", start, min(end, start + _MAX_DELIMITER_LINE))
            if newline < 0 and start + _MAX_DELIMITER_LINE < end:
                pos = start + 2
                continue
            line_end = newline if newline >= 0 else end
            token = buf[start + 2 : line_end].rstrip(b" \t\r")
            levels = self.boundaries.get(token)
            if levels:
                return _Delimiter(level=levels[-1], close=False, start=start, after=line_end + 1)
            if token.endswith(b"--"):
                levels = self.boundaries.get(token[:-2])
                if levels:
                    return _Delimiter(level=levels[-1], close=True, start=start, after=line_end + 1)
            pos = start + 2
        return None

    def _decoded_size(self, start: int, end: int, encoding: str) -> int:
        buf = self.buf
        length = end - start
        if encoding == "base64":
            blanks = sum(buf.count(ch, start, end) for ch in (b"\n", b"\r", b" ", b"\t", b"="))
            return max(0, (length - blanks) * 3 // 4)
        if encoding == "quoted-printable":
            return max(0, length - 2 * buf.count(b"=", start, end))
        return length


def _unflowed(text: str, fields: list[tuple[str, str]]) -> str:
    """A format=flowed text as its sender's lines (`flowed.py`); other text as it is."""
    content_type = next((value for name, value in fields if name == "content-type"), "")
    is_flowed, delsp = flowed_parameters(content_type)
    return unflow(text, delsp=delsp) if is_flowed else text


def decode_body(data: bytes, encoding: str, charset: str | None) -> str:
    """A text part's bytes -> text: transfer encoding undone, charset guessed, `\\n` line ends."""
    text = decode_bytes(decode_transfer(data, encoding), charset)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub("", text)


# --- the whole message ----------------------------------------------------------------------


def decode(raw: bytes, *, max_text_bytes: int | None = DEFAULT_MAX_TEXT_BYTES) -> DecodedMail:
    """Parse raw message bytes into headers, the sender's text and HTML, and attachment names.

    The text of all text parts together is read up to `max_text_bytes` bytes of
    UTF-8 (None: all of it); `DecodedMail.text_cut` says when there was more.
    Raises `MalformedMessage` only when the bytes hold nothing to read.
    """
    raw, line_ends_made_one = _message_bytes(raw)
    if not raw.strip(b" \t\r\n\x00"):
        raise MalformedMessage("empty message")
    reader = _TreeReader(raw, max_text_bytes=max_text_bytes)
    if line_ends_made_one:
        reader.defects.append("bare CR line ends")
    nodes = reader.read()
    if not nodes:  # pragma: no cover - the top part is always read
        raise MalformedMessage("no message")
    top = nodes[0]
    parts = tuple(_freeze(index, node) for index, node in enumerate(nodes))
    plain = _body_text(parts, "text/plain")
    html = _body_text(parts, "text/html")
    if plain is None and html is None and top.text is not None:
        plain = top.text  # a one-part message marked as an attachment: still the sender's text
    attachments = list_files(raw, parts)
    defects = tuple(dict.fromkeys(reader.defects))
    return DecodedMail(
        headers=tuple((name, decode_header_value(value)) for name, value in top.fields),
        plain=plain,
        html=html,
        attachments=attachments,
        content_type=top.declared_type or top.content_type,
        parts=parts,
        raw_headers=tuple(top.fields),
        defects=defects,
        text_cut=reader.text_cut,
    )


def read_attachment(raw: bytes, attachment: Attachment) -> bytes:
    """The bytes of one file of `decode(raw).attachments`, as they were received."""
    buf, _ = _message_bytes(raw)
    return file_bytes(buf, attachment)


def read_top_headers(raw: bytes) -> tuple[tuple[str, str], ...]:
    """The message's own (name, raw value) header pairs, read as `decode` reads them.

    Only the top header block is read, never the tree: cheap, and it never
    raises, so a message can be keyed and stored before it is parsed.
    """
    buf, _ = _message_bytes(raw)
    fields, _ = read_header_block(
        buf, _top_start(buf), len(buf), cap=MAX_HEADER_BYTES, defects=[], strays=True
    )
    return tuple(fields)


def _message_bytes(raw: bytes) -> tuple[bytes, bool]:
    """The bytes to read, and whether their line ends had to be made one kind.

    A UTF-8 byte-order mark (some Windows tools write one) is dropped. CRLF
    and LF mail is read as it comes. When a CR stands alone (classic Mac OS
    mail, some gateways, a mix), every line end becomes LF: a bare CR ends a
    line, as the standard library reads it, and CR CR LF is one line end (a
    text-mode conversion done twice), not a blank line as there. The common
    path costs one search, about 1.5 ms per MB.
    """
    raw = bytes(raw).removeprefix(b"\xef\xbb\xbf")
    if _BARE_CR.search(raw) is None:
        return raw, False
    return raw.replace(b"\r\r\n", b"\n").replace(b"\r\n", b"\n").replace(b"\r", b"\n"), True


def _top_start(buf: bytes) -> int:
    """Where the message's header block starts: past an mbox `From ` separator line."""
    if not buf.startswith(b"From "):
        return 0
    newline = buf.find(b"\n")
    return newline + 1 if newline >= 0 else len(buf)


def _freeze(index: int, node: _Node) -> MimePart:
    return MimePart(
        index=index,
        parent=node.parent,
        depth=node.depth,
        content_type=node.content_type,
        headers=tuple(node.fields),
        charset=node.charset,
        filename=node.filename,
        is_attachment=node.is_attachment,
        in_message=node.in_message,
        starts_message=node.starts_message,
        text=node.text,
        size=node.size,
        body_start=node.body_start,
        body_end=node.body_end,
        encoding=node.encoding,
    )


def _body_text(parts: tuple[MimePart, ...], content_type: str) -> str | None:
    """The sender's own inline parts of one type, joined in order.

    Of a multipart/alternative only one branch counts; parts of attached
    messages never do (they are someone else's words, like a quote).
    """
    chosen: list[str] = []
    branch_of: dict[int, int] = {}
    for part in parts:
        if part.content_type != content_type or part.text is None:
            continue
        if part.in_message or part.is_attachment:
            continue
        child, ancestor, steps = part.index, part.parent, 0
        keep = True
        while ancestor >= 0 and steps <= MAX_DEPTH + 1:
            if parts[ancestor].content_type == "multipart/alternative":
                keep = branch_of.setdefault(ancestor, child) == child
                break
            child, ancestor, steps = ancestor, parts[ancestor].parent, steps + 1
        if keep:
            chosen.append(part.text)
    return "\n\n".join(chosen) if chosen else None
