"""Merging a request into another (SPEC §15): `#merge REQ-12` in an agent's mail and
`mailgate requests merge`, what moves and what stays, later mail to the old tag,
and every refusal."""

from __future__ import annotations

import email
import email.policy

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, reply_to
from tests.scenarios.test_workflow import (
    agent_reply,
    at,
    mails_about,
    one_text,
    open_requests,
    text_of,
)

IVAN = "ivan@corp.example"
OLGA = "olga@corp.example"
COLLEAGUE = "petr@corp.example"


def events(gate, tag: str, kind: str) -> list[dict]:
    return [e for e in gate.show(tag)["events"] if e["kind"] == kind]


def inbound_ids(gate, tag: str) -> list[str]:
    return [m["message_id"] for m in gate.show(tag)["messages"] if m["kind"] != "notification"]


def two_requests(gate, *, cc: tuple[str, ...] = ()):
    """REQ-1 from Ivan, REQ-2 from Olga, both with `cc`: the same outage, twice."""
    return open_requests(gate, (IVAN, "Phones are down"), (OLGA, "No calls since nine"), cc=cc)


def test_merge_by_mail_closes_the_request_and_moves_its_people(gate):
    first, _ = two_requests(gate, cc=(COLLEAGUE,))
    gate.deliver(agent_reply(first, "#merge REQ-2", "merge-1@support.example.org"))
    gate.run_once(at(5))

    merged, kept = gate.show("REQ-1"), gate.show("REQ-2")
    assert (merged["status"], merged["merged_into"]) == ("closed", "REQ-2")
    assert merged["closed_at"] is not None and merged["auto_close_at"] is None
    change = [e for e in merged["events"] if e["kind"] == "status"][-1]
    assert (change["from"], change["to"], change["actor"]) == ("new", "closed", AGENT)
    assert change["detail"] == "merged into REQ-2"
    assert (kept["status"], kept["merged_into"], kept["merged"]) == ("new", None, ["REQ-1"])
    assert merged["merged"] == []
    assert kept["participants"] == [OLGA, COLLEAGUE, IVAN]  # the colleague was in both
    [linked] = events(gate, "REQ-2", "merged")
    assert linked["detail"] == ("REQ-1 merged into this request; its messages stay under REQ-1; "
                                f"participants added: {IVAN}")  # fmt: skip
    assert "e2e-open-1@corp.example" in inbound_ids(gate, "REQ-1")  # the messages stay

    # The clients of REQ-1 are told once, in REQ-2's thread; REQ-2's own client is not.
    for client in (IVAN, COLLEAGUE):
        [told] = gate.sent_to(client)
        assert "[REQ-2]" in told["Subject"]
        text = text_of(told)
        assert "Your request [REQ-1]" in text and "merged into this request" in text
    assert gate.sent_to(OLGA) == []


def test_later_mail_to_the_old_tag_or_thread_is_filed_under_the_merged_into_request(gate):
    first, _ = two_requests(gate)
    gate.deliver(agent_reply(first, "#merge REQ-2", "merge-2@support.example.org"))
    gate.run_once(at(5))
    gate.smtp.clear()

    by_tag = make_mail(sender=IVAN, subject="Re: [REQ-1] Phones are down", body="Any news?",
                       message_id="later-1@corp.example")  # fmt: skip
    by_thread = reply_to(first.ack, sender=IVAN, body="Hello?", message_id="later-2@corp.example",
                         subject="Re: Phones are down")  # fmt: skip
    gate.deliver(by_tag, by_thread)
    gate.run_once(at(10))

    ids = inbound_ids(gate, "REQ-2")
    assert "later-1@corp.example" in ids and "later-2@corp.example" in ids
    assert "later-1@corp.example" not in inbound_ids(gate, "REQ-1")
    assert gate.show("REQ-1")["status"] == "closed"
    assert mails_about(gate, IVAN, "REQ-1") == []  # no "request is closed" reply
    assert "Any news?" in " ".join(text_of(m) for m in mails_about(gate, TEAM, "REQ-2"))

    # An agent answering the old notice of REQ-1 (its agents' reply address) answers REQ-2.
    gate.smtp.clear()
    gate.deliver(agent_reply(first, "We are on it.", "later-3@support.example.org"))
    gate.run_once(at(15))
    assert "We are on it." in one_text(gate, IVAN, "REQ-2")
    assert "We are on it." in one_text(gate, OLGA, "REQ-2")


