"""Issue 21 in-process: what a client forwards reaches the agents and is stored,
and no command in it counts.

The client mail is tests/fixtures/replies' forwards (their expected values in
expected.json); what went out is read as a mail client would read it.
"""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from tests.harness import TEAM

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "replies"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
NOW = "2026-12-07T10:10:00+03:00"


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def test_a_forward_with_a_line_of_comment_reaches_the_agents_whole(gate) -> None:
    name = "gmail_new_request_forward_fyi_provider"
    gate.deliver((FIXTURES / f"{name}.eml").read_bytes())
    gate.run_once(NOW)
    forwarded = EXPECTED[name]["forwarded"]
    [notice] = gate.sent_to(TEAM)
    text = text_of(notice).replace("\r\n", "\n")
    assert text.index("FYI, our provider says this:") < text.index("Forwarded message")
    assert f"From: {forwarded['sender']}" in text
    assert f"Subject: {forwarded['subject']}" in text
    assert "SIP trunk 4471 will be\nunavailable for up to 15 minutes" in text
    assert "unavailable for up to 15 minutes" in html_of(notice)
    shown = gate.show("REQ-1")
    [stored] = [m for m in shown["messages"] if m["direction"] == "in"]
    assert stored["text"] == "FYI, our provider says this:"
    assert stored["forwarded"].startswith(f"From: {forwarded['sender']}\n")
    assert stored["forwarded"].endswith(forwarded["text"])
    # "Unsubscribe" stands in the forwarded text: it is the provider's, not a command.
    assert [e["kind"] for e in shown["events"]] == ["created"]


def test_a_message_forwarded_as_an_attachment_is_shown_and_relayed(gate) -> None:
    name = "outlook_new_request_forward_as_attachment_provider"
    gate.deliver((FIXTURES / f"{name}.eml").read_bytes())
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    text = text_of(notice).replace("\r\n", "\n")
    assert "Subject: Trunk 4471: registration failures" in text
    assert "fails to register on trunk 4471 (403 Forbidden)" in text
    files = [part.get_filename() for part in notice.iter_attachments()]
    assert files == ["Trunk 4471 registration failures.eml"]
    shown = gate.show("REQ-1")
    assert shown["status"] == "new"  # its "Resolve this issue" is the provider's
