"""Priority and labels (SPEC §16): agents' `#priority` and `#label`, a client's
`X-Priority` / `Importance` read only with `client_priority = "read"`, SLA targets
per priority on the business clock, list filters and the request JSON."""

from __future__ import annotations

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
MONDAY = "2026-11-23T10:00:00+03:00"  # a working day, 10:00 Moscow
LATER = "2026-11-23T10:05:00+03:00"


def open_request(gate, *, headers: dict[str, str] | None = None, now: str = MONDAY) -> None:
    gate.deliver(make_mail(sender=CLIENT, subject="Phones are down", body="All down.",
                           message_id="first@corp.example", headers=headers))  # fmt: skip
    gate.run_once(now)


def agent_writes(gate, body: str, *, now: str = LATER, number: int = 1) -> None:
    gate.deliver(
        make_mail(
            sender=AGENT,
            subject=f"Re: [REQ-{number}] Phones are down",
            body=body,
            message_id=f"agent-{hash(body)}@support.example.org",
        )
    )
    gate.run_once(now)


def test_priority_and_labels_by_agent_commands(gate):
    open_request(gate)
    assert gate.show("REQ-1")["priority"] == "normal"
    agent_writes(gate, "#priority high\n#label add Billing vip-clients\n#note\nchecking")
    shown = gate.show("REQ-1")
    assert shown["priority"] == "high"
    assert shown["labels"] == ["billing", "vip-clients"]
    kinds = {e["kind"]: e["detail"] for e in shown["events"]}
    assert kinds["priority"] == "normal -> high"
    assert kinds["label"] == "added billing, vip-clients"
    agent_writes(gate, "#label remove VIP-clients\n#приоритет срочный\n#note")
    shown = gate.show("REQ-1")
    assert (shown["priority"], shown["labels"]) == ("urgent", ["billing"])
    [listed] = gate.requests("--priority", "urgent", "--label", "Billing")
    assert (listed["tag"], listed["priority"], listed["labels"]) == ("REQ-1", "urgent", ["billing"])
    assert gate.requests("--label", "vip-clients") == []
    assert gate.requests("--priority", "low") == []
    agent_writes(gate, "#метка добавить Счета\n#заметка")
    assert gate.show("REQ-1")["labels"] == ["billing", "счета"]
    assert [r["tag"] for r in gate.requests("--label", "СЧЕТА")] == ["REQ-1"]


def test_agent_notices_show_priority_and_labels(gate):
    open_request(gate)
    agent_writes(gate, "#priority low\n#label add billing\n#note\nlooking")
    gate.smtp.clear()
    gate.deliver(
        make_mail(
            sender=CLIENT,
            subject="Re: [REQ-1] Phones are down",
            body="Still down.",
            message_id="second@corp.example",
        )
    )
    gate.run_once(LATER)
    [notice] = gate.sent_to(TEAM)
    text = notice.get_body(("plain",)).get_content()
    assert "priority: low" in text and "labels: billing" in text
    assert "priority: low" in notice.get_body(("html",)).get_content()


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("#priority sky-high", "no such priority"),
        ("#label add bad/name", "#label add NAME"),
        ("#label rename x", "#label add NAME"),
        ("#label add " + "x" * 41, "#label add NAME"),
    ],
)
def test_bad_triage_commands_are_refused_and_change_nothing(gate, line, refusal):
    open_request(gate)
    gate.smtp.clear()
    agent_writes(gate, f"{line}\n#note")
    shown = gate.show("REQ-1")
    assert (shown["priority"], shown["labels"]) == ("normal", [])
    [refused] = gate.sent_to(AGENT)
    assert refusal in refused.get_body(("plain",)).get_content()


def test_labels_are_capped(gate):
    open_request(gate)
    agent_writes(gate, "#label add " + " ".join(f"l{n}" for n in range(20)) + "\n#note")
    assert len(gate.show("REQ-1")["labels"]) == 20
    gate.smtp.clear()
    agent_writes(gate, "#label add one-more\n#note")
    assert "one-more" not in gate.show("REQ-1")["labels"]
    assert "at most 20 labels" in gate.sent_to(AGENT)[0].get_body(("plain",)).get_content()


