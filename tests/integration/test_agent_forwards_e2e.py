"""`#fwd` end to end (SPEC §15, issue 23): agents' forwards from Gmail, Outlook
(English and Russian headers), Apple Mail and Thunderbird (the client's mail
attached as .eml), and one whose sender cannot be found, through a real
Dovecot, `mailgate run --once` as a subprocess and the aiosmtpd sink, on
SQLite and PostgreSQL. All six go in one round: the rules case by case are
tests/scenarios/test_agent_forwards.py.
"""

from __future__ import annotations

from pathlib import Path

from tests.harness import AGENT, TEAM

FORWARDS = Path(__file__).resolve().parent.parent / "fixtures" / "forwards"
# fixture -> (requester, the request's subject)
OPENED = {
    "gmail_agent_fwd": ("boris.petrov@client.example.net", "Fax line down since this morning"),
    "outlook_agent_fw_en": ("maria.ivanova@acme.example",
                            "Handsets for the new office, order 5531"),
    "outlook_agent_fw_ru": ("i.sidorov@zavod-meridian.example", "Не работает АТС"),
    "applemail_agent_fwd": ("olga.belova@newtel.example", "Call recordings missing"),
    "thunderbird_agent_fwd_attached": ("e.novak@shop-novak.example",
                                       "Invoice 2026-118 looks wrong"),
}
REFUSED = "outlook_agent_fw_name_only"  # "From: Kowalski, Jan": a name, no address


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_agents_forwards_open_the_clients_requests_and_one_without_a_sender_is_refused(gate):
    gate.deliver(*[(FORWARDS / f"{name}.eml").read_bytes() for name in [*OPENED, REFUSED]])
    gate.run_once("2026-12-07T12:00:00+03:00")
    requests = {r["requester"]: r for r in gate.requests()}
    assert set(requests) == {requester for requester, _ in OPENED.values()}
    for requester, subject in OPENED.values():
        shown = gate.show(requests[requester]["tag"])
        tag = shown["tag"]
        assert (shown["subject"], shown["owner"]) == (subject, AGENT)
        [first] = [m for m in shown["messages"] if m["direction"] == "in"]
        assert first["from"] == requester and "#fwd" not in first["text"]
        [ack] = gate.sent_to(requester)
        assert ack["Subject"] == f"[{tag}] {subject}"
        assert [m for m in gate.sent_to(AGENT) if f"opened [{tag}] for {requester}" in text_of(m)]
    assert "Billing question" not in text_of(gate.sent_to("e.novak@shop-novak.example")[0])
    [attached] = [m for m in gate.sent_to(TEAM) if "Invoice 2026-118" in m["Subject"]]
    assert [p.get_filename() for p in attached.iter_attachments()] == [
        "Invoice 2026-118 looks wrong.eml"
    ]
    # The forward without a sender: the agent alone is told why, nothing opened for it.
    [refusal] = [m for m in gate.sent_to(AGENT) if "opened no request" in text_of(m)]
    assert refusal["Subject"] == "Re: FW: Voicemail PIN"
    assert '"Kowalski, Jan" is not one valid e-mail address' in text_of(refusal)
    assert gate.sent_to("jan.kowalski@client.example.net") == []
    assert len(gate.sent_to(AGENT)) == len(OPENED) + 1
    assert gate.imap.list_folder("INBOX") == []
