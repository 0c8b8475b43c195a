"""The operations commands of SPEC §11, end to end in-process: quarantined mail,
the outbox, set-status and note from the shell, and `status`.

A quarantine is made the way the worker makes one (`Tx.save_inbound` with
state "failed"), so that `failed retry` is tested without a broken parser.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

from mailgate.commands.outbox import retry_outbox
from mailgate.monitor import RoundRecorder
from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOW = "2026-11-26T10:00:00+03:00"


def quarantine(gate, raw: bytes, key: str, error: str = "apply: RuntimeError('bug')") -> None:
    with gate.app.store.transaction() as tx:
        tx.save_inbound(key=key, raw=raw, now=dt.datetime.fromisoformat(NOW), state="failed",
                        error=error)  # fmt: skip


def first_mail(number: int = 1) -> bytes:
    return make_mail(sender=f"Client <{CLIENT}>", subject=f"Printer {number}", body="It jams.",
                     message_id=f"op-{number}@corp.example")  # fmt: skip


def opened(gate, count: int = 1) -> None:
    gate.deliver(*(first_mail(n) for n in range(1, count + 1)))
    gate.run_once(NOW)
    gate.smtp.clear()


def test_failed_list_show_and_raw(gate):
    raw = first_mail()
    quarantine(gate, raw, "op-1@corp.example")
    [row] = json.loads(gate.read("failed", "list", "--json"))
    assert row["key"] == "op-1@corp.example"
    assert row["reason"] == "apply: RuntimeError('bug')"
    assert (row["from"], row["subject"]) == (f"Client <{CLIENT}>", "Printer 1")
    assert row["size"] == len(raw) and row["header_only"] is False
    assert "Printer 1" in gate.read("failed", "list")
    shown = json.loads(gate.read("failed", "show", "op-1@corp.example", "--json"))
    assert shown["state"] == "failed"
    assert gate.read("failed", "show", "op-1@corp.example", "--raw").encode() == raw
    missing = gate.cli("failed", "show", "nope@x", check=False)
    assert missing.returncode == 4 and "no stored message" in missing.stderr


def test_failed_retry_applies_exactly_once(gate):
    quarantine(gate, first_mail(), "op-1@corp.example")
    [outcome] = json.loads(gate.read("failed", "retry", "op-1@corp.example", "--json"))
    assert (outcome["outcome"], outcome["request"]) == ("applied", "REQ-1")
    assert gate.query("select state from inbound") == [("applied",)]
    again = gate.cli("failed", "retry", "op-1@corp.example")
    assert "applied meanwhile; nothing done" in again.stdout
    assert "no quarantined messages" in gate.read("failed", "retry", "--all")
    assert len(gate.requests()) == 1
    gate.run_once()  # the retry ran at the real time, and so do its notifications
    assert len(gate.sent_to(CLIENT)) == 1  # one acknowledgement: applied once


def test_failed_retry_all_and_what_fails_again(gate):
    quarantine(gate, first_mail(1), "op-1@corp.example")
    quarantine(gate, first_mail(2), "op-2@corp.example")
    outcomes = json.loads(gate.read("failed", "retry", "--all", "--json"))
    assert [o["outcome"] for o in outcomes] == ["applied", "applied"]
    assert [r["subject"] for r in gate.requests()] == ["Printer 1", "Printer 2"]


def test_set_status_follows_the_rules_of_mail(gate):
    opened(gate)
    refused = gate.cli("requests", "set-status", "REQ-1", "on_hold", "--by", CLIENT, check=False)
    assert refused.returncode == 5
    assert "is not an agent" in refused.stderr
    assert gate.show("REQ-1")["status"] == "new"

    args = ("REQ-1", "waiting for client", "--by", AGENT, "--note", "asked for the model")
    done = json.loads(gate.read("requests", "set-status", *args, "--json"))
    assert done == {"request": "REQ-1", "done": True, "refusal": None,
                    "status": "waiting_for_client", "notifications_queued": 1}  # fmt: skip
    event = gate.show("REQ-1")["events"][-1]
    assert (event["actor"], event["from"], event["to"]) == (AGENT, "new", "waiting_for_client")
    assert event["detail"] == "asked for the model"
    gate.run_once()
    [told] = gate.sent_to(CLIENT)
    assert "[REQ-1]" in told["Subject"]

    same = gate.cli("requests", "set-status", "1", "waiting_for_client", "--by", AGENT,
                    check=False)  # fmt: skip
    assert same.returncode == 5 and "waiting_for_client already" in same.stderr
    unknown = gate.cli("requests", "set-status", "REQ-1", "sleeping", "--by", AGENT, check=False)
    assert unknown.returncode == 5 and "'sleeping' is not a status" in unknown.stderr
    gate.read("requests", "set-status", "REQ-1", "closed", "--by", AGENT)
    closed = gate.cli("requests", "set-status", "REQ-1", "in_progress", "--by", AGENT,
                      check=False)  # fmt: skip
    assert closed.returncode == 5 and "a closed request stays closed" in closed.stderr
    assert gate.show("REQ-1")["status"] == "closed"
    missing = gate.cli("requests", "set-status", "REQ-9", "closed", "--by", AGENT, check=False)
    assert missing.returncode == 4


def test_note_reaches_agents_only(gate):
    opened(gate)
    refused = gate.cli("requests", "note", "REQ-1", "--by", CLIENT, "hello", check=False)
    assert refused.returncode == 5
    gate.read("requests", "note", "REQ-1", "--by", AGENT, "Customer is on the old firmware")
    event = gate.show("REQ-1")["events"][-1]
    assert (event["kind"], event["actor"]) == ("note", AGENT)
    assert event["detail"] == "Customer is on the old firmware"
    gate.run_once()
    [notice] = gate.sent_to(TEAM)
    assert "old firmware" in notice.get_body(("plain",)).get_content()
    assert gate.sent_to(CLIENT) == []


def retry_args(**values) -> argparse.Namespace:
    return argparse.Namespace(**{"id": None, "all_failed": False, "json": True, **values})


def test_outbox_list_and_retry_never_send_twice(gate, capsys):
    gate.smtp.fail(temporary=False)
    gate.deliver(first_mail())
    gate.run_once(NOW)
    gate.smtp.recover()
    failed = json.loads(gate.read("outbox", "list", "--state", "failed", "--json"))
    assert {row["recipient"] for row in failed} == {CLIENT, TEAM}
    assert all("550" in row["last_error"] for row in failed)
    assert json.loads(gate.read("outbox", "list", "--state", "sent", "--json")) == []

    first = failed[0]["id"]
    assert retry_outbox(gate.app, retry_args(id=first), pump=gate.smtp) == 0
    assert json.loads(capsys.readouterr().out)["sent"] == [first]
    assert retry_outbox(gate.app, retry_args(id=first), pump=gate.smtp) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["requeued"] == [] and result["skipped"][0]["why"].startswith("already sent")
    assert retry_outbox(gate.app, retry_args(all_failed=True), pump=gate.smtp) == 0
    assert len(json.loads(capsys.readouterr().out)["sent"]) == 1
    assert len(gate.smtp.messages) == 2  # each notification once
    states = {row["state"] for row in json.loads(gate.read("outbox", "list", "--json"))}
    assert states == {"sent"}
    missing = gate.cli("outbox", "retry", "999", check=False)
    assert missing.returncode == 4


def test_status_shows_queues_and_the_last_round(gate):
    empty = json.loads(gate.read("status", "--json"))
    assert empty["last_round"] is None and empty["last_error"] is None
    quarantine(gate, first_mail(2), "op-2@corp.example")
    gate.deliver(first_mail(1))
    worker = gate.app.worker(lambda: dt.datetime.fromisoformat(NOW))
    worker.monitor = RoundRecorder(gate.app.store, worker="test-worker")
    worker.run_once(inbox=gate.imap, pump=gate.smtp)
    shown = json.loads(gate.read("status", "--json"))
    assert shown["inbound"] == {"pending": 0, "applied": 1, "failed": 1, "held": 0}
    assert shown["outbox"]["sent"] == 2
    last = shown["last_round"]
    assert (last["worker"], last["ok"], last["imap_waiting"], last["applied"]) == (
        "test-worker", True, 1, 1)  # fmt: skip
    assert "last error: none" in gate.read("status")
