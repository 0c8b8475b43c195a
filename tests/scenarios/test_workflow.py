"""The request workflow of SPEC §1 and §2: clients and agents send mail, the
worker applies it in-process, and what mailgate answers is read from the
capturing pump.

Each test opens several requests in one round and moves them in parallel, one
row of a table per request; the rounds carry `--now` times a few minutes
apart, so no timer fires in between.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tests.harness import AGENT, LEAD, TEAM
from tests.mails import make_mail, reply_to

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "e2e"
MSK = dt.timezone(dt.timedelta(hours=3))
START = dt.datetime(2026, 11, 26, 10, 0, tzinfo=MSK)  # a Thursday
OTHER_AGENT = "carol@agents.example.org"  # an agent by domain
STRANGER = "stranger@elsewhere.example"


def at(minutes: int) -> str:
    """The `--now` of a round, `minutes` after the start of the test's day."""
    return (START + dt.timedelta(minutes=minutes)).isoformat()


@dataclass(frozen=True, slots=True, kw_only=True)
class Opened:
    tag: str
    client: str
    subject: str
    ack: EmailMessage  # the acknowledgement the client got
    notice: EmailMessage  # the new-request notice the team got


def open_requests(gate, *firsts: tuple[str, str], cc: tuple[str, ...] = ()) -> list[Opened]:
    """One first mail per (client, subject), all applied in one round at the start."""
    gate.deliver(
        *(
            make_mail(
                sender=client,
                subject=subject,
                body=f"Hello,\n\n{subject}: it started this morning.\n\nRegards",
                message_id=f"e2e-open-{number}@{client.partition('@')[2]}",
                cc=cc,
            )
            for number, (client, subject) in enumerate(firsts, start=1)
        )
    )
    gate.run_once(at(0))
    opened = []
    for number, (client, subject) in enumerate(firsts, start=1):
        tag = f"REQ-{number}"
        [ack] = mails_about(gate, client, tag)
        [notice] = mails_about(gate, TEAM, tag)
        opened.append(Opened(tag=tag, client=client, subject=subject, ack=ack, notice=notice))
    assert [r["status"] for r in gate.requests()] == ["new"] * len(firsts)
    gate.smtp.clear()
    return opened


def client_mail(request: Opened, body: str, message_id: str, *, sender: str = "") -> bytes:
    """A client's reply that keeps the tag in the subject and quotes nothing."""
    return make_mail(
        sender=sender or request.client,
        subject=f"Re: [{request.tag}] {request.subject}",
        body=body,
        message_id=message_id,
    )


def agent_reply(request: Opened, body: str, message_id: str, *, sender: str = AGENT) -> bytes:
    """An agent answering the team's new-request notice from their own mail client."""
    return reply_to(request.notice, sender=sender, body=body, message_id=message_id)


def mails_about(gate, address: str, tag: str) -> list[EmailMessage]:
    return [m for m in gate.sent_to(address) if f"[{tag}]" in m["Subject"]]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def all_text(gate, address: str, tag: str) -> str:
    """The plain texts of every mail `address` got about `tag` since the last clear."""
    return "\n".join(text_of(m) for m in mails_about(gate, address, tag))


def one_text(gate, address: str, tag: str) -> str:
    """The plain text of the only mail `address` got about `tag` since the last clear."""
    [message] = mails_about(gate, address, tag)
    return text_of(message)


def status_changes(shown: dict) -> list[tuple[str, str, str]]:
    """(from, to, actor) of every status change in the request's history, in order."""
    changes = [e for e in shown["events"] if e["kind"] == "status"]
    for event in changes:  # SPEC §1: time, actor, from, to, and a reason or detail
        assert dt.datetime.fromisoformat(event["at"]).utcoffset() is not None, event
        assert event["actor"] and event["detail"], event
    return [(e["from"], e["to"], e["actor"]) for e in changes]


def last_change(shown: dict) -> dict:
    return [e for e in shown["events"] if e["kind"] == "status"][-1]


def happened_at(event: dict, minutes: int) -> bool:
    return dt.datetime.fromisoformat(event["at"]) == START + dt.timedelta(minutes=minutes)


