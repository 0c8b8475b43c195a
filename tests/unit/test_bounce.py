"""Bounces: RFC 3464 reports and the common text bounces; nothing less certain."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from mailgate.domain import Bounce
from mailgate.parse.bounce import read_bounce
from mailgate.parse.mimetree import decode

MACHINE = Path(__file__).parent.parent / "fixtures" / "machine"
EXPECTED = json.loads((MACHINE / "expected.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_bounce_is_read_as_expected(name: str) -> None:
    bounce = read_bounce(decode((MACHINE / name).read_bytes()))
    expected = EXPECTED[name]["bounce"]
    if expected is None:
        assert bounce is None
    else:
        assert bounce == Bounce(
            recipients=tuple(expected["recipients"]),
            original_message_id=expected["original_message_id"],
            permanent=expected["permanent"],
        )


def test_the_bounce_fixtures_cover_each_kind() -> None:
    bounced = {name for name, entry in EXPECTED.items() if entry["bounce"]}
    for kind in (
        "gmail",
        "postfix_dsn",
        "postfix_without",
        "qmail",
        "exim",
        "exchange_ndr_report",
        "exchange_ndr_old",
        "yandex",
        "mailru",
        "exchange_ndr_de_text",
        "exchange_ndr_ru_text",
        "exim_failure_de_text",
        "exim_delay_ru_text",
    ):
        assert any(name.startswith(kind) for name in bounced), kind
    assert any(not EXPECTED[name]["bounce"]["permanent"] for name in bounced)


def report(per_recipient: str, *, extra: str = "") -> bytes:
    return (
        "From: MAILER-DAEMON@mx.example.org\nReturn-Path: <>\n"
        "Content-Type: multipart/report; report-type=delivery-status; boundary=r\n\n"
        "--r\nContent-Type: text/plain\n\nSee below.\n"
        "--r\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx.example.org\n\n"
        f"{per_recipient}\n{extra}--r--\n"
    ).encode()


def test_several_recipients_failed_and_delayed() -> None:
    bounce = read_bounce(
        decode(
            report(
                "Final-Recipient: rfc822; A@x.example\nAction: failed\nStatus: 5.1.1\n\n"
                "Final-Recipient: rfc822;b@x.example\nAction: delayed\nStatus: 4.4.1\n\n"
                "Final-Recipient: utf-8; c@x.example\nAction: failed\nStatus: 5.2.2\n"
            )
        )
    )
    assert bounce == Bounce(
        recipients=("a@x.example", "c@x.example"), original_message_id=None, permanent=True
    )


def test_only_delays_are_temporary() -> None:
    bounce = read_bounce(decode(report("Final-Recipient: rfc822; a@x.example\nAction: delayed\n")))
    assert bounce is not None and not bounce.permanent


@pytest.mark.parametrize("action", ["delivered", "relayed", "expanded"])
def test_success_reports_are_not_bounces(action: str) -> None:
    assert (
        read_bounce(decode(report(f"Final-Recipient: rfc822; a@x.example\nAction: {action}\n")))
        is None
    )


def test_report_without_recipient_is_not_a_bounce() -> None:
    assert read_bounce(decode(report("Action: failed\nStatus: 5.0.0\n"))) is None


def test_garbage_recipient_is_ignored() -> None:
    raw = report("Final-Recipient: rfc822; <not an address>\r\nAction: failed\n")
    assert read_bounce(decode(raw)) is None


def test_original_id_from_rfc822_headers_part() -> None:
    raw = report(
        "Final-Recipient: rfc822; a@x.example\nAction: failed\nStatus: 5.1.1\n",
        extra="--r\nContent-Type: text/rfc822-headers\n\n"
        "From: s@example.org\nMessage-ID: <orig@example.org>\n\n",
    )
    bounce = read_bounce(decode(raw))
    assert bounce is not None and bounce.original_message_id == "orig@example.org"


def text_bounce(sender: str, body: str) -> bytes:
    return f"From: {sender}\nTo: support@example.org\nSubject: failure\n\n{body}".encode()


QMAIL_BODY = (
    "Hi. This is the qmail-send program at mx.example.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
    "This is a permanent error; I've given up. Sorry it didn't work out.\n\n"
    "<a@x.example>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n"
    "--- Below this line is a copy of the message.\n\nMessage-ID: <orig@example.org>\n"
)


def test_text_bounce_needs_a_delivery_robot() -> None:
    assert read_bounce(decode(text_bounce("MAILER-DAEMON@mx.example", QMAIL_BODY))) is not None
    assert read_bounce(decode(text_bounce("ivan@client.example.ru", QMAIL_BODY))) is None


def test_text_bounce_needs_bounce_words() -> None:
    body = "Hello, please write to <a@x.example>: he knows.\n"
    assert read_bounce(decode(text_bounce("postmaster@mx.example", body))) is None


def test_text_bounce_needs_a_recipient() -> None:
    body = "This message was created automatically by mail delivery software.\nSomething failed.\n"
    assert read_bounce(decode(text_bounce("MAILER-DAEMON@mx.example", body))) is None


def test_message_id_quoted_in_the_text_is_the_original() -> None:
    bounce = read_bounce(decode(text_bounce("MAILER-DAEMON@mx.example", QMAIL_BODY)))
    assert bounce == Bounce(
        recipients=("a@x.example",), original_message_id="orig@example.org", permanent=True
    )


def test_the_robot_itself_is_never_a_recipient() -> None:
    body = QMAIL_BODY.replace("<a@x.example>:", "<postmaster@x.example>:\n<b@x.example>:")
    bounce = read_bounce(decode(text_bounce("MAILER-DAEMON@mx.example", body)))
    assert bounce is not None and bounce.recipients == ("b@x.example",)


@pytest.mark.parametrize(
    "flood",
    [
        "\n" * 300_000,
        " \t\n" * 100_000,
        " " * 300_000,
        "a" * 300_000,
        "<a@" + "b" * 300_000,
        "a@" * 150_000,
    ],
)
def test_text_bounce_rules_stay_linear(flood: str) -> None:
    """Line patterns use [ \\t], never \\s, under re.M: `^\\s*` over blank lines is quadratic."""
    body = "Не удалось доставить ваше письмо\n" + flood + "\n<a@x.example>: 550\n"
    mail = decode(text_bounce("MAILER-DAEMON@mx.example", body))
    started = time.process_time()
    read_bounce(mail)
    assert time.process_time() - started < 1.0
