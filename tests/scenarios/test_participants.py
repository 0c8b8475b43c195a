"""Participants after the first message (SPEC §15): an agent's `#cc add|remove` and
`requests cc`, a client's later reply that names new addresses (`cc_policy`), the
caps and refusals of SPEC §14, and "Also in this request" in client notices."""

from __future__ import annotations

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

CLIENT = "ivan@corp.example"
COLLEAGUE = "olga@corp.example"
BOSS = "petr@corp.example"
STRANGER = "stranger@elsewhere.example"


def participants(gate, tag: str = "REQ-1") -> list[str]:
    return gate.show(tag)["participants"]


def kind_of(gate, message_id: str, tag: str = "REQ-1") -> str:
    [kind] = [m["kind"] for m in gate.show(tag)["messages"] if message_id in m["message_id"]]
    return kind


def events(gate, kind: str, tag: str = "REQ-1") -> list[dict]:
    return [e for e in gate.show(tag)["events"] if e["kind"] == kind]


# -- #cc add / #cc remove --------------------------------------------------------------


def test_cc_add_then_the_answer_of_that_mail_reaches_the_new_participant(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(agent_reply(request, f"#cc add Olga <{COLLEAGUE}>\n\nHello Ivan and Olga,\n"
                             "please restart the PBX.", "cc-1@support.example.org"))  # fmt: skip
    gate.run_once(at(5))

    assert participants(gate) == [CLIENT, COLLEAGUE]
    [added] = events(gate, "participant_added")
    assert (added["actor"], added["detail"]) == (AGENT, COLLEAGUE)
    answer = one_text(gate, COLLEAGUE, "REQ-1")
    assert "please restart the PBX" in answer and "#cc" not in answer
    assert f"Also in this request: {CLIENT}" in answer
    assert f"Also in this request: {COLLEAGUE}" in one_text(gate, CLIENT, "REQ-1")
    team = one_text(gate, TEAM, "REQ-1")  # one notice for the change, none for the answer
    assert f"{AGENT} changed the participants of [REQ-1]" in team
    assert f"added: {COLLEAGUE}" in team
    assert gate.sent_to(AGENT) == []  # the agent who wrote it is not told

    gate.smtp.clear()
    gate.deliver(agent_reply(request, "Is it better now?", "cc-2@support.example.org"))
    gate.run_once(at(10))
    assert "Is it better now?" in one_text(gate, COLLEAGUE, "REQ-1")


def test_cc_remove_stops_the_mail_to_that_participant(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"), cc=(COLLEAGUE,))
    assert participants(gate) == [CLIENT, COLLEAGUE]
    gate.deliver(agent_reply(request, f"#cc remove {COLLEAGUE}\n\nWorking on it.",
                             "rm-1@support.example.org"))  # fmt: skip
    gate.run_once(at(5))

    assert participants(gate) == [CLIENT]
    [removed] = events(gate, "participant_removed")
    assert removed["detail"] == COLLEAGUE
    assert mails_about(gate, COLLEAGUE, "REQ-1") == []
    answer = one_text(gate, CLIENT, "REQ-1")
    assert "Working on it." in answer and "Also in this request" not in answer
    assert f"removed: {COLLEAGUE}" in one_text(gate, TEAM, "REQ-1")
    # Removed, the address is a stranger to the request again: its mail is held.
    gate.smtp.clear()
    gate.deliver(make_mail(sender=COLLEAGUE, subject="Re: [REQ-1] Phones are down",
                           body="Still down here.", message_id="rm-2@corp.example"))  # fmt: skip
    gate.run_once(at(10))
    assert kind_of(gate, "rm-2@corp.example") == "held"


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("#cc add olga", "not one e-mail address"),
        ("#cc invite olga@corp.example", "not one e-mail address"),
        ("#cc add a@corp.example, b@corp.example", "not one e-mail address"),
        (f"#cc add {AGENT}", "never participants"),
        ("#cc add carol@agents.example.org", "never participants"),  # an agent by domain
        (f"#cc add {TEAM}", "never participants"),
        ("#cc add support@example.org", "never participants"),
        ("#cc add support+x.1.abc@example.org", "never participants"),
        ("#cc add spammer@junk.example", "blocked_senders"),
        (f"#cc add {CLIENT}", "a participant already"),
        (f"#cc remove {CLIENT}", "requester cannot be removed"),
        (f"#cc remove {BOSS}", "not a CC participant"),
        (f"#cc remove {AGENT}", "not a CC participant"),
        ("#cc add third@corp.example", "max_cc_participants"),
    ],
)
def test_cc_refusals_change_nothing_and_tell_the_agent_why(make_gate, line, refusal):
    gate = make_gate(trust={"blocked_senders": ["@junk.example"], "max_cc_participants": 1})
    [request] = open_requests(gate, (CLIENT, "Phones are down"), cc=(COLLEAGUE,))
    gate.deliver(agent_reply(request, line, "refused@support.example.org"))
    gate.run_once(at(5))

    assert participants(gate) == [CLIENT, COLLEAGUE]
    [told] = mails_about(gate, AGENT, "REQ-1")
    assert refusal in " ".join(text_of(told).split()), text_of(told)
    assert mails_about(gate, TEAM, "REQ-1") == []
    assert mails_about(gate, CLIENT, "REQ-1") == []
    assert events(gate, "refused")[0]["detail"].startswith("cc: ")


