"""Raw bytes -> decoded headers and body text, never crashing on bad input.

Hostile mail is ordinary mail here, so nothing is handed to a parser whose cost
or depth the sender controls:

- Header blocks are cut before they are parsed: `MAX_HEADER_BYTES` for a block,
  `MAX_FIELD_BYTES` for one field. (With `policy.default`, a 437 KiB Subject of
  encoded-words took 18.8 s and a To: of 16,000 addresses 4.9 s.) Fields that
  mailgate reads are kept even when the block is over budget.
- The MIME tree is read in one pass over the bytes with a stack of open
  boundaries: no recursion, linear time, however deep the nesting. Parts
  deeper than `MAX_DEPTH` are flattened into the deepest kept container.
  (The standard parser raises RecursionError at about 1,000 levels.)
- Attachments are never decoded: their size is counted on the encoded bytes.
- Text is decoded with a charset guess when the label is missing, unknown or
  wrong (see `decode_bytes`); encoded-words are decoded one by one, so a broken
  one costs only itself.

Everything cut or guessed is named in `DecodedMail.defects`.
"""

from __future__ import annotations

import binascii
import codecs
import email.utils
import math
import re
from dataclasses import dataclass
from email.message import Message

from mailgate.domain import Address
from mailgate.parse.errors import MalformedMessage

MAX_HEADER_BYTES = 64 * 1024  # one header block (the message's, or an attached message's)
MAX_PART_HEADER_BYTES = 8 * 1024  # the header block of a body part
MAX_FIELD_BYTES = 16 * 1024  # one header field
MAX_CONTENT_FIELD_BYTES = 4 * 1024  # Content-* fields: the parameter parser is slow on long ones
MAX_SCANNED_HEADER_BYTES = 4 * 1024 * 1024  # fields past this point of a block are not looked at
MAX_SCANNED_FIELDS = 20_000  # nor are fields past this many
MAX_FIELDS = 1000  # fields kept from one block
MAX_DEPTH = 32  # nesting kept as a tree; deeper parts are flattened
MAX_PARTS = 2000  # parts read from one message; the rest is skipped
MAX_TEXT_BYTES = 1024 * 1024  # encoded bytes of one text part that are decoded
MAX_ADDRESSES = 1000  # addresses returned by one `parse_addresses` call
_MAX_DELIMITER_LINE = 1000  # a boundary is at most 70 characters; padding allowed

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
        "auto-submitted",
        "precedence",
        "return-path",
        "list-id",
        "list-unsubscribe",
        "x-loop",
        "x-auto-response-suppress",
        "x-autoreply",
        "x-autorespond",
    }
)
_REPORT_TYPES = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "text/rfc822-headers",
        "message/global-headers",
    }
)
_MESSAGE_TYPES = frozenset({"message/rfc822", "message/global"})

_HEADER_LINES = re.compile(rb"(?:(?:[\x21-\x39\x3b-\x7e]+[ \t]*:|[ \t])[^\n]*+(?:\n|\Z))*+")
_FIELD = re.compile(rb"^([\x21-\x39\x3b-\x7e]+)[ \t]*:([^\n]*+(?:\n[ \t][^\n]*+)*+)\n?", re.M)
_FOLD = re.compile(rb"\r?\n")
_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_MESSAGE_ID = re.compile(r"<([^<>\x00-\x20\x7f]+)>")
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([bBqQ])\?([^?]*)\?=")
_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_BASE64_PAD = re.compile(rb"=+")
_BAD_FILENAME = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]{1,64}@[^\s<>()\[\]\\,;:\"@]{1,255}")
_ADDRESS_BAD = re.compile(r"[\s<>()\[\]\\,;:\x00-\x1f\x7f]")
_NON_ASCII_BYTES = bytes(range(128, 256))
_WORD = re.compile(r"[^\W\d_]+")
_SUSPICIOUS = re.compile(r"[\x80-\x9f\u2500-\u259f¤¦§¨©ª¬®¯°±²³´µ¶·¸¹º¼½¾]")

