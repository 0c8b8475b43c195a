"""`#fwd` in-process (SPEC §15, issue 23): an agent forwards a client's mail to the
support address, and the request that opens is the client's.

The agents' mail is tests/fixtures/forwards (Gmail, Outlook in English and
Russian, Apple Mail, Thunderbird with the client's mail attached as .eml);
the rules and refusals are tried with `make_mail`. Tried as an attacker
would: an address in the forwarded text, a forged agent, a forwarded sender
that is ours, an agent, a robot or blocked, the acknowledgement caps.
"""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

FORWARDS = Path(__file__).resolve().parent.parent / "fixtures" / "forwards"
NOW = "2026-12-07T12:00:00+03:00"
LATER = "2026-12-07T12:30:00+03:00"
FOREIGN = {"Authentication-Results": "mx.evil.example; dmarc=pass header.from=support.example.org"}
CLIENT = "boris@client.example.net"

# fixture -> (requester, subject, words of the forwarded text, the agent's note or "")
FIXTURES = {
    "gmail_agent_fwd": (
        "boris.petrov@client.example.net",
        "Fax line down since this morning",
        "Incoming faxes\nfail after the first page.",
        "Boris wrote to me directly; he is on the premium plan.",
    ),
    "outlook_agent_fw_en": (
        "maria.ivanova@acme.example",
        "Handsets for the new office, order 5531",
        "Can your\nengineer set them up on the 15th?",
        "",
    ),
    "outlook_agent_fw_ru": (
        "i.sidorov@zavod-meridian.example",
        "Не работает АТС",
        "С утра не работает АТС",
        "Клиент звонил, просит срочно.",
    ),
    "applemail_agent_fwd": (
        "olga.belova@newtel.example",
        "Call recordings missing",
        "since Friday no call recordings appear in the portal for our queue 600.",
        "",
    ),
    "thunderbird_agent_fwd_attached": (
        "e.novak@shop-novak.example",
        "Invoice 2026-118 looks wrong",
        "invoice 2026-118 charges us for 40 extensions; we have 25.",
        "Billing question, attached as she sent it.",
    ),
}


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def forward(body: str, *, sender: str = f"Alice <{AGENT}>", subject: str = "Fwd: Fax down",
            message_id: str = "fwd1@support.example.org", headers=None) -> bytes:  # fmt: skip
    """An agent's Gmail-style inline forward with `body` above it (its #fwd line)."""
    forwarded = (
        "---------- Forwarded message ---------\n"
        f"From: Boris <{CLIENT}>\n"
        "Date: Mon, Dec 7, 2026 at 9:12 AM\n"
        "Subject: Fax down\n"
        f"To: Alice <{AGENT}>\n\n"
        "Our fax is down since 8:30.\n"
    )
    return make_mail(sender=sender, subject=subject, body=f"{body}\n\n{forwarded}",
                     message_id=message_id, headers=headers)  # fmt: skip


def refusal(gate) -> str:
    [notice] = gate.sent_to(AGENT)
    assert notice["Subject"].startswith("Re: ") and "[REQ-" not in notice["Subject"]
    assert notice["In-Reply-To"] == "<fwd1@support.example.org>"
    assert notice["X-Mailgate-Request"] is None and notice["List-Unsubscribe"] is None
    return text_of(notice)


def assert_nothing_opened(gate) -> None:
    assert gate.requests() == []
    assert [m.rcpt_tos for m in gate.smtp.messages] == [(AGENT,)], "only the agent is told"


@pytest.mark.parametrize("name", FIXTURES)
def test_a_forward_opens_the_forwarded_senders_request(gate, name):
    requester, subject, words, note = FIXTURES[name]
    gate.deliver((FORWARDS / f"{name}.eml").read_bytes())
    gate.run_once(NOW)
    shown = gate.show("REQ-1")
    assert (shown["requester"], shown["subject"]) == (requester, subject)
    assert shown["owner"] == AGENT and shown["participants"] == [requester]
    [first] = [m for m in shown["messages"] if m["direction"] == "in"]
    assert (first["from"], first["kind"]) == (requester, "client")
    assert words in first["text"] and "#fwd" not in first["text"]
    if note:
        assert note not in first["text"]
    kinds = [e["kind"] for e in shown["events"]]
    assert kinds == ["created", "forwarded", "assign", *(["note"] if note else [])]
    # The client: the acknowledgement alone, with the tag, and never the agent's note.
    [ack] = gate.sent_to(requester)
    assert ack["Subject"].startswith("[REQ-1] ") and subject in ack["Subject"]
    assert note == "" or note not in text_of(ack)
    # The agent: one confirmation naming the requester and the tag; the team its notice.
    [confirmation] = gate.sent_to(AGENT)
    text = text_of(confirmation)
    assert f"Your forward opened [REQ-1] for {requester}" in text and words in text
    assert confirmation["Reply-To"].startswith("support+a.1.")
    [team] = gate.sent_to(TEAM)
    assert f"Forwarded by {AGENT}" in text_of(team) and words in text_of(team)