def test_cc_from_a_client_or_a_stranger_is_no_command(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_to(request.ack, sender=CLIENT, body=f"#cc add {BOSS}", message_id="c@c"))
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT]
    assert events(gate, "participant_added") == []


def test_cc_on_a_closed_request_is_refused(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(agent_reply(request, "#status closed", "close@support.example.org"))
    gate.run_once(at(5))
    gate.smtp.clear()
    gate.deliver(agent_reply(request, f"#cc add {BOSS}", "late@support.example.org"))
    gate.run_once(at(10))
    assert participants(gate) == [CLIENT]
    assert "request is closed" in text_of(mails_about(gate, AGENT, "REQ-1")[0])


def test_cc_lines_past_ten_are_not_read(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    lines = "\n".join(f"#cc add person{n}@corp.example" for n in range(15))
    gate.deliver(agent_reply(request, lines, "many@support.example.org"))
    gate.run_once(at(5))
    assert len(participants(gate)) == 11  # the requester and the first ten
    assert "5 lines past the first 10" in events(gate, "refused")[0]["detail"]
    assert len(mails_about(gate, TEAM, "REQ-1")) == 1


# -- requests cc ------------------------------------------------------------------------


def test_requests_cc_adds_and_removes_as_an_agent(gate):
    open_requests(gate, (CLIENT, "Phones are down"))
    done = gate.cli("requests", "cc", "REQ-1", "add", COLLEAGUE, "--by", AGENT)
    assert "participants changed" in done.stdout
    assert participants(gate) == [CLIENT, COLLEAGUE]
    refused = gate.cli("requests", "cc", "REQ-1", "add", BOSS, "--by", CLIENT, check=False)
    assert refused.returncode != 0 and "is not an agent" in refused.stderr
    refused = gate.cli("requests", "cc", "REQ-1", "remove", CLIENT, "--by", AGENT, check=False)
    assert refused.returncode != 0 and "requester" in refused.stderr
    gate.cli("requests", "cc", "REQ-1", "remove", COLLEAGUE, "--by", AGENT)
    assert participants(gate) == [CLIENT]
    assert [e["actor"] for e in events(gate, "participant_removed")] == [AGENT]
    queued = gate.query("SELECT template, recipient FROM outbound WHERE template LIKE 'agent_p%'")
    assert queued == [("agent_participants", TEAM)] * 2  # added, removed
    assert gate.query(f"SELECT id FROM outbound WHERE recipient = '{COLLEAGUE}'") == []


# -- a client's later reply names new addresses ------------------------------------------


def notice_id(gate, address: str) -> str:
    """The Message-ID of the first notification sent to `address`."""
    [(found,)] = gate.query(f"SELECT message_id FROM messages WHERE direction = 'out' "
                           f"AND to_address = '{address}' ORDER BY id LIMIT 1")  # fmt: skip
    return found


def reply_all(gate, *, sender: str, body: str, message_id: str, proven: bool = True,
              **fields) -> bytes:  # fmt: skip
    """A client's reply that names others: to a notice it got (`proven`), or a new mail
    with the tag only (as anyone could write in its name)."""
    thread = {"in_reply_to": notice_id(gate, sender)} if proven else {}
    return make_mail(sender=sender, subject="Re: [REQ-1] Phones are down", body=body,
                     message_id=message_id, **thread, **fields)  # fmt: skip


def test_reply_all_adds_a_colleague_and_the_agents_are_told_in_that_notice(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_all(gate, sender=CLIENT, body="Olga sees it too.",
                           message_id="all-1@corp.example",
                           cc=[COLLEAGUE, AGENT, TEAM, "support+x@example.org"]))  # fmt: skip
    gate.run_once(at(5))

    assert participants(gate) == [CLIENT, COLLEAGUE]
    [added] = events(gate, "participant_added")
    assert added["actor"] == CLIENT and COLLEAGUE in added["detail"]
    [notice] = mails_about(gate, TEAM, "REQ-1")  # one notice for the message
    text = text_of(notice)
    assert "Olga sees it too." in text
    assert f"Joined the request (in To or Cc of this mail): {COLLEAGUE}" in text
    html = notice.get_body(("html",)).get_content()
    assert f"<b>Joined the request (in To or Cc of this mail):</b> {COLLEAGUE}" in html
    assert mails_about(gate, COLLEAGUE, "REQ-1") == []  # told nothing until there is news

    gate.smtp.clear()
    gate.deliver(agent_reply(request, "Restart the PBX, please.", "all-2@support.example.org"))
    gate.run_once(at(10))
    assert "Restart the PBX" in one_text(gate, COLLEAGUE, "REQ-1")


def test_reply_with_new_addresses_in_to_adds_them_too(gate):
    open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_all(gate, sender=CLIENT, to=f"support@example.org, {BOSS}",
                           body="Adding my boss.", message_id="to-1@corp.example"))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT, BOSS]