# Labels seen in the wild that name no charset, or one Python spells otherwise.
_CHARSET_ALIASES: dict[str, str | None] = {
    "unknown-8bit": None,
    "unknown": None,
    "x-unknown": None,
    "x-user-defined": None,
    "default": None,
    "8bit": None,
    "iso-8859-8-i": "iso8859_8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-mac-cyrillic": "mac_cyrillic",
    "win-1251": "cp1251",
    "cp-1251": "cp1251",
    "windows-1251": "cp1251",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",  # as browsers do: the C1 range is windows-1252 in practice
    "us-ascii": "ascii",
}
# Python codecs that are not mail charsets: a label naming one is ignored.
_NOT_MAIL_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)
_SEVEN_BIT_CODECS = frozenset({"utf_7", "iso2022_jp", "iso2022_kr", "hz"})
_WIDE_CODECS = frozenset({"utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"})
# Single-byte charsets that mislabel each other in Russian and Western mail:
# a label naming one of these is weighed against the others.
_CONFUSABLE = frozenset(
    {"ascii", "utf_8", "cp1251", "koi8_r", "koi8_u", "iso8859_1", "cp1252", "iso8859_15"}
)
_GUESSES = ("cp1251", "koi8_r", "cp1252")
# How much likelier each Russian letter is than one of 33 drawn at random, as a
# log-odds weight (letter frequencies of Russian prose). Wrongly decoded
# windows-1251 / KOI8-R text shuffles the alphabet, so its letters score low.
_RUSSIAN_FREQUENCY = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.50,
}  # fmt: skip
_CYRILLIC_WEIGHT = {ch: math.log(share * 33 / 100) for ch, share in _RUSSIAN_FREQUENCY.items()}
_OTHER_CYRILLIC_WEIGHT = -4.0  # і, ј, ћ ...: what KOI8-R read as windows-1251 is full of


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    filename: str  # a safe base name: no directories, no control characters; "" when none
    content_type: str
    size: int  # decoded bytes; estimated from the encoded size, never decoded to count


def first_header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The first value of a header among (lower-cased name, value) pairs, or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key == wanted), None)


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
    message: Message  # the top-level header block only; the tree is `parts`
    parts: tuple[MimePart, ...] = ()
    raw_headers: tuple[tuple[str, str], ...] = ()  # (lower-cased name, unfolded raw value)
    defects: tuple[str, ...] = ()  # what was cut, flattened or guessed

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        return first_header(self.headers, name)

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def raw_header_all(self, name: str) -> list[str]:
        """Undecoded values: address lists must be split before their names are decoded."""
        wanted = name.lower()
        return [value for key, value in self.raw_headers if key == wanted]


# --- charsets -------------------------------------------------------------------------------


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode text whose declared charset may be missing, wrong or unknown.

    Valid UTF-8 wins over any single-byte label: other charsets practically
    never form valid multi-byte UTF-8 by chance. Otherwise a trusted label is
    used, and windows-1251, KOI8-R and windows-1252 (the charsets Russian and
    Western mail mislabel as each other) are weighed by how plausible their
    words look. Never raises; never drops bytes silently.
    """
    codec = _codec_for(declared)
    if data.isascii():
        if codec in _SEVEN_BIT_CODECS or (codec in _WIDE_CODECS and _looks_wide(data)):
            try:
                return data.decode(codec)
            except (UnicodeError, LookupError):
                pass
        return data.decode("ascii")
    if codec in _WIDE_CODECS and _looks_wide(data):
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            pass
    text = _decode_utf8(data)
    if text is not None:
        return text
    if codec is not None and codec not in _CONFUSABLE and codec not in _WIDE_CODECS:
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            pass
    return _guess_single_byte(data, codec if codec in _CONFUSABLE else None)


def _codec_for(label: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None when it names no usable charset."""
    if not label:
        return None
    name = str(label).strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not name or len(name) > 40:
        return None
    if name in _CHARSET_ALIASES:
        alias = _CHARSET_ALIASES[name]
        return None if alias is None else codecs.lookup(alias).name.replace("-", "_")
    for candidate in (name, name.removeprefix("x-"), name.replace("win-", "cp")):
        try:
            codec = codecs.lookup(candidate).name.replace("-", "_")
        except (LookupError, ValueError):
            continue
        if codec in _NOT_MAIL_CODECS:
            return None
        try:
            b"a".decode(codec)
        except (LookupError, TypeError):  # not a text encoding (base64, rot13, ...)
            return None
        except UnicodeError:  # a text encoding that needs more than one byte
            pass
        return codec
    return None