def set_statuses(gate, requests: list[Opened], statuses: list[str | None], *, minutes: int) -> None:
    """An agent's `#status` on each request that has a status in `statuses`."""
    mails = [
        agent_reply(request, f"#status {status}", f"e2e-setup-{request.tag}@support.example.org")
        for request, status in zip(requests, statuses, strict=True)
        if status is not None
    ]
    if mails:
        gate.deliver(*mails)
        gate.run_once(at(minutes))
        gate.smtp.clear()
    for request, status in zip(requests, statuses, strict=True):
        assert gate.show(request.tag)["status"] == (status or "new")


# -- closing: Resolve this issue and approval phrases ----------------------------------

# (client, subject, status set by an agent first, the client's words, status after)
CLOSING = [
    ("anna@corp.example", "Phones are down", None, "Resolve this issue", "closed"),
    ("boris@corp.example", "Нет входящих звонков", "on_hold", "Решить вопрос", "closed"),
    ("gleb@corp.example", "Очередь не звонит", "escalated", "Закрыть заявку.", "closed"),
    (
        "chen@corp.example",
        "Fax fails",
        "in_progress",
        "Everything works, the request can be closed.\n\nThanks a lot!",
        "closed",
    ),
    (
        "dasha@corp.example",
        "Не работает IVR",
        "awaiting_confirmation",
        "Всё работает, заявку можно закрыть.",
        "closed",
    ),
    (
        "emil@corp.example",
        "Voicemail is silent",
        "awaiting_confirmation",
        "Please don't close the request yet.",
        "in_progress",
    ),
    (
        "fiona@corp.example",
        "Call queue music",
        "awaiting_confirmation",
        "Can the request be closed?",
        "in_progress",
    ),
]


def test_resolve_and_approval_close_from_any_open_status(gate):
    requests = open_requests(gate, *((client, subject) for client, subject, *_ in CLOSING))
    set_statuses(gate, requests, [row[2] for row in CLOSING], minutes=5)

    gate.deliver(
        *(
            reply_to(request.ack, sender=request.client, body=row[3], message_id=f"close-{n}@c")
            for n, (request, row) in enumerate(zip(requests, CLOSING, strict=True), start=1)
        )
    )
    gate.run_once(at(10))

    for request, (_, _, before, words, after) in zip(requests, CLOSING, strict=True):
        shown = gate.show(request.tag)
        assert shown["status"] == after, (words, shown["events"])
        change = last_change(shown)
        assert (change["from"], change["to"]) == (before or "new", after), words
        assert change["actor"] == request.client
        assert happened_at(change, 10)
        if after == "closed":
            assert shown["closed_at"] is not None
            assert shown["auto_close_at"] is None
            text = one_text(gate, request.client, request.tag)
            assert "is now closed" in text and "Thank you for the confirmation" in text
            agents = all_text(gate, TEAM, request.tag)
            assert f"changed [{request.tag}] to closed" in agents
            assert request.client in agents
        else:  # a negated or asked phrase is a plain reply: work goes on
            assert shown["closed_at"] is None
            assert change["detail"] == "client reply"
            assert mails_about(gate, request.client, request.tag) == []
            assert words in all_text(gate, TEAM, request.tag)


# -- cancelling ------------------------------------------------------------------------


def test_cancel_request_cancels_then_closes_also_from_the_subject(gate):
    english, russian, by_link, by_link_ru = open_requests(
        gate,
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Нет входящих звонков"),
        ("chen@corp.example", "Fax fails"),
        ("dasha@corp.example", "Не работает IVR"),
    )
    gate.deliver(
        reply_to(english.ack, sender=english.client, body="Cancel request", message_id="c1@c"),
        client_mail(russian, "Отменить заявку\n\n--\nБорис, ООО «Корп»\n+7 495 000-00-00", "c2@c"),
        # the mailto: link of a notification: the command in the subject, an empty body
        make_mail(
            sender=by_link.client,
            subject=f"[{by_link.tag}] Cancel request",
            body="",
            message_id="c3@c",
        ),
        make_mail(
            sender=by_link_ru.client,
            subject=f"Re: [{by_link_ru.tag}] Отменить заявку",
            body="Спасибо, уже не нужно.",
            message_id="c4@c",
        ),
    )
    gate.run_once(at(5))

    for request in (english, russian, by_link, by_link_ru):
        shown = gate.show(request.tag)
        assert shown["status"] == "closed"
        assert status_changes(shown) == [
            ("new", "cancelled", request.client),
            ("cancelled", "closed", request.client),
        ]
        assert all(happened_at(e, 5) for e in shown["events"] if e["kind"] == "status")
        assert shown["closed_at"] is not None
        text = one_text(gate, request.client, request.tag)
        assert "has been cancelled and closed" in text
        assert f"changed [{request.tag}] to closed" in all_text(gate, TEAM, request.tag)
    assert "Cancel request" in last_change(gate.show(by_link.tag))["detail"]