def test_a_reply_that_does_not_prove_its_sender_adds_nobody(gate):
    """Anyone can write `From: ivan@corp.example` with the tag: without a proof the
    addresses it names are not added (they would get the answers), only named to agents."""
    open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_all(gate, sender=CLIENT, body="Add me", message_id="forged@corp.example",
                           cc=["spy@elsewhere.example"], proven=False))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT]
    [left] = events(gate, "participant_not_added")
    assert left["detail"].startswith("spy@elsewhere.example: the reply does not prove its sender")
    assert "Not added (the reply does not prove its sender" in one_text(gate, TEAM, "REQ-1")


def test_a_dmarc_pass_proves_the_sender_of_a_new_mail_with_the_tag(gate):
    open_requests(gate, (CLIENT, "Phones are down"))
    passed = {"Authentication-Results": "mx.example.org; dmarc=pass header.from=corp.example"}
    gate.deliver(reply_all(gate, sender=CLIENT, body="FYI", message_id="dmarc@corp.example",
                           cc=[COLLEAGUE], proven=False, headers=passed))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT, COLLEAGUE]


def test_cc_policy_ignore_keeps_the_participants(make_gate):
    gate = make_gate(cc_policy="ignore")
    open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_all(gate, sender=CLIENT, body="FYI", message_id="ign@corp.example",
                           cc=[COLLEAGUE]))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT]
    assert "Joined" not in one_text(gate, TEAM, "REQ-1")


