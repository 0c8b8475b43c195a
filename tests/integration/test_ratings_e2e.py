"""Priority, labels and a satisfaction rating end to end (SPEC §16): mail through a real
Dovecot, `mailgate run --once` as a subprocess, notifications through the aiosmtpd
sink, on SQLite and on PostgreSQL. The rules case by case are
tests/scenarios/test_triage.py and tests/scenarios/test_ratings.py."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, unquote, urlsplit

from tests.harness import TEAM
from tests.mails import make_mail, phones_down, reply_to

CLIENT = "client@corp.example"
_BUTTON = re.compile(r'href="(mailto:[^"]*\+r\.[^"]*)"')


def test_an_agents_close_is_rated_by_the_client(gate):
    gate.deliver(
        phones_down(client=CLIENT, cc="boss@corp.example", message_id="rate-1@corp.example")
    )
    gate.run_once("2026-11-26T10:00:00+03:00")
    [notice] = gate.sent_to(TEAM)
    gate.smtp.clear()
    body = "Fixed the trunk.\n#priority high\n#label add Trunks\n#status closed"
    agent_mail = reply_to(notice, sender="Alice <alice@support.example.org>", body=body,
                          message_id="rate-2@support.example.org")  # fmt: skip
    gate.deliver(agent_mail)
    gate.run_once("2026-11-26T10:05:00+03:00")
    [closed] = [m for m in gate.sent_to(CLIENT) if "closed" in m.get_body(("plain",)).get_content()]
    hrefs = [html.unescape(h) for h in _BUTTON.findall(closed.get_body(("html",)).get_content())]
    [bad] = [urlsplit(h) for h in hrefs if ".b." in h]
    subject = parse_qs(bad.query)["subject"][0]
    assert subject == "[REQ-1] Rating: bad"
    gate.smtp.clear()

    gate.deliver(
        make_mail(
            sender=CLIENT,
            to=unquote(bad.path),
            subject=subject,
            body="Two days without phones.",
            message_id="rate-3@corp.example",
        )
    )
    gate.run_once("2026-11-26T11:00:00+03:00")
    shown = gate.show("REQ-1")
    assert (shown["status"], shown["priority"], shown["labels"]) == ("closed", "high", ["trunks"])
    assert shown["rating"]["value"] == "bad"
    assert shown["rating"]["comment"] == "Two days without phones."
    assert gate.sent_to(CLIENT) == []
    [told] = gate.sent_to(TEAM)
    assert "rated [REQ-1]: bad" in told.get_body(("plain",)).get_content()
    [listed] = gate.requests("--rated", "bad", "--priority", "high", "--label", "trunks")
    assert (listed["tag"], listed["rating"]) == ("REQ-1", "bad")
