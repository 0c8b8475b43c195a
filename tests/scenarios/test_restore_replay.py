"""Restoring a backup, then replaying the mail that came since (docs/admin.md,
"Restore and replay"): the processed folder goes back to the inbox, and what
the restored database holds already is a duplicate by its `Message-ID`, never
applied twice; what it lacks is applied as new, in the order it came."""

from __future__ import annotations

from pathlib import Path

from tests.inprocess import copy_database
from tests.mails import make_mail

CLIENT = "client@corp.example"
OTHER = "other@corp.example"


def test_a_restored_backup_applies_only_the_mail_it_lacks(gate):
    database = Path(gate.database_url.removeprefix("sqlite:///"))
    backup = database.with_name("backup.sqlite3")
    gate.deliver(make_mail(sender=CLIENT, subject="Printer", body="It jams.",
                           message_id="a@corp.example"))  # fmt: skip
    gate.run_once()
    copy_database(database, backup)  # the night's backup: REQ-1 and its first message
    gate.deliver(
        make_mail(sender=CLIENT, subject="Re: [REQ-1] Printer", body="Now it smokes.",
                  message_id="c@corp.example", in_reply_to="a@corp.example"),
        make_mail(sender=OTHER, subject="Scanner", body="Broken.", message_id="b@corp.example"),
    )  # fmt: skip
    gate.run_once()
    processed = gate.imap.list_folder("Processed")
    assert len(processed) == 3 and gate.imap.list_folder("INBOX") == []

    gate.app.engine.dispose()  # the worker is stopped for the restore
    copy_database(backup, database)
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]
    gate.deliver(*processed)  # the processed folder moved back to the inbox, oldest first
    report = gate.run_once()

    assert (report.fetched, report.applied, report.duplicates) == (3, 2, 1)
    assert [(r["tag"], r["subject"]) for r in gate.requests()] == [
        ("REQ-1", "Printer"), ("REQ-2", "Scanner")]  # fmt: skip
    texts = [m["text"] for m in gate.show("REQ-1")["messages"] if m["direction"] == "in"]
    assert texts == ["It jams.", "Now it smokes."]  # the first message once, not twice
    assert len(gate.sent_to(CLIENT)) == 1  # its acknowledgement not sent again
    assert len(gate.sent_to(OTHER)) == 2  # since the backup: acknowledged again (documented)
