"""Agents' names (SPEC §13): `agent_from`, validated, per mailbox, and the From it makes."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from zoneinfo import ZoneInfo

import pytest

from mailgate.config import DEFAULT_TEMPLATES_DIR
from mailgate.decide.message import agent_name
from mailgate.decision import AgentAnswer, Notice
from mailgate.domain import Status
from mailgate.notify import Renderer, Sender
from tests.unit.test_mailbox_config import BILLING, error_for, load

MOSCOW = ZoneInfo("Europe/Moscow")
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=MOSCOW)
REQUEST = {
    "status": Status.IN_PROGRESS,
    "requester": "client@example.net",
    "auto_close_at": None,
    "owner": None,
}


def test_the_default_pattern_is_the_spec_s() -> None:
    assert load().agent_from == "{agent} via {support}"


def test_a_pattern_of_the_admin_s_is_kept() -> None:
    assert load(agent_from="{agent} ({support})").agent_from == "{agent} ({support})"
    assert load(agent_from="{support}").agent_from == "{support}"  # names turned off


@pytest.mark.parametrize(
    ("pattern", "named"),
    [
        ("{name} via {support}", "unknown placeholder {name}"),
        ("{agent} via {mailbox}", "unknown placeholder {mailbox}"),
        ("{agent.__class__}", "unknown placeholder {agent.__class__}"),
        ("{0}", "unknown placeholder {0}"),
        ("{agent:>20}", "without a format"),
        ("{agent!r}", "without a format"),
        ("{agent via", "is not a pattern"),
    ],
)
def test_a_bad_pattern_is_a_config_error_naming_the_key(pattern: str, named: str) -> None:
    problem = error_for(agent_from=pattern)
    assert problem.startswith("agent_from: ")
    assert named in problem


def test_a_mailbox_has_its_own_pattern_or_the_top_level_one() -> None:
    settings = load(
        agent_from="{agent} | {support}",
        mailbox=[
            {**BILLING, "agent_from": "{agent} from {support}"},
            {
                **BILLING,
                "name": "sales",
                "support_address": "sales@example.org",
                "tag_prefix": "SALE",
                "imap": {"username": "sales@example.org"},
            },
        ],
    )
    assert [m.agent_from for m in settings.mailboxes] == [
        "{agent} from {support}",
        "{agent} | {support}",
    ]


def test_a_bad_pattern_of_a_mailbox_names_the_mailbox() -> None:
    problem = error_for(mailbox=[{**BILLING, "agent_from": "{who}"}])
    assert problem.startswith("mailbox.billing.agent_from: unknown placeholder {who}")


@pytest.mark.parametrize(
    ("display", "address", "name"),
    [
        ("Alice Smith", "alice@support.example.org", "Alice Smith"),
        ("", "alice.smith@support.example.org", "alice.smith"),
        ("alice@support.example.org", "alice@support.example.org", "alice"),  # never the address
        ("'Alice Smith'", "alice@support.example.org", "Alice Smith"),
        ("  Алиса\n Смирнова ", "alice@support.example.org", "Алиса Смирнова"),
        ("A" * 200, "alice@support.example.org", "A" * 79 + "…"),
    ],
)
def test_agent_name_is_the_display_name_else_the_local_part(display, address, name) -> None:
    assert agent_name(display, address) == name


def rendered(answer: AgentAnswer | None, *, pattern: str = "{agent} via {support}") -> bytes:
    renderer = Renderer(
        DEFAULT_TEMPLATES_DIR,
        sender=Sender(address="support@example.org", name="Support"),
        tag_prefix="REQ",
        timezone=MOSCOW,
        agent_from=pattern,
    )
    notice = Notice(
        template="agent_answer" if answer else "status_changed",
        recipient="client@example.net",
        language="en",
        context={
            "answer": "Done.",
            "by_client": False,
            "status": Status.IN_PROGRESS,
            "request": REQUEST,
        },
        relay=answer is not None,
        answer=answer,
    )
    return renderer.render(
        notice, request_number=1, request_subject="Phones", thread_ids=[], now=NOW
    ).raw


def from_of(raw: bytes) -> str:
    return str(email.message_from_bytes(raw, policy=email.policy.default)["From"])


def test_a_relayed_answer_comes_from_the_agent_via_support() -> None:
    raw = rendered(AgentAnswer(agent="Alice Smith"))
    assert b"From: Alice Smith via Support <support@example.org>\r\n" in raw  # quoted if need be


def test_the_admin_s_pattern_makes_the_from() -> None:
    assert from_of(rendered(AgentAnswer(agent="Alice"), pattern="{support}: {agent}")) == (
        '"Support: Alice" <support@example.org>'
    )


def test_a_cyrillic_name_is_rfc2047_encoded_and_reads_back() -> None:
    raw = rendered(AgentAnswer(agent="Алиса Смирнова"))
    head = raw.split(b"\r\n\r\n")[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    assert from_of(raw) == "Алиса Смирнова via Support <support@example.org>"


def test_a_name_with_line_breaks_stays_one_header_line() -> None:
    raw = rendered(AgentAnswer(agent="Alice\r\nBcc: victim@example.net"))
    assert b"\r\nBcc:" not in raw.split(b"\r\n\r\n")[0]


def test_other_notices_keep_the_support_name() -> None:
    assert b"From: Support <support@example.org>\r\n" in rendered(None)
