"""One request's whole life end to end, as an admin runs mailgate: mail through a
real Dovecot, `mailgate run --once` as a subprocess, notifications through the
aiosmtpd sink, on SQLite and on PostgreSQL.

The rules case by case are tests/scenarios/test_workflow.py (in-process); this
walk shows that they hold on the real servers and on both databases: opened
and acknowledged, answered by an agent, closed by the client's approval in a
reply that threads by its headers alone.
"""

from __future__ import annotations

import email.utils

from tests.harness import AGENT, TEAM
from tests.mails import phones_down, reply_to

CLIENT = "client@corp.example"
CC = "boss@corp.example"


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_opened_answered_and_closed_by_the_clients_approval(gate):
    gate.deliver(phones_down(client=CLIENT, cc=CC, message_id="walk-1@corp.example"))
    gate.run_once("2026-11-26T10:00:00+03:00")
    [ack] = gate.sent_to(CLIENT)
    assert ack["Subject"] == "[REQ-1] Phones are down"
    assert email.utils.parseaddr(ack["From"])[1] == "support@example.org"
    assert ack["In-Reply-To"] == "<walk-1@corp.example>"
    assert ack["Auto-Submitted"] == "auto-generated"
    assert len(gate.sent_to(CC)) == 1
    [notice] = gate.sent_to(TEAM)
    assert "all our phones are down" in text_of(notice)
    assert gate.imap.list_folder("INBOX") == []
    assert len(gate.imap.list_folder("Processed")) == 1
    assert "Failed" in gate.imap.folder_names()  # created at login, before anything failed
    gate.smtp.clear()

    gate.deliver(
        reply_to(
            notice,
            sender=f"Alice Agent <{AGENT}>",
            body="We restarted the PBX. Please check the phones now.",
            message_id="walk-2@support.example.org",
        )
    )
    gate.run_once("2026-11-26T10:05:00+03:00")
    [answer] = gate.sent_to(CLIENT)
    assert email.utils.parseaddr(answer["From"])[1] == "support@example.org"
    assert AGENT not in answer.as_string()
    assert "Auto-Submitted" not in answer  # a person's answer, relayed
    assert "We restarted the PBX" in text_of(answer)
    assert "all our phones are down" not in text_of(answer)
    assert len(gate.sent_to(CC)) == 1
    assert gate.show("REQ-1")["status"] == "in_progress"
    gate.smtp.clear()

    gate.deliver(
        reply_to(
            answer,
            sender=CLIENT,
            subject="phones",  # the tag removed: the headers alone thread it
            body="Everything works, the request can be closed.",
            message_id="walk-3@corp.example",
        )
    )
    gate.run_once("2026-11-26T10:10:00+03:00")
    assert len(gate.requests()) == 1
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed" and shown["closed_at"] is not None
    assert [(e["from"], e["to"], e["actor"]) for e in shown["events"] if e["kind"] == "status"] == [
        ("new", "in_progress", AGENT),
        ("in_progress", "closed", CLIENT),
    ]
    [closed] = gate.sent_to(CLIENT)
    assert "is now closed" in text_of(closed)
    missing = gate.cli("requests", "show", "REQ-77", check=False)
    assert missing.returncode != 0 and "REQ-77" in missing.stderr
