"""The loop's rules in-process: acknowledgement, relaying, threading, idempotency,
the retry of refused mail, and what `requests list/show` print.
"""

from __future__ import annotations

import email.utils

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, phones_down, reply_to

CLIENT = "client@corp.example"
CC = "boss@corp.example"


def first_request(gate):
    gate.deliver(phones_down(client=CLIENT, cc=CC, message_id="first@corp.example"))
    gate.run_once()
    return gate.requests()[0]


def test_new_request_acknowledged_and_agents_told(gate):
    request = first_request(gate)
    assert request["tag"] == "REQ-1"
    assert request["status"] == "new"
    assert request["requester"] == CLIENT
    assert request["subject"] == "Phones are down"

    [ack] = gate.sent_to(CLIENT)
    assert ack["Subject"] == "[REQ-1] Phones are down"
    assert email.utils.parseaddr(ack["From"])[1] == "support@example.org"
    assert ack["Message-ID"].endswith("@example.org>")
    assert ack["In-Reply-To"] == "<first@corp.example>"
    assert "<first@corp.example>" in ack["References"]
    assert ack["Auto-Submitted"] == "auto-generated"
    assert "REQ-1" in ack.get_body(("plain",)).get_content()
    assert "REQ-1" in ack.get_body(("html",)).get_content()
    assert len(gate.sent_to(CC)) == 1  # CC of the first message is a participant

    [notice] = gate.sent_to(TEAM)
    assert "[REQ-1]" in notice["Subject"]
    assert "all our phones are down" in notice.get_body(("plain",)).get_content()

    shown = gate.show("REQ-1")
    assert shown["participants"] == [CLIENT, CC]
    assert shown["events"][0]["kind"] == "created"
    assert shown["messages"][0]["kind"] == "client"
    assert "all our phones are down" in shown["messages"][0]["text"]


def test_processed_mail_leaves_the_inbox(gate):
    first_request(gate)
    assert gate.imap.list_folder("INBOX") == []
    assert len(gate.imap.list_folder("Processed")) == 1
    assert gate.imap.moves == [(("1",), "Processed")]


def test_agent_reply_is_relayed_from_the_support_address(gate):
    first_request(gate)
    [notice] = gate.sent_to(TEAM)
    gate.smtp.clear()
    gate.deliver(
        reply_to(
            notice,
            sender=f"Alice Agent <{AGENT}>",
            body="We restarted the PBX. Please check the phones now.",
            message_id="agent-1@support.example.org",
        )
    )
    gate.run_once()

    [answer] = gate.sent_to(CLIENT)
    assert email.utils.parseaddr(answer["From"])[1] == "support@example.org"
    assert AGENT not in answer.as_string()
    assert answer["From"] == "Alice Agent via Support <support@example.org>"  # SPEC §13
    assert answer["Subject"] == "[REQ-1] Phones are down"
    assert "Auto-Submitted" not in answer  # a person's answer, relayed
    text = answer.get_body(("plain",)).get_content()
    assert "We restarted the PBX" in text
    assert "all our phones are down" not in text  # the quoted notice is not relayed
    assert "<first@corp.example>" in answer["References"]
    assert len(gate.sent_to(CC)) == 1

    shown = gate.show("REQ-1")
    assert shown["status"] == "in_progress"
    status_events = [e for e in shown["events"] if e["kind"] == "status"]
    assert status_events[-1]["from"] == "new"
    assert status_events[-1]["to"] == "in_progress"
    assert status_events[-1]["actor"] == AGENT


def test_client_reply_threads_by_headers_alone(gate):
    first_request(gate)
    [ack] = gate.sent_to(CLIENT)
    gate.smtp.clear()
    gate.deliver(
        reply_to(
            ack,
            sender=CLIENT,
            subject="phones",  # the client removed the tag; the headers still thread it
            body="Some phones work again.",
            message_id="second@corp.example",
        )
    )
    gate.run_once()

    assert len(gate.requests()) == 1
    shown = gate.show("REQ-1")
    assert [m["text"] for m in shown["messages"] if m["direction"] == "in"][-1] == (
        "Some phones work again."
    )
    [notice] = gate.sent_to(TEAM)
    assert "Some phones work again." in notice.get_body(("plain",)).get_content()
    assert gate.sent_to(CLIENT) == []  # no acknowledgement of every reply


def test_client_reply_threads_by_tag(gate):
    first_request(gate)
    gate.deliver(
        make_mail(
            sender=CLIENT,
            subject="RE: [REQ-1] Phones are down",
            body="A new detail: the fax is down too.",
            message_id="third@corp.example",
        )
    )
    gate.run_once()
    assert len(gate.requests()) == 1
    assert gate.show("REQ-1")["messages"][-2]["text"] == "A new detail: the fax is down too."


def test_unknown_tag_opens_a_new_request(gate):
    first_request(gate)
    gate.deliver(
        make_mail(
            sender=CLIENT, subject="Re: [REQ-999] old", body="hi", message_id="u@corp.example"
        )
    )
    gate.run_once()
    assert [r["tag"] for r in gate.requests()] == ["REQ-1", "REQ-2"]


def test_same_message_twice_is_applied_once(gate):
    raw = make_mail(
        sender=CLIENT, subject="Printer", body="It jams.", message_id="dup@corp.example"
    )
    gate.deliver(raw, raw)
    first = gate.run_once()
    gate.deliver(raw)  # and once more, in a later round
    second = gate.run_once()

    assert (first.fetched, first.applied, first.duplicates) == (2, 1, 1)
    assert (second.fetched, second.applied, second.duplicates) == (1, 0, 1)
    assert len(gate.requests()) == 1
    assert len(gate.sent_to(CLIENT)) == 1
    assert gate.imap.list_folder("INBOX") == []
    assert len(gate.imap.list_folder("Processed")) == 3


