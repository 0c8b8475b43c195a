"""Issue 21's machine mail and the people's mail read empty: each rule with its limit.

The fixtures are in tests/fixtures/machine (expected.json); these pin why.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.parse import message_key, parse_message
from mailgate.parse.mimetree import decode

MACHINE = Path(__file__).resolve().parent.parent / "fixtures" / "machine"
OWN = frozenset({"support@example.org"})


def parsed(raw: bytes):
    return parse_message(raw, tag_prefix="REQ", own_addresses=OWN)


@pytest.mark.parametrize(
    ("name", "first_line"),
    [
        ("human_iso8859_unfolded_received_line.eml", "Bonjour,"),
        ("human_empty_fields_without_colon.eml", "Hello,"),
    ],
)
def test_a_stray_header_line_leaves_the_persons_text(name: str, first_line: str) -> None:
    message = parsed((MACHINE / name).read_bytes())
    assert message.auto is None and message.sender is not None
    assert message.new_text.split("\n")[0] == first_line
    assert message.message_id == message_key((MACHINE / name).read_bytes())


def test_a_single_word_line_is_a_stray_field() -> None:
    raw = b"Cc\r\nFrom: a@b.example\r\nSubject: x\r\nMessage-ID: <k@x>\r\n\r\nbody\r\n"
    mail = decode(raw)
    assert mail.header("from") == "a@b.example" and mail.plain == "body\r\n".replace("\r", "")
    assert message_key(raw) == "k@x"


def test_an_unfolded_line_under_received_is_a_stray() -> None:
    raw = (
        b"Received: from a (a [192.0.2.1])\r\nby b with ESMTPS id 1;\r\n\tTue, 8 Dec 2026\r\n"
        b"From: a@b.example\r\nSubject: x\r\n\r\nbody\r\n"
    )
    assert decode(raw).header("subject") == "x"


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: x\r\nthis is no header line\r\nFrom: late@x.example\r\n\r\nbody\r\n",
        b"Subject: x\r\nCc\r\n\r\nFrom: late@x.example\r\n",  # a blank line ends it
        b"Subject: x\r\nCc\r\nBcc\r\nFoo\r\nBar\r\nFrom: late@x.example\r\n\r\nbody\r\n",
    ],
)
def test_a_body_that_starts_without_a_blank_line_stays_a_body(raw: bytes) -> None:
    assert decode(raw).header("from") is None


def test_a_part_header_has_no_stray_lines() -> None:
    raw = (
        b"From: a@b.example\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\nCc\r\nFrom: x@y.example\r\n\r\nhi\r\n--b--\r\n"
    )
    assert "From: x@y.example" in (decode(raw).plain or "")


# -- failure notices of robots with names of their own ---------------------------------


def notice(subject: str, text: str) -> bytes:
    return (
        f"From: Mail Router <router@corp.example>\r\nTo: support@example.org\r\n"
        f"Subject: {subject}\r\nMessage-ID: <n@corp.example>\r\n\r\n{text}\r\n"
    ).encode()


def test_a_failure_subject_and_a_stated_failure_make_a_bounce() -> None:
    message = parsed(notice("Undeliverable: [REQ-4] x", "Your message was not delivered to:\r\n\r\n"
                            "  vera@corp.example\r\n\r\n550 5.1.1 User unknown"))  # fmt: skip
    assert message.auto == "delivery-report"
    assert message.bounce is not None and message.bounce.recipients == ("vera@corp.example",)


@pytest.mark.parametrize(
    ("subject", "text"),
    [
        ("Undeliverable: my last mail?", "Did you get my invoice? It came back, I think."),
        ("Re: [REQ-4] x", "The phone says 550 5.1.1 User unknown when I call."),
        ("Fwd: Undeliverable: [REQ-4] x", "See below: 550 5.1.1 User unknown"),
    ],
)
def test_one_sign_alone_is_a_persons_mail(subject: str, text: str) -> None:
    message = parsed(notice(subject, text))
    assert message.auto is None and message.bounce is None


# -- abuse reports and auto-replies -------------------------------------------------------


def test_feedback_fields_in_the_body_under_prose_are_a_persons_mail() -> None:
    text = "We got this, what is it?\r\n\r\nFeedback-Type: abuse\r\nVersion: 1\r\n"
    assert parsed(notice("Re: [REQ-4] x", text)).auto is None


def test_away_and_return_under_an_away_subject() -> None:
    raw = notice("Out of Office: [REQ-4] x", "I am on leave and will reply upon my return.")
    assert parsed(raw).auto == "autoreply-subject"
    asked = notice("Out of Office: [REQ-4] x", "I am on leave until Monday; can you call me then?")
    assert parsed(asked).auto is None
