"""Conversations as teams run them (SPEC §15): the owner, one mail per event, thanks only.

Each test opens its requests in one round and moves them in parallel, one row
of a table per request, and counts the mails each recipient got, exactly.
"""

from __future__ import annotations

import pytest

from tests.harness import AGENT, LEAD, TEAM
from tests.mails import make_mail
from tests.scenarios.test_attachments import attach
from tests.scenarios.test_workflow import (
    Opened,
    agent_reply,
    at,
    client_mail,
    mails_about,
    open_requests,
    set_statuses,
    status_changes,
    text_of,
)

OTHER_AGENT = "carol@agents.example.org"


def counts(gate, request: Opened, *addresses: str) -> dict[str, int]:
    return {address: len(mails_about(gate, address, request.tag)) for address in addresses}


def history(gate, tag: str, kind: str) -> list[str]:
    return [e["detail"] for e in gate.show(tag)["events"] if e["kind"] == kind]


# -- an agent's message: one mail per client, the owner ------------------------------------

# (subject, the agent's mail, status after, text the client's one mail has, owner after)
AGENT_ROWS = [
    ("Answer and awaiting", "Hello,\n\nwe restarted the trunk.\n\n#status awaiting_confirmation",
     "awaiting_confirmation", "closed automatically on", AGENT),
    ("Answer and on hold", "We asked your SIP provider.\n#status on_hold", "on_hold",
     "third party", AGENT),
    ("Answer and closed", "Done, the line is back.\n#status closed", "closed", "is now closed",
     AGENT),
    ("Answer, refused status", "Looking into it.\n#status nonsense", "in_progress",
     "Looking into it.", AGENT),
    ("Status alone", "#status waiting_for_client", "waiting_for_client", "paused", None),
    ("Answer assigned to Carol", f"We are on it.\n#assign {OTHER_AGENT}", "in_progress",
     "We are on it.", OTHER_AGENT),
    ("Only a note", "#note\nthe provider is slow today", "new", None, None),
    ("Two refusals", "#assign stranger@elsewhere.example\n#status nonsense", "new", None, None),
]  # fmt: skip
REFUSING = ("Answer, refused status", "Two refusals")  # Alice gets one notice of refusal


def test_an_agents_message_is_one_mail_per_client_and_its_answer_claims_the_owner(gate):
    clients = [f"client{n}@corp.example" for n in range(len(AGENT_ROWS))]
    requests = open_requests(gate, *zip(clients, [row[0] for row in AGENT_ROWS], strict=True))
    gate.deliver(*(agent_reply(request, row[1], f"agent-{request.tag}@support.example.org")
                   for request, row in zip(requests, AGENT_ROWS, strict=True)))  # fmt: skip
    gate.run_once(at(5))
    for request, (subject, _, status, words, owner) in zip(requests, AGENT_ROWS, strict=True):
        shown = gate.show(request.tag)
        assert shown["status"] == status, subject
        assert shown["owner"] == owner, subject
        mails = mails_about(gate, request.client, request.tag)
        assert len(mails) == (0 if words is None else 1), subject
        if words is not None:
            assert words in text_of(mails[0]), subject
        assert counts(gate, request, TEAM, AGENT, OTHER_AGENT) == {
            TEAM: 1 if subject == "Only a note" else 0,  # only the note reaches the team
            AGENT: 1 if subject in REFUSING else 0,  # the refusals, to Alice, in one notice
            OTHER_AGENT: 0,
        }, subject
    [refusals] = mails_about(gate, AGENT, requests[-1].tag)
    assert '"#assign stranger@elsewhere.example"' in text_of(refusals)
    assert '"#status nonsense"' in text_of(refusals)
    answered = requests[0]
    [mail] = mails_about(gate, answered.client, answered.tag)
    text = text_of(mail)
    assert text.index("we restarted the trunk") < text.index("The work on your request")
    assert mail["Auto-Submitted"] is None  # the relayed answer, with the news inside it
    assert history(gate, answered.tag, "assign") == [f"{AGENT} (first answer)"]
    kinds = [e["kind"] for e in gate.show(answered.tag)["events"]]
    assert kinds == ["created", "assign", "status", "answer", "status"]