# -- escalation ------------------------------------------------------------------------


def test_escalation_accepted_refused_and_repeated(gate):
    no_answer, russian, urgent, bare, by_link, below = open_requests(
        gate,
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Нет входящих звонков"),
        ("chen@corp.example", "Fax fails"),
        ("dasha@corp.example", "IVR loops"),
        ("emil@corp.example", "One number is dead"),
        ("fiona@corp.example", "Call queue music"),
    )
    grew = "Since this morning all 40 numbers of the office are dead, not just one."
    gate.deliver(
        reply_to(
            no_answer.ack,
            sender=no_answer.client,
            body="Escalate: no answer for a week, and our SLA promises 4 hours",
            message_id="e1@c",
        ),
        client_mail(russian, "Эскалировать: никто не отвечает уже три дня", "e2@c"),
        client_mail(urgent, "Escalate: urgent!!!", "e3@c"),
        client_mail(bare, "Escalate", "e4@c"),
        make_mail(
            sender=by_link.client,
            subject=f"[{by_link.tag}] Escalate",
            body=grew,
            message_id="e5@c",
        ),
        client_mail(
            below,
            "Escalate\n\nHello team,\nwe are not satisfied with the progress: nothing happens.",
            "e7@c",
        ),
    )
    gate.run_once(at(5))

    for request in (no_answer, russian, by_link, below):
        shown = gate.show(request.tag)
        assert shown["status"] == "escalated", request.tag
        assert status_changes(shown) == [("new", "escalated", request.client)]
        text = one_text(gate, request.client, request.tag)
        assert "has been escalated" in text
        for address in (LEAD, TEAM):
            assert f"ESCALATED: [{request.tag}]" in all_text(gate, address, request.tag)
    assert "no answer for a week" in last_change(gate.show(no_answer.tag))["detail"]
    assert "никто не отвечает" in one_text(gate, LEAD, russian.tag)
    assert grew in one_text(gate, by_link.client, by_link.tag)  # the reason came from the body
    assert grew in one_text(gate, LEAD, by_link.tag)
    assert "not satisfied with the progress" in last_change(gate.show(below.tag))["detail"]

    for request, why in (
        (urgent, "only asks for more priority or speed"),
        (bare, "no reason was given"),
    ):
        shown = gate.show(request.tag)
        assert shown["status"] == "new", request.tag
        assert status_changes(shown) == []
        text = one_text(gate, request.client, request.tag)
        assert "was not escalated" in text and why in text
        assert "no answer for a long time" in text  # what counts as a reason
        assert "Escalate:" in text
        assert mails_about(gate, LEAD, request.tag) == []
    assert '"urgent!!!"' in one_text(gate, urgent.client, urgent.tag)

    gate.smtp.clear()
    gate.deliver(client_mail(no_answer, "Escalate: still no answer, the SLA is breached", "e6@c"))
    gate.run_once(at(10))
    shown = gate.show(no_answer.tag)
    assert shown["status"] == "escalated"
    assert status_changes(shown) == [("new", "escalated", no_answer.client)]
    text = one_text(gate, no_answer.client, no_answer.tag)
    assert "was not carried out" in text and "already escalated" in text
    assert "Nothing was changed" in text
    assert mails_about(gate, LEAD, no_answer.tag) == []


# -- notifications on and off ----------------------------------------------------------


