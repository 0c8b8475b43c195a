"""Mail hygiene end to end (SPEC §5): machine mail, a bounce, and hostile mail
quarantined in the failed folder, through a real Dovecot and `mailgate run
--once`, on SQLite and on PostgreSQL.

The rules case by case (auto-replies, rate limits, forged senders, reply
tokens) are tests/scenarios/test_hygiene.py; here the fixtures travel through
IMAP APPEND and FETCH as real mail does, and the quarantine is a real folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.harness import TEAM
from tests.mails import bounce_for, delivery_report, good_mail_among, make_mail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MACHINE = json.loads((FIXTURES / "machine" / "expected.json").read_text())
MACHINE_MAIL = sorted(name for name, want in MACHINE.items() if want["auto"])
HOSTILE = sorted(p.name for p in (FIXTURES / "hostile").glob("*.eml"))
CLIENT = "client@corp.example"


def test_machine_mail_is_never_answered_and_a_bounce_marks_the_address(gate):
    gate.deliver(
        make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="c0@x"),
        *((FIXTURES / "machine" / fixture).read_bytes() for fixture in MACHINE_MAIL),
    )
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]  # the machines opened nothing
    assert {rcpt for m in gate.smtp.messages for rcpt in m.rcpt_tos} == {CLIENT, TEAM}
    assert len(gate.smtp.messages) == 2  # the acknowledgement and the notice, nothing else
    sql = "select kind, count(*) from messages where direction = 'in' group by kind"
    kinds = dict(gate.query(sql))
    assert kinds.pop("client") == 1
    assert sum(kinds.values()) == len(MACHINE_MAIL) and set(kinds) <= {"auto", "bounce"}
    [ack] = gate.sent_to(CLIENT)
    gate.smtp.clear()

    gate.deliver(bounce_for(ack["Message-ID"].strip("<>"), CLIENT, "dsn1@mx"))
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    shown = gate.show("REQ-1")
    assert [m["kind"] for m in shown["messages"] if m["direction"] == "in"][-1] == "bounce"
    assert [e["kind"] for e in shown["events"]].count("bounce") == 1
    [told] = gate.sent_to(TEAM)
    assert CLIENT in told.get_body(("plain",)).get_content()
    assert gate.sent_to(CLIENT) == []


def test_hostile_mail_is_quarantined_in_the_failed_folder_and_the_rest_goes_on(make_gate):
    gate = make_gate(max_message_bytes=5 * 1024 * 1024)
    hostile = [(FIXTURES / "hostile" / name).read_bytes() for name in HOSTILE]
    hostile = [raw for raw in hostile if raw.strip()]  # IMAP cannot store an empty message
    gate.deliver(*good_mail_among(hostile, oversized_bytes=6 * 1024 * 1024))
    result = gate.run_once(now="2026-11-24T10:00:00+03:00")
    assert "fetched" in result.stdout

    assert gate.imap.list_folder("INBOX") == []
    processed, failed = gate.imap.list_folder("Processed"), gate.imap.list_folder("Failed")
    assert len(processed) + len(failed) == len(hostile) + 4
    states = dict(gate.query("select state, count(*) from inbound group by state"))
    assert set(states) <= {"applied", "failed"}
    assert any(b"Message-ID: <huge@x>" in raw for raw in failed)  # kept whole, retrievable
    errors = gate.query("select error from inbound where state = 'failed'")
    assert any("too large" in error for (error,) in errors)
    assert all(error for (error,) in errors)  # every quarantined message says why
    assert {"Good 0", "Good 1", "Good 2"} <= {r["subject"] for r in gate.requests()}
    for captured in gate.smtp.messages:
        assert captured.message["Bcc"] is None


def test_notifications_carry_their_return_path_and_a_report_sent_back_to_it_marks(gate):
    """SPEC §14 over the wire: the sink sees each notification's own envelope sender
    (`support+b.<outbound id>.<mac>@example.org`, From unchanged); a report sent
    back to the client's, returning no headers, marks the client; one to a forged
    return path naming the team marks nothing."""
    gate.deliver(make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="c0@x"))
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    captured = {m.rcpt_tos: m for m in gate.smtp.messages}
    ids = dict(gate.query("select recipient, id from outbound"))
    for (recipient,), mail in captured.items():
        assert mail.mail_from.startswith(f"support+b.{ids[recipient]}.")
        assert mail.mail_from.endswith("@example.org")
        assert mail.message["From"].addresses[0].addr_spec == "support@example.org"
    return_path = captured[(CLIENT,)].mail_from
    gate.smtp.clear()

    forged = return_path.replace(f"+b.{ids[CLIENT]}.", f"+b.{ids[TEAM]}.")
    gate.deliver(
        delivery_report(recipients=[TEAM], message_id="dsn0@mx", to=forged,
                        subject="Undeliverable: [REQ-1] Fax", style="exchange"),
        delivery_report(recipients=[CLIENT], message_id="dsn1@mx", to=return_path),
    )  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert [a for (a,) in gate.query("select address from addresses")] == [CLIENT]
    details = [e["detail"] for e in gate.show("REQ-1")["events"] if e["kind"] == "bounce"]
    assert len(details) == 2
    assert "is not one mailgate made" in details[0] and "not marked" in details[0]
    assert details[1].startswith(f"{CLIENT}: marked as bouncing for 7 days")
    [told] = gate.sent_to(TEAM)  # the team still gets mail: told of the client's bounce
    assert CLIENT in told.get_body(("plain",)).get_content()
    assert gate.sent_to(CLIENT) == []