def test_the_first_answer_claims_only_an_unowned_request(gate):
    [request] = open_requests(gate, ("anna@corp.example", "Fax fails"))
    gate.deliver(agent_reply(request, "A first look: the fax line is up.", "a1@support.example.org",
                             sender=OTHER_AGENT))  # fmt: skip
    gate.run_once(at(5))
    gate.deliver(agent_reply(request, "Alice here: please retry.", "a2@support.example.org"))
    gate.run_once(at(10))
    shown = gate.show(request.tag)
    assert shown["owner"] == OTHER_AGENT  # Alice's later answer does not take it over
    assert history(gate, request.tag, "assign") == [f"{OTHER_AGENT} (first answer)"]
    gate.deliver(agent_reply(request, "#assign me", "a3@support.example.org"))
    gate.run_once(at(15))
    assert gate.show(request.tag)["owner"] == AGENT  # #assign still changes it


# -- a client's message: one notice to the agents ------------------------------------------

# (subject, status set first, the client's words, status after, mails to client/TEAM/LEAD)
CLIENT_ROWS = [
    ("Resolve", "on_hold", "Resolve this issue", "closed", (1, 1, 0)),
    ("Approval", "awaiting_confirmation",
     "Everything works, the request can be closed.", "closed", (1, 1, 0)),
    ("Cancel", None, "Cancel request", "closed", (1, 1, 0)),
    ("Escalate", None, "Escalate: no answer for three days\n\nThe fax still fails.",
     "escalated", (1, 1, 1)),
    ("Refused escalation", None, "Escalate: ASAP", "new", (1, 1, 0)),
    ("Plain reply", "waiting_for_client", "Here are the logs you asked for.", "in_progress",
     (0, 1, 0)),
]  # fmt: skip


def test_a_clients_message_is_one_notice_to_each_agent(gate):
    clients = [f"c{n}@corp.example" for n in range(len(CLIENT_ROWS))]
    requests = open_requests(gate, *zip(clients, [row[0] for row in CLIENT_ROWS], strict=True))
    set_statuses(gate, requests, [row[1] for row in CLIENT_ROWS], minutes=5)
    gate.deliver(*(client_mail(request, row[2], f"client-{request.tag}@corp.example")
                   for request, row in zip(requests, CLIENT_ROWS, strict=True)))  # fmt: skip
    gate.run_once(at(10))
    for request, (subject, _, _, status, expected) in zip(requests, CLIENT_ROWS, strict=True):
        assert gate.show(request.tag)["status"] == status, subject
        got = counts(gate, request, request.client, TEAM, LEAD)
        assert got == dict(zip((request.client, TEAM, LEAD), expected, strict=True)), subject
    escalated = requests[3]
    [team] = mails_about(gate, TEAM, escalated.tag)
    assert "ESCALATED" in text_of(team) and "The fax still fails." in text_of(team)


# -- thanks only -----------------------------------------------------------------------------

# (client, subject, the reply, status after)
THANKS_ROWS = [
    ("olga@corp.example", "Trunk down", "Thanks!", "awaiting_confirmation"),
    ("ivan@corp.example", "Fax fails", "Thank you, will check", "awaiting_confirmation"),
    ("pyotr@corp.example", "Нет звонков", "Большое спасибо, посмотрю", "awaiting_confirmation"),
    ("vera@corp.example", "Очередь", "Спасибо!", "awaiting_confirmation"),
    ("max@corp.example", "IVR", "Thanks, but it still fails", "in_progress"),
    ("lena@corp.example", "Запись", "Спасибо, но ошибка осталась", "in_progress"),
    ("sam@corp.example", "Voicemail", "Thanks for nothing.", "in_progress"),
    ("ira@corp.example", "Fax", "Thanks!\nDon't notify me", "awaiting_confirmation"),
]


def test_a_reply_that_only_thanks_keeps_the_status_and_its_clock(gate):
    requests = open_requests(gate, *((client, subject) for client, subject, _, _ in THANKS_ROWS))
    set_statuses(gate, requests, ["awaiting_confirmation"] * len(requests), minutes=5)
    before = {request.tag: gate.show(request.tag)["auto_close_at"] for request in requests}
    gate.deliver(*(client_mail(request, row[2], f"thanks-{request.tag}@corp.example")
                   for request, row in zip(requests, THANKS_ROWS, strict=True)))  # fmt: skip
    gate.run_once(at(10))
    for request, (_, _, words, status) in zip(requests, THANKS_ROWS, strict=True):
        shown = gate.show(request.tag)
        assert shown["status"] == status, words
        kept = status == "awaiting_confirmation"
        assert (shown["auto_close_at"] == before[request.tag]) is kept, words
        assert counts(gate, request, request.client, TEAM) == {request.client: 0, TEAM: 1}, words
        [notice] = mails_about(gate, TEAM, request.tag)
        assert ("Only thanks" in text_of(notice)) is kept, words
        assert words in text_of(notice).replace("\r\n", "\n")
        assert bool(history(gate, request.tag, "thanks")) is kept, words
        assert status_changes(shown)[-1][1] == status
    assert gate.show("REQ-8")["notify"] is False  # the command of the thank-you applied


