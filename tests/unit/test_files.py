"""The files of a message (SPEC §10): names decoded and made safe, bytes read back exactly.

Each fixture of tests/fixtures/attachments has its files in expected.json,
with the SHA-256 of the bytes the sender attached.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from mailgate.parse import parse_message
from mailgate.parse.mimetree import decode, read_attachment

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "attachments"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
HOSTILE = FIXTURES.parent / "hostile"
OWN = frozenset({"support@example.org"})


def parse(raw: bytes):
    return parse_message(raw, tag_prefix="REQ", own_addresses=OWN)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_files_are_listed_and_read_back_byte_for_byte(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    message = parse(raw)
    assert [a.to_json() for a in message.attachments] == EXPECTED[name]
    for attachment in message.attachments:
        data = read_attachment(raw, attachment)
        assert hashlib.sha256(data).hexdigest() == attachment.sha256
        assert len(data) == attachment.size


def test_a_message_with_only_files_has_no_text() -> None:
    message = parse((FIXTURES / "apple_only_files.eml").read_bytes())
    assert message.new_text == ""
    assert [a.filename for a in message.attachments] == ["invoice-118.pdf"]


def test_a_forwarded_message_keeps_its_own_parts_inside_the_eml() -> None:
    raw = (FIXTURES / "gmail_forwarded_as_attachment.eml").read_bytes()
    (forwarded,) = parse(raw).attachments
    assert read_attachment(raw, forwarded).startswith(b"From: Vendor <noreply@vendor.example>")
    assert read_attachment(raw, forwarded).endswith(b"expired on 2026-11-25.\r\n")


def test_a_base64_forwarded_message_is_an_eml_too() -> None:
    inner = b"From: a@b.example\r\nSubject: old\r\n\r\nold text\r\n"
    raw = _mixed(
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n" + _b64(inner)
    )
    (forwarded,) = parse(raw).attachments
    assert forwarded.filename == "message-1.eml"
    assert read_attachment(raw, forwarded) == inner


def test_path_traversal_and_control_characters_leave_only_a_base_name() -> None:
    raw = (HOSTILE / "attachment_path_traversal.eml").read_bytes()
    names = [a.filename for a in parse(raw).attachments]
    assert names == ["passwd", "evil.dll", "invoice_fdp.exe"]
    assert all("/" not in n and "\\" not in n and n.isprintable() for n in names)


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ("attachment; filename*=utf-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.pdf", "отчёт.pdf"),
        ("attachment; filename*0*=utf-8''%D0%BE%D1%82; filename*1=\"chet.pdf\"", "отchet.pdf"),
        ('attachment; filename="=?utf-8?B?0L7RgtGH0ZHRgi5wZGY=?="', "отчёт.pdf"),
        ("attachment; filename*=iso-8859-1'fr'r%E9sum%E9.pdf", "résumé.pdf"),
        ('attachment; filename="C:\\\\Users\\\\me\\\\..\\\\boot.ini"', "boot.ini"),
        ('attachment; filename="../../etc/cron.d/x"', "x"),
        ('attachment; filename="a\x07b.txt"', "a b.txt"),
        ('attachment; filename="..."', "attachment-1.pdf"),
        ("attachment", "attachment-1.pdf"),
    ],
)
def test_names_are_decoded_and_reduced_to_a_safe_base_name(disposition, expected) -> None:
    raw = _mixed(
        f"Content-Type: application/pdf\r\nContent-Disposition: {disposition}\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n" + _b64(b"%PDF-1.4 x")
    )
    (attachment,) = parse(raw).attachments
    assert attachment.filename == expected


def test_an_inline_image_without_a_name_is_a_file_with_its_content_id() -> None:
    raw = _mixed(
        "Content-Type: image/png\r\nContent-ID: <logo@x>\r\nContent-Transfer-Encoding: base64"
        "\r\n\r\n" + _b64(b"\x89PNG....")
    )
    (image,) = parse(raw).attachments
    assert (image.filename, image.inline, image.content_id) == ("image-1.png", True, "logo@x")


def test_a_damaged_winmail_dat_is_relayed_as_it_came() -> None:
    raw = _mixed(
        "Content-Type: application/ms-tnef; name=winmail.dat\r\nContent-Transfer-Encoding: "
        "base64\r\n\r\n" + _b64(b"\x78\x9f\x3e\x22\x01\x00" + b"\x02\xff" * 20)
    )
    (packed,) = parse(raw).attachments
    assert (packed.filename, packed.packed) == ("winmail.dat", -1)


def test_a_message_without_files_lists_none() -> None:
    raw = b"From: a@b.example\r\nSubject: hi\r\nContent-Type: text/plain\r\n\r\nhello\r\n"
    assert parse(raw).attachments == ()
    assert decode(raw).attachments == ()


def _b64(data: bytes) -> str:
    import base64

    return base64.encodebytes(data).decode().replace("\n", "\r\n")


def _mixed(part: str) -> bytes:
    return (
        "From: a@b.example\r\nTo: support@example.org\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="m"\r\n\r\n--m\r\nContent-Type: text/plain'
        f"\r\n\r\nsee the file\r\n--m\r\n{part}--m--\r\n"
    ).encode()
