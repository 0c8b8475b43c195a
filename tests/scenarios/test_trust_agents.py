"""Agents prove who they are (SPEC §14): mail From an agent address acts as the agent
only when it was sent to the request's agents' reply address, or our MX says DMARC or
DKIM passed for exactly its From domain, or the admin set `[trust] agents = "from"`.
Tried as an attacker would: a forged From on a new request and on a reply, a token of
another request, Authentication-Results that lie or cannot be read.
"""

from __future__ import annotations

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOW = "2026-11-24T10:00:00+03:00"
LATER = "2026-11-24T11:00:00+03:00"
OURS = "mx.example.org"  # the tests' [trust] authserv_id
# An Authentication-Results header of someone else's server: read by nobody. It keeps
# tests.mails from adding our MX's pass, so the mail carries no proof of its own.
FOREIGN = {"Authentication-Results": "mx.evil.example; dmarc=pass header.from=support.example.org"}


def open_request(gate, number: str = "1") -> str:
    gate.deliver(make_mail(sender=CLIENT, subject=f"Fax {number}", body="Fax is down.",
                           message_id=f"c{number}@corp.example"))  # fmt: skip
    gate.run_once(now=NOW)
    [notice] = [m for m in gate.sent_to(TEAM) if f"[REQ-{number}]" in m["Subject"]]
    gate.smtp.clear()
    return notice["Reply-To"]


def agent_mail(*, to: str = "support@example.org", headers=None, body: str, tag: str = "REQ-1",
               message_id: str = "a1@support.example.org") -> bytes:  # fmt: skip
    return make_mail(sender=f"Alice <{AGENT}>", to=to, subject=f"Re: [{tag}] Fax 1", body=body,
                     message_id=message_id, headers=headers)  # fmt: skip


def held_events(gate, tag: str = "REQ-1") -> list[str]:
    return [e["detail"] for e in gate.show(tag)["events"] if e["kind"] == "held"]


def assert_held_on_the_request(gate, words: str) -> None:
    shown = gate.show("REQ-1")
    assert shown["status"] == "new", "no command was applied"
    assert gate.sent_to(CLIENT) == [], "nothing was relayed to the client"
    assert [m["kind"] for m in shown["messages"] if m["direction"] == "in"][-1] == "held"
    [why] = held_events(gate)
    assert why.startswith(f"from {AGENT}: agent address without proof") and words in why
    [notice] = gate.sent_to(TEAM)  # the agents see it, with the reason
    assert "Try now" in notice.get_body(("plain",)).get_content()


def test_every_notice_to_agents_carries_the_agents_reply_address_of_its_request(gate):
    reply_to = open_request(gate)
    assert reply_to.startswith("support+a.1.") and reply_to.endswith("@example.org")
    second = open_request(gate, "2")
    assert second.startswith("support+a.2.") and second != reply_to


def test_a_forged_agent_from_on_a_reply_is_held_nothing_relayed_no_command(gate):
    open_request(gate)
    gate.deliver(agent_mail(headers=FOREIGN, body="#status closed\n\nTry now."))
    gate.run_once(now=LATER)
    assert_held_on_the_request(gate, "no agents' reply address of this request")


def test_a_forged_agent_from_on_a_new_request_is_held_whole_and_opens_nothing(gate):
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Urgent: wire the money",
                           body="#assign attacker@evil.example", message_id="f1@evil.example",
                           headers=FOREIGN))  # fmt: skip
    report = gate.run_once(now=NOW)
    assert report.held == 1
    assert gate.requests() == [] and gate.smtp.messages == []
    [(state, why)] = gate.query("select state, error from inbound")
    assert state == "held" and why.startswith("agent address without proof")
    assert len(gate.imap.list_folder("Junk")) == 1 and gate.imap.list_folder("INBOX") == []


def test_an_agent_reply_to_the_agents_reply_address_is_relayed_and_its_commands_applied(gate):
    reply_to = open_request(gate)
    gate.deliver(agent_mail(to=reply_to, headers=FOREIGN, body="#status on hold\n\nTry now."))
    gate.run_once(now=LATER)
    shown = gate.show("REQ-1")
    assert shown["status"] == "on_hold"
    assert held_events(gate) == []
    assert any("Try now" in m.get_body(("plain",)).get_content() for m in gate.sent_to(CLIENT))


@pytest.mark.parametrize("header", ["Delivered-To", "X-Original-To"])
def test_the_agents_reply_address_counts_where_the_mx_wrote_it(gate, header):
    reply_to = open_request(gate)
    gate.deliver(agent_mail(headers={**FOREIGN, header: reply_to}, body="Try now."))
    gate.run_once(now=LATER)
    assert held_events(gate) == [] and len(gate.sent_to(CLIENT)) == 1


