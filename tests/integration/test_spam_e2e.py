"""Spam end to end (SPEC §14): held mail lands in the Junk folder of a real Dovecot,
nothing goes to the SMTP sink for it, and `mailgate held release` applies it once;
through `mailgate run --once` and the CLI as subprocesses, on SQLite and PostgreSQL.

The rules case by case are tests/scenarios/test_trust_limits.py.
"""

from __future__ import annotations

import json

from tests.harness import TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"


def test_spam_goes_to_junk_sends_nothing_and_is_released_once(make_gate):
    gate = make_gate(trust={"blocked_senders": ["@bulk.example"]})
    spam = [
        make_mail(sender=CLIENT, subject="Cheap pills", body="Buy now", message_id="flag@x",
                  headers={"X-Spam-Flag": "YES"}),
        make_mail(sender="offers@bulk.example", subject="Offer", body="Buy", message_id="bulk@x"),
        make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="dmarc@x",
                  headers={"Authentication-Results": "mx.example.org; spf=fail "
                           "smtp.mailfrom=corp.example; dmarc=fail header.from=corp.example"}),
    ]  # fmt: skip
    honest = make_mail(sender="honest@corp.example", subject="Printer", body="Jammed.",
                       message_id="honest@x")  # fmt: skip
    gate.deliver(*spam, honest)
    gate.run_once(now="2026-11-24T10:00:00+03:00")

    assert gate.imap.list_folder("INBOX") == []
    junk = gate.imap.list_folder("Junk")
    assert sorted(raw.split(b"Message-ID: <")[1].split(b">")[0] for raw in junk) == [
        b"bulk@x", b"dmarc@x", b"flag@x"]  # fmt: skip
    assert len(gate.imap.list_folder("Processed")) == 1
    assert [r["subject"] for r in gate.requests()] == ["Printer"]
    assert {rcpt for m in gate.smtp.messages for rcpt in m.rcpt_tos} == {"honest@corp.example",
                                                                          TEAM}  # fmt: skip
    listed = {row["key"]: row["reason"] for row in json.loads(gate.read("held", "list", "--json"))}
    assert listed == {
        "flag@x": "spam: X-Spam-Flag: YES",
        "bulk@x": "blocked sender: offers@bulk.example (@bulk.example in [trust] blocked_senders)",
        "dmarc@x": "dmarc=fail header.from=corp.example",
    }
    gate.smtp.clear()

    released = gate.cli("held", "release", "dmarc@x")
    assert "dmarc@x: applied to REQ-2 as if it had just arrived" in released.stdout
    again = gate.cli("held", "release", "dmarc@x")
    assert "nothing done" in again.stdout
    gate.run_once()  # sends what the release queued: the acknowledgement and the notice
    assert sorted(rcpt for m in gate.smtp.messages for rcpt in m.rcpt_tos) == [CLIENT, TEAM]
    assert [r["subject"] for r in gate.requests()] == ["Printer", "Fax"]
    shown = gate.show("REQ-2")
    assert [e["kind"] for e in shown["events"]][:2] == ["released", "created"]
    assert len(gate.imap.list_folder("Junk")) == 3  # the copies stay where they are
    assert sorted(row["key"] for row in json.loads(gate.read("held", "list", "--json"))) == [
        "bulk@x", "flag@x"]  # fmt: skip


def test_acknowledgement_and_closed_reply_limits_on_each_database(gate):
    gate.deliver(*(make_mail(sender=CLIENT, subject=f"Fax {n}", body="Fax is down.",
                             message_id=f"new{n}@corp.example") for n in range(6)))  # fmt: skip
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    assert len(gate.requests()) == 6
    reply = make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax 0", body="Resolve this issue",
                      message_id="close@corp.example")  # fmt: skip
    gate.deliver(reply)
    gate.run_once(now="2026-11-24T10:05:00+03:00")
    for n, at in (
        (1, "2026-11-24T11:00:00+03:00"),
        (2, "2026-11-24T12:00:00+03:00"),
        (3, "2026-11-25T11:30:00+03:00"),
    ):
        gate.deliver(
            make_mail(
                sender=CLIENT,
                subject="Re: [REQ-1] Fax 0",
                body=f"Thanks {n}",
                message_id=f"late{n}@corp.example",
            )
        )
        gate.run_once(now=at)

    sql = f"select template, count(*) from outbound where recipient = '{CLIENT}' group by template"
    assert dict(gate.query(sql)) == {"created": 5, "closed": 1, "closed_reply": 2}
    details = [e["detail"] for e in gate.show("REQ-6")["events"] if e["kind"] == "not_sent"]
    assert details == [f"acknowledgement not sent to {CLIENT}: 5 sent to this address in the "
                       "last hour (max_new_requests_per_sender = 5)"]  # fmt: skip
