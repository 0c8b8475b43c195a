"""One Message-ID reader: the dedupe key and the stored message id never disagree."""

from __future__ import annotations

import pytest

from mailgate.parse import message_key, parse_message, raw_message_key
from mailgate.parse.headers import MAX_MESSAGE_ID_LENGTH, read_message_id


def _mail(header_lines: str) -> bytes:
    return (
        "From: Ivan <ivan@client.example.ru>\r\nTo: support@example.org\r\nSubject: hello\r\n"
        + header_lines
        + "\r\nThe phones are down.\r\n"
    ).encode()


def _parsed_id(raw: bytes) -> str:
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset()).message_id


# (the Message-ID lines, the id both readers must give)
WITH_AN_ID = [
    ("Message-ID: <a@b>\r\n", "a@b"),
    ("MESSAGE-ID: <a@b>\r\n", "a@b"),
    ("Message-Id:<a@b>\r\n", "a@b"),
    ("Message-ID: (c) <a@b>\r\n", "a@b"),
    ("Message-ID: <a@b> (added by the relay)\r\n", "a@b"),
    ("Message-ID: (relayed for <x@y>) <a@b>\r\n", "a@b"),
    ("Message-ID: (outer (inner <x@y>) \\) still) <a@b>\r\n", "a@b"),
    ("Message-ID: <a(1)@b>\r\n", "a(1)@b"),
    ("Message-ID: (never closed <a@b>\r\n", "a@b"),
    ("Message-ID:\r\n <folded@b>\r\n", "folded@b"),
    ("Message-ID:\r\n\t(comment)\r\n <folded@b>\r\n", "folded@b"),
    ("Message-ID: <a@b> <c@d>\r\n", "a@b"),
    ("Message-ID: <a@b>\r\nMessage-ID: <c@d>\r\n", "a@b"),
    ("Message-ID: <<nested@x>>\r\n", "nested@x"),
    ("Message-ID: bare@example.org\r\n", "bare@example.org"),
    ("Message-ID: bare@example.org (a comment)\r\n", "bare@example.org"),
    ("Message-ID: <has space@x> <ok@x>\r\n", "ok@x"),
    ("Message-ID: garbage <ok@x> more garbage\r\n", "ok@x"),
    ("X-Other: 1\r\nmessage-id: <late@x>\r\n", "late@x"),
]
WITHOUT_AN_ID = [
    "",
    "Message-ID:\r\n",
    "Message-ID:    \r\n",
    "Message-ID: <>\r\n",
    "Message-ID: garbage\r\n",
    "Message-ID: (only a comment)\r\n",
    "Message-ID: (a comment <hiding@x>)\r\n",
    "Message-ID: <a@b\r\n",
    "Message-ID: <split\r\n @across.a.fold>\r\n",
    f"Message-ID: <{'x' * MAX_MESSAGE_ID_LENGTH}@b>\r\n",
]


@pytest.mark.parametrize(("lines", "expected"), WITH_AN_ID)
def test_key_and_stored_id_are_the_same_message_id(lines: str, expected: str) -> None:
    raw = _mail(lines)
    assert message_key(raw) == expected
    assert _parsed_id(raw) == expected


@pytest.mark.parametrize("lines", WITHOUT_AN_ID)
def test_without_a_usable_id_both_are_the_hash_of_the_bytes(lines: str) -> None:
    raw = _mail(lines)
    assert message_key(raw) == raw_message_key(raw)
    assert _parsed_id(raw) == raw_message_key(raw)


def test_a_message_id_line_in_the_body_is_not_the_messages() -> None:
    raw = b"Subject: x\r\n\r\nMessage-ID: <body@x>\r\n"
    assert message_key(raw) == _parsed_id(raw) == raw_message_key(raw)


def test_a_message_id_below_a_line_that_ends_the_header_block_is_not_read() -> None:
    """The block ends at the first line that is neither a field nor a continuation."""
    raw = b"Subject: x\r\nthis is no header line\r\nMessage-ID: <late@x>\r\n\r\nbody\r\n"
    assert message_key(raw) == _parsed_id(raw) == raw_message_key(raw)


@pytest.mark.parametrize(
    "prefix",
    [b"\xef\xbb\xbf", b"From ivan@client.example.ru Mon Jan  5 10:00:00 2026\r\n"],
    ids=["byte-order mark", "mbox separator"],
)
def test_what_comes_before_the_header_block_is_skipped_alike(prefix: bytes) -> None:
    raw = prefix + _mail("Message-ID: <a@b>\r\n")
    assert message_key(raw) == _parsed_id(raw) == "a@b"


def test_the_key_needs_no_parseable_message() -> None:
    """An empty message cannot be parsed, yet it is stored under a key."""
    assert message_key(b"") == raw_message_key(b"")
    assert message_key(b"\r\n\r\n") == raw_message_key(b"\r\n\r\n")


def test_control_characters_never_reach_the_id() -> None:
    raw = _mail("Message-ID: <a\x85b@c>\r\n")
    assert message_key(raw) == _parsed_id(raw) == raw_message_key(raw)


def test_read_message_id_reads_raw_header_pairs() -> None:
    assert read_message_id((("subject", "x"), ("message-id", "(c) <a@b>"))) == "a@b"
    assert read_message_id((("subject", "x"),)) is None