def test_the_russian_forward_makes_a_russian_request(make_gate):
    gate = make_gate(language="auto")
    gate.deliver((FORWARDS / "outlook_agent_fw_ru.eml").read_bytes())
    gate.run_once(NOW)
    [ack] = gate.sent_to("i.sidorov@zavod-meridian.example")
    assert "Ваша заявка [REQ-1] «Не работает АТС» зарегистрирована." in text_of(ack)
    assert gate.query("select language from requests") == [("ru",)]


def test_an_address_in_the_forwarded_text_never_becomes_the_requester(gate):
    gate.deliver((FORWARDS / "gmail_agent_fwd.eml").read_bytes())
    gate.run_once(NOW)
    assert gate.show("REQ-1")["requester"] == "boris.petrov@client.example.net"
    assert gate.sent_to("helpdesk@contractor.example") == []


def test_the_top_most_forwarded_block_names_the_requester_in_a_chain(gate):
    inner = (
        "---------- Forwarded message ---------\n"
        "From: Spammer <win@prize.example>\nDate: Sun, Dec 6, 2026\nSubject: You won\n\n"
        "Claim your prize.\n"
    )
    body = f"#fwd\n\n---------- Forwarded message ---------\nFrom: Boris <{CLIENT}>\n" \
        f"Date: Mon, Dec 7, 2026\nSubject: Is this spam?\nTo: <{AGENT}>\n\nIs this real?\n\n{inner}"
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Fwd: Is this spam?", body=body,
                           message_id="fwd1@support.example.org"))  # fmt: skip
    gate.run_once(NOW)
    assert gate.show("REQ-1")["requester"] == CLIENT
    assert gate.sent_to("win@prize.example") == []


def test_the_clients_commands_in_the_forwarded_text_do_not_count(gate):
    gate.deliver((FORWARDS / "thunderbird_agent_fwd_attached.eml").read_bytes())
    gate.run_once(NOW)  # the attached mail says "Don't notify me": Eva's words to Alice
    assert gate.show("REQ-1")["notify"] is True
    assert len(gate.sent_to("e.novak@shop-novak.example")) == 1


def test_the_client_reply_and_the_agents_answer_go_on_in_the_new_request(gate):
    gate.deliver(forward("#fwd"))
    gate.run_once(NOW)
    [confirmation] = gate.sent_to(AGENT)
    gate.smtp.clear()
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", to=confirmation["Reply-To"],
                           subject="Re: [REQ-1] Fax down", body="Please restart the fax.",
                           message_id="a2@support.example.org", headers=FOREIGN))  # fmt: skip
    gate.run_once(LATER)
    [answer] = gate.sent_to(CLIENT)
    assert "Please restart the fax." in text_of(answer)
    assert gate.show("REQ-1")["status"] == "in_progress"


def test_assign_in_the_forward_gives_the_request_to_another_agent(gate):
    gate.deliver(forward("#fwd\n#assign bob@agents.example.org"))
    gate.run_once(NOW)
    shown = gate.show("REQ-1")
    assert shown["owner"] == "bob@agents.example.org"
    assert [e["kind"] for e in shown["events"]] == ["created", "forwarded", "assign", "assign"]
    assert len(gate.sent_to("bob@agents.example.org")) == 1  # the owner's new-request notice


def test_a_forward_without_a_findable_sender_is_refused_and_opens_nothing(gate):
    gate.deliver((FORWARDS / "outlook_agent_fw_name_only.eml").read_bytes()
                 .replace(b"DB9PR04MB8417NAME1C2F5E1A4B7D9E8F3A2C@DB9PR04MB8417.eurprd04.prod"
                          b".outlook.example", b"fwd1@support.example.org"))  # fmt: skip
    gate.run_once(NOW)
    assert_nothing_opened(gate)
    text = refusal(gate)
    assert '"Kowalski, Jan" is not one valid e-mail address' in text
    # The address Jan wrote in his text is not taken instead.
    assert gate.sent_to("jan.kowalski@client.example.net") == []
    assert gate.query("select kind, request_id from messages where direction = 'in'") == [
        ("agent", None)
    ]


@pytest.mark.parametrize(
    ("sender", "why"),
    [
        (f"Alice <{AGENT}>", "is an agent's or team address"),
        ("Team <team@example.org>", "is an agent's or team address"),
        ("Support <support@example.org>", "is an address of this support desk"),
        ("Support <support+a.1.abc@example.org>", "is an address of this support desk"),
        ("Mail Delivery System <MAILER-DAEMON@client.example.net>", "is a machine's address"),
        ("<boris@client.example.net>, <eve@client.example.net>", "is not one valid e-mail"),
        ("", "names no sender"),
    ],
)
def test_a_forwarded_sender_that_cannot_be_a_client_is_refused(gate, sender, why):
    from_line = f"From: {sender}\n" if sender else ""
    body = ("#fwd\n\n---------- Forwarded message ---------\n"
            f"{from_line}Date: Mon, Dec 7, 2026\nSubject: Fax down\n"
            f"To: <{AGENT}>\n\nHelp.\n")  # fmt: skip
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Fwd: Fax down", body=body,
                           message_id="fwd1@support.example.org"))  # fmt: skip
    gate.run_once(NOW)
    assert_nothing_opened(gate)
    assert why in refusal(gate)


