"""Business time end to end (SPEC §1, §6): automatic close, reminder, SLA clock.

Time is passed as the `--now` of each round; nothing sleeps. The calendar is
Europe/Moscow with Russian public holidays and 2026-12-31 off (tests/harness.py).
Wednesday 2026-11-25 10:00 + 3 business days = Monday 2026-11-30 10:00; the
reminder is one business day before: Friday 2026-11-27 10:00.
"""

from __future__ import annotations

import pytest

from tests.harness import AGENT, LEAD, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
WED = "2026-11-25T10:00:00+03:00"


def open_request(gate, *, at: str = "2026-11-24T10:00:00+03:00") -> None:
    gate.deliver(make_mail(sender=CLIENT, subject="VPN", body="VPN is down.", message_id="c0@x"))
    gate.run_once(now=at)


def agent_sets(gate, status: str, *, at: str, n: int, text: str = "") -> None:
    body = f"{text}\n\n#status {status}" if text else f"#status {status}"
    gate.deliver(
        make_mail(sender=AGENT, subject="Re: [REQ-1] VPN", body=body, message_id=f"a{n}@x")
    )
    gate.run_once(now=at)


def client_says(gate, body: str, *, at: str, n: int) -> None:
    gate.deliver(
        make_mail(sender=CLIENT, subject="Re: [REQ-1] VPN", body=body, message_id=f"c{n}@x")
    )
    gate.run_once(now=at)


def templates_sent_to(gate, address: str) -> list[str]:
    """Which notices went to an address, by the words that start their text."""
    return [m.get_body(("plain",)).get_content().split("\n")[0] for m in gate.sent_to(address)]


def test_auto_close_after_three_business_days_with_one_reminder(gate):
    open_request(gate)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=1)
    shown = gate.show("REQ-1")
    assert shown["status"] == "awaiting_confirmation"
    assert shown["auto_close_at"] == "2026-11-30T07:00:00+00:00"
    assert shown["remind_at"] == "2026-11-27T07:00:00+00:00"
    [notice] = [m for m in gate.sent_to(CLIENT) if "closed automatically" in m.as_string()]
    assert "2026-11-30 10:00 MSK" in notice.get_body(("plain",)).get_content()
    gate.smtp.clear()

    gate.run_once(now="2026-11-27T09:59:00+03:00")
    assert gate.sent_to(CLIENT) == []
    for moment in ("2026-11-27T10:00:00+03:00", "2026-11-27T15:00:00+03:00"):
        gate.run_once(now=moment)  # a second round, as after a restart: still one reminder
    [reminder] = gate.sent_to(CLIENT)
    assert "A reminder about your request [REQ-1]" in reminder.get_body(("plain",)).get_content()
    assert [e["kind"] for e in gate.show("REQ-1")["events"]].count("reminder") == 1

    gate.run_once(now="2026-11-30T09:59:00+03:00")
    assert gate.show("REQ-1")["status"] == "awaiting_confirmation"
    gate.run_once(now="2026-11-30T10:00:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed"
    assert shown["closed_at"] == "2026-11-30T07:00:00+00:00"
    last = shown["events"][-1]
    assert (last["from"], last["to"], last["actor"]) == (
        "awaiting_confirmation",
        "closed",
        "system",
    )
    assert "within 3 business days" in last["detail"]
    closed = gate.sent_to(CLIENT)[-1].get_body(("plain",)).get_content()
    assert "is now closed" in closed and "closed automatically" in closed


def test_client_reply_on_day_two_keeps_it_open(gate):
    open_request(gate)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=1)
    client_says(gate, "Not yet: the VPN drops every hour.", at="2026-11-26T16:00:00+03:00", n=2)
    shown = gate.show("REQ-1")
    assert shown["status"] == "in_progress"
    assert shown["auto_close_at"] is None and shown["remind_at"] is None
    gate.smtp.clear()
    gate.run_once(now="2026-12-07T10:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "in_progress"
    assert gate.sent_to(CLIENT) == []


def test_approving_reply_closes_at_once(gate):
    open_request(gate)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=1)
    client_says(gate, "Everything works, the request can be closed.", at=WED, n=2)
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed" and shown["auto_close_at"] is None


