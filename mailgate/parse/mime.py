"""Raw bytes -> decoded headers and body text, never crashing on bad input.

Python's `email` parser is lenient but its conveniences are not: `policy.default`
can take seconds on hostile headers and `errors='ignore'` decoding silently
loses text. So headers are decoded here by hand with a charset fallback chain,
and body parts are decoded from their raw bytes.
"""

from __future__ import annotations

import email.header
import email.utils
import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from email.policy import compat32

from mailgate.domain import Address

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_CRLF_AND_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")

# Tried in order after the declared charset fails. Russian mail in the wild is
# utf-8, windows-1251 or koi8-r; latin-1 always succeeds, so it comes last.
FALLBACK_CHARSETS = ("utf-8", "windows-1251", "koi8-r", "latin-1")


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True, kw_only=True)
class DecodedMail:
    """A message's headers and readable body, decoded to `str`."""

    headers: tuple[tuple[str, str], ...]  # (lower-cased name, decoded value), in order
    plain: str | None  # the first text/plain body part
    html: str | None  # the first text/html body part
    attachments: tuple[Attachment, ...]
    content_type: str  # of the whole message
    message: Message  # the parsed tree, for readers that need more (bounces)

    def header(self, name: str) -> str | None:
        """The first value of a header, or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key == wanted:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key == wanted]

    def raw_header_all(self, name: str) -> list[str]:
        """Undecoded values: address lists must be split before their names are decoded."""
        return [str(value) for value in self.message.get_all(name, [])]


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode text whose declared charset may be missing, wrong or unknown."""
    candidates = [declared] if declared else []
    candidates.extend(FALLBACK_CHARSETS)
    for charset in candidates:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            continue
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover


def decode_header_value(raw: str | email.header.Header | None) -> str:
    """Decode an RFC 2047 header value into one line of plain text.

    Control characters (CR, LF, NUL, ...) become spaces so that nothing read
    from a message can break a header it is later copied into.
    """
    if raw is None:
        return ""
    text = str(raw)
    try:
        pieces = email.header.decode_header(text)
    except Exception:  # a malformed encoded-word: keep the raw text
        pieces = [(text, None)]
    decoded = []
    for chunk, charset in pieces:
        if isinstance(chunk, bytes):
            decoded.append(decode_bytes(chunk, charset))
        else:
            decoded.append(chunk)
    return single_line("".join(decoded))


def single_line(value: str) -> str:
    """Collapse control characters and runs of white space to single spaces."""
    return " ".join(_CRLF_AND_CONTROL.sub(" ", value).split())


def parse_addresses(values: list[str]) -> tuple[Address, ...]:
    """Addresses of one or more header values, addr-spec lower-cased."""
    found = []
    for name, addr in email.utils.getaddresses(values):
        addr = single_line(addr).strip().lower()
        if "@" not in addr:
            continue
        found.append(Address(address=addr, name=decode_header_value(name)))
    return tuple(found)


def parse_message_ids(value: str | None) -> tuple[str, ...]:
    """Message-IDs named in a header (`<a@b> <c@d>`), without angle brackets."""
    if not value:
        return ()
    return tuple(_MESSAGE_ID.findall(value))


def decode(raw: bytes) -> DecodedMail:
    """Parse raw message bytes into headers, a text part, an HTML part and attachment names."""
    message = BytesParser(policy=compat32).parsebytes(raw)
    headers = tuple((key.lower(), decode_header_value(value)) for key, value in message.items())
    plain = html = None
    attachments = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = part.get_filename()
        if disposition == "attachment" or filename:
            payload = part.get_payload(decode=True) or b""
            attachments.append(
                Attachment(
                    filename=decode_header_value(filename or ""),
                    content_type=content_type,
                    size=len(payload),
                )
            )
            continue
        if content_type == "text/plain" and plain is None:
            plain = _decode_part(part)
        elif content_type == "text/html" and html is None:
            html = _decode_part(part)
    return DecodedMail(
        headers=headers,
        plain=plain,
        html=html,
        attachments=tuple(attachments),
        content_type=message.get_content_type(),
        message=message,
    )


def _decode_part(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        payload = str(part.get_payload()).encode("utf-8", "replace")
    text = decode_bytes(payload, part.get_content_charset())
    return _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
