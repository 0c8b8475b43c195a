"""Hostile mail through the whole parsing path: a table of what must hold for each fixture."""

from __future__ import annotations

import base64
import json
import os
import re
import time
from pathlib import Path

import pytest

from mailgate.domain import InboundMessage
from mailgate.parse import parse_message
from mailgate.parse.commands import scan_commands
from mailgate.parse.errors import MalformedMessage
from mailgate.parse.mimetree import decode

HOSTILE = Path(__file__).parent.parent / "fixtures" / "hostile"
EXPECTED = json.loads((HOSTILE / "expected.json").read_text(encoding="utf-8"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# Wall-clock ceiling for one hostile message on a shared CI machine; each one
# takes at most tens of milliseconds here.
SECONDS_PER_MESSAGE = 2.0


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({"support@example.org"}))


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(EXPECTED) == sorted(path.name for path in HOSTILE.glob("*.eml"))
    assert len(EXPECTED) >= 25


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_hostile_fixture(name: str) -> None:
    raw = (HOSTILE / name).read_bytes()
    expected = EXPECTED[name]
    started = time.process_time()
    if not expected["parses"]:
        with pytest.raises(MalformedMessage):
            parse(raw)
        return
    message = parse(raw)
    scan_commands(
        new_text=message.new_text,
        quoted_text=message.quoted_text,
        subject_after_tag=message.subject_after_tag,
    )
    assert time.process_time() - started < SECONDS_PER_MESSAGE
    assert_safe(message)
    check_expectations(
        message, expected, decode(raw).defects, [a.filename for a in decode(raw).attachments]
    )


def assert_safe(message: InboundMessage) -> None:
    """What any parsed message guarantees, however hostile its bytes."""
    assert not _CONTROL.search(message.subject)
    assert not _CONTROL.search(message.subject_after_tag)
    assert not _CONTROL.search(message.message_id)
    for address in (message.sender, *message.to, *message.cc, *message.reply_to):
        if address is not None:
            assert not _CONTROL.search(address.address + address.name)
            assert " " not in address.address and "@" in address.address
    for text in (message.text, message.new_text, message.quoted_text):
        assert not _BODY_CONTROL.search(text)
    for name, value in message.headers:
        assert not _CONTROL.search(value), name
    for value in (message.subject, message.text, *(v for _, v in message.headers)):
        value.encode("utf-8")  # no lone surrogates


def check_expectations(
    message: InboundMessage, expected: dict, defects: tuple[str, ...], attachments: list[str]
) -> None:
    if "subject" in expected:
        assert message.subject == expected["subject"]
    for piece in expected.get("subject_contains", []):
        assert piece in message.subject
    if "sender" in expected:
        assert (message.sender.address if message.sender else None) == expected["sender"]
    if "sender_name" in expected:
        assert message.sender is not None and message.sender.name == expected["sender_name"]
    if "sender_count" in expected:
        assert message.sender_count == expected["sender_count"]
    if "sender_count_max" in expected:
        assert message.sender_count <= expected["sender_count_max"]
    if "cc" in expected:
        assert [address.address for address in message.cc] == expected["cc"]
    if "message_id" in expected:
        assert message.message_id == expected["message_id"]
    if expected.get("message_id_is_hash"):
        assert message.message_id.startswith("sha256-")
    if "text" in expected:
        assert message.text == expected["text"]
    for piece in expected.get("text_contains", []):
        assert piece in message.text
    for piece in expected.get("text_excludes", []):
        assert piece not in message.text
    for piece in expected.get("new_text_contains", []):
        assert piece in message.new_text
    if "attachments" in expected:
        assert attachments == expected["attachments"]
    if "to_count_max" in expected:
        assert expected.get("to_count_min", 0) <= len(message.to) <= expected["to_count_max"]
    for defect in expected.get("defects", []):
        assert defect in defects
    if expected.get("date_is_none"):
        assert message.date is None
    if "in_reply_to" in expected:
        assert list(message.in_reply_to) == expected["in_reply_to"]
    if "references" in expected:
        assert list(message.references) == expected["references"]


def test_a_30_mb_attachment_is_fast_and_not_kept() -> None:
    """Generated here rather than committed: 30 MB of base64 beside a short text."""
    payload = base64.encodebytes(os.urandom(30 * 1024 * 1024 * 3 // 4))
    raw = (
        b"From: Ivan <ivan@client.example.ru>\r\nSubject: big\r\nMessage-ID: <big@x>\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee the dump\r\n"
        b"--B\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="core.dump"\r\n'
        b"Content-Transfer-Encoding: base64\r\n\r\n" + payload + b"--B--\r\n"
    )
    started = time.process_time()
    mail = decode(raw)
    message = parse(raw)
    assert time.process_time() - started < 2 * SECONDS_PER_MESSAGE
    assert message.text == "see the dump"
    (attachment,) = mail.attachments
    assert attachment.filename == "core.dump"
    assert abs(attachment.size - 30 * 1024 * 1024 * 3 // 4) < 16
    assert all(
        part.text is None for part in mail.parts if part.content_type.startswith("application/")
    )