def _looks_wide(data: bytes) -> bool:
    """UTF-16/32 text has a byte-order mark or many NUL bytes; 8-bit text has neither."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff",):
        return True
    return data.count(0) * 4 >= len(data)


def _decode_utf8(data: bytes) -> str | None:
    """The text when `data` is UTF-8, tolerating a cut last character and rare stray bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and exc.start >= len(data) - 3
        if cut and not data[: exc.start].isascii():
            try:
                return data[: exc.start].decode("utf-8")  # a part cut in mid-character
            except UnicodeDecodeError:
                pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(data) - len(data.translate(None, _NON_ASCII_BYTES))
    valid = non_ascii - bad
    # Mostly UTF-8 with a few stray bytes (a signature in another charset): keep it.
    if valid >= 8 and bad * 20 <= valid:
        return text
    return None


def _guess_single_byte(data: bytes, declared: str | None) -> str:
    sample = data[:8192]
    candidates = [declared] if declared not in (None, "ascii", "utf_8") else []
    candidates += [codec for codec in _GUESSES if codec not in candidates]
    best: tuple[float, str] | None = None
    for codec in candidates:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if codec == declared:  # a label is evidence too: overrule it only when clearly worse
            score += 3.0
        if best is None or score > best[0]:
            best = (score, codec)
    if best is not None:
        try:
            return data.decode(best[1])
        except UnicodeDecodeError:  # a byte past the sample that this charset lacks
            pass
    return data.decode("latin-1")


def _plausibility(text: str) -> float:
    """How much `text` looks like words people write: letters of one script, sane case."""
    score = 0.0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        length = len(word)
        cyrillic = sum(1 for ch in word if "\u0400" <= ch <= "\u04ff")
        if cyrillic and cyrillic != length:
            score -= 2 * length  # Latin and Cyrillic inside one word
            continue
        if length > 1 and not (word.islower() or word.isupper() or word.istitle()):
            score -= length
            continue
        if length == 1:
            continue
        if cyrillic:
            score += sum(_CYRILLIC_WEIGHT.get(ch, _OTHER_CYRILLIC_WEIGHT) for ch in word.lower())
        else:
            accented = sum(1 for ch in word if ord(ch) > 127)
            score += length if accented * 2 <= length else -length
    return score - 2 * len(_SUSPICIOUS.findall(text))


# --- header values --------------------------------------------------------------------------


def decode_header_value(raw: object) -> str:
    """Decode an RFC 2047 header value into one line of plain text.

    Lenient: encoded-words anywhere (inside quotes, inside words), adjacent
    ones joined before decoding (a character split across two still reads),
    a broken one kept as it stands. Control characters (CR, LF, NUL, ...)
    become spaces so that nothing read from a message can break a header it is
    later copied into.
    """
    if raw is None:
        return ""
    text = str(raw)
    if "=?" in text:
        text = _decode_encoded_words(text)
    return single_line(text)


