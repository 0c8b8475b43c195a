"""What the sender forwarded (issue 21): read, kept out of the new text, shown to agents.

The reply corpus (tests/fixtures/replies, `forwarded` in expected.json) pins the
client shapes; these pin each rule, the attached message, deciding and the notices.
"""

from __future__ import annotations

import datetime as dt
import time
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from mailgate.decide.message import Routed, decide_message
from mailgate.domain import ForwardedMessage, Status
from mailgate.parse import parse_message
from mailgate.parse.forward import read_forward
from mailgate.parse.newtext import split_reply
from tests.unit.test_decide import CLIENT, NOW, RULES, snapshot
from tests.unit.test_notify import make_notice, render

OWN = frozenset({"support@example.org"})
PROVIDER = (
    "Dear customer,\n\nthe trunk is down for maintenance tonight.\n\nResolve this issue\n\nNOC"
)


def forward_of(plain: str, subject: str = "Fwd: maintenance") -> ForwardedMessage | None:
    return read_forward(split_reply(plain, None).tail, subject=subject)


def test_gmail_separator_and_header_block() -> None:
    plain = (
        "FYI\n\n---------- Forwarded message ---------\nFrom: NOC <noc@provider.example>\n"
        "Date: Mon, Dec 7, 2026 at 9:12 AM\nSubject: Maintenance\nTo: <ops@client.example>\n\n\n"
        f"{PROVIDER}\n"
    )
    assert split_reply(plain, None).new_text == "FYI"
    assert forward_of(plain) == ForwardedMessage(
        sender="NOC <noc@provider.example>", date="Mon, Dec 7, 2026 at 9:12 AM",
        subject="Maintenance", text=PROVIDER,
    )  # fmt: skip


@pytest.mark.parametrize(
    "separator",
    [
        "-------- Пересылаемое сообщение --------",
        "-------- Forwarded Message --------",
        "Begin forwarded message:",
        "---------- Weitergeleitete Nachricht ----------",
        "-------- Message transféré --------",
        "Início da mensagem encaminhada:",
    ],
)
def test_forward_separators_of_many_clients(separator: str) -> None:
    plain = f"See below.\n\n{separator}\nFrom: NOC <noc@provider.example>\nSubject: x\n\n{PROVIDER}"
    forwarded = forward_of(plain, subject="anything")
    assert forwarded is not None and forwarded.text == PROVIDER
    assert forwarded.sender == "NOC <noc@provider.example>"


def test_a_reply_quote_is_no_forward() -> None:
    plain = (
        "Thanks.\n\n-----Original Message-----\nFrom: Support <support@example.org>\n"
        "Sent: Monday, December 7, 2026 9:00 AM\nSubject: [REQ-1] x\n\nHello\n"
    )
    assert forward_of(plain, subject="RE: [REQ-1] x") is None
    assert forward_of("Thanks.\n\nOn Mon, Dec 7, 2026 Support wrote:\n> Hello\n") is None


def test_an_outlook_header_block_under_a_forward_subject_is_a_forward() -> None:
    plain = (
        "Please see below.\n\n________________________________\n"
        "From: Dmitry <d@supply.example<mailto:d@supply.example>>\n"
        "Sent: Monday, 7 December 2026 11:40\n"
        "To: Maria <m@acme.example>\nSubject: Delivery\n\nThe handsets ship on Monday.\n"
    )
    assert forward_of(plain, subject="RE: Delivery") is None
    for subject in ("FW: Delivery", "WG: Delivery", "TR: Delivery", "Пересл: Delivery"):
        forwarded = forward_of(plain, subject=subject)
        assert forwarded is not None, subject
        assert forwarded.sender == "Dmitry <d@supply.example>"
        assert forwarded.text == "The handsets ship on Monday."
    assert forward_of(plain, subject="Re: [REQ-3] Part I: setup") is None


def test_a_forward_with_no_comment_is_all_forwarded() -> None:
    plain = f"---------- Forwarded message ---------\nFrom: NOC <n@p.example>\n\n{PROVIDER}"
    split = split_reply(plain, None)
    assert split.new_text == ""
    forwarded = read_forward(split.tail, subject="Fwd: x")
    assert forwarded is not None and forwarded.text == PROVIDER and forwarded.date == ""


def test_the_forwarded_part_is_stored_as_its_header_lines_and_text() -> None:
    forwarded = ForwardedMessage(sender="NOC <noc@provider.example>", subject="x", text="Hi")
    assert forwarded.as_text() == "From: NOC <noc@provider.example>\nSubject: x\n\nHi"
    assert ForwardedMessage(text="Hi").as_text() == "Hi"


# -- an attached message ------------------------------------------------------------------


