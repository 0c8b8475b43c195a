"""Header values -> plain text: encoded-words, one-line values, addresses, message ids and
file names.

Every value read here may be copied into a header mailgate writes, so nothing
that comes out holds a line break or a control character.
"""

from __future__ import annotations

import binascii
import email.utils
import functools
import re

from mailgate.domain import Address
from mailgate.parse.charsets import decode_bytes
from mailgate.parse.header_block import MAX_FIELD_BYTES
from mailgate.parse.transfer import decode_base64, is_base64

MAX_ADDRESSES = 1000  # addresses returned by one `parse_addresses` call
MAX_MESSAGE_ID_LENGTH = 900  # a longer id could not be quoted within a 998-character line

_LINE_BREAKING = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MESSAGE_ID = re.compile(r"<([^<>\x00-\x20\x7f]+)>")
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([bBqQ])\?([^?]*)\?=")
_BAD_FILENAME = re.compile(r'[\x00-\x1f\x7f-\x9f<>:"/\\|?*\u200e\u200f\u202a-\u202e\u2066-\u2069]')
_BARE_ADDRESS = re.compile(r"[^\s<>()\[\]\\,;:\"@]{1,64}@[^\s<>()\[\]\\,;:\"@]{1,255}")
_ADDRESS_BAD = re.compile(r"[\s<>()\[\]\\,;:\x00-\x1f\x7f]")


def first_header(headers: tuple[tuple[str, str], ...], name: str) -> str | None:
    """The first value of a header among (lower-cased name, value) pairs, or None."""
    wanted = name.lower()
    return next((value for key, value in headers if key == wanted), None)


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
            if not is_base64(payload):  # not base64 at all: keep the word as it stands
                if run_charset is not None:
                    out.append(decode_bytes(bytes(run), run_charset))
                    run_charset, run = None, bytearray()
                out.append(match.group(0))
                pos = match.end()
                after_word = False
                continue
            run += decode_base64(payload)
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
    if value.isprintable():
        # No control character or separator: the only white space is " " (the usual case).
        if "  " not in value and value[:1] != " " and value[-1:] != " ":
            return value
        return " ".join(value.split())
    return " ".join(_LINE_BREAKING.sub(" ", value).split())


def parse_addresses(values: list[str]) -> tuple[Address, ...]:
    """Addresses of one or more header values, addr-spec lower-cased, at most `MAX_ADDRESSES`."""
    if not values:
        return ()
    key = tuple(values)
    if all(type(value) is str for value in key) and sum(map(len, key)) <= _CACHED_ADDRESS_CHARS:
        return _parse_addresses_cached(key)
    return _parse_addresses(key)


# The same short lists come again and again (a message's From is read twice, the
# support address is in most To fields); the result is immutable, so the last few
# are kept.
_CACHED_ADDRESS_CHARS = 2048


@functools.lru_cache(maxsize=64)
def _parse_addresses_cached(values: tuple[str, ...]) -> tuple[Address, ...]:
    return _parse_addresses(values)


def _parse_addresses(values: tuple[str, ...]) -> tuple[Address, ...]:
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

    (Comments) are skipped, so `(from <x@y>) <a@b>` names only `a@b`. A lone
    id without brackets (`Message-ID: a@b`, seen from broken mailers) is read
    too.
    """
    if not value:
        return ()
    if "(" in value:
        value = _drop_comments(value)
    found = tuple(_MESSAGE_ID.findall(value))
    if found:
        return found
    bare = value.strip()
    if "@" in bare and not re.search(r"[\x00-\x20\x7f<>]", bare) and len(bare) <= 998:
        return (bare,)
    return ()


def read_message_id(headers: tuple[tuple[str, str], ...]) -> str | None:
    """A message's own id, from its (name, raw value) header pairs; None when it has none.

    The first id of the first Message-ID field. The only reader of a
    message's Message-ID: the dedupe key and the stored message id both come
    from here, so they cannot disagree. An id longer than `MAX_MESSAGE_ID_LENGTH`
    is no id (no reply could quote it in a References line).
    """
    ids = parse_message_ids(decode_header_value(first_header(headers, "message-id")))
    if not ids or len(ids[0]) > MAX_MESSAGE_ID_LENGTH:
        return None
    return ids[0]


def _drop_comments(value: str) -> str:
    """`value` with each (comment) outside `<...>` made a space; as written if one never closes."""
    out: list[str] = []
    depth = 0
    escaped = angle = False
    for ch in value:
        if depth:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
                if not depth:
                    out.append(" ")
            continue
        if ch == "(" and not angle:
            depth = 1
            continue
        if ch == "<":
            angle = True
        elif ch == ">":
            angle = False
        out.append(ch)
    return value if depth else "".join(out)


def safe_filename(name: str) -> str:
    """A file name's last path component with nothing a file system or terminal would act on."""
    name = decode_header_value(name)
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = _BAD_FILENAME.sub("_", name).strip().lstrip(".").strip()
    return name[:255]
