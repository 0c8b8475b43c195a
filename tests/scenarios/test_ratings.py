"""Satisfaction ratings (SPEC §16): the `closed` notice after a client's approval or an
agent's close carries good / bad `mailto:` buttons at rating addresses; a reply to one
records the rating and its comment, changes no status, reopens nothing, sends the
client nothing and tells the agents once. A request closed by the timer or by a
cancel asks nothing and records nothing; a forged rating address counts for nothing."""

from __future__ import annotations

import re
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOW = "2026-11-23T10:00:00+03:00"
LATER = "2026-11-23T11:00:00+03:00"
EVEN_LATER = "2026-11-23T12:00:00+03:00"
_MAILTO = re.compile(r"mailto:[^\s\"<>]+")


def open_request(gate, *, body: str = "Phones are down.") -> None:
    gate.deliver(make_mail(sender=CLIENT, subject="Phones are down", body=body,
                           message_id="first@corp.example"))  # fmt: skip
    gate.run_once(NOW)


SUBJECT = "Re: [REQ-1] Phones are down"


def client_writes(
    gate, body: str, *, message_id: str, to: str = "support@example.org",
    subject: str = SUBJECT, now: str = LATER,
) -> None:  # fmt: skip
    gate.deliver(make_mail(sender=CLIENT, subject=subject, body=body, message_id=message_id,
                           to=to))  # fmt: skip
    gate.run_once(now)


def buttons(notice: EmailMessage) -> dict[str, tuple[str, str]]:
    """The rating buttons of a notice's HTML: value -> (address, subject)."""
    html = notice.get_body(("html",)).get_content()
    found = {}
    for href in _MAILTO.findall(html):
        href = href.replace("&amp;", "&")
        parts = urlsplit(href)
        if "+r." in parts.path:
            subject = parse_qs(parts.query)["subject"][0]
            value = "good" if ".g." in parts.path else "bad"
            found[value] = (unquote(parts.path), subject)
    return found


def close_by_client(gate) -> EmailMessage:
    open_request(gate)
    gate.smtp.clear()
    client_writes(gate, "Resolve this issue", message_id="resolve@corp.example")
    [closed] = gate.sent_to(CLIENT)
    gate.smtp.clear()
    return closed


def test_a_rating_round_trip_in_english(gate):
    closed = close_by_client(gate)
    found = buttons(closed)
    assert set(found) == {"good", "bad"}
    address, subject = found["bad"]
    assert subject == "[REQ-1] Rating: bad"
    text = closed.get_body(("plain",)).get_content()
    assert address in text and "How did we do?" in text
    client_writes(gate, "It took three days.", message_id="rate1@corp.example", to=address,
                  subject=subject, now=EVEN_LATER)  # fmt: skip
    shown = gate.show("REQ-1")
    assert shown["status"] == "closed"
    assert shown["rating"]["value"] == "bad"
    assert shown["rating"]["comment"] == "It took three days."
    assert shown["rating"]["at"].startswith("2026-11-23T09:00:00")
    assert gate.sent_to(CLIENT) == []  # no thank-you, no closed_reply
    [told] = gate.sent_to(TEAM)
    assert "rated [REQ-1]: bad" in told.get_body(("plain",)).get_content()
    assert [r["tag"] for r in gate.requests("--rated", "bad")] == ["REQ-1"]
    assert gate.requests("--rated", "good") == []
    assert [r["rating"] for r in gate.requests("--rated", "any")] == ["bad"]


def test_a_second_rating_replaces_the_first(gate):
    found = buttons(close_by_client(gate))
    client_writes(gate, "", message_id="rate1@corp.example", to=found["good"][0])
    assert gate.show("REQ-1")["rating"]["value"] == "good"
    gate.smtp.clear()
    client_writes(gate, "On second thought: slow.", message_id="rate2@corp.example",
                  to=found["bad"][0], now=EVEN_LATER)  # fmt: skip
    rating = gate.show("REQ-1")["rating"]
    assert (rating["value"], rating["comment"]) == ("bad", "On second thought: slow.")
    [told] = gate.sent_to(TEAM)
    assert 'replacing an earlier "good"' in told.get_body(("plain",)).get_content()
    gate.smtp.clear()
    client_writes(gate, "On second thought: slow.", message_id="rate3@corp.example",
                  to=found["bad"][0], now=EVEN_LATER)  # fmt: skip
    assert gate.sent_to(TEAM) == []  # the same rating again tells nobody


def test_a_rating_round_trip_in_russian(make_gate):
    gate = make_gate(language="ru")
    closed = close_by_client(gate)
    text = closed.get_body(("plain",)).get_content()
    assert "Как мы справились?" in text
    address, subject = buttons(closed)["good"]
    assert subject == "[REQ-1] Оценка: хорошо"
    client_writes(gate, "Спасибо, всё работает!", message_id="rate@corp.example", to=address,
                  subject=subject)  # fmt: skip
    rating = gate.show("REQ-1")["rating"]
    assert (rating["value"], rating["comment"]) == ("good", "Спасибо, всё работает!")
    assert gate.show("REQ-1")["status"] == "closed"
    assert gate.sent_to(CLIENT) == []