def test_merge_stops_the_merged_requests_timers_and_keeps_the_others(gate):
    first, second = two_requests(gate)
    gate.deliver(agent_reply(first, "Fixed?\n\n#status awaiting_confirmation", "t-1@s.example"),
                 agent_reply(second, "Fixed?\n\n#status awaiting_confirmation", "t-2@s.example"))
    gate.run_once(at(5))
    before = gate.show("REQ-2")["auto_close_at"]
    assert gate.show("REQ-1")["auto_close_at"] is not None and before is not None

    gate.cli("requests", "merge", "REQ-1", "--into", "REQ-2", "--by", AGENT)
    merged, kept = gate.show("REQ-1"), gate.show("REQ-2")
    assert merged["auto_close_at"] is None and merged["status"] == "closed"
    assert (kept["status"], kept["auto_close_at"]) == ("awaiting_confirmation", before)


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("#merge REQ-1", "cannot be merged into itself"),
        ("#merge REQ-99", "there is no such request"),
        ("#merge nothing", "there is no such request"),
        ("#merge REQ-3", "the request is closed"),  # closed
        ("#merge REQ-4", "merged into another one itself"),
    ],
)
def test_merge_refusals_change_nothing(gate, line, why):
    first, *_ = open_requests(gate, (IVAN, "Phones are down"), (OLGA, "No calls"),
                              ("anna@corp.example", "Fax"), ("boris@corp.example", "Queue"),
                              ("gleb@corp.example", "IVR"))  # fmt: skip
    gate.cli("requests", "set-status", "REQ-3", "closed", "--by", AGENT)
    gate.cli("requests", "merge", "REQ-4", "--into", "REQ-5", "--by", AGENT)
    gate.deliver(agent_reply(first, line, "refused@support.example.org"))
    gate.run_once(at(5))

    shown = gate.show("REQ-1")
    assert (shown["status"], shown["merged_into"]) == ("new", None)
    assert gate.show("REQ-1")["participants"] == [IVAN]
    [told] = mails_about(gate, AGENT, "REQ-1")
    assert why in " ".join(text_of(told).split())
    assert mails_about(gate, IVAN, "REQ-1") == mails_about(gate, IVAN, "REQ-2") == []


def test_merging_a_closed_request_is_refused(gate):
    two_requests(gate)
    gate.cli("requests", "set-status", "REQ-1", "closed", "--by", AGENT)
    refused = gate.cli("requests", "merge", "REQ-1", "--into", "REQ-2", "--by", AGENT,
                       check=False)  # fmt: skip
    assert refused.returncode != 0 and "closed" in refused.stderr
    assert gate.show("REQ-1")["merged_into"] is None


def test_merge_from_a_client_is_no_command(gate):
    first, _ = two_requests(gate)
    gate.deliver(reply_to(first.ack, sender=IVAN, body="#merge REQ-2", message_id="cm@corp"))
    gate.run_once(at(5))
    assert gate.show("REQ-1")["merged_into"] is None
    assert gate.show("REQ-2")["participants"] == [OLGA]


def test_requests_merge_cli_refusals_and_json(gate):
    two_requests(gate)
    for args, why in [
        (("REQ-1", "--into", "REQ-2", "--by", IVAN), "is not an agent"),
        (("REQ-1", "--into", "REQ-1", "--by", AGENT), "into itself"),
        (("REQ-1", "--into", "REQ-9", "--by", AGENT), "no request REQ-9"),
    ]:
        refused = gate.cli("requests", "merge", *args, check=False)
        assert refused.returncode != 0 and why in refused.stderr, refused.stderr
    missing = gate.cli("requests", "merge", "REQ-9", "--into", "REQ-1", "--by", AGENT, check=False)
    assert missing.returncode != 0 and "no request REQ-9" in missing.stderr
    done = gate.cli("requests", "merge", "REQ-1", "--into", "[REQ-2]", "--by", AGENT, "--json")
    assert '"done": true' in done.stdout
    assert gate.show("REQ-1")["merged_into"] == "REQ-2"
    assert [e["actor"] for e in events(gate, "REQ-2", "merged")] == [AGENT]


def test_the_merged_requests_clients_are_told_in_its_language(make_gate):
    gate = make_gate(language="auto")
    open_requests(gate, (IVAN, "Не работают телефоны"), (OLGA, "No calls since nine"))
    gate.cli("requests", "merge", "REQ-1", "--into", "REQ-2", "--by", AGENT)
    [(raw,)] = gate.query(
        f"SELECT raw FROM outbound WHERE recipient = '{IVAN}' AND template = 'merged'"
    )
    told = email.message_from_bytes(bytes(raw), policy=email.policy.default)
    assert told["Subject"] == "[REQ-2] No calls since nine"
    assert "Ваша заявка [REQ-1]" in text_of(told)


def test_merge_in_the_subject_after_the_tag(gate):
    first, _ = two_requests(gate)
    gate.deliver(reply_to(first.notice, sender=AGENT, body="Same outage.",
                          message_id="subj@support.example.org",
                          subject="Re: [REQ-1] #merge REQ-2"))  # fmt: skip
    gate.run_once(at(5))
    assert gate.show("REQ-1")["merged_into"] == "REQ-2"


def test_reply_tokens_of_the_merged_request_speak_only_for_who_joined(make_gate):
    """With no room for CC participants the merged request's client does not join; the
    reply token of its old acknowledgement then gives it no voice in the other request."""
    gate = make_gate(trust={"reply_tokens": True, "max_cc_participants": 0})
    first, _ = two_requests(gate)
    assert "+" in first.ack["Reply-To"]  # the client's reply token
    gate.cli("requests", "merge", "REQ-1", "--into", "REQ-2", "--by", AGENT)
    assert gate.show("REQ-2")["participants"] == [OLGA]
    # From a second mailbox of his: only the token says it is Ivan's.
    gate.deliver(reply_to(first.ack, sender="ivan.home@mail.example", body="Resolve this issue",
                          message_id="tok@corp.example"))  # fmt: skip
    gate.run_once(at(5))
    shown = gate.show("REQ-2")
    assert shown["status"] == "new"
    [kind] = [m["kind"] for m in shown["messages"] if m["message_id"] == "tok@corp.example"]
    assert kind == "held"