def test_dont_notify_me_silences_the_client_and_notify_me_resumes(gate):
    english, russian = open_requests(
        gate,
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Нет входящих звонков"),
    )
    gate.deliver(
        reply_to(english.ack, sender=english.client, body="Don't notify me", message_id="n1@c"),
        client_mail(russian, "Не уведомлять", "n2@c"),
    )
    gate.run_once(at(5))
    for request in (english, russian):
        shown = gate.show(request.tag)
        assert shown["notify"] is False
        assert [e["actor"] for e in shown["events"] if happened_at(e, 5)] == [request.client]
        assert gate.sent_to(request.client) == []
        assert len(mails_about(gate, TEAM, request.tag)) == 1  # the agents still hear of it
    assert "Don't notify me" in all_text(gate, TEAM, english.tag)

    gate.smtp.clear()
    gate.deliver(
        agent_reply(english, "We replaced the SIP trunk, please test.", "n3@support.example.org"),
        agent_reply(
            russian,
            "Мы передали вопрос оператору связи.\n#status on_hold",
            "n4@support.example.org",
        ),
    )
    gate.run_once(at(10))
    assert gate.show(english.tag)["status"] == "in_progress"
    assert status_changes(gate.show(russian.tag)) == [
        ("new", "in_progress", AGENT),
        ("in_progress", "on_hold", AGENT),
    ]
    assert gate.sent_to(english.client) == []
    assert gate.sent_to(russian.client) == []

    gate.deliver(
        client_mail(english, "Notify me\n\nThe trunk works for inbound, outbound fails.", "n5@c"),
        client_mail(russian, "Уведомлять", "n6@c"),
    )
    gate.run_once(at(15))
    for request in (english, russian):
        assert gate.show(request.tag)["notify"] is True
        assert len(mails_about(gate, TEAM, request.tag)) == 1
    assert gate.show(russian.tag)["status"] == "on_hold"

    gate.smtp.clear()
    gate.deliver(
        agent_reply(english, "Outbound is fixed too, please check.", "n8@support.example.org"),
        agent_reply(russian, "Оператор починил линию, проверьте.", "n9@support.example.org"),
    )
    gate.run_once(at(20))
    assert "Outbound is fixed too" in one_text(gate, english.client, english.tag)
    assert "Оператор починил линию" in one_text(gate, russian.client, russian.tag)


# -- commands in quoted text -----------------------------------------------------------

# Replies written by hand in the style of each client; each quotes commands and
# says something new above the quote. (fixture, its sender, the request's subject)
QUOTED = [
    (
        "outlook_quotes_notice_commands.eml",
        "ivan.petrov@acme.example",
        "Phone line down at the Kazan office",
    ),
    ("thunderbird_ru_quotes_own_cancel.eml", "olga@rosa.example", "Обрывы звонков"),
    ("applemail_quotes_approval.eml", "mark@harbor.example", "Fax line rejects incoming faxes"),
]