def with_attached_message(comment: str, *, report: bool = False) -> bytes:
    inner = EmailMessage(policy=SMTP)
    inner["From"] = "NOC <noc@provider.example>"
    inner["Subject"] = "Trunk 4471 down"
    inner["Date"] = "Sun, 6 Dec 2026 23:48:10 +0300"
    inner.set_content(PROVIDER)
    outer = EmailMessage(policy=SMTP)
    outer["From"] = CLIENT
    outer["To"] = "support@example.org"
    outer["Subject"] = "FW: Trunk 4471 down"
    outer["Message-ID"] = "<attached@client.example>"
    outer.set_content(comment)
    outer.add_attachment(inner)
    if report:
        outer.replace_header("Content-Type", 'multipart/report; report-type="delivery-status"; '
                             f'boundary="{outer.get_boundary()}"')  # fmt: skip
    return outer.as_bytes()


def test_an_attached_message_is_the_forwarded_part() -> None:
    message = parse_message(with_attached_message("See the attached."), tag_prefix="REQ",
                            own_addresses=OWN)  # fmt: skip
    assert message.new_text == "See the attached."
    assert message.forwarded == ForwardedMessage(
        sender="NOC <noc@provider.example>", date="Sun, 06 Dec 2026 23:48:10 +0300",
        subject="Trunk 4471 down", text=PROVIDER,
    )  # fmt: skip
    assert [a.content_type for a in message.attachments] == ["message/rfc822"]


def test_a_returned_message_inside_a_report_is_not_a_forward() -> None:
    message = parse_message(with_attached_message("x", report=True), tag_prefix="REQ",
                            own_addresses=OWN)  # fmt: skip
    assert message.forwarded is None


def test_the_attached_text_is_read_within_max_text_bytes() -> None:
    raw = with_attached_message("short")
    message = parse_message(raw, tag_prefix="REQ", own_addresses=OWN, max_text_bytes=40)
    assert message.forwarded is not None
    assert len(message.forwarded.text.encode()) <= 40 and message.text_cut


def test_a_long_forward_chain_stays_fast() -> None:
    block = "---------- Forwarded message ---------\nFrom: a <a@b.example>\nSubject: s\n\nx\n"
    plain = "FYI\n\n" + block * 20_000
    started = time.process_time()
    forwarded = forward_of(plain)
    assert time.process_time() - started < 2.0
    assert forwarded is not None and forwarded.sender == "a <a@b.example>"


# -- deciding and the notices ---------------------------------------------------------------


def parsed(raw: bytes):
    return parse_message(raw, tag_prefix="REQ", own_addresses=RULES.settings.own_addresses)


def test_the_agents_notice_carries_the_forwarded_part() -> None:
    decision = decide_message(parsed(with_attached_message("FYI")), Routed(request=None),
                              RULES, now=NOW)  # fmt: skip
    [notice] = [n.notice for n in decision.notices if n.notice.template == "agent_new_request"]
    assert notice.context["forwarded"]["subject"] == "Trunk 4471 down"
    assert notice.context["only_files"] is False
    assert decision.opens is not None and decision.opens.status is Status.NEW


def test_a_reply_that_only_forwards_is_a_reply() -> None:
    raw = with_attached_message("")
    raw = raw.replace(b"Subject: FW: Trunk 4471 down", b"Subject: FW: [REQ-7] Phones do not ring")
    decision = decide_message(parsed(raw), Routed(request=snapshot(Status.WAITING_FOR_CLIENT)),
                              RULES, now=NOW - dt.timedelta(hours=1))  # fmt: skip
    assert [(e.from_status, e.to_status) for e in decision.events if e.kind == "status"] == [
        (Status.WAITING_FOR_CLIENT, Status.IN_PROGRESS)
    ]


@pytest.mark.parametrize("name", ["agent_new_request", "agent_client_reply", "agent_held"])
def test_the_notices_show_the_forwarded_part_after_the_text(name: str) -> None:
    forwarded = {"sender": "NOC <noc@provider.example>", "date": "Mon, 7 Dec 2026",
                 "subject": "Trunk <4471>", "text": "Dear customer,\n\nthe trunk is down."}
    _, text, html = render(make_notice(name, "en", text="FYI, see below:", forwarded=forwarded))
    separator = "---------- Forwarded message ----------"
    assert text.index("FYI, see below:") < text.index(separator)
    head = "From: NOC <noc@provider.example>\nDate: Mon, 7 Dec 2026\nSubject: Trunk <4471>\n"
    assert head in text
    assert text.index("Subject: Trunk <4471>") < text.index("Dear customer,\n\nthe trunk is down.")
    assert "Subject: Trunk &lt;4471&gt;" in html
    assert html.index("FYI, see below:") < html.index("Forwarded message") < html.index(
        "the trunk is down."
    )
