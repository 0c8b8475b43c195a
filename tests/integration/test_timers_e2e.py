"""Business time end to end: the reminder and the automatic close fire in
`mailgate run --once --now` subprocesses, on SQLite and on PostgreSQL.

Every timer rule, case by case, is in tests/scenarios/test_timers.py. The
calendar is Europe/Moscow with Russian public holidays (tests/harness.py):
Wednesday 2026-11-25 10:00 + 3 business days = Monday 2026-11-30 10:00, and
the reminder is one business day before, Friday 2026-11-27 10:00.
"""

from __future__ import annotations

from tests.harness import AGENT
from tests.mails import make_mail

CLIENT = "client@corp.example"


def test_reminder_then_automatic_close_as_of_now(gate):
    gate.deliver(
        make_mail(sender=CLIENT, subject="VPN", body="VPN is down.", message_id="c0@x"),
        make_mail(  # applied after the first, in the same round: the tag is known by then
            sender=AGENT,
            subject="Re: [REQ-1] VPN",
            body="#status awaiting_confirmation",
            message_id="a1@x",
        ),
    )
    gate.run_once(now="2026-11-25T10:00:00+03:00")
    assert gate.show("REQ-1")["auto_close_at"] == "2026-11-30T07:00:00+00:00"
    gate.smtp.clear()

    gate.run_once(now="2026-11-27T10:00:00+03:00")
    [reminder] = gate.sent_to(CLIENT)
    assert "A reminder about your request [REQ-1]" in reminder.get_body(("plain",)).get_content()

    gate.run_once(now="2026-11-30T10:00:00+03:00")
    shown = gate.show("REQ-1")
    assert (shown["status"], shown["closed_at"]) == ("closed", "2026-11-30T07:00:00+00:00")
    assert [(e["to"], e["actor"]) for e in shown["events"] if e["kind"] == "status"][-1] == (
        "closed", "system"
    )  # fmt: skip
    assert [e["kind"] for e in shown["events"]].count("reminder") == 1
    [_, closed] = gate.sent_to(CLIENT)
    assert "closed automatically" in closed.get_body(("plain",)).get_content()
