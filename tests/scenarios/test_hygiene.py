"""Mail hygiene (SPEC §3, §5): machines, bounces, rate limits, forged senders
and hostile mail, applied by the worker in-process.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import AGENT, TEAM
from tests.mails import bounce_for, good_mail_among, make_mail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MACHINE = json.loads((FIXTURES / "machine" / "expected.json").read_text())
MACHINE_MAIL = sorted(name for name, want in MACHINE.items() if want["auto"])
HOSTILE = sorted(p.name for p in (FIXTURES / "hostile").glob("*.eml"))
CLIENT = "client@corp.example"


def open_request(gate, *, status: str | None = None) -> None:
    gate.deliver(make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="c0@x"))
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    if status:
        gate.deliver(
            make_mail(
                sender=AGENT,
                subject="Re: [REQ-1] Fax",
                body=f"#status {status}",
                message_id="a0@x",
            )
        )
        gate.run_once(now="2026-11-24T10:05:00+03:00")
    gate.smtp.clear()


def test_every_machine_mail_is_stored_never_answered_and_opens_nothing(gate):
    gate.deliver(*((FIXTURES / "machine" / fixture).read_bytes() for fixture in MACHINE_MAIL))
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    assert gate.requests() == []
    assert gate.smtp.messages == []
    kinds = gate.query("select kind, count(*) from messages group by kind")
    assert sum(count for _, count in kinds) == len(MACHINE_MAIL)
    assert {kind for kind, _ in kinds} <= {"auto", "bounce"}
    assert gate.query("select state, count(*) from inbound group by state") == [
        ("applied", len(MACHINE_MAIL))
    ]


def test_out_of_office_reply_changes_no_status(gate):
    open_request(gate, status="waiting_for_client")
    gate.deliver(
        make_mail(
            sender=CLIENT,
            subject="Automatic reply: [REQ-1] Fax",
            body="I am out of the office until Monday.",
            message_id="ooo@x",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    gate.run_once(now="2026-11-24T11:00:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "waiting_for_client"
    assert shown["messages"][-1]["kind"] == "auto"
    assert gate.smtp.messages == []


def test_bounce_marks_the_address_and_stops_mail_until_it_writes_again(gate):
    gate.deliver(make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="c0@x"))
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    [ack] = gate.sent_to(CLIENT)
    gate.smtp.clear()

    ack_id = ack["Message-ID"].strip("<>")
    gate.deliver(bounce_for(ack_id, CLIENT, "dsn1@mx"), bounce_for(ack_id, CLIENT, "dsn2@mx"))
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    shown = gate.show("REQ-1")
    assert [m["kind"] for m in shown["messages"] if m["direction"] == "in"][-2:] == [
        "bounce",
        "bounce",
    ]
    assert [e["kind"] for e in shown["events"]].count("bounce") == 2
    [told] = gate.sent_to(TEAM)  # once, not per bounce
    assert CLIENT in told.get_body(("plain",)).get_content()
    assert gate.sent_to(CLIENT) == []

    gate.deliver(
        make_mail(sender=AGENT, subject="Re: [REQ-1] Fax", body="Fixed?", message_id="a1@x")
    )
    gate.run_once(now="2026-11-24T11:00:00+03:00")
    assert gate.sent_to(CLIENT) == []  # bouncing: not even the agent's answer
    assert any(
        e["kind"] == "notification_dropped" and "bouncing" in e["detail"]
        for e in gate.show("REQ-1")["events"]
    )

    gate.deliver(
        make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax", body="I'm back.", message_id="c1@x")
    )
    gate.deliver(
        make_mail(sender=AGENT, subject="Re: [REQ-1] Fax", body="Welcome back.", message_id="a2@x")
    )
    gate.run_once(now="2026-11-24T12:00:00+03:00")
    [answer] = gate.sent_to(CLIENT)
    assert "Welcome back." in answer.get_body(("plain",)).get_content()


def test_an_autoresponder_gets_at_most_max_per_hour_mails(make_gate):
    # The acknowledgement limit is raised out of the way: max_per_hour is what counts here
    # (tests/scenarios/test_trust_limits.py has the acknowledgement limits).
    gate = make_gate(max_per_hour=5, max_new_requests_per_sender=100)
    bot = "bot@robots.example"
    for minute in range(0, 60, 5):  # twelve mails in one hour, each a "new request"
        gate.deliver(
            make_mail(
                sender=bot,
                subject=f"Your ticket {minute}",
                body="Thank you for your mail. We will answer within 48 hours.",
                message_id=f"bot{minute}@robots.example",
            )
        )
        gate.run_once(now=f"2026-11-24T10:{minute:02d}:00+03:00")
    assert len(gate.sent_to(bot)) == 5
    assert len(gate.sent_to(TEAM)) == 12  # agents are not rate limited
    gate.deliver(
        make_mail(sender=bot, subject="Later", body="Thanks.", message_id="bot-late@robots.example")
    )
    gate.run_once(now="2026-11-24T11:01:00+03:00")
    assert len(gate.sent_to(bot)) == 6  # an hour later the window has moved
    dropped = gate.query("select count(*) from events where kind = 'notification_dropped'")
    assert dropped == [(7,)]


def forged(cancel_from: str, verdict: str, message_id: str) -> bytes:
    return make_mail(
        sender=cancel_from,
        subject="Re: [REQ-1] Fax",
        body="Cancel request",
        message_id=message_id,
        headers={
            "Authentication-Results": f"mx.example.org; spf=pass smtp.mailfrom=attacker.example; "
            f"dkim=none; dmarc={verdict} header.from=corp.example",
        },
    )


def test_forged_sender_cannot_cancel_when_authentication_is_required(make_gate):
    gate = make_gate(trust={"require_authenticated_sender": True})
    open_request(gate)
    gate.deliver(forged(CLIENT, "none", "forged@attacker.example"))
    gate.run_once(now="2026-11-24T11:00:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "new"
    inbound = [m for m in shown["messages"] if m["direction"] == "in"]
    assert inbound[-1]["kind"] == "held"
    held = [e for e in shown["events"] if e["kind"] == "held"]
    assert "not authenticated" in held[-1]["detail"]

    # DMARC failed outright: held whole as spam (SPEC §14), not even filed under REQ-1.
    gate.deliver(forged(CLIENT, "fail", "forged2@attacker.example"))
    gate.run_once(now="2026-11-24T11:30:00+03:00")
    assert gate.show("REQ-1")["status"] == "new"
    assert gate.query("select state, error from inbound where key = 'forged2@attacker.example'") \
        == [("held", "dmarc=fail header.from=corp.example")]  # fmt: skip

    gate.deliver(forged(CLIENT, "pass", "genuine@corp.example"))
    gate.run_once(now="2026-11-24T12:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "closed"


def test_hostile_mail_never_stops_the_worker_and_nothing_is_lost(make_gate):
    gate = make_gate(max_message_bytes=5 * 1024 * 1024)
    hostile = [(FIXTURES / "hostile" / name).read_bytes() for name in HOSTILE]
    gate.deliver(*good_mail_among(hostile, oversized_bytes=6 * 1024 * 1024))
    result = gate.run_once(now="2026-11-24T10:00:00+03:00")
    assert result.fetched == len(hostile) + 4

    assert gate.imap.list_folder("INBOX") == []
    states = dict(gate.query("select state, count(*) from inbound group by state"))
    moved = len(gate.imap.list_folder("Processed")) + len(gate.imap.list_folder("Failed"))
    assert moved == len(hostile) + 4
    assert set(states) <= {"applied", "failed"}
    assert states.get("pending", 0) == 0
    failed = gate.query("select error from inbound where state = 'failed'")
    assert any("too large" in error for (error,) in failed)
    assert all(error for (error,) in failed)  # every quarantined message says why
    subjects = {r["subject"] for r in gate.requests()}
    assert {"Good 0", "Good 1", "Good 2"} <= subjects
    for captured in gate.smtp.messages:
        assert captured.message["Bcc"] is None


def test_reply_token_lets_a_client_write_from_another_address(make_gate):
    gate = make_gate(trust={"reply_tokens": True, "token_secret": "a-long-enough-test-secret"})
    open_request(gate)
    gate.deliver(
        make_mail(sender=AGENT, subject="Re: [REQ-1] Fax", body="Try now.", message_id="a1@x")
    )
    gate.run_once(now="2026-11-24T10:30:00+03:00")
    [answer] = gate.sent_to(CLIENT)
    token = answer["Reply-To"]
    assert token.startswith("support+1.") and token.endswith("@example.org")
    assert token in answer.get_body(("html",)).get_content().replace("%40", "@")

    stranger = make_mail(
        sender="client.home@gmail.example",
        to="support@example.org",
        subject="Re: [REQ-1] Fax",
        body="Cancel request",
        message_id="s1@x",
    )
    gate.deliver(stranger)  # the same words without the token: held
    gate.run_once(now="2026-11-24T11:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "in_progress"

    gate.deliver(
        make_mail(
            sender="client.home@gmail.example",
            to=token,
            subject="Re: [REQ-1] Fax",
            body="Cancel request",
            message_id="s2@x",
        )
    )
    gate.run_once(now="2026-11-24T12:00:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed"
    assert any(
        e["kind"] == "reply_token" and "client.home@gmail.example" in e["detail"]
        for e in shown["events"]
    )
    forged = token.replace("support+1.", "support+1.9")
    gate.deliver(
        make_mail(sender="x@evil.example", to=forged, subject="Hi", body="Hi", message_id="f@x")
    )
    gate.run_once(now="2026-11-24T13:00:00+03:00")
    assert len(gate.requests()) == 2  # a forged token is no token: a new request
