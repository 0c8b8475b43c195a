"""SPEC §15 end to end, on Dovecot and the aiosmtpd sink, SQLite and PostgreSQL:
an agent's answer with `#status awaiting_confirmation` is one mail to each client
and makes the agent the owner; a reply that only thanks keeps the request
waiting (and its close date), a reply that thanks and reports a problem moves it
to in_progress, in English and in Russian. The rules case by case are
tests/scenarios/test_conversations.py (in-process).
"""

from __future__ import annotations

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, reply_to

# (client, subject, the client's reply to the answer, status after it)
ROWS = [
    ("anna@corp.example", "Phones are down", "Thank you, will check", "awaiting_confirmation"),
    ("boris@corp.example", "Fax fails", "Thanks, but it still fails", "in_progress"),
    ("vera@corp.example", "Не работают телефоны", "Большое спасибо, посмотрю",
     "awaiting_confirmation"),
    ("gleb@corp.example", "Не уходит факс", "Спасибо, но ошибка осталась", "in_progress"),
]  # fmt: skip
CC = "boss@corp.example"


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def about(gate, address: str, tag: str) -> list:
    return [m for m in gate.sent_to(address) if f"[{tag}]" in m["Subject"]]


def test_answer_with_status_is_one_mail_and_thanks_only_keeps_it_waiting(make_gate):
    gate = make_gate(language="auto")
    gate.deliver(*(make_mail(sender=client, subject=subject, cc=[CC] if n == 0 else [],
                             body=f"Hello,\n\n{subject} since 9:00.",
                             message_id=f"c{n}@corp.example")
                   for n, (client, subject, _, _) in enumerate(ROWS)))  # fmt: skip
    gate.run_once("2026-11-26T10:00:00+03:00")
    tags = [f"REQ-{n}" for n in range(1, len(ROWS) + 1)]
    notices = {tag: about(gate, TEAM, tag)[0] for tag in tags}
    gate.smtp.clear()

    answer = "Hello,\n\nwe restarted the trunk.\n\n#status awaiting_confirmation"
    gate.deliver(*(reply_to(notices[tag], sender=f"Alice <{AGENT}>", body=answer,
                            message_id=f"a{n}@support.example.org")
                   for n, tag in enumerate(tags)))  # fmt: skip
    gate.run_once("2026-11-26T11:00:00+03:00")
    answers = {}
    for tag, (client, subject, _, _) in zip(tags, ROWS, strict=True):
        [answers[tag]] = about(gate, client, tag)  # one mail, not the answer and a status notice
        text = text_of(answers[tag])
        assert text.index("we restarted the trunk") < text.index("2026-12-01 11:00 MSK"), subject
        assert "Auto-Submitted" not in answers[tag]
        assert about(gate, TEAM, tag) == []
        shown = gate.show(tag)
        assert (shown["status"], shown["owner"]) == ("awaiting_confirmation", AGENT), subject
    assert len(gate.sent_to(CC)) == 1  # the CC participant: one mail too
    assert "Работы по вашей заявке [REQ-3] выполнены" in text_of(answers["REQ-3"])
    closes = {tag: gate.show(tag)["auto_close_at"] for tag in tags}
    gate.smtp.clear()

    replies = zip(tags, ROWS, strict=True)
    gate.deliver(*(reply_to(answers[tag], sender=client, body=words,
                            message_id=f"r{n}@corp.example")
                   for n, (tag, (client, _, words, _)) in enumerate(replies)))  # fmt: skip
    gate.run_once("2026-11-26T12:00:00+03:00")
    for tag, (client, _, words, status) in zip(tags, ROWS, strict=True):
        shown = gate.show(tag)
        assert shown["status"] == status, words
        kept = status == "awaiting_confirmation"
        assert (shown["auto_close_at"] == closes[tag]) is kept, words
        assert about(gate, client, tag) == []  # a reply gets no mail back
        [team] = about(gate, TEAM, tag)  # one notice to the team
        assert words in text_of(team) and ("Only thanks" in text_of(team)) is kept, words
        assert [m for m in gate.sent_to(AGENT) if f"[{tag}]" in m["Subject"]] != []  # the owner