def test_commands_only_in_the_quoted_part_are_not_applied(gate):
    *from_fixtures, quoting_answer, quoting_ack = open_requests(
        gate,
        *((client, subject) for _, client, subject in QUOTED),
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Voicemail is silent"),
    )
    statuses = [None, None, "awaiting_confirmation", None, None]
    set_statuses(gate, [*from_fixtures, quoting_answer, quoting_ack], statuses, minutes=5)
    gate.deliver(
        agent_reply(
            quoting_answer,
            "We restarted the PBX. If you do not need us any more, answer with\n\n"
            "Cancel request\n\non a line of its own.",
            "q-agent@support.example.org",
        )
    )
    gate.run_once(at(10))
    [answer] = mails_about(gate, quoting_answer.client, quoting_answer.tag)
    assert "Cancel request" in text_of(answer)
    gate.smtp.clear()

    gate.deliver(
        *((FIXTURES / name).read_bytes() for name, _, _ in QUOTED),
        reply_to(
            answer, sender=quoting_answer.client, body="Still dead, sorry.", message_id="q4@c"
        ),
        reply_to(  # the acknowledgement's footer lists the commands
            quoting_ack.ack,
            sender=quoting_ack.client,
            body="Thanks, we will wait.",
            message_id="q5@c",
        ),
    )
    gate.run_once(at(15))

    expected = {"REQ-1": "new", "REQ-2": "new", "REQ-3": "in_progress", "REQ-4": "in_progress",
                "REQ-5": "new"}  # fmt: skip
    assert {r["tag"]: r["status"] for r in gate.requests()} == expected
    for request in (*from_fixtures, quoting_answer, quoting_ack):
        shown = gate.show(request.tag)
        assert shown["closed_at"] is None
        assert not {"cancelled", "closed"} & {to for _, to, _ in status_changes(shown)}
        assert [e for e in shown["events"] if e["kind"] == "refused"] == []
        assert shown["notify"] is True  # the quoted "Don't notify me" neither
        assert "escalated" not in {to for _, to, _ in status_changes(shown)}
        assert gate.sent_to(request.client) == []  # no refusal, no closing notice
        [reply] = [m for m in shown["messages"] if m["direction"] == "in"][-1:]
        assert reply["from"] == request.client and reply["kind"] == "client"
        for command in ("Cancel request", "Resolve this issue", "Отменить заявку",
                        "the request can be closed"):  # fmt: skip
            assert command not in reply["text"]
            assert command not in all_text(gate, TEAM, request.tag)
    assert "busy tone after" in gate.show("REQ-1")["messages"][-1]["text"]
    assert status_changes(gate.show("REQ-3"))[-1] == (
        "awaiting_confirmation", "in_progress", "mark@harbor.example"
    )  # fmt: skip


# -- client replies and agent #status --------------------------------------------------


def test_agent_sets_status_client_told_and_client_reply_resumes_work(gate):
    waiting, awaiting, on_hold = open_requests(
        gate,
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Fax fails"),
        ("chen@corp.example", "Voicemail is silent"),
    )
    gate.deliver(
        agent_reply(waiting, "#status waiting for client", "s1@support.example.org"),
        agent_reply(awaiting, "#status awaiting_confirmation", "s2@support.example.org"),
        agent_reply(on_hold, "#status on_hold", "s3@agents.example.org", sender=OTHER_AGENT),
    )
    gate.run_once(at(5))

    for request, status, actor in (
        (waiting, "waiting_for_client", AGENT),
        (awaiting, "awaiting_confirmation", AGENT),
        (on_hold, "on_hold", OTHER_AGENT),
    ):
        shown = gate.show(request.tag)
        assert shown["status"] == status
        assert status_changes(shown) == [("new", status, actor)]
        assert happened_at(last_change(shown), 5)
        assert "#status" in last_change(shown)["detail"]
    assert "is now: waiting for your answer" in one_text(gate, waiting.client, waiting.tag)
    assert "is now: on hold" in one_text(gate, on_hold.client, on_hold.tag)
    awaiting_text = one_text(gate, awaiting.client, awaiting.tag)
    assert "The work on your request [REQ-2] is done" in awaiting_text
    assert "closed automatically on 2026-12-01" in awaiting_text  # 3 business days
    close_at = dt.datetime.fromisoformat(gate.show(awaiting.tag)["auto_close_at"])
    assert close_at.astimezone(MSK).date() == dt.date(2026, 12, 1)
    assert gate.show(waiting.tag)["auto_close_at"] is None
    for request in (waiting, awaiting, on_hold):  # `#status` alone is no answer to relay
        assert len(mails_about(gate, request.client, request.tag)) == 1
        assert "#status" not in one_text(gate, request.client, request.tag)

    gate.smtp.clear()
    gate.deliver(
        client_mail(waiting, "Here are the logs you asked for: the SIP trace shows 503.", "r1@c"),
        client_mail(awaiting, "Not quite: outgoing faxes still fail.", "r2@c"),
        client_mail(on_hold, "Any news from the developers?", "r3@c"),
    )
    gate.run_once(at(10))

    assert status_changes(gate.show(waiting.tag))[-1] == (
        "waiting_for_client", "in_progress", waiting.client
    )  # fmt: skip
    assert status_changes(gate.show(awaiting.tag))[-1] == (
        "awaiting_confirmation", "in_progress", awaiting.client
    )  # fmt: skip
    assert gate.show(awaiting.tag)["auto_close_at"] is None
    assert gate.show(on_hold.tag)["status"] == "on_hold"
    assert len(status_changes(gate.show(on_hold.tag))) == 1
    for request in (waiting, awaiting):
        assert happened_at(last_change(gate.show(request.tag)), 10)
    for request in (waiting, awaiting, on_hold):
        assert request.client in all_text(gate, TEAM, request.tag)