def _decode_encoded_words(text: str) -> str:
    out: list[str] = []
    run_charset: str | None = None
    run = bytearray()
    pos = 0
    after_word = False
    for match in _ENCODED_WORD.finditer(text):
        between = text[pos : match.start()]
        if between and not (after_word and between.isspace()):
            if run_charset is not None:
                out.append(decode_bytes(bytes(run), run_charset))
                run_charset, run = None, bytearray()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].strip().lower() or "us-ascii"
        if run_charset is not None and charset != run_charset:
            out.append(decode_bytes(bytes(run), run_charset))
            run = bytearray()
        run_charset = charset
        payload = match.group(3).encode("utf-8", "replace")
        if match.group(2) in "bB":
            if _BASE64_JUNK.search(payload):  # not base64 at all: keep the word as it stands
                if run_charset is not None:
                    out.append(decode_bytes(bytes(run), run_charset))
                    run_charset, run = None, bytearray()
                out.append(match.group(0))
                pos = match.end()
                after_word = False
                continue
            run += _decode_base64(payload)
        else:
            run += binascii.a2b_qp(payload, header=True)
        pos = match.end()
        after_word = True
    if run_charset is not None:
        out.append(decode_bytes(bytes(run), run_charset))
    out.append(text[pos:])
    return "".join(out)


def single_line(value: str) -> str:
    """Collapse control characters, line separators and runs of white space to single spaces."""
    return " ".join(_LINE_BREAKING.sub(" ", value).split())


def parse_addresses(values: list[str]) -> tuple[Address, ...]:
    """Addresses of one or more header values, addr-spec lower-cased, at most `MAX_ADDRESSES`."""
    kept: list[str] = []
    budget = 2 * MAX_FIELD_BYTES
    for value in values:
        value = _LINE_BREAKING.sub(" ", str(value))[:budget]
        budget -= len(value)
        kept.append(value)
        if budget <= 0:
            break
    kept = [_defuse_address_list(value) for value in kept]
    try:
        pairs = email.utils.getaddresses(kept)
    except (RecursionError, ValueError, TypeError, IndexError):  # pragma: no cover - defused above
        pairs = [("", addr) for addr in _BARE_ADDRESS.findall(" ".join(kept))]
    found: list[Address] = []
    for name, addr in pairs:
        addr = addr.strip().lower()
        if not is_plausible_address(addr):
            continue
        found.append(Address(address=addr, name=decode_header_value(name)))
        if len(found) >= MAX_ADDRESSES:
            break
    return tuple(found)


def _defuse_address_list(value: str) -> str:
    """An address list the standard parser reads without deep recursion.

    It reads nested `(comments)` and `group:` lists recursively, so a From of
    a thousand `(` or `a:` raises RecursionError. Here comments are made one
    level deep (the inner parentheses go, their text stays: `a@b (Ivan
    (work))` still names Ivan) and a group opened inside a group loses its
    colon. Linear; quoted strings and `<...>` are left alone.
    """
    if value.count("(") < 2 and value.count(":") < 2:
        return value
    out: list[str] = []
    depth = 0
    quoted = escaped = angle = group = False
    for ch in value:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif quoted:
            quoted = ch != '"'
        elif depth:
            if ch == "(":
                depth += 1
                continue
            if ch == ")":
                depth -= 1
                if depth:
                    continue
        elif ch == '"':
            quoted = True
        elif ch == "(":
            depth = 1
        elif ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        elif ch == ":" and not angle:
            if group:
                ch = " "
            group = True
        elif ch == ";" and not angle:
            group = False
        out.append(ch)
    return "".join(out)


def is_plausible_address(addr: str) -> bool:
    """An addr-spec that can go into an outgoing header as it stands."""
    local, at, domain = addr.rpartition("@")
    return bool(at and local and domain and len(addr) <= 320 and not _ADDRESS_BAD.search(addr))


