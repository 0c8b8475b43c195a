"""The tag behind reply and forward prefixes, in many clients' spellings."""

import pytest

from mailgate.parse import message_key, parse_message
from mailgate.parse.subject import find_tag, strip_reply_prefixes
from mailgate.tags import parse_tag

SUBJECTS = [
    ("[REQ-12] Printer", 12, "Printer"),
    ("Re: [REQ-12] Printer", 12, "Printer"),
    ("RE: RE: [REQ-12] Printer", 12, "Printer"),
    ("Fwd: [REQ-7] x", 7, "x"),
    ("FW: [REQ-7] x", 7, "x"),
    ("AW: [REQ-7] x", 7, "x"),
    ("WG: [REQ-7] x", 7, "x"),
    ("SV: [REQ-7] x", 7, "x"),
    ("Ответ: [REQ-7] x", 7, "x"),
    ("Re[2]: [REQ-7] x", 7, "x"),
    ("[req-7] lower case", 7, "lower case"),
    ("[REQ 7] space", 7, "space"),
    ("[REQ#7] hash", 7, "hash"),
    ("Printer [REQ-99] trailing", 99, "trailing"),
    ("[REQ-12] Cancel request", 12, "Cancel request"),
    ("[REQ-12] Re: Cancel request", 12, "Cancel request"),
    ("No tag here", None, ""),
    ("[OTHER-12] other prefix", None, ""),
    ("[REQ-] no number", None, ""),
]


@pytest.mark.parametrize(("subject", "number", "after"), SUBJECTS)
def test_find_tag(subject, number, after):
    tag = find_tag(subject, "REQ")
    assert tag.number == number
    assert tag.after_tag == after


def test_configured_prefix():
    assert find_tag("Re: [HELP-5] x", "HELP").number == 5
    assert find_tag("Re: [REQ-5] x", "HELP").number is None


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [("Re: Fwd: AW: Hello", "Hello"), ("Hello", "Hello"), ("Réunion", "Réunion"),
     ("Re : spaced", "spaced"), ("Отв: Привет", "Привет")],
)  # fmt: skip
def test_strip_reply_prefixes(subject, stripped):
    assert strip_reply_prefixes(subject) == stripped


def test_rfc2047_subject_tag():
    raw = (
        b"From: a@b.example\r\nSubject: =?utf-8?b?UmU6IFtSRVEtNDJdINCf0YDQuNCy0LXRgg==?=\r\n"
        b"Message-ID: <x@y>\r\n\r\nhi\r\n"
    )
    message = parse_message(raw, tag_prefix="REQ", own_addresses=frozenset())
    assert message.tag_number == 42
    assert message.subject == "Re: [REQ-42] Привет"


def test_threading_headers_are_read():
    raw = (
        b"From: a@b.example\r\nSubject: hi\r\nMessage-ID: <m3@b.example>\r\n"
        b"In-Reply-To: <m2@support.example.org>\r\n"
        b"References: <m1@b.example>\r\n <m2@support.example.org>\r\n\r\nhi\r\n"
    )
    message = parse_message(raw, tag_prefix="REQ", own_addresses=frozenset())
    assert message.in_reply_to == ("m2@support.example.org",)
    assert message.references == ("m1@b.example", "m2@support.example.org")
    assert message.tag_number is None


def test_message_key_is_the_message_id_or_a_hash():
    assert message_key(b"Message-ID: <a@b>\r\nSubject: x\r\n\r\nbody") == "a@b"
    assert message_key(b"Message-Id:\r\n  <folded@b>\r\n\r\nbody") == "folded@b"
    one = message_key(b"Subject: x\r\n\r\nbody")
    assert one.startswith("sha256-") and one == message_key(b"Subject: x\r\n\r\nbody")
    assert one != message_key(b"Subject: x\r\n\r\nbody2")
    # A Message-ID in the body is not a header.
    assert message_key(b"Subject: x\r\n\r\nMessage-ID: <body@x>").startswith("sha256-")


def test_a_tag_on_the_command_line_is_read_with_any_mailbox_prefix():
    prefixes = ["REQ", "BILL"]
    assert parse_tag("REQ-12", prefixes) == 12
    assert parse_tag("[bill-7]", prefixes) == 7
    assert parse_tag(" 42 ", prefixes) == 42
    assert parse_tag("OTHER-3", prefixes) is None
    assert parse_tag("REQ-", prefixes) is None