def test_an_agents_close_asks_for_a_rating(gate):
    open_request(gate)
    gate.smtp.clear()
    gate.deliver(
        make_mail(
            sender=AGENT,
            subject="Re: [REQ-1] Phones are down",
            body="#status closed",
            message_id="close@support.example.org",
        )
    )
    gate.run_once(LATER)
    [closed] = gate.sent_to(CLIENT)
    assert set(buttons(closed)) == {"good", "bad"}
    assert not any(buttons(n) for n in gate.sent_to(TEAM))


def test_an_answer_that_closes_carries_the_buttons_in_its_one_mail(gate):
    """SPEC §15 makes the answer and the close one mail: its HTML has the buttons too."""
    open_request(gate)
    gate.smtp.clear()
    gate.deliver(make_mail(sender=AGENT, subject=SUBJECT, message_id="answer@support.example.org",
                           body="The phones work again.\n\n#status closed"))  # fmt: skip
    gate.run_once(LATER)
    [answer] = gate.sent_to(CLIENT)
    assert "The phones work again." in answer.get_body(("plain",)).get_content()
    assert set(buttons(answer)) == {"good", "bad"}


def test_a_cancel_asks_nothing_and_a_rating_records_nothing(gate):
    # A valid rating address of this request, as if offered: it is not recorded either.
    open_request(gate)
    gate.smtp.clear()
    client_writes(gate, "Cancel request", message_id="cancel@corp.example")
    assert all(not buttons(n) for n in gate.sent_to(CLIENT))
    address = _forge_valid_address(gate)
    gate.smtp.clear()
    client_writes(gate, "Great!", message_id="rate@corp.example", to=address, now=EVEN_LATER)
    shown = gate.show("REQ-1")
    assert shown["rating"] is None
    assert any(e["kind"] == "rating_ignored" and "no rating was asked" in e["detail"]
               for e in shown["events"])  # fmt: skip
    assert gate.requests("--rated", "any") == []


def test_an_auto_closed_request_asks_nothing_and_records_nothing(gate):
    open_request(gate)
    gate.deliver(make_mail(sender=AGENT, subject="Re: [REQ-1] Phones are down",
                           body="Fixed.\n#status awaiting_confirmation",
                           message_id="done@support.example.org"))  # fmt: skip
    gate.run_once(LATER)
    gate.smtp.clear()
    gate.run_once("2026-12-01T10:00:00+03:00")  # three business days later: closed by the timer
    assert gate.show("REQ-1")["status"] == "closed"
    [closed] = gate.sent_to(CLIENT)
    assert buttons(closed) == {}
    assert "How did we do?" not in closed.get_body(("plain",)).get_content()
    # A plain reply with a rating subject records nothing.
    client_writes(
        gate,
        "Bad.",
        message_id="plain@corp.example",
        subject="Re: [REQ-1] Rating: bad",
        now="2026-12-01T11:00:00+03:00",
    )
    assert gate.show("REQ-1")["rating"] is None


@pytest.mark.parametrize("tamper", ["mac", "request"])
def test_a_forged_rating_address_records_nothing(gate, tamper):
    found = buttons(close_by_client(gate))
    address = found["good"][0]
    local, _, domain = address.partition("@")
    if tamper == "mac":
        forged = local[:-4] + "0000@" + domain
    else:
        forged = local.replace("+r.1.", "+r.2.") + "@" + domain
    client_writes(gate, "Great!", message_id="forged@corp.example", to=forged)
    shown = gate.show("REQ-1")
    assert shown["rating"] is None
    [ignored] = [e for e in shown["events"] if e["kind"] == "rating_ignored"]
    assert "not one mailgate made" in ignored["detail"]
    assert gate.sent_to(TEAM) == []


def test_a_stranger_cannot_rate(gate):
    found = buttons(close_by_client(gate))
    gate.deliver(make_mail(sender="stranger@evil.example", subject="[REQ-1] Rating: bad",
                           body="Terrible", message_id="s@evil.example",
                           to=found["bad"][0]))  # fmt: skip
    gate.run_once(LATER)
    assert gate.show("REQ-1")["rating"] is None


def _forge_valid_address(gate) -> str:
    """The rating address mailgate would make for REQ-1 (with the install's secret)."""
    from mailgate.reply_tokens import rating_address

    [[secret]] = gate.query("SELECT value FROM install_secrets WHERE name = 'token'")
    return rating_address("support@example.org", secret, request=1, value="good")


def test_a_close_from_the_shell_asks_for_a_rating(gate):
    open_request(gate)
    gate.smtp.clear()
    gate.cli("requests", "set-status", "REQ-1", "closed", "--by", AGENT)
    gate.run_once()  # the real time: the CLI queued it then
    [closed] = gate.sent_to(CLIENT)
    assert set(buttons(closed)) == {"good", "bad"}


def test_metrics_count_ratings(gate):
    import datetime as dt

    from prometheus_client import generate_latest

    from mailgate.metrics import Metrics

    found = buttons(close_by_client(gate))
    client_writes(gate, "", message_id="rate@corp.example", to=found["good"][0])
    metrics = Metrics(gate.app.store, ["default"])
    metrics._read_queues(dt.datetime.now(dt.UTC))
    scraped = generate_latest(metrics.registry).decode()
    assert 'mailgate_ratings{mailbox="default",rating="good"} 1.0' in scraped
    assert 'mailgate_ratings{mailbox="default",rating="bad"} 0.0' in scraped