def test_the_agents_reply_address_of_another_request_proves_nothing_here(gate):
    open_request(gate)
    other = open_request(gate, "2")
    gate.deliver(agent_mail(to=other, headers=FOREIGN, body="#status closed\n\nTry now."))
    gate.run_once(now=LATER)
    assert_held_on_the_request(gate, "the agents' reply address of REQ-2, not of this request")
    assert gate.show("REQ-2")["status"] == "new"


def test_a_token_with_a_wrong_mac_is_no_token(gate):
    reply_to = open_request(gate)
    forged = reply_to[: reply_to.index("@") - 4] + "0000" + reply_to[reply_to.index("@") :]
    gate.deliver(agent_mail(to=forged, headers=FOREIGN, body="#status closed\n\nTry now."))
    gate.run_once(now=LATER)
    assert_held_on_the_request(gate, "no agents' reply address of this request")


@pytest.mark.parametrize(
    ("results", "counts"),
    [
        ([f"{OURS}; dmarc=pass header.from=support.example.org"], True),
        ([f"{OURS}; dkim=pass header.d=support.example.org header.s=s1"], True),
        ([f"{OURS}; dmarc=pass header.from=evil.example"], False),  # a pass for another domain
        ([f"{OURS}; dkim=pass header.d=evil.example"], False),
        # Ours is topmost and cannot be parsed: never the pass an attacker wrote below it.
        ([f"{OURS}; dmarc=pass header.from=support.example.org;;; ((",
          f"{OURS}; dmarc=pass header.from=support.example.org"], False),
        # Ours says nothing; the pass with our name below it was written by the sender.
        ([f"{OURS}; spf=none smtp.mailfrom=evil.example",
          f"{OURS}; dmarc=pass header.from=support.example.org"], False),
        (["other.example; dmarc=pass header.from=support.example.org"], False),
    ],
)  # fmt: skip
def test_authentication_results_prove_an_agent_only_as_our_mx_wrote_them(gate, results, counts):
    open_request(gate)
    placeholder = b"Authentication-Results: placeholder.invalid; none\r\n"
    raw = agent_mail(headers={"Authentication-Results": "placeholder.invalid; none"},
                     body="#status on hold\n\nTry now.")  # fmt: skip
    top = "".join(f"Authentication-Results: {value}\r\n" for value in results).encode()
    assert placeholder in raw
    gate.deliver(top + raw.replace(placeholder, b""))
    gate.run_once(now=LATER)
    if counts:
        assert gate.show("REQ-1")["status"] == "on_hold" and held_events(gate) == []
    else:
        assert_held_on_the_request(gate, "no agents' reply address of this request")


def test_mail_in_an_agents_name_that_fails_dmarc_at_our_mx_is_held_whole_as_spam(gate):
    open_request(gate)
    gate.deliver(agent_mail(headers={"Authentication-Results": f"{OURS}; dmarc=fail "
                                     "header.from=support.example.org"},
                            body="#status on hold\n\nTry now."))  # fmt: skip
    gate.run_once(now=LATER)
    assert gate.show("REQ-1")["status"] == "new" and held_events(gate) == []
    assert gate.smtp.messages == []  # spam (SPEC §14): not even the agents are told
    assert gate.query("select state, error from inbound where key = 'a1@support.example.org'") \
        == [("held", "dmarc=fail header.from=support.example.org")]  # fmt: skip


def test_agents_from_believes_the_from_address_alone(make_gate):
    gate = make_gate(trust={"agents": "from"})
    open_request(gate)
    gate.deliver(agent_mail(headers=FOREIGN, body="#status on hold\n\nTry now."))
    gate.run_once(now=LATER)
    assert gate.show("REQ-1")["status"] == "on_hold" and held_events(gate) == []


def test_assign_of_a_stranger_is_refused_with_the_reason(gate):
    reply_to = open_request(gate)
    gate.deliver(agent_mail(to=reply_to, body="#assign attacker@evil.example"))
    gate.run_once(now=LATER)
    shown = gate.show("REQ-1")
    assert shown["owner"] is None
    assert [e["detail"] for e in shown["events"] if e["kind"] == "refused"] == [
        "assign: not_an_agent"
    ]
    [told] = gate.sent_to(AGENT)
    assert "only an agent" in told.get_body(("plain",)).get_content()


@pytest.mark.parametrize("command", [["set-status", "REQ-1", "closed"], ["note", "REQ-1", "hi"]])
def test_the_cli_acts_for_agents_only(gate, command):
    open_request(gate)
    refused = gate.cli("requests", *command, "--by", "attacker@evil.example", check=False)
    assert refused.returncode != 0 and "is not an agent" in refused.stderr
    assert gate.show("REQ-1")["status"] == "new"
