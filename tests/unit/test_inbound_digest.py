"""Which fetched messages are the same message (mailgate/digest.py): a copy fetched or
delivered again, with another trace on top, has the same digest; anything its sender
wrote makes another. Revision 0009 gives the messages stored before their digest.
The keys stored are tested on both databases in tests/integration/test_inbound_keys.py."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from mailgate.digest import content_digest
from mailgate.parse import message_key, raw_message_key, variant_key
from mailgate.store.engine import MIGRATIONS, make_engine, upgrade_schema

NOW = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)
MAIL = (
    b"From: Ann <ann@corp.example>\r\nTo: support@example.org\r\nSubject: Printer\r\n"
    b"Date: Tue, 8 Dec 2026 12:00:00 +0300\r\nMessage-ID: <m1@corp.example>\r\n"
    b"DKIM-Signature: v=1; d=corp.example; b=abc\r\n\r\nIt jams.\r\n"
)
TRACE = (
    b"Return-Path: <ann@corp.example>\r\nDelivered-To: support@example.org\r\n"
    b"Received: from mx1.corp.example by mx.example.org;\r\n\tTue, 8 Dec 2026 12:00:01 +0300\r\n"
    b"Authentication-Results: mx.example.org; dmarc=pass header.from=corp.example\r\n"
    b"ARC-Seal: i=1; a=rsa-sha256; b=x\r\nX-Spam-Status: No, score=0.1\r\n"
)


@pytest.mark.parametrize(
    "copy",
    [
        MAIL,
        TRACE + MAIL,
        MAIL.replace(b"Subject", b"Received: from relay by mx; Tue\r\nSubject"),  # in between
        MAIL.replace(b"\r\n", b"\n"),
        b"\xef\xbb\xbf" + MAIL,
        b"From ann@corp.example Tue Dec  8 12:00:00 2026\r\n" + MAIL,
        MAIL.replace(b"Received", b"received"),
    ],
    ids=["bytes", "trace on top", "trace between", "LF", "BOM", "mbox line", "case"],
)
def test_a_copy_with_another_trace_is_the_same_message(copy: bytes) -> None:
    assert content_digest(copy) == content_digest(MAIL)


@pytest.mark.parametrize(
    "other",
    [
        MAIL.replace(b"It jams.", b"It burns."),
        MAIL.replace(b"Ann <", b"Bob <"),
        MAIL.replace(b"Subject: Printer", b"Subject: Printer!"),
        MAIL.replace(b"d=corp.example; b=abc", b"d=evil.example; b=abc"),  # DKIM is the sender's
        MAIL.replace(b"\r\n\r\n", b"\r\nX-Note: x\r\n\r\n"),
        MAIL + b"Received: a line of the body\r\n",
        MAIL.replace(b"\r\n\r\n", b"\r\n\r\n\r\n"),
        MAIL.replace(b"\r\n\r\nIt", b"\r\nReceived: x\r\n\r\nIt").replace(b"DKIM", b"dkim"),
    ],
)
def test_anything_the_sender_wrote_makes_another_message(other: bytes) -> None:
    assert content_digest(other) != content_digest(MAIL)


def test_where_the_header_block_ends_counts() -> None:
    """A line moved from the header block to the body is another message."""
    first = b"Subject: a\r\nX-A: 1\r\n\r\nbody\r\n"
    second = b"Subject: a\r\n\r\nX-A: 1\r\nbody\r\n"
    assert content_digest(first) != content_digest(second)


@pytest.mark.parametrize(
    "hostile",
    [
        b"a:" * 3_000_000,
        b"a" * 6_000_000,
        b"Received: x\r\n" + b" y\r\n" * 1_000_000,
        (b"X-Spam-" + b"a" * 200 + b" \t\r\n") * 30_000,
        b"a: b\r\n" * 1_000_000,
        b"\r\n" + b"\r\n" * 3_000_000,
    ],
    ids=["colons", "one name", "one long trace", "names no colon", "many fields", "empty lines"],
)
def test_the_digest_costs_time_linear_in_the_size(hostile: bytes) -> None:
    started = time.perf_counter()
    content_digest(hostile)
    assert time.perf_counter() - started < 1.0 * len(hostile) / 2**20 + 0.2


def test_without_a_message_id_the_key_is_the_digests() -> None:
    keyless = MAIL.replace(b"Message-ID: <m1@corp.example>\r\n", b"")
    assert message_key(keyless) == raw_message_key(keyless) == raw_message_key(TRACE + keyless)
    assert message_key(keyless) == f"sha256-{content_digest(keyless)}@mailgate.invalid"
    assert variant_key("m1@corp.example", "ab" * 32) == "m1@corp.example#" + "ab" * 16


# -- revision 0009 gives the messages stored before their digest ----------------------


def test_the_migration_fills_the_digests_of_whole_messages(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0008")
        rows = [
            ("m1@corp.example", TRACE + MAIL, "applied", "", None),
            ("purged@x", b"", "applied", "", NOW),
            ("big@x", MAIL[:40], "failed", "too large: 99999 bytes", None),
            ("poison@x", MAIL, "failed", "parse: boom", None),
        ]
        for key, raw, state, error, purged in rows:
            connection.execute(
                text("INSERT INTO inbound (key, raw, state, error, attempts, received_at, "
                     "mailbox, purged_at) VALUES (:k, :r, :s, :e, 0, :at, 'default', :p)"),
                {"k": key, "r": raw, "s": state, "e": error, "at": NOW, "p": purged},
            )  # fmt: skip
    upgrade_schema(engine)
    with engine.connect() as connection:
        digests = dict(connection.execute(text("SELECT key, digest FROM inbound")).all())
    engine.dispose()
    assert digests == {"m1@corp.example": content_digest(MAIL), "purged@x": None,
                       "big@x": None, "poison@x": content_digest(MAIL)}  # fmt: skip