# -- agent commands --------------------------------------------------------------------


def test_agent_commands_status_note_assign_and_refusals(gate):
    refused, same, russian, noted, mine, bobs = open_requests(
        gate,
        ("anna@corp.example", "Phones are down"),
        ("boris@corp.example", "Fax fails"),
        ("gleb@corp.example", "Нет входящих звонков"),
        ("chen@corp.example", "Voicemail is silent"),
        ("dasha@corp.example", "IVR loops"),
        ("emil@corp.example", "Call queue music"),
    )
    note = "Customer called: the PBX is a Yeastar S50 on firmware 37.12."
    gate.deliver(
        agent_reply(refused, "#status nonsense", "a1@support.example.org"),
        agent_reply(same, "#status new", "a2@support.example.org"),
        agent_reply(russian, "#status ожидает клиента", "a3@support.example.org"),
        agent_reply(noted, f"#note\n{note}", "a4@agents.example.org", sender=OTHER_AGENT),
        agent_reply(mine, "#assign me", "a5@support.example.org"),
        agent_reply(
            bobs, "#assign bob@agents.example.org", "a6@agents.example.org", sender=OTHER_AGENT
        ),
    )
    gate.run_once(at(5))

    for request, why in ((refused, "no such status"), (same, "already has that status")):
        shown = gate.show(request.tag)
        assert shown["status"] == "new" and status_changes(shown) == []
        text = one_text(gate, AGENT, request.tag)  # the agent-style notice, to the agent
        assert f"on [{request.tag}] was not carried out" in text
        assert why in text and "Nothing was changed" in text
        assert "#note (internal only)" in text
    assert '"#status nonsense"' in one_text(gate, AGENT, refused.tag)
    assert "waiting_for_client" in one_text(gate, AGENT, refused.tag)  # the names that work

    assert status_changes(gate.show(russian.tag)) == [("new", "waiting_for_client", AGENT)]
    assert "is now: waiting for your answer" in one_text(gate, russian.client, russian.tag)

    shown = gate.show(noted.tag)
    assert shown["status"] == "new" and status_changes(shown) == []
    [stored] = [m for m in shown["messages"] if m["from"] == OTHER_AGENT]
    assert stored["kind"] == "note" and note in stored["text"]
    assert any(e["kind"] == "note" and e["actor"] == OTHER_AGENT for e in shown["events"])

    for request, owner, actor in (
        (mine, AGENT, AGENT),
        (bobs, "bob@agents.example.org", OTHER_AGENT),
    ):
        shown = gate.show(request.tag)
        assert shown["owner"] == owner
        assert shown["status"] == "new"
        [assigned] = [e for e in shown["events"] if e["kind"] == "assign"]
        assert assigned["actor"] == actor and owner in assigned["detail"]
        assert happened_at(assigned, 5)

    for request in (refused, same, noted, mine, bobs):
        assert gate.sent_to(request.client) == []  # nothing of this reaches the client
    for captured in gate.smtp.messages:  # an internal note reaches agents only
        assert note not in captured.message.as_string() or set(captured.rcpt_tos) <= {TEAM}
    # SPEC §2: a note is "shown to agents"; agents read mailgate by mail only, as they
    # are shown held mail (SPEC §3) by a notice to `agent_notify`.
    assert note in all_text(gate, TEAM, noted.tag)


# -- participants ----------------------------------------------------------------------


