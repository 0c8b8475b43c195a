"""A stranger writes a victim's Message-ID first (SPEC §14, files and storage), end to
end: real Dovecot, `mailgate run --once`, on SQLite and on PostgreSQL. Both messages
are kept and applied; the victim's copy delivered again is still a duplicate, and the
victim's follow-up naming the Message-ID is filed under the victim's request. The
victim's message refused for its size is found again in the failed folder by its own
key, not the stranger's."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.mails import make_mail

VICTIM = "victim@corp.example"
STRANGER = "stranger@evil.example"
TAKEN = "CAFE1234.victim@corp.example"
NOW = "2026-11-26T10:00:00+03:00"


def victims_mail(body: str = "The printer on floor 2 is on fire.") -> bytes:
    return make_mail(sender=f"Victim <{VICTIM}>", subject="Printer on fire", body=body,
                     message_id=TAKEN)  # fmt: skip


def strangers_mail() -> bytes:
    return make_mail(sender=STRANGER, subject="Hello", body="Nothing to see.", message_id=TAKEN)


def test_the_victims_mail_is_applied_after_a_strangers_with_its_message_id(gate) -> None:
    gate.deliver(strangers_mail())
    gate.run_once(NOW)
    gate.deliver(victims_mail())
    gate.run_once(NOW)
    assert [(r["tag"], r["requester"]) for r in gate.requests()] == [
        ("REQ-1", STRANGER), ("REQ-2", VICTIM)
    ]  # fmt: skip
    [ack] = gate.sent_to(VICTIM)
    assert "[REQ-2]" in ack["Subject"]
    assert gate.show("REQ-2")["messages"][0]["message_id"] == TAKEN
    gate.smtp.clear()
    again = b"Received: from mx2.example.org by mx.example.org; Thu, 26 Nov 2026\r\n"
    gate.deliver(again + victims_mail(), strangers_mail())  # delivered twice: duplicates
    done = gate.run_once(NOW)
    assert done.stdout.startswith("fetched 2")
    assert len(gate.requests()) == 2 and gate.smtp.messages == []
    assert gate.query("select count(*), min(state), max(state) from inbound") == [
        (2, "applied", "applied")
    ]
    assert gate.imap.list_folder("INBOX") == []
    follow_up = make_mail(sender=VICTIM, subject="Re: Printer on fire", body="Still burning.",
                          message_id="more@corp.example", in_reply_to=TAKEN)  # fmt: skip
    gate.deliver(follow_up)
    gate.run_once(NOW)
    assert [m["message_id"] for m in gate.show("REQ-2")["messages"] if m["direction"] == "in"] \
        == [TAKEN, "more@corp.example"]  # the victim's own request, not the stranger's


def test_the_victims_oversized_mail_is_quarantined_under_its_own_key(make_gate) -> None:
    gate = make_gate(max_message_bytes=2048)
    gate.deliver(strangers_mail())
    gate.run_once(NOW)
    big = victims_mail("x" * 4000)
    gate.deliver(big)
    gate.run_once(NOW)
    [row] = json.loads(gate.read("failed", "list", "--json"))
    assert row["header_only"] and row["key"].startswith(f"{TAKEN}#")
    assert row["from"] == f"Victim <{VICTIM}>"
    assert len(gate.imap.list_folder("Failed")) == 1
    shown = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config), "failed", "show",
         row["key"], "--raw"],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    assert shown.stdout == big  # the victim's whole message, not the stranger's
    gate.config.write_text(
        gate.config.read_text().replace("max_message_bytes = 2048", "max_message_bytes = 65536")
    )
    [done] = json.loads(gate.read("failed", "retry", row["key"], "--json"))
    assert (done["outcome"], done["request"]) == ("applied", "REQ-2")
    assert gate.show("REQ-2")["requester"] == VICTIM