def parse_message_ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs named in a header (`<a@b> <c@d>`), without angle brackets.

    A lone id without brackets (`Message-ID: a@b`, seen from broken mailers)
    is read too.
    """
    if not value:
        return ()
    found = tuple(_MESSAGE_ID.findall(value))
    if found:
        return found
    bare = value.strip()
    if "@" in bare and not re.search(r"[\x00-\x20\x7f<>]", bare) and len(bare) <= 998:
        return (bare,)
    return ()


def safe_filename(name: str) -> str:
    """A file name's last path component with nothing a file system or terminal would act on."""
    name = decode_header_value(name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _BAD_FILENAME.sub("_", name).strip().lstrip(".").strip()
    return name[:255]


# --- header blocks --------------------------------------------------------------------------


def _read_header_block(
    buf: bytes, start: int, end: int, *, cap: int, defects: list[str]
) -> tuple[list[tuple[str, str]], int]:
    """The fields of the header block at `start` and the offset where its body begins.

    As in RFC 5322 and the standard parser, the block ends at the first empty
    line, or at the first line that is neither a field nor a continuation.
    """
    block_end = _HEADER_LINES.match(buf, start, end).end()
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
    scan_end = min(block_end, start + MAX_SCANNED_HEADER_BYTES)
    if scan_end < block_end:
        defects.append("header block truncated")
    for count, match in enumerate(_FIELD.finditer(buf, start, scan_end)):
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
        value = _FOLD.sub(b"", raw).strip(b" \t\r")
        fields.append(
            (name, value.decode("ascii") if value.isascii() else decode_bytes(value, None))
        )
    return fields, body_start


def _cut(raw: bytes, limit: int) -> bytes:
    """`raw` cut to `limit` bytes, at a space or comma when one is near, so no word is split."""
    head = raw[:limit]
    split = max(head.rfind(b" "), head.rfind(b","), head.rfind(b"\t"))
    return head[:split] if split > limit * 3 // 4 else head


def _helper_message(fields: list[tuple[str, str]], *, default_type: str) -> Message:
    """A compat32 `Message` holding only headers: its parameter parsing is lenient and cheap."""
    message = Message()
    if default_type != "text/plain":
        message.set_default_type(default_type)
    for name, value in fields:
        message[name] = value
    return message


def _safe(call, default):
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

    def __init__(self, raw: bytes) -> None:
        self.buf = raw
        self.end = len(raw)
        self.nodes: list[_Node] = []
        self.defects: list[str] = []
        self.stack: list[_Open] = []
        self.boundaries: dict[bytes, list[int]] = {}
        self.opened = 0

    def read(self) -> list[_Node]:
        start = 0
        if self.buf.startswith(b"From ", start):  # an mbox separator line
            newline = self.buf.find(b"\n", start)
            start = newline + 1 if newline >= 0 else self.end
        node: _Node | None = self._open(
            start, parent=-1, depth=0, in_message=False, starts_message=True, digest=False
        )
        while node is not None:
            node = self._consume(node)
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
        fields, body_start = _read_header_block(
            self.buf, pos, self.end, cap=cap, defects=self.defects
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
        helper = _helper_message(fields, default_type="message/rfc822" if digest else "text/plain")
        content_type = _safe(helper.get_content_type, "text/plain")
        boundary = b""
        if content_type.startswith("multipart/"):
            value = _safe(lambda: helper.get_param("boundary"), None)
            if value is not None:
                value = _safe(lambda: email.utils.collapse_rfc2231_value(value), "")
                boundary = str(value).strip().encode("utf-8", "replace")[:_MAX_DELIMITER_LINE]
        disposition = _safe(lambda: helper.get_content_disposition(), None)
        filename = safe_filename(_safe(helper.get_filename, None) or "")
        encoding = (helper.get("content-transfer-encoding") or "").strip().lower()
        return _Node(
            header_start=header_start,
            body_start=body_start,
            parent=parent,
            depth=depth,
            fields=fields,
            content_type=content_type,
            charset=_safe(helper.get_content_charset, None),
            encoding=encoding.split(";", 1)[0].strip(),
            filename=filename,
            is_attachment=disposition == "attachment" or bool(filename),
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
        if node.content_type in _MESSAGE_TYPES and node.encoding not in (
            "base64",
            "quoted-printable",
        ):
            record = node.parent if hidden else self._record(node)
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
        if node.content_type in _MESSAGE_TYPES:
            self._read_encoded_message(node)
        return self._after(delimiter) if delimiter is not None else None

    def _as_text(self, node: _Node, delimiter: _Delimiter | None) -> _Node | None:
        node.declared_type = node.content_type
        node.content_type = "text/plain"
        node.boundary = b""
        self._finish_leaf(node, delimiter)
        return self._after(delimiter) if delimiter is not None else None

    def _finish_leaf(self, node: _Node, delimiter: _Delimiter | None) -> None:
        end = self.end if delimiter is None else delimiter.start
        if delimiter is not None and end > node.body_start:
            end -= 1  # the line break before "--" belongs to the delimiter
            if end > node.body_start and self.buf[end - 1] == 0x0D:
                end -= 1
        node.body_end = max(end, node.body_start)
        node.size = self._decoded_size(node.body_start, node.body_end, node.encoding)
        wants_text = node.content_type in _REPORT_TYPES or (
            node.content_type in ("text/plain", "text/html")
            and not node.in_message
            and (not node.is_attachment or (node.depth == 0 and node.starts_message))
        )
        if wants_text:
            stop = min(node.body_end, node.body_start + MAX_TEXT_BYTES)
            if stop < node.body_end:
                self.defects.append("text truncated")
            node.text = decode_body(self.buf[node.body_start : stop], node.encoding, node.charset)
        self._record(node)

    def _read_encoded_message(self, node: _Node) -> None:
        """An attached message sent base64- or QP-encoded: read its header block only."""
        stop = min(node.body_end, node.body_start + 2 * MAX_HEADER_BYTES)
        data = _decode_transfer(self.buf[node.body_start : stop], node.encoding)
        fields, _ = _read_header_block(data, 0, len(data), cap=MAX_HEADER_BYTES, defects=[])
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


def decode_body(data: bytes, encoding: str, charset: str | None) -> str:
    """A text part's bytes -> text: transfer encoding undone, charset guessed, `\\n` line ends."""
    text = decode_bytes(_decode_transfer(data, encoding), charset)
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _BODY_CONTROL.sub("", text)


def _decode_transfer(data: bytes, encoding: str) -> bytes:
    if encoding == "base64":
        return _decode_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def _decode_base64(data: bytes) -> bytes:
    """Base64 that may be truncated, padded wrongly or concatenated from several blocks."""
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        pass
    out = bytearray()
    for chunk in _BASE64_PAD.split(_BASE64_JUNK.sub(b"", data)):
        extra = len(chunk) % 4
        if extra == 1:
            chunk = chunk[:-1]
        elif extra:
            chunk += b"=" * (4 - extra)
        if chunk:
            out += binascii.a2b_base64(chunk)
    return bytes(out)


# --- the whole message ----------------------------------------------------------------------


def decode(raw: bytes) -> DecodedMail:
    """Parse raw message bytes into headers, the sender's text and HTML, and attachment names.

    Raises `MalformedMessage` only when the bytes hold nothing to read.
    """
    raw = bytes(raw).removeprefix(b"\xef\xbb\xbf")
    if not raw.strip(b" \t\r\n\x00"):
        raise MalformedMessage("empty message")
    reader = _TreeReader(raw)
    nodes = reader.read()
    if not nodes:  # pragma: no cover - the top part is always read
        raise MalformedMessage("no message")
    top = nodes[0]
    parts = tuple(_freeze(index, node) for index, node in enumerate(nodes))
    plain = _body_text(parts, "text/plain")
    html = _body_text(parts, "text/html")
    if plain is None and html is None and top.text is not None:
        plain = top.text  # a one-part message marked as an attachment: still the sender's text
    message = Message()
    for name, value in top.fields:
        message[name] = value
    attachments = tuple(
        Attachment(filename=part.filename, content_type=part.content_type, size=part.size)
        for part in parts
        if part.is_attachment and not part.starts_message
    )
    defects = tuple(dict.fromkeys(reader.defects))
    return DecodedMail(
        headers=tuple((name, decode_header_value(value)) for name, value in top.fields),
        plain=plain,
        html=html,
        attachments=attachments,
        content_type=top.declared_type or top.content_type,
        message=message,
        parts=parts,
        raw_headers=tuple(top.fields),
        defects=defects,
    )


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