def test_strangers_are_held_and_cc_participants_share_answers_and_commands(gate):
    boss = "boss@corp.example"
    [request] = open_requests(gate, ("anna@corp.example", "Phones are down"), cc=(boss,))
    assert gate.show(request.tag)["participants"] == [request.client, boss]

    gate.deliver(
        client_mail(request, "Cancel request", "p1@elsewhere.example", sender=STRANGER),
        agent_reply(request, "We restarted the PBX, please check.", "p2@support.example.org"),
    )
    gate.run_once(at(5))

    shown = gate.show(request.tag)
    assert status_changes(shown) == [("new", "in_progress", AGENT)]  # the first answer
    [held] = [m for m in shown["messages"] if m["from"] == STRANGER]
    assert held["kind"] == "held"
    assert STRANGER not in shown["participants"]
    held_notice = [m for m in mails_about(gate, TEAM, request.tag) if STRANGER in text_of(m)]
    assert len(held_notice) == 1
    assert "is not a participant" in text_of(held_notice[0])
    assert "Cancel request" in text_of(held_notice[0])
    for address in (request.client, boss):
        [answer] = mails_about(gate, address, request.tag)
        assert "We restarted the PBX" in text_of(answer)
        assert email.utils.parseaddr(answer["From"])[1] == "support@example.org"
        assert "Auto-Submitted" not in answer

    gate.smtp.clear()
    gate.deliver(reply_to(answer, sender=boss, body="Cancel request", message_id="p3@corp.example"))
    gate.run_once(at(10))
    shown = gate.show(request.tag)
    assert shown["status"] == "closed"
    assert status_changes(shown)[1:] == [
        ("in_progress", "cancelled", boss),
        ("cancelled", "closed", boss),
    ]
    for address in (request.client, boss):
        assert "has been cancelled and closed" in one_text(gate, address, request.tag)


# -- closed requests -------------------------------------------------------------------


def test_mail_to_a_closed_request_is_answered_and_reopens_nothing(gate):
    [request] = open_requests(gate, ("anna@corp.example", "Phones are down"))
    gate.deliver(agent_reply(request, "#status closed", "x1@support.example.org"))
    gate.run_once(at(5))
    shown = gate.show(request.tag)
    assert status_changes(shown) == [("new", "closed", AGENT)]
    assert shown["closed_at"] is not None
    [closed_notice] = mails_about(gate, request.client, request.tag)
    text = text_of(closed_notice)
    assert "is now closed" in text and "Thank you for the confirmation" not in text

    gate.smtp.clear()
    gate.deliver(
        reply_to(closed_notice, sender=request.client, body="Cancel request", message_id="x2@c"),
        agent_reply(request, "#status in_progress", "x3@support.example.org"),
    )
    gate.run_once(at(10))

    shown = gate.show(request.tag)
    assert shown["status"] == "closed"
    assert status_changes(shown) == [("new", "closed", AGENT)]
    assert len(gate.requests()) == 1
    text = one_text(gate, request.client, request.tag)
    assert "which is closed" in text and "new mail without [REQ-1]" in text
    refusal = one_text(gate, AGENT, request.tag)
    assert '"#status in_progress"' in refusal and "request is closed" in refusal
    assert "Nothing was changed" in refusal


def test_mail_to_a_closed_request_opens_a_linked_one_under_new_request_policy(make_gate):
    gate = make_gate(closed_reply_policy="new_request")
    [request] = open_requests(gate, ("anna@corp.example", "Phones are down"))
    gate.deliver(
        reply_to(request.ack, sender=request.client, body="Resolve this issue", message_id="l1@c")
    )
    gate.run_once(at(5))
    [closed_notice] = mails_about(gate, request.client, request.tag)
    assert gate.show(request.tag)["status"] == "closed"

    gate.smtp.clear()
    gate.deliver(
        reply_to(
            closed_notice,
            sender=request.client,
            body="The phones are down again since this morning.",
            message_id="l2@c",
        )
    )
    gate.run_once(at(10))

    old, new = gate.show("REQ-1"), gate.show("REQ-2")
    assert old["status"] == "closed"
    assert status_changes(old) == [("new", "closed", request.client)]
    assert new["status"] == "new"
    assert new["requester"] == request.client
    assert new["linked_request"] == "REQ-1"
    assert "[REQ-1]" not in new["subject"]
    assert "phones are down again" in new["messages"][0]["text"]
    [ack] = gate.sent_to(request.client)
    assert "[REQ-2]" in ack["Subject"] and "[REQ-1]" not in ack["Subject"]
    assert "registered it as [REQ-2]" in text_of(ack)
    assert len(mails_about(gate, TEAM, "REQ-2")) == 1