def test_reply_cc_is_capped_and_the_rest_named_to_agents(make_gate):
    gate = make_gate(trust={"max_cc_participants": 2, "blocked_senders": ["bad@corp.example"]})
    open_requests(gate, (CLIENT, "Phones are down"), cc=(COLLEAGUE,))
    cc = ["bad@corp.example", "a@corp.example", "b@corp.example", "c@corp.example"]
    gate.deliver(reply_all(gate, sender=COLLEAGUE, body="More people.",
                           message_id="cap@corp.example", cc=cc))  # fmt: skip
    gate.run_once(at(5))

    assert participants(gate) == [CLIENT, COLLEAGUE, "a@corp.example"]  # a CC participant adds
    [left] = events(gate, "participant_not_added")
    assert left["detail"] == "b@corp.example, c@corp.example: past [trust] max_cc_participants = 2"
    text = " ".join(one_text(gate, TEAM, "REQ-1").split())
    assert "Not added (past [trust] max_cc_participants = 2): b@corp.example, c@corp.example" \
        in text  # fmt: skip
    assert "bad@corp.example" not in text  # blocked: never a participant, not even named


def test_a_strangers_reply_with_the_tag_adds_nobody(gate):
    open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(make_mail(sender=STRANGER, subject="Re: [REQ-1] Phones are down", body="Hi",
                           message_id="str@elsewhere.example", cc=[BOSS]))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT]
    assert kind_of(gate, "str@elsewhere.example") == "held"


# -- "Also in this request" ------------------------------------------------------------------


def test_client_notices_name_the_other_participants_capped(gate):
    cc = tuple(f"p{n}@corp.example" for n in range(7))
    [request] = open_requests(gate, (CLIENT, "Phones are down"), cc=cc)
    ack = text_of(request.ack)
    assert "Also in this request: p0@corp.example, p1@corp.example, p2@corp.example, " \
        "p3@corp.example, p4@corp.example and 2 more" in ack  # fmt: skip
    assert CLIENT not in ack.split("Also in this request:")[1].split("\n")[0]
    html = request.ack.get_body(("html",)).get_content()
    assert "Also in this request: p0@corp.example" in html
    assert AGENT not in ack


def test_a_lone_requester_sees_no_participants_line(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    assert "Also in this request" not in text_of(request.ack)


def test_russian_notices_name_the_participants_in_russian(make_gate):
    gate = make_gate(language="ru")
    [request] = open_requests(gate, (CLIENT, "Не работают телефоны"), cc=(COLLEAGUE,))
    assert f"Также в этой заявке: {COLLEAGUE}" in text_of(request.ack)


def test_a_reply_that_closes_the_request_adds_nobody(gate):
    open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(reply_all(gate, sender=CLIENT, body="Resolve this issue",
                           message_id="bye@corp.example", cc=[COLLEAGUE]))  # fmt: skip
    gate.run_once(at(5))
    assert gate.show("REQ-1")["status"] == "closed"
    assert participants(gate) == [CLIENT]


def test_cc_in_a_note_is_named_in_the_note_one_notice_to_agents(gate):
    [request] = open_requests(gate, (CLIENT, "Phones are down"))
    gate.deliver(agent_reply(request, f"#note\n#cc add {COLLEAGUE}\nShe runs their PBX.",
                             "note-cc@support.example.org"))  # fmt: skip
    gate.run_once(at(5))
    assert participants(gate) == [CLIENT, COLLEAGUE]
    team = one_text(gate, TEAM, "REQ-1")  # the note, naming the change: one notice
    assert "Internal note" in team and f"Participants: added {COLLEAGUE}" in team
    assert mails_about(gate, COLLEAGUE, "REQ-1") == mails_about(gate, CLIENT, "REQ-1") == []
