"""Which files a notice attaches (decide/relay.py, pure) and the MIME of the relay (notify)."""

from __future__ import annotations

import base64
import email
import email.policy

import pytest

from mailgate.config import AttachmentSettings
from mailgate.decide.relay import is_blocked, plan_relay
from mailgate.domain import Attachment
from mailgate.notify import base64_lines, compose, file_part


def file(name: str, size: int, *, inline: bool = False, start: int = 0) -> Attachment:
    return Attachment(filename=name, content_type="application/pdf", size=size, sha256="0" * 64,
                      inline=inline, start=start)  # fmt: skip


def test_no_files_no_relay() -> None:
    assert plan_relay((), AttachmentSettings()) is None


def test_files_fill_the_limit_in_order_blocked_ones_are_listed() -> None:
    limits = AttachmentSettings(max_relay_bytes=100, blocked_extensions=("exe",))
    files = (file("a.pdf", 60), file("b.pdf", 50), file("Setup.EXE", 1), file("c.pdf", 40))
    relay = plan_relay(files, limits)
    assert relay is not None
    assert [(item.file.filename, item.left_out) for item in relay.files] == [
        ("a.pdf", ""), ("b.pdf", "too_large"), ("Setup.EXE", "blocked"), ("c.pdf", ""),
    ]  # fmt: skip
    assert [f.filename for f in relay.attached] == ["a.pdf", "c.pdf"]


@pytest.mark.parametrize(
    "name",
    ["evil.exe", "evil.EXE", "evil.exe.", "evil.exe ", "evil.exe. . ", "evil.exe\u3000",
     "evil.exe\u200b", "evil.ExE", "evil.ＥＸＥ", ".exe",
     "a.b.scr.."],
)  # fmt: skip
def test_an_extension_is_blocked_as_windows_would_run_it(name: str) -> None:
    assert is_blocked(name, ("exe", "scr"))


@pytest.mark.parametrize("name", ["evil.exe.txt", "exe", "evil.ex", "evil_exe", "evil.еxе", ""])
def test_other_names_are_not_blocked(name: str) -> None:
    assert not is_blocked(name, ("exe",))  # "еxе" is Cyrillic: no Windows program
    assert not is_blocked("evil.exe", ())


def test_the_relay_is_mixed_with_inline_images_related_to_the_html() -> None:
    image = Attachment(filename="shot.png", content_type="image/png", size=4, sha256="",
                       inline=True)  # fmt: skip
    pdf = file("отчёт.pdf", 5)
    raw = compose(
        [("From", "support@example.org"), ("To", "team@example.org")],
        "text",
        '<img src="cid:c1">',
        files=[(file_part(image, b"\x89PNG"), "c1"), (file_part(pdf, b"%PDF-"), "c2")],
    )
    message = email.message_from_bytes(raw, policy=email.policy.default)
    shape = [(p.get_content_type(), p.get_filename()) for p in message.walk()]
    assert shape == [
        ("multipart/mixed", None),
        ("multipart/related", None),
        ("multipart/alternative", None),
        ("text/plain", None),
        ("text/html", None),
        ("image/png", "shot.png"),
        ("application/pdf", "отчёт.pdf"),
    ]
    image_part = next(p for p in message.walk() if p.get_content_type() == "image/png")
    assert image_part["Content-ID"] == "<c1>"
    assert image_part.get_payload(decode=True) == b"\x89PNG"


def test_a_forwarded_message_travels_as_itself_when_it_can() -> None:
    eml = Attachment(filename="m.eml", content_type="message/rfc822", size=1, sha256="",
                     inline=False)  # fmt: skip
    assert file_part(eml, b"Subject: x\r\n\r\nhi\r\n").encoding == "7bit"
    bare = file_part(eml, b"Subject: x\n\nhi\n")
    assert (bare.encoding, bare.content_type) == ("base64", "application/octet-stream")


def test_base64_lines_are_the_standard_encoding_in_crlf_lines_of_exactly_the_size() -> None:
    for size in (0, 1, 2, 3, 56, 57, 58, 57 * 1024, 57 * 1024 + 1, 3 * 57 * 1024 - 5):
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        encoded = base64_lines(data)
        assert encoded == base64.encodebytes(data).replace(b"\n", b"\r\n")
