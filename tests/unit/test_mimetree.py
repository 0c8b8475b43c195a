"""The MIME tree: structure, transfer encodings, limits, and what is the sender's text."""

from __future__ import annotations

import base64
import time

import pytest

from mailgate.parse.errors import MalformedMessage
from mailgate.parse.mimetree import MAX_DEPTH, decode


def _mail(headers: str, body: str | bytes) -> bytes:
    body_bytes = body.encode() if isinstance(body, str) else body
    return (
        ("From: a@example.org\r\n" + headers).replace("\n", "\r\n").encode() + b"\r\n" + body_bytes
    )


def test_alternative_gives_one_text_and_one_html() -> None:
    raw = _mail(
        'Content-Type: multipart/alternative; boundary="b"\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n",
    )
    mail = decode(raw)
    assert (mail.plain, mail.html) == ("plain", "<p>html</p>")


def test_inline_text_parts_around_an_image_are_joined() -> None:
    """Apple Mail splits a body around an inline image into several text parts."""
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nbefore the picture\r\n"
        "--m\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nafter the picture\r\n--m--\r\n",
    )
    assert decode(raw).plain == "before the picture\n\nafter the picture"


def test_a_second_plain_alternative_is_not_appended() -> None:
    raw = _mail(
        'Content-Type: multipart/alternative; boundary="b"\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\n",
    )
    assert decode(raw).plain == "first"


def test_text_of_an_attached_message_is_not_the_senders_text() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: other@example.org\r\nSubject: old\r\n\r\nResolve this issue\r\n--m--\r\n",
    )
    mail = decode(raw)
    assert mail.plain is None
    inner = [part for part in mail.parts if part.starts_message and part.in_message]
    assert inner and inner[0].header("subject") == "old"


def test_a_text_attachment_is_not_the_body() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nsee log\r\n"
        "--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n"
        "\r\nResolve this issue\r\n--m--\r\n",
    )
    mail = decode(raw)
    assert mail.plain == "see log"
    assert [(a.filename, a.size) for a in mail.attachments] == [("log.txt", 18)]


def test_a_one_part_message_marked_as_attachment_is_still_read() -> None:
    raw = _mail("Content-Type: text/plain\nContent-Disposition: attachment\n", "hello")
    assert decode(raw).plain == "hello"


def test_quoted_printable_and_base64_bodies() -> None:
    qp = _mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
        "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82 soft=\r\nbreak",
    )
    assert decode(qp).plain == "Привет softbreak"
    b64 = _mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
        base64.encodebytes("Привет".encode()).decode(),
    )
    assert decode(b64).plain == "Привет"


def test_attachment_size_is_counted_without_keeping_the_payload() -> None:
    payload = base64.encodebytes(bytes(300_000)).decode()
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--m\r\nContent-Type: application/zip\r\n"
        "Content-Disposition: attachment; filename=a.zip\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}--m--\r\n",
    )
    mail = decode(raw)
    assert [(a.filename, a.size) for a in mail.attachments] == [("a.zip", 300_000)]
    assert all(part.text is None for part in mail.parts if part.content_type == "application/zip")


def test_deep_nesting_is_flattened_not_lost() -> None:
    depth = 200
    body = ""
    for level in range(1, depth):
        body += f"--l{level - 1}\r\nContent-Type: multipart/mixed; boundary=l{level}\r\n\r\n"
    body += f"--l{depth - 1}\r\nContent-Type: text/plain\r\n\r\nbottom\r\n"
    body += "".join(f"--l{level}--\r\n" for level in range(depth - 1, -1, -1))
    mail = decode(_mail("Content-Type: multipart/mixed; boundary=l0\n", body))
    assert mail.plain == "bottom"
    assert max(part.depth for part in mail.parts) <= MAX_DEPTH + 1
    assert "nesting flattened" in mail.defects


def test_an_outer_delimiter_closes_an_unclosed_inner_multipart() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="out"\n',
        "--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
        "--in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
        "--out\r\nContent-Type: text/plain\r\n\r\nouter text\r\n--out--\r\n",
    )
    mail = decode(raw)
    assert mail.plain == "inner text\n\nouter text"
    assert "close delimiter missing" in mail.defects


def test_headers_keep_order_and_decode_8bit() -> None:
    raw = "Subject: Тема\r\nX-A: 1\r\nX-A: 2\r\n\r\n".encode()
    mail = decode(raw)
    assert mail.header("subject") == "Тема"
    assert mail.header_all("x-a") == ["1", "2"]
    assert mail.raw_header_all("X-A") == ["1", "2"]
    assert mail.message.get_all("x-a") == ["1", "2"]


@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\r\n", b"\x00\x00\n"])
def test_nothing_to_read_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode(raw)
    assert caught.value.reason == "empty message"


def test_a_typical_message_decodes_in_well_under_a_millisecond_or_so() -> None:
    raw = _mail(
        "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\nTo: support@example.org\n"
        "Message-ID: <a@b>\nContent-Type: multipart/alternative; boundary=b\n",
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Здравствуйте, не работает телефон.\r\n" * 20
        + "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--b--\r\n",
    )
    decode(raw)
    rounds = 200
    started = time.process_time()
    for _ in range(rounds):
        decode(raw)
    assert (time.process_time() - started) / rounds < 0.005  # generous: shared CI machines
