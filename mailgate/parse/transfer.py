"""Content-Transfer-Encoding undone: base64 and quoted-printable, for bodies and encoded-words.

Lenient, because a part cut short or padded wrongly must still give what it holds.
"""

from __future__ import annotations

import binascii
import re

_BASE64_JUNK = re.compile(rb"[^A-Za-z0-9+/=]")
_BASE64_PAD = re.compile(rb"=+")


def decode_transfer(data: bytes, encoding: str) -> bytes:
    """The bytes a body holds; 7bit, 8bit, binary and unknown encodings are taken as they are."""
    if encoding == "base64":
        return decode_base64(data)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def decode_base64(data: bytes) -> bytes:
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


def is_base64(data: bytes) -> bool:
    """Only base64 characters: anything else is not a base64 payload, however it is labelled."""
    return not _BASE64_JUNK.search(data)
