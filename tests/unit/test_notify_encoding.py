"""The renderer's own encoders give what the standard library's give, for any text:
quoted-printable line by line as `b2a_qp` of the whole body, RFC 2047 words as
`email.header.Header`."""

from __future__ import annotations

import binascii
import email.header

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.notify import encoded_words, quoted_printable, quoted_printable_by_line

# What changes how a line is encoded: spaces and tabs (at a line's end), a dot alone,
# "=", CR and LF, control characters, Cyrillic and 4-byte UTF-8, long lines.
ANY = st.characters(exclude_categories=["Cs"])  # a lone surrogate: UTF-8 fails either way
TEXT = st.text(alphabet=st.sampled_from(list(" \t.=\r\n\x00\x0cab-_?Жё€😀")) | ANY,
               max_size=400)  # fmt: skip
ONE_LINE = st.text(alphabet=st.sampled_from(list(" .=_?-:;,()abcXYZ09Жё€😀é")) | ANY,
                   min_size=1, max_size=300)  # fmt: skip


def whole(body: str) -> bytes:
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


@settings(max_examples=500, deadline=None, database=None)
@given(TEXT)
def test_quoted_printable_line_by_line_is_b2a_qp_of_the_whole(body: str) -> None:
    assert quoted_printable_by_line(body) == quoted_printable(body) == whole(body)


@pytest.mark.parametrize(
    "body",
    ["", "\n", "a \n", "a\t", ".\n.", "x" * 75 + "=\n", "x" * 2000 + "\nend", "Жж" * 60 + "\n"],
)
def test_quoted_printable_edges(body: str) -> None:
    assert quoted_printable_by_line(body) == quoted_printable(body) == whole(body)


@settings(max_examples=500, deadline=None, database=None)
@given(ONE_LINE, st.sampled_from(["", "Subject"]))
def test_encoded_words_are_what_header_writes(value: str, header_name: str) -> None:
    header = email.header.Header(value, "utf-8", header_name=header_name or None)
    assert encoded_words(value, header_name=header_name) == header.encode(linesep="\r\n")


@pytest.mark.parametrize(
    "value",
    [
        "[REQ-12] Не работает SIP-транк в офисе, звонки обрываются через 30 секунд",
        "[REQ-1042] Café closed " * 8,
        "Служба поддержки",
        "😀" * 40,
        "a\u2028b",
    ],
)
def test_encoded_words_examples(value: str) -> None:
    header = email.header.Header(value, "utf-8", header_name="Subject")
    assert encoded_words(value, header_name="Subject") == header.encode(linesep="\r\n")