def test_agent_reply_does_not_stop_the_timer(gate):
    open_request(gate)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=1)
    gate.deliver(
        make_mail(
            sender=AGENT,
            subject="Re: [REQ-1] VPN",
            body="Any news? Please check the VPN.",
            message_id="a2@x",
        )
    )
    gate.run_once(now="2026-11-26T10:00:00+03:00")
    assert gate.show("REQ-1")["auto_close_at"] == "2026-11-30T07:00:00+00:00"
    gate.run_once(now="2026-11-30T10:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "closed"


def test_opted_out_client_gets_neither_reminder_nor_close_notice(gate):
    open_request(gate)
    client_says(gate, "Don't notify me", at="2026-11-24T11:00:00+03:00", n=1)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=2)
    gate.smtp.clear()
    gate.run_once(now="2026-11-27T10:00:00+03:00")
    gate.run_once(now="2026-11-30T10:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "closed"
    assert gate.sent_to(CLIENT) == []
    assert "reminder" in [e["kind"] for e in gate.show("REQ-1")["events"]]


def test_worker_down_for_a_week_closes_overdue_requests_on_its_first_run(gate):
    open_request(gate)
    agent_sets(gate, "awaiting_confirmation", at=WED, n=1)
    gate.smtp.clear()
    gate.run_once(now="2026-12-04T12:00:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed"
    assert "reminder" not in [e["kind"] for e in shown["events"]]  # too late to remind
    [closed] = gate.sent_to(CLIENT)
    assert "is now closed" in closed.get_body(("plain",)).get_content()


def test_cancelled_by_an_agent_closes_like_awaiting_confirmation(gate):
    open_request(gate)
    agent_sets(gate, "cancelled", at=WED, n=1)
    assert gate.show("REQ-1")["auto_close_at"] == "2026-11-30T07:00:00+00:00"
    gate.run_once(now="2026-11-30T10:00:00+03:00")
    events = gate.show("REQ-1")["events"]
    assert (events[-1]["from"], events[-1]["to"]) == ("cancelled", "closed")


def test_new_year_break_pushes_the_close_to_january(gate):
    open_request(gate, at="2026-12-29T10:00:00+03:00")
    agent_sets(gate, "awaiting_confirmation", at="2026-12-30T15:00:00+03:00", n=1)
    shown = gate.show("REQ-1")
    assert shown["auto_close_at"] == "2027-01-13T12:00:00+00:00"  # 15:00 MSK, third working day
    assert shown["remind_at"] == "2027-01-12T12:00:00+00:00"


@pytest.fixture
def sla_gate(make_gate):
    return make_gate(sla={"first_response_hours": 2, "resolution_hours": 16})


def test_sla_paused_time_is_not_counted(sla_gate):
    gate = sla_gate
    open_request(gate, at="2026-11-23T10:00:00+03:00")  # Monday
    agent_sets(gate, "waiting_for_client", at="2026-11-23T11:00:00+03:00", n=1, text="Logs?")
    client_says(gate, "Here are the logs.", at="2026-11-25T11:00:00+03:00", n=2)  # Wednesday
    sla = gate.show("REQ-1", now="2026-11-25T12:00:00+03:00")["sla"]
    assert sla["business_hours"] is True
    resolution = sla["resolution"]
    assert resolution["target"] == 16 * 3600
    assert resolution["elapsed"] == 2 * 3600  # Mon 10-11 and Wed 11-12
    assert resolution["paused"] == 18 * 3600  # Mon 11-18, Tue 9-18, Wed 9-11
    assert resolution["breached"] is False
    assert sla["first_response"]["answered_at"] is not None
    assert sla["first_response"]["breached"] is False


def test_sla_breach_notifies_once_and_is_listed(sla_gate):
    gate = sla_gate
    open_request(gate, at="2026-11-23T10:00:00+03:00")
    gate.smtp.clear()
    gate.run_once(now="2026-11-23T11:59:00+03:00")
    assert gate.requests("--breached") == []
    for moment in ("2026-11-23T12:00:00+03:00", "2026-11-23T13:00:00+03:00"):
        gate.run_once(now=moment)
    for address in (TEAM, LEAD):
        [breach] = gate.sent_to(address)
        assert "SLA BREACH" in breach.get_body(("plain",)).get_content()
        assert "first response" in breach.get_body(("plain",)).get_content()
    assert [r["tag"] for r in gate.requests("--breached")] == ["REQ-1"]
    events = [e for e in gate.show("REQ-1")["events"] if e["kind"] == "sla_breach"]
    assert [e["detail"] for e in events] == ["first_response"]
    assert gate.show("REQ-1", now="2026-11-23T13:00:00+03:00")["sla"]["first_response"]["breached"]
    assert gate.sent_to(CLIENT) == []  # breaches are for agents only