def test_a_blocked_forwarded_sender_is_refused(make_gate):
    gate = make_gate(trust={"blocked_senders": ["@client.example.net"]})
    gate.deliver(forward("#fwd"))
    gate.run_once(NOW)
    assert_nothing_opened(gate)
    assert "(@client.example.net in [trust] blocked_senders)" in refusal(gate)


def test_fwd_without_a_forwarded_message_is_refused(gate):
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Fax down", message_id="fwd1@support"
                           ".example.org", body="#fwd\n\nBoris says his fax is down."))  # fmt: skip
    gate.run_once(NOW)
    assert_nothing_opened(gate)
    assert "the mail holds no forwarded message" in refusal(gate)


def test_fwd_with_an_address_after_it_is_refused(gate):
    gate.deliver(forward("#fwd eve@elsewhere.example"))
    gate.run_once(NOW)
    assert_nothing_opened(gate)
    assert "#fwd takes nothing after it" in refusal(gate)
    assert gate.sent_to("eve@elsewhere.example") == []


def test_fwd_from_an_unproven_agent_is_held_and_opens_nothing(gate):
    gate.deliver(forward("#fwd", headers=FOREIGN))
    report = gate.run_once(NOW)
    assert report.held == 1
    assert gate.requests() == [] and gate.smtp.messages == []


def test_fwd_from_a_client_is_their_own_text(gate):
    gate.deliver(forward("#fwd", sender="Eve <eve@elsewhere.example>"))
    gate.run_once(NOW)
    shown = gate.show("REQ-1")
    assert shown["requester"] == "eve@elsewhere.example" and shown["owner"] is None
    assert gate.sent_to(CLIENT) == []


def test_the_acknowledgement_keeps_to_the_per_sender_cap(make_gate):
    gate = make_gate(max_new_requests_per_sender=1)
    gate.deliver(make_mail(sender=f"Boris <{CLIENT}>", subject="Phones", body="Down.",
                           message_id="c1@client.example.net"))  # fmt: skip
    gate.run_once(NOW)
    gate.smtp.clear()
    gate.deliver(forward("#fwd"))
    gate.run_once(LATER)
    shown = gate.show("REQ-2")
    assert shown["requester"] == CLIENT
    assert gate.sent_to(CLIENT) == []
    assert any(e["kind"] == "not_sent" for e in shown["events"])
    [confirmation] = gate.sent_to(AGENT)
    assert f"{CLIENT} got no acknowledgement" in text_of(confirmation)


def test_fwd_in_mail_about_a_request_opens_a_new_linked_request(gate):
    gate.deliver(make_mail(sender=f"Boris <{CLIENT}>", subject="Phones", body="Down.",
                           message_id="c1@client.example.net"))  # fmt: skip
    gate.run_once(NOW)
    gate.smtp.clear()
    gate.deliver(forward("#fwd", subject="Fwd: [REQ-1] Fax down"))
    gate.run_once(LATER)
    new = gate.show("REQ-2")
    assert (new["requester"], new["subject"]) == (CLIENT, "Fax down")
    assert new["linked_request"] == "REQ-1"
    old = gate.show("REQ-1")
    assert old["status"] == "new"
    [event] = [e for e in old["events"] if e["kind"] == "forwarded"]
    assert event["detail"].endswith("opened REQ-2")
    assert [m["direction"] for m in old["messages"]].count("in") == 1  # filed under REQ-2


def test_a_refused_fwd_about_a_request_is_kept_there_as_a_note(gate):
    gate.deliver(make_mail(sender=f"Boris <{CLIENT}>", subject="Phones", body="Down.",
                           message_id="c1@client.example.net"))  # fmt: skip
    gate.run_once(NOW)
    gate.smtp.clear()
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Re: [REQ-1] Phones",
                           body="#fwd\n\nHe called.",
                           message_id="a1@support.example.org"))  # fmt: skip
    gate.run_once(LATER)
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]
    shown = gate.show("REQ-1")
    assert [m["kind"] for m in shown["messages"] if m["direction"] == "in"] == ["client", "note"]
    assert shown["events"][-1]["kind"] == "refused"
    assert gate.sent_to(CLIENT) == []
    [notice] = gate.sent_to(AGENT)
    assert notice["Subject"].startswith("[REQ-1]")
    assert "in mail about [REQ-1] opened no request" in text_of(notice)


def test_assign_to_a_non_agent_in_the_forward_is_refused_to_the_agent(gate):
    gate.deliver(forward("#fwd\n#assign eve@elsewhere.example"))
    gate.run_once(NOW)
    shown = gate.show("REQ-1")
    assert shown["owner"] == AGENT and shown["events"][-1]["kind"] == "refused"
    refused = [m for m in gate.sent_to(AGENT) if "was not carried out" in text_of(m)]
    assert len(refused) == 1 and "#assign eve@elsewhere.example" in text_of(refused[0])
    assert gate.sent_to("eve@elsewhere.example") == []
