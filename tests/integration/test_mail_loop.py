"""The loop's edges end to end: a real Dovecot and SMTP sink, `mailgate run --once`
as a subprocess, on SQLite and on PostgreSQL.

What only the real servers show stays here: duplicates as IMAP hands them
over, the SMTP conversation refusing at DATA or RCPT or not answering at all,
and the schema migrations on both databases. The rules of the loop are
tests/scenarios/test_mail_loop.py (in-process).
"""

from __future__ import annotations

from tests.mails import make_mail
from tests.sandbox import PERMFAIL, TEMPFAIL

CLIENT = "client@corp.example"


def test_duplicates_are_applied_once_in_a_round_across_rounds_and_without_message_id(gate):
    raw = make_mail(
        sender=CLIENT, subject="Printer", body="It jams.", message_id="dup@corp.example"
    )
    no_id = b"From: other@corp.example\r\nTo: support@example.org\r\nSubject: No id\r\n\r\nHi\r\n"
    gate.deliver(raw, no_id, raw, no_id)
    gate.run_once()
    gate.deliver(raw)  # and once more, in a later round
    gate.run_once()

    assert sorted(r["subject"] for r in gate.requests()) == ["No id", "Printer"]
    assert len(gate.sent_to(CLIENT)) == 1
    assert len(gate.sent_to("other@corp.example")) == 1
    assert gate.imap.list_folder("INBOX") == []
    assert len(gate.imap.list_folder("Processed")) == 5


def test_smtp_refusals_are_retried_when_temporary_and_dropped_when_permanent(gate):
    gate.deliver(make_mail(sender=CLIENT, subject="Perm", body="Hi", message_id="p@corp.example"))
    gate.smtp.fail(PERMFAIL, stage="rcpt", count=1)  # 550 at RCPT: refused for good
    gate.run_once(now="2026-11-26T10:00:00+03:00")
    assert (len(gate.smtp.messages), gate.smtp.rejected) == (1, 1)

    gate.smtp.fail(TEMPFAIL)  # 451 at DATA until recover: the next mail waits in the outbox
    gate.deliver(make_mail(sender=CLIENT, subject="Outage", body="Hi", message_id="o@corp.example"))
    gate.run_once(now="2026-11-26T10:05:00+03:00")
    assert len(gate.smtp.messages) == 1 and len(gate.requests()) == 2

    gate.smtp.recover()
    gate.run_once(now="2026-11-26T10:10:00+03:00")
    gate.run_once(now="2026-11-27T10:00:00+03:00")
    ids = [m.message["Message-ID"] for m in gate.smtp.messages]
    assert len(ids) == len(set(ids)) == 3  # the waiting two once each, the refused one never


def test_unreachable_smtp_server_ends_the_round_and_loses_nothing(gate):
    gate.smtp.stop()
    gate.deliver(
        *(
            make_mail(sender=f"c{n}@corp.example", subject=f"S{n}", body="Hi", message_id=f"s{n}@x")
            for n in range(5)
        )
    )
    gate.run_once(now="2026-11-26T10:00:00+03:00")
    rows = gate.query("select state, last_error from outbound")
    assert len(rows) == 10 and {state for state, _ in rows} == {"pending"}
    assert any(error.startswith("not tried") for _, error in rows)  # no wait per message
    gate.smtp.start()
    gate.run_once(now="2026-11-26T10:05:00+03:00")
    assert len(gate.smtp.messages) == 10


def test_init_is_safe_to_repeat(gate):
    gate.deliver(make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="i@x"))
    gate.run_once()
    assert "up to date" in gate.read("init")
    assert "up to date" in gate.read("init")
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]  # nothing lost or reset