@pytest.mark.parametrize("status", ["in_progress", "on_hold"])
def test_thanks_in_another_status_is_a_plain_reply(gate, status):
    [request] = open_requests(gate, ("olga@corp.example", "Trunk down"))
    set_statuses(gate, [request], [status], minutes=5)
    gate.deliver(client_mail(request, "Thanks!", "thanks-1@corp.example"))
    gate.run_once(at(10))
    assert gate.show(request.tag)["status"] == status
    assert history(gate, request.tag, "thanks") == []
    assert "Only thanks" not in text_of(mails_about(gate, TEAM, request.tag)[0])


def test_thanks_to_a_cancellation_by_an_agent_keeps_it_closing(gate):
    [request] = open_requests(gate, ("olga@corp.example", "Trunk down"))
    set_statuses(gate, [request], ["cancelled"], minutes=5)
    closes = gate.show(request.tag)["auto_close_at"]
    gate.deliver(client_mail(request, "Спасибо!", "thanks-c@corp.example"))
    gate.run_once(at(10))
    shown = gate.show(request.tag)
    assert (shown["status"], shown["auto_close_at"]) == ("cancelled", closes)


def test_thanks_with_a_file_reopens(gate):
    [request] = open_requests(gate, ("olga@corp.example", "Trunk down"))
    set_statuses(gate, [request], ["awaiting_confirmation"], minutes=5)
    mail = client_mail(request, "Thanks!", "thanks-file@corp.example")
    gate.deliver(attach(mail, "screen.png", b"\x89PNG...."))  # a screenshot may show the problem
    gate.run_once(at(10))
    assert gate.show(request.tag)["status"] == "in_progress"


# -- the expected first answer ---------------------------------------------------------------

# (the moment the first mail arrives, its subject, the words before the due moment, that moment)
DUE_ROWS = [
    ("2026-11-27T17:00:00+03:00", "Phones are down",  # a Friday evening: 1 h, then Monday
     "by", "Monday, 30 November 2026, 12:00 MSK"),
    ("2026-11-27T17:00:00+03:00", "Не работают телефоны",
     "не позднее:", "понедельник, 30 ноября 2026 г., 12:00 (MSK)"),
    ("2026-12-30T16:00:00+03:00", "Fax fails",  # 2 h, then Dec 31 and the New Year days off
     "by", "Monday, 11 January 2027, 11:00 MSK"),
    ("2026-11-26T10:00:00+03:00", "Queue silent", "by", "Thursday, 26 November 2026, 14:00 MSK"),
]  # fmt: skip


@pytest.mark.parametrize(("now", "subject", "words", "due"), DUE_ROWS)
def test_acknowledgement_names_when_the_first_answer_is_due(make_gate, now, subject, words, due):
    gate = make_gate(language="auto", sla={"first_response_hours": 4})
    gate.deliver(make_mail(sender="anna@corp.example", subject=subject, body=f"{subject}.",
                           message_id="due-1@corp.example"))  # fmt: skip
    gate.run_once(now)
    [ack] = gate.sent_to("anna@corp.example")
    assert f"{words} {due}." in text_of(ack)
    assert f"<b>{due}</b>" in ack.get_body(("html",)).get_content()
    shown = gate.show("REQ-1", now)
    assert shown["sla"]["first_response"]["due_at"] is not None  # the same moment the SLA uses


def test_acknowledgement_without_an_sla_target_says_soon(gate):
    gate.deliver(make_mail(sender="anna@corp.example", subject="Phones are down", body="Down.",
                           message_id="due-2@corp.example"))  # fmt: skip
    gate.run_once(at(0))
    [ack] = gate.sent_to("anna@corp.example")
    assert "will answer you soon" in text_of(ack)
