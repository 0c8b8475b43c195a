"""A large message goes to the SMTP pump and to SMTP in pieces, and arrives unchanged."""

from __future__ import annotations

import hashlib
import os
import time

import pytest

from mailgate import send
from mailgate.config import Credentials, SmtpSettings
from mailgate.notify import base64_lines
from mailgate.send import PIECE, SmtpPump, pieces
from tests.sandbox import SmtpSink


def _settings(sink: SmtpSink) -> SmtpSettings:
    return SmtpSettings(host=sink.host, port=sink.port, security="none",
                        credentials=Credentials(username=None, secret=None),
                        from_address="support@example.org", from_name="Support")  # fmt: skip


def _large_message(size: int) -> bytes:
    """Headers, a body with lines that start with a period (dot-stuffed on the wire),
    and a base64 file of `size` bytes: larger than a piece."""
    head = b"From: support@example.org\r\nTo: agent@example.org\r\nSubject: big\r\n\r\n"
    dots = b"".join(b".line %d\r\n" % n for n in range(1000)) + b".\r\n..\r\n"
    return head + dots + bytes(base64_lines(os.urandom(size)))


def _results(pump: SmtpPump, count: int) -> list:
    found, deadline = [], time.monotonic() + 30
    while len(found) < count and time.monotonic() < deadline:
        found += pump.results(wait=1)
    return found


def _send_alone(sink: SmtpSink, raw: bytes) -> bytes:
    """Send one message through a pump of its own; the bytes the sink got."""
    pump = SmtpPump(_settings(sink))
    try:
        pump.submit([(1, "agent@example.org", raw, 0, "")])
        assert _results(pump, 1) == [(1, 0, None)]
    finally:
        pump.close()
    [delivered] = sink.wait_for(1)
    return delivered.data


def test_pieces_cover_the_message_and_end_at_line_ends() -> None:
    raw = _large_message(3 * PIECE)
    cut = pieces(raw)
    assert len(cut) > 3
    assert b"".join(raw[offset : offset + size] for offset, size in cut) == raw
    assert all(raw[offset + size - 1 : offset + size] == b"\n" for offset, size in cut)
    assert pieces(b"one line, no end", size=4) == [(0, 16)]


def test_a_large_message_arrives_byte_identical_beside_a_small_one(smtp_sink: SmtpSink) -> None:
    raw = _large_message(3 * PIECE)
    small = b"Subject: small\r\n\r\n.starts with a period\r\n"
    pump = SmtpPump(_settings(smtp_sink))
    try:
        pump.submit([(1, "agent@example.org", raw, 0, "support+b.1.00@example.org"),
                     (2, "client@example.org", small, 0, "support+b.2.00@example.org")])
        results = _results(pump, 2)
    finally:
        pump.close()
    assert sorted(results) == [(1, 0, None), (2, 0, None)]
    # Each job goes with its own envelope sender, the large one's past its pieces too.
    assert {m.rcpt_tos: m.mail_from for m in smtp_sink.wait_for(2)} == {
        ("agent@example.org",): "support+b.1.00@example.org",
        ("client@example.org",): "support+b.2.00@example.org",
    }
    received = {m.rcpt_tos: m.data for m in smtp_sink.wait_for(2)}
    assert hashlib.sha256(received[("agent@example.org",)]).digest() == hashlib.sha256(raw).digest()
    assert received[("client@example.org",)] == small


def test_a_large_message_refused_is_reported_and_the_connection_serves_the_next(
    smtp_sink: SmtpSink,
) -> None:
    smtp_sink.fail("550 5.6.0 content refused", stage="data", count=1)
    raw = _large_message(2 * PIECE)
    pump = SmtpPump(_settings(smtp_sink))
    try:
        pump.submit([(1, "agent@example.org", raw, 0, "")])
        [(_, _, failure)] = _results(pump, 1)
        pump.submit([(2, "agent@example.org", raw, 0, "")])
        [second] = _results(pump, 1)
    finally:
        pump.close()
    assert failure is not None and failure[0] is False and "content refused" in failure[1]
    assert second == (2, 0, None)
    [delivered] = smtp_sink.wait_for(1)
    assert delivered.data == raw


def test_lone_line_feeds_of_a_large_message_go_out_as_crlf(smtp_sink: SmtpSink) -> None:
    raw = _large_message(2 * PIECE).replace(b"\r\n", b"\n")
    delivered = _send_alone(smtp_sink, raw)
    assert delivered == raw.replace(b"\n", b"\r\n")


def test_without_the_protocol_parts_it_streams_on_it_falls_back_to_sendmail(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_streamed(*_: object) -> None:
        raise AssertionError("DATA written piece by piece on an unknown protocol")

    monkeypatch.setattr(send, "_STREAM_NEEDS", ("_no_such_part",))  # the forked pump sees it
    monkeypatch.setattr(send, "_data", not_streamed)
    raw = _large_message(2 * PIECE)
    delivered = _send_alone(smtp_sink, raw)
    assert delivered == raw


def test_another_aiosmtplib_major_version_sends_with_the_public_sendmail(
    smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def not_streamed(*_: object) -> None:
        raise AssertionError("DATA written on the private parts of an untested aiosmtplib")

    monkeypatch.setattr(send.aiosmtplib, "__version__", "6.0.0")  # the forked pump sees it
    monkeypatch.setattr(send, "_data", not_streamed)
    raw = _large_message(2 * PIECE)
    assert _send_alone(smtp_sink, raw) == raw