def test_a_client_cannot_set_priority_or_labels(gate):
    open_request(gate)
    gate.deliver(
        make_mail(
            sender=CLIENT,
            subject="Re: [REQ-1] Phones are down",
            body="#priority urgent\n#label add vip",
            message_id="c2@corp.example",
        )
    )
    gate.run_once(LATER)
    shown = gate.show("REQ-1")
    assert (shown["priority"], shown["labels"]) == ("normal", [])


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Priority": "1 (Highest)"}, "high"),
        ({"X-Priority": "2"}, "high"),
        ({"X-Priority": "3 (Normal)"}, "normal"),
        ({"X-Priority": "5 (Lowest)"}, "low"),
        ({"Importance": "High"}, "high"),
        ({"Importance": "low"}, "low"),
        ({"X-Priority": "1", "Importance": "low"}, "high"),  # X-Priority first
        ({"Priority": "urgent", "Importance": "urgent"}, "normal"),  # never urgent from a client
    ],
)
def test_client_priority_read(make_gate, headers, expected):
    gate = make_gate(client_priority="read")
    open_request(gate, headers=headers)
    assert gate.show("REQ-1")["priority"] == expected


def test_client_priority_ignored_by_default(gate):
    open_request(gate, headers={"X-Priority": "1 (Highest)", "Importance": "high"})
    assert gate.show("REQ-1")["priority"] == "normal"


def test_client_priority_only_in_a_first_message(make_gate):
    gate = make_gate(client_priority="read")
    open_request(gate)
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] Phones are down",
                           body="More.", message_id="c2@corp.example",
                           headers={"X-Priority": "1"}))  # fmt: skip
    gate.run_once(LATER)
    assert gate.show("REQ-1")["priority"] == "normal"


SLA_BY_PRIORITY = """
[sla.priority.high]
first_response_hours = 1
resolution_hours = 4
[sla.priority.low]
first_response_hours = 0
"""


@pytest.fixture
def sla_gate(make_gate):
    return make_gate(sla={"first_response_hours": 8, "resolution_hours": 40},
                     extra_toml=SLA_BY_PRIORITY)  # fmt: skip


def test_sla_targets_follow_the_priority_on_the_business_clock(sla_gate):
    gate = sla_gate
    # Friday 17:00 Moscow: one business hour left that day (9:00-18:00).
    open_request(gate, now="2026-11-27T17:00:00+03:00")
    sla = gate.show("REQ-1", now="2026-11-27T17:00:00+03:00")["sla"]
    assert sla["first_response"]["target"] == 8 * 3600
    # 8 business hours from Friday 17:00: Monday 16:00.
    assert sla["first_response"]["due_at"] == "2026-11-30T16:00:00+03:00"
    agent_writes(gate, "#priority high\n#note", now="2026-11-27T17:10:00+03:00")
    sla = gate.show("REQ-1", now="2026-11-27T17:10:00+03:00")["sla"]
    assert sla["first_response"]["target"] == 3600
    assert sla["first_response"]["due_at"] == "2026-11-27T18:00:00+03:00"
    # 4 business hours: 1 on Friday, 3 on Monday (the weekend does not count).
    assert sla["resolution"]["due_at"] == "2026-11-30T12:00:00+03:00"
    # The timer breaches on the new target: Friday 18:00 passed, nobody answered.
    gate.smtp.clear()
    gate.run_once("2026-11-30T09:30:00+03:00")
    [breach] = [e for e in gate.show("REQ-1")["events"] if e["kind"] == "sla_breach"]
    assert breach["detail"] == "first_response"
    assert len(gate.sent_to(TEAM)) == 1


def test_a_priority_without_a_target_has_none(sla_gate):
    gate = sla_gate
    open_request(gate)
    agent_writes(gate, "#priority low\n#note")
    sla = gate.show("REQ-1")["sla"]
    assert sla["first_response"]["target"] is None
    assert sla["resolution"]["target"] == 40 * 3600  # left out: the [sla] one


def test_triage_lines_never_reach_the_client(gate):
    open_request(gate)
    gate.smtp.clear()
    agent_writes(gate, "We are on it.\n#priority urgent\n#label add outage")
    [answer] = gate.sent_to(CLIENT)
    text = answer.get_body(("plain",)).get_content()
    assert "We are on it." in text
    assert "#priority" not in text and "#label" not in text and "outage" not in text
    assert "urgent" not in text  # the client's notices do not show the priority
