"""Deciding is a pure function: a parsed message and a snapshot in, effects out.

No database, no worker: these build the plain values the store would read and
check the `Decision` that comes back, effect by effect.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from mailgate.app import build_app
from mailgate.config import settings_from_mapping
from mailgate.decide.message import BounceProof, Routed, decide_message
from mailgate.decide.timers import Timer, decide_timer
from mailgate.decision import OPENED, Participant, RequestSnapshot
from mailgate.domain import MessageKind, Status, StatusChange
from mailgate.parse import parse_message
from tests.mails import delivery_report, make_mail

NOW = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)  # a Tuesday
CLIENT = "anna@corp.example"
AGENT = "alice@support.example.org"
TEAM = "team@example.org"


def build(**top):
    data = {
        "support_address": "support@example.org",
        "agents": [AGENT],
        "agent_notify": [TEAM],
        "imap": {"host": "imap.example.org", "username": "support", "password": "x"},
        "smtp": {"host": "smtp.example.org", "from_name": "Helpdesk Team"},
        "database": {"url": "sqlite:///:memory:"},
        **top,
    }
    return build_app(settings_from_mapping(data, base_dir=Path("/nonexistent")))


APP = build()
RULES = APP.install.primary.rules


def message(sender: str = CLIENT, subject: str = "Phones do not ring", body: str = "Hello"):
    raw = make_mail(sender=sender, subject=subject, body=body, message_id=f"{body[:8]}@x")
    settings = RULES.settings
    return parse_message(raw, tag_prefix="REQ", own_addresses=settings.own_addresses)


def snapshot(status: Status = Status.IN_PROGRESS, **fields) -> RequestSnapshot:
    values = {
        "number": 7,
        "subject": "Phones do not ring",
        "status": status,
        "requester": CLIENT,
        "owner": None,
        "language": "en",
        "participants": (Participant(id=1, address=CLIENT, role="requester"),),
        "created_at": NOW - dt.timedelta(days=1),
        "updated_at": NOW - dt.timedelta(days=1),
        "status_since": NOW - dt.timedelta(days=1),
        "history": (StatusChange(at=NOW - dt.timedelta(days=1), status=status),),
        **fields,
    }
    return RequestSnapshot(**values)


def recipients(decision, template: str) -> list[str]:
    return [n.notice.recipient for n in decision.notices if n.notice.template == template]


def test_a_first_message_opens_a_request_with_its_notices():
    decision = decide_message(message(), Routed(request=None), RULES, now=NOW)
    assert decision.opens is not None and decision.opens.status is Status.NEW
    assert decision.opens.requester == CLIENT
    assert decision.stores.request == OPENED and decision.stores.kind is MessageKind.CLIENT
    assert [(e.kind, e.to_status) for e in decision.events] == [("created", Status.NEW)]
    assert recipients(decision, "created") == [CLIENT]
    assert recipients(decision, "agent_new_request") == [TEAM]
    assert decision.updates == ()


def test_a_client_cancel_is_two_steps_compared_against_the_stored_status():
    decision = decide_message(
        message(subject="Re: [REQ-7] Phones do not ring", body="Cancel request"),
        Routed(request=snapshot(Status.ON_HOLD)),
        RULES,
        now=NOW,
    )
    steps = [(e.from_status, e.to_status) for e in decision.events if e.kind == "status"]
    assert steps == [(Status.ON_HOLD, Status.CANCELLED), (Status.CANCELLED, Status.CLOSED)]
    [update] = decision.updates
    assert update.expected_status is Status.ON_HOLD
    assert dict(update.changes)["status"] is Status.CLOSED
    assert dict(update.changes)["closed_at"] == NOW
    assert recipients(decision, "cancelled") == [CLIENT]


def test_a_refused_command_changes_nothing_but_says_why():
    decision = decide_message(
        message(subject="Re: [REQ-7] x", body="Escalate: please make it urgent"),
        Routed(request=snapshot()),
        RULES,
        now=NOW,
    )
    assert [u for u in decision.updates if "status" in dict(u.changes)] == []
    assert [e.kind for e in decision.events] == ["escalation_refused"]
    assert recipients(decision, "escalation_refused") == [CLIENT]


def test_an_outsider_is_held_and_commands_nothing():
    decision = decide_message(
        message(sender="stranger@elsewhere.example", body="Resolve this issue"),
        Routed(request=snapshot()),
        RULES,
        now=NOW,
    )
    assert decision.stores.kind is MessageKind.HELD
    assert [e.kind for e in decision.events] == ["held"]
    assert recipients(decision, "agent_held") == [TEAM]


def test_awaiting_confirmation_sets_the_close_three_business_days_later():
    decision = decide_message(
        message(sender=AGENT, body="#status awaiting confirmation\n\nIt is fixed."),
        Routed(request=snapshot(), agent_tokens=frozenset({7})),  # sent to its agents' address
        RULES,
        now=NOW,
    )
    changes = dict(decision.updates[0].changes)
    assert changes["status"] is Status.AWAITING_CONFIRMATION
    assert changes["auto_close_at"] == NOW + dt.timedelta(days=3)  # Tue -> Fri
    assert changes["first_response_at"] == NOW


def test_a_timer_not_due_decides_nothing_and_a_due_one_closes():
    waiting = snapshot(
        Status.AWAITING_CONFIRMATION,
        auto_close_at=NOW + dt.timedelta(hours=1),
        participants=(Participant(id=1, address=CLIENT, role="requester", notify=False),),
    )
    assert decide_timer(Timer.AUTO_CLOSE, waiting, RULES, now=NOW) is None
    later = NOW + dt.timedelta(hours=2)
    decision = decide_timer(Timer.AUTO_CLOSE, waiting, RULES, now=later)
    assert dict(decision.updates[0].changes)["status"] is Status.CLOSED
    assert decision.notices == ()  # the requester opted out: no close notice


def test_mail_to_a_closed_request_opens_nothing_under_reject():
    decision = decide_message(
        message(subject="Re: [REQ-7] x", body="Hello again"),
        Routed(request=snapshot(Status.CLOSED)),
        RULES,
        now=NOW,
    )
    assert decision.opens is None and decision.updates[0].changes == (("updated_at", NOW),)
    assert recipients(decision, "closed_reply") == [CLIENT]


def test_smtp_from_name_is_the_display_name_of_notifications():
    decision = decide_message(message(), Routed(request=None), RULES, now=NOW)
    notice = decision.notices[0]
    rendered = APP.install.primary.renderer.render(
        notice.notice, request_number=1, request_subject=notice.subject, thread_ids=[], now=NOW
    )
    assert b"From: Helpdesk Team <support@example.org>" in rendered.raw


def test_a_bounce_marks_only_the_recipients_it_proves_and_never_staff():
    raw = delivery_report(recipients=[CLIENT, TEAM, "x@corp.example"], message_id="d@mx",
                          returned_id="mg.7.00@example.org")  # fmt: skip
    bounce = parse_message(raw, tag_prefix="REQ", own_addresses=RULES.settings.own_addresses)
    proofs = tuple(BounceProof(recipient=a, request=7, by="its returned Message-ID")
                   for a in (CLIENT, TEAM))  # fmt: skip
    decision = decide_message(bounce, Routed(request=snapshot(), bounce_proofs=proofs), RULES,
                              now=NOW)  # fmt: skip
    assert [(b.address, b.since) for b in decision.bouncing] == [(CLIENT, NOW)]
    [event] = [e for e in decision.events if e.kind == "bounce"]
    assert event.detail == (
        f"{CLIENT}: marked as bouncing for 7 days, proven by its returned Message-ID; "
        f"{TEAM}: staff address, never silenced; not marked; "
        "bounce names no notification sent to x@corp.example; not marked"
    )
    assert recipients(decision, "agent_bounce") == [TEAM]

    unproven = decide_message(bounce, Routed(request=snapshot()), RULES, now=NOW)
    assert unproven.bouncing == () and recipients(unproven, "agent_bounce") == []
