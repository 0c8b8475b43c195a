"""Content-Type folded with its next parameter at column 0 (`boundary=` on a line of its own)."""

from __future__ import annotations

import pytest

from mailgate.parse.mimetree import decode

PARTS = b"\n--b1\nContent-Type: text/plain\n\nThe printer is broken.\n--b1--\n"


@pytest.mark.parametrize(
    "content_type",
    [
        b'Content-Type: multipart/mixed;\nboundary="b1"\n',
        b"Content-Type: multipart/mixed;\nboundary=b1\n",
        b'Content-Type: multipart/mixed;   \r\nboundary="b1"\r\n',
        b'Content-Type: multipart/mixed\n; boundary="b1"\n',
        b'Content-Type: multipart/mixed;\n\ttype="text/plain";\nboundary="b1"\n',
        b'Content-Type: multipart/mixed;\ncharset=us-ascii;\nboundary="b1"\n',
    ],
)
def test_a_column_0_parameter_continues_the_content_field(content_type: bytes) -> None:
    raw = b"From: a@example.org\n" + content_type + b"Subject: after it\n" + PARTS
    mail = decode(raw)
    assert mail.content_type == "multipart/mixed"
    assert mail.plain == "The printer is broken."
    assert mail.header("subject") == "after it"
    assert "header continuation without indent" in mail.defects


@pytest.mark.parametrize(
    "headers",
    [
        b"Subject: no semicolon above\nContent-Type: text/plain\nnote=this is the body\n",
        b"Subject: not a content field;\nnote=this is the body\n",
        b"Content-Type: text/plain;\nThis line is the body: it is no parameter.\n",
    ],
)
def test_a_body_that_starts_without_a_blank_line_stays_the_body(headers: bytes) -> None:
    mail = decode(b"From: a@example.org\n" + headers + b"second line\n")
    assert mail.plain is not None and mail.plain.endswith("second line\n")
    assert "header continuation without indent" not in mail.defects


def test_part_headers_are_repaired_too() -> None:
    raw = (
        b'From: a@example.org\nContent-Type: multipart/alternative; boundary="b1"\n\n'
        b'--b1\nContent-Type: text/plain;\ncharset="koi8-r"\n\n\xf0\xd2\xc9\xd7\xc5\xd4\n--b1--\n'
    )
    assert decode(raw).plain == "Привет"
