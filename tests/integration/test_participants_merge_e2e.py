"""Participants and merges end to end (SPEC §15): mail through a real Dovecot,
`mailgate run --once` as a subprocess, notifications through the aiosmtpd sink, on
SQLite and on PostgreSQL. The rules case by case are tests/scenarios/test_participants.py
and test_merge.py (in-process); here one walk over two requests, four rounds, shows
`#cc add` then an answer reaching the new participant, a client's reply-all adding
a colleague, and a merge followed by mail to the old tag."""

from __future__ import annotations

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, reply_to

IVAN = "ivan@corp.example"
OLGA = "olga@corp.example"
PETR = "petr@corp.example"  # added by an agent's #cc to REQ-1
ANNA = "anna@corp.example"  # in Cc of Olga's reply-all on REQ-2


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def about(gate, address: str, tag: str) -> list:
    return [m for m in gate.sent_to(address) if f"[{tag}]" in m["Subject"]]


def first_mail(client: str, subject: str, message_id: str) -> bytes:
    return make_mail(sender=client, subject=subject, body=f"Hello,\n\n{subject}.",
                     message_id=message_id)  # fmt: skip


def test_cc_add_reply_all_and_a_merge_then_mail_to_the_old_tag(gate):
    gate.deliver(first_mail(IVAN, "Phones are down", "w-1@corp.example"),
                 first_mail(OLGA, "No calls since nine", "w-2@corp.example"))  # fmt: skip
    gate.run_once("2026-11-26T10:00:00+03:00")
    [ivans] = about(gate, TEAM, "REQ-1")
    [olgas] = about(gate, TEAM, "REQ-2")
    [ack] = gate.sent_to(OLGA)
    gate.smtp.clear()

    # An agent adds Petr to REQ-1 and answers in the same mail; Olga replies to all
    # with her colleague Anna in Cc.
    gate.deliver(
        reply_to(ivans, sender=AGENT, body=f"#cc add {PETR}\n\nRestart the PBX.",
                 message_id="w-3@support.example.org"),
        make_mail(sender=OLGA, subject=f"Re: {ack['Subject']}", body="Anna sees it too.",
                  message_id="w-4@corp.example", cc=[ANNA],
                  in_reply_to=ack["Message-ID"].strip("<>")),
    )  # fmt: skip
    gate.run_once("2026-11-26T10:05:00+03:00")
    [answer] = gate.sent_to(PETR)
    assert "Restart the PBX." in text_of(answer)
    assert f"Also in this request: {IVAN}" in text_of(answer)
    assert f"added: {PETR}" in text_of(about(gate, TEAM, "REQ-1")[0])
    [seen] = about(gate, TEAM, "REQ-2")
    assert f"Joined the request (in To or Cc of this mail): {ANNA}" in text_of(seen)
    assert gate.show("REQ-2")["participants"] == [OLGA, ANNA]
    gate.smtp.clear()

    # An answer on REQ-2 reaches Anna; then (applied in the order they came) REQ-1 is
    # merged into REQ-2.
    gate.deliver(reply_to(olgas, sender=AGENT, body="Fixed, please check.",
                          message_id="w-5@support.example.org"),
                 reply_to(ivans, sender=AGENT, body="#merge REQ-2",
                          message_id="w-6@support.example.org"))  # fmt: skip
    gate.run_once("2026-11-26T10:10:00+03:00")
    assert "Fixed, please check." in text_of(about(gate, ANNA, "REQ-2")[0])
    assert [text_of(m) for m in about(gate, IVAN, "REQ-2") if "Fixed" in text_of(m)] == []
    assert gate.show("REQ-1")["merged_into"] == "REQ-2"
    for client in (IVAN, PETR):
        [told] = about(gate, client, "REQ-2")
        assert "Your request [REQ-1]" in text_of(told)
    assert gate.show("REQ-2")["participants"] == [OLGA, ANNA, IVAN, PETR]
    gate.smtp.clear()

    # Ivan writes to the old tag: filed under REQ-2, no "request is closed" reply.
    gate.deliver(make_mail(sender=IVAN, subject="Re: [REQ-1] Phones are down",
                           body="Works now, thanks.", message_id="w-7@corp.example"))  # fmt: skip
    gate.run_once("2026-11-26T10:15:00+03:00")
    assert "w-7@corp.example" in [m["message_id"] for m in gate.show("REQ-2")["messages"]]
    [seen] = about(gate, TEAM, "REQ-2")
    assert "Works now, thanks." in text_of(seen)
    assert gate.sent_to(IVAN) == []