def test_message_without_message_id_is_keyed_by_its_bytes(gate):
    raw = b"From: client@corp.example\r\nTo: support@example.org\r\nSubject: No id\r\n\r\nHi\r\n"
    gate.deliver(raw, raw)
    gate.run_once()
    assert len(gate.requests()) == 1


def test_smtp_outage_delays_mail_and_loses_none(gate):
    gate.smtp.fail()
    gate.deliver(make_mail(sender=CLIENT, subject="Outage", body="Hi", message_id="o@corp.example"))
    gate.run_once(now="2026-11-26T10:00:00+03:00")
    assert gate.smtp.messages == []
    assert gate.smtp.rejected >= 1
    assert len(gate.requests()) == 1  # the request exists; only its mail waits

    gate.smtp.recover()
    gate.run_once(now="2026-11-26T10:00:30+03:00")  # before the backoff has passed
    assert gate.smtp.messages == []
    gate.run_once(now="2026-11-26T10:05:00+03:00")
    assert len(gate.sent_to(CLIENT)) == 1
    assert len(gate.sent_to(TEAM)) == 1
    gate.run_once(now="2026-11-26T11:00:00+03:00")
    assert len(gate.smtp.messages) == 2  # sent once, never again


def test_one_temporary_refusal_is_retried_once_and_the_rest_follow(gate):
    gate.smtp.fail(count=1)
    gate.deliver(make_mail(sender=CLIENT, subject="Blip", body="Hi", message_id="b@corp.example"))
    first = gate.run_once(now="2026-11-26T10:00:00+03:00")
    assert gate.smtp.rejected == 1
    assert first.send_failures == 1 and first.sent == len(gate.smtp.messages)

    gate.run_once(now="2026-11-26T10:05:00+03:00")
    gate.run_once(now="2026-11-26T11:00:00+03:00")
    assert len(gate.sent_to(CLIENT)) == 1
    assert len(gate.sent_to(TEAM)) == 1
    assert len({m.message["Message-ID"] for m in gate.smtp.messages}) == 2  # none twice
    assert [m.attempts for m in gate.smtp.messages].count(1) == 1  # the refused one, again


def test_permanent_smtp_refusal_is_not_retried(gate):
    gate.smtp.fail(temporary=False)
    gate.deliver(make_mail(sender=CLIENT, subject="Perm", body="Hi", message_id="p@corp.example"))
    gate.run_once(now="2026-11-26T10:00:00+03:00")
    gate.smtp.recover()
    gate.run_once(now="2026-11-27T10:00:00+03:00")
    assert gate.smtp.messages == []


def test_a_refused_recipient_does_not_stop_mail_to_the_others(gate):
    gate.smtp.fail(temporary=False, recipients=[CLIENT])
    gate.deliver(make_mail(sender=CLIENT, subject="Bad", body="Hi", message_id="r@corp.example"))
    report = gate.run_once(now="2026-11-26T10:00:00+03:00")
    assert report.send_failures == 1
    gate.run_once(now="2026-11-27T10:00:00+03:00")
    assert gate.sent_to(CLIENT) == []
    assert len(gate.sent_to(TEAM)) == 1
    assert gate.smtp.rejected == 1  # refused for good, never tried again


def test_requests_list_and_show_shapes(gate):
    first_request(gate)
    [row] = gate.requests()
    assert {"number", "tag", "subject", "status", "requester", "notify", "updated_at"} <= set(row)
    shown = gate.show("REQ-1")
    expected_keys = {
        "number", "tag", "subject", "status", "requester", "notify", "owner", "participants",
        "created_at", "updated_at", "closed_at", "auto_close_at", "events", "messages",
    }  # fmt: skip
    assert expected_keys <= set(shown)
    assert shown["created_at"].endswith("+00:00")
    assert {"at", "actor", "kind", "from", "to", "detail"} <= set(shown["events"][0])
    assert shown["events"][0]["message_id"] == "first@corp.example"  # what caused it
    assert {"message_id", "direction", "from", "at", "kind", "text"} <= set(shown["messages"][0])
    assert gate.show("1")["tag"] == "REQ-1"
    missing = gate.cli("requests", "show", "REQ-77", check=False)
    assert missing.returncode != 0 and "REQ-77" in missing.stderr
    assert gate.requests("--status", "closed") == []


def test_raw_message_is_kept(gate):
    first_request(gate)
    [(raw,)] = gate.query("select raw from inbound")
    assert b"Message-ID: <first@corp.example>" in raw


def test_language_auto_answers_russian_mail_in_russian(make_gate):
    gate = make_gate(language="auto")
    body = "Здравствуйте! Не работает переадресация на номер 204."
    raw = (
        b"From: =?utf-8?b?0J/RkdGC0YA=?= <petr@corp.example>\r\nTo: support@example.org\r\n"
        b"Subject: =?windows-1251?b?z+Xw5eDk8OXx4Pbo/w==?=\r\nMessage-ID: <ru1@corp.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=windows-1251\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body.encode("windows-1251") + b"\r\n"
    )
    gate.deliver(raw)
    gate.deliver(make_mail(sender=CLIENT, subject="Fax", body="Fax is down.", message_id="en1@x"))
    gate.run_once()
    [ack_ru] = gate.sent_to("petr@corp.example")
    assert ack_ru["Subject"] == "[REQ-1] Переадресация"
    assert "зарегистрирована" in ack_ru.get_body(("plain",)).get_content()
    [ack_en] = gate.sent_to(CLIENT)
    assert "we have received your request" in ack_en.get_body(("plain",)).get_content()
    assert gate.show("REQ-1")["messages"][0]["text"] == body
