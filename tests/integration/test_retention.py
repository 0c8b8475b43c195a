"""Retention ([retention] purge_raw_after_days) on both databases: raw mail of
requests closed long enough ago goes, the text and the history stay."""

from __future__ import annotations

import datetime as dt
import json

from tests.harness import AGENT
from tests.mails import make_mail

CLIENT = "client@corp.example"


def test_purge_drops_raw_bytes_of_old_closed_requests_only(make_gate):
    gate = make_gate(retention={"purge_raw_after_days": 30})
    gate.deliver(*(make_mail(sender=CLIENT, subject=f"Fax {n}", body=f"Fax {n} is silent.",
                             message_id=f"ret{n}@corp") for n in (1, 2)))  # fmt: skip
    gate.run_once()
    gate.read("requests", "set-status", "REQ-1", "closed", "--by", AGENT)
    gate.run_once()
    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=31)).isoformat()

    soon = json.loads(gate.read("purge", "--dry-run", "--json"))
    assert (soon["inbound"], soon["outbound"]) == (0, 0)  # closed today: kept
    planned = json.loads(gate.read("purge", "--dry-run", "--json", "--now", later))
    assert planned["requests"] == 1 and planned["inbound"] == 1
    assert planned["outbound"] >= 2 and planned["inbound_bytes"] > 0
    assert gate.query("select count(*) from inbound where length(raw) = 0") == [(0,)]

    done = json.loads(gate.read("purge", "--json", "--now", later))
    assert done["inbound"] == planned["inbound"] and not done["dry_run"]
    assert gate.query("select count(*) from inbound where length(raw) = 0") == [(1,)]
    raw_left = gate.query("select request_id, length(raw) from outbound order by id")
    assert all((size == 0) == (request == 1) for request, size in raw_left)
    shown = gate.show("REQ-1")
    assert shown["messages"][0]["text"] == "Fax 1 is silent."  # the text stays
    assert [e["to"] for e in shown["events"] if e["kind"] == "status"] == ["closed"]
    again = json.loads(gate.read("purge", "--json", "--now", later))
    assert again["inbound"] == 0 and again["outbound"] == 0


def test_without_retention_nothing_is_purged(make_gate):
    gate = make_gate()
    assert "retention is off" in gate.read("purge")
