"""Rendering of every notification template, English and Russian, through `Renderer`.

Each template is rendered with the context deciding gives it (see `CASES`):
the labels, the notice's own keys, `status` and `request` (`decide.draft.request_context`).
StrictUndefined is on, so a template that uses a variable deciding does not
pass fails here. The rendered bytes are parsed back with `policy.default` and
checked as a mail client would see them.
"""

from __future__ import annotations

import base64
import datetime as dt
import email
import email.policy
import re
import tomllib
from dataclasses import dataclass, field, replace
from email.message import EmailMessage
from html.parser import HTMLParser
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from jinja2 import Environment, meta

from mailgate.config import DEFAULT_TEMPLATES_DIR
from mailgate.decide.draft import request_context
from mailgate.decision import Notice
from mailgate.domain import Status
from mailgate.notify import CLIENT_COMMANDS, Renderer, Sender
from mailgate.parse import parse_message
from mailgate.parse.auto import MAILGATE_LOOP_MARKER
from mailgate.parse.commands import scan_commands
from mailgate.workflow import Refusal, set_status_notice

TEMPLATES = DEFAULT_TEMPLATES_DIR
LANGUAGES = ("en", "ru")
MOSCOW = ZoneInfo("Europe/Moscow")
SENDER = Sender(address="support@example.org", name="Example Support")
CLIENT = "ivan.petrov@client.example.net"
TEAM = "team@example.org"
NUMBER = 12
TAG = "[REQ-12]"
SUBJECT = "SIP trunk down after the update"
NOW = dt.datetime(2026, 12, 7, 10, 0, tzinfo=MOSCOW)  # a Monday
# Stored in UTC as the database gives it back; 10:00 MSK on Thursday.
AUTO_CLOSE_AT = dt.datetime(2026, 12, 10, 7, 0, tzinfo=dt.UTC)
# The client's first mail, a notification, and the agent's reply: oldest first.
THREAD = [
    "CAF4x9Q=first@mail.client.example.net",
    "mg.12.5f1c0a@example.org",
    "20261207091500.A1B2@agent.example.org",
]
ANSWER = (
    "Hello Ivan,\n\nplease restart the PBX.\n<script>alert(1)</script> <b>not bold</b> & done\n"
)
HOSTILE = '<script>alert(1)</script><img src=x onerror="alert(2)">'
FREE_TEXT_KEYS = ("text", "answer", "reason", "command", "from", "comment")

RENDERER = Renderer(TEMPLATES, sender=SENDER, tag_prefix="REQ", timezone=MOSCOW)


@dataclass(frozen=True, slots=True, kw_only=True)
class Case:
    """What deciding (a message or a timer) passes for one template."""

    status: Status
    context: dict[str, Any] = field(default_factory=dict)
    relay: bool = False
    auto_close_at: dt.datetime | None = None
    owner: str | None = None


# Client notices: sent in the request's language. Mirrors decide/message.py and decide/timers.py.
CLIENT_CASES = {
    "created": Case(
        status=Status.NEW, context={"text": "The trunk is down since 9:00.", "answer_due": None}
    ),
    "agent_answer": Case(
        status=Status.IN_PROGRESS, context={"answer": ANSWER, "status_news": None}, relay=True
    ),
    "status_changed": Case(status=Status.ON_HOLD, context={"by_client": False}),
    "awaiting_confirmation": Case(
        status=Status.AWAITING_CONFIRMATION,
        context={"by_client": False},
        auto_close_at=AUTO_CLOSE_AT,
    ),
    "reminder": Case(status=Status.AWAITING_CONFIRMATION, auto_close_at=AUTO_CLOSE_AT),
    "closed": Case(status=Status.CLOSED, context={"by_client": True}),
    "cancelled": Case(status=Status.CLOSED, context={"by_client": True}),
    "escalation_accepted": Case(
        status=Status.ESCALATED, context={"reason": "no answer for three days"}
    ),
    "escalation_refused": Case(
        status=Status.IN_PROGRESS, context={"reason": "ASAP", "category": "priority_only"}
    ),
    "closed_reply": Case(status=Status.CLOSED),
    "merged": Case(
        status=Status.IN_PROGRESS,
        context={"merged_tag": "REQ-5", "merged_subject": "Phones down again"},
    ),
    "command_refused": Case(
        status=Status.CLOSED,
        context={"command": "Cancel request", "refusal": "closed", "status": Status.CLOSED},
    ),
}
# Agent notices: always English.
AGENT_CASES = {
    "agent_new_request": Case(
        status=Status.NEW,
        context={
            "text": "The trunk is down.",
            "not_acknowledged": [CLIENT],
            "cc_left_out": ["eleventh@client.example.net", "twelfth@client.example.net"],
            "cc_left_out_count": 1190,
        },
    ),
    "agent_client_reply": Case(
        status=Status.IN_PROGRESS, context={"text": "Still down.", "from": CLIENT}
    ),
    "agent_held": Case(
        status=Status.IN_PROGRESS, context={"text": "Me too!", "from": "someone@else.example"}
    ),
    "agent_status_changed": Case(
        status=Status.CLOSED,
        context={"command": "Resolve this issue", "from": CLIENT, "text": "Phones work again."},
    ),
    "agent_escalated": Case(
        status=Status.ESCALATED,
        context={"reason": "no answer", "from": CLIENT, "text": "No answer since Monday."},
    ),
    "agent_note": Case(
        status=Status.IN_PROGRESS, context={"text": "Check the trunk.", "from": "alice@example.org"}
    ),
    "agent_bounce": Case(
        status=Status.IN_PROGRESS,
        context={"addresses": ["gone@corp.example"], "text": "550 no such user", "hold_days": 7},
    ),
    "agent_sla_breach": Case(
        status=Status.IN_PROGRESS,
        context={"target": "resolution", "due_at": NOW},
    ),
    "agent_participants": Case(
        status=Status.IN_PROGRESS,
        context={"by": "alice@example.org", "added": ["bob@client.example.net"], "removed": []},
    ),
    "agent_command_refused": Case(
        status=Status.CLOSED,
        context={"command": "#status on_hold", "refusal": "closed", "status": "closed"},
    ),
    "agent_forward_opened": Case(
        status=Status.NEW,
        context={
            "text": "Our fax line is down.",
            "note": "VIP, call back.",
            "forwarded_by": "alice@example.org",
            "acknowledged": False,
            "not_acknowledged": [CLIENT],
            "cc_left_out": [],
            "cc_left_out_count": 0,
        },
    ),
    "agent_forward_refused": Case(
        status=Status.NEW,
        context={
            "command": "#fwd",
            "why": "the forwarded message names no sender",
            "forwarded": {"sender": "Kowalski, Jan", "date": "", "subject": "PIN", "text": "PIN?"},
        },
    ),
    "agent_rating": Case(
        status=Status.CLOSED,
        context={"value": "bad", "comment": "Slow.", "from": CLIENT, "replaced": "good"},
    ),
}
CASES = {**CLIENT_CASES, **AGENT_CASES}
CLIENT_PAIRS = [(language, name) for language in LANGUAGES for name in CLIENT_CASES]
ALL_PAIRS = [*CLIENT_PAIRS, *(("en", name) for name in AGENT_CASES)]
OPEN_CLIENT_PAIRS = [
    (language, name) for language, name in CLIENT_PAIRS if CLIENT_CASES[name].status.is_open
]
CLOSED_CLIENT_PAIRS = [
    (language, name) for language, name in CLIENT_PAIRS if not CLIENT_CASES[name].status.is_open
]
OFFERED_COMMANDS = ("resolve", "escalate", "cancel", "dont_notify")


def make_notice(
    name: str,
    language: str,
    *,
    case: Case | None = None,
    **context: Any,
) -> Notice:
    """A notice built the way `Draft.notify` builds it."""
    case = case or CASES[name]
    request = SimpleNamespace(
        status=case.status, requester=CLIENT, auto_close_at=case.auto_close_at, owner=case.owner,
        priority="normal", labels=(),
        participants=(SimpleNamespace(address=CLIENT, role="requester"),),
    )
    return Notice(
        template=name,
        recipient=TEAM if name in AGENT_CASES else CLIENT,
        language=language,
        context={
            **case.context,
            **context,
            "status": case.status,
            "request": request_context(request),  # type: ignore[arg-type]
        },
        relay=case.relay,
    )


def render(
    notice: Notice,
    *,
    subject: str = SUBJECT,
    thread_ids: list[str] | None = None,
    renderer: Renderer = RENDERER,
) -> tuple[EmailMessage, str, str]:
    """Render, parse back as a reader would; return (message, text part, HTML part)."""
    rendered = renderer.render(
        notice,
        request_number=NUMBER,
        request_subject=subject,
        thread_ids=THREAD if thread_ids is None else thread_ids,
        now=NOW,
    )
    message = email.message_from_bytes(rendered.raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content().replace("\r\n", "\n")  # sent with CRLF line ends
    assert text.splitlines() == rendered.text.splitlines()
    assert rendered.message_id == message["Message-ID"].strip("<>")
    return message, text, html.get_content().replace("\r\n", "\n")


def mailto_subject(href: str) -> tuple[str, str]:
    """(address, URL-decoded subject) of a mailto: link."""
    parts = urlsplit(href)
    assert parts.scheme == "mailto"
    return parts.path, parse_qs(parts.query)["subject"][0]


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.extend(value for key, value in attrs if key == "href" and value)


def mailto_links(html: str) -> dict[str, str]:
    """Decoded subject -> address of every mailto: link in an HTML part."""
    parser = _Links()
    parser.feed(html)
    return {subject: address for address, subject in map(mailto_subject, parser.hrefs)}


def stems(language: str, suffix: str) -> set[str]:
    return {path.stem for path in (TEMPLATES / language).glob(f"*{suffix}")}


def extends(language: str, name: str) -> str:
    first = (TEMPLATES / language / f"{name}.txt").read_text("utf-8").splitlines()[0]
    match = re.fullmatch(r'\{% extends "([^"]+)" %\}', first)
    return match.group(1) if match else ""


EN_CLIENT = {name for name in stems("en", ".txt") if extends("en", name) == "en/_client.txt"}
EN_AGENT = {name for name in stems("en", ".txt") if extends("en", name) == "en/_agent.txt"}


# -- the template set -----------------------------------------------------------------


def test_case_tables_cover_every_template_on_disk() -> None:
    assert set(CLIENT_CASES) == EN_CLIENT
    assert set(AGENT_CASES) == EN_AGENT
    # check_test: `mailgate check`; partials: the status paragraphs (also in answers), and
    # what a client wrote (in every agents' notice about a client's message), the rating
    # buttons (in `closed` and in an answer that closes)
    standalone = {"_client", "_agent", "_files", "_status_news", "_client_words",
                  "_rating_buttons", "check_test"}
    assert stems("en", ".txt") == EN_CLIENT | EN_AGENT | standalone


@pytest.mark.parametrize(
    ("language", "name"),
    sorted((language, name) for language in LANGUAGES for name in stems(language, ".txt")),
)
def test_every_text_template_has_an_html_sibling(language: str, name: str) -> None:
    assert (TEMPLATES / language / f"{name}.html").is_file()


@pytest.mark.parametrize(
    ("language", "name"),
    sorted((language, name) for language in LANGUAGES for name in stems(language, ".html")),
)
def test_every_html_template_has_a_text_sibling(language: str, name: str) -> None:
    assert (TEMPLATES / language / f"{name}.txt").is_file()


@pytest.mark.parametrize("name", sorted(EN_CLIENT | {"_client"}))
def test_every_english_client_template_has_a_russian_one(name: str) -> None:
    for suffix in (".txt", ".html"):
        assert (TEMPLATES / "ru" / f"{name}{suffix}").is_file()


def test_russian_set_is_exactly_the_client_set() -> None:
    """Agents get English: no agent template or layout is translated."""
    partials = {"_client", "_files", "_rating_buttons", "_status_news"}
    assert stems("ru", ".txt") == EN_CLIENT | partials | {"check_test"}
    assert stems("ru", ".html") == stems("ru", ".txt")


@pytest.mark.parametrize("name", sorted(EN_CLIENT))
def test_russian_templates_extend_the_russian_layout(name: str) -> None:
    assert extends("ru", name) == "ru/_client.txt"
    first = (TEMPLATES / "ru" / f"{name}.html").read_text("utf-8").splitlines()[0]
    assert first == '{% extends "ru/_client.html" %}'


def test_labels_have_the_same_keys_in_both_languages() -> None:
    en, ru = (
        tomllib.loads((TEMPLATES / language / "labels.toml").read_text("utf-8"))
        for language in LANGUAGES
    )
    assert (
        set(en)
        == set(ru)
        == {"status_label", "status_help", "refusal_text", "file_units", "file_left_out",
            "calendar", "rating"}
    )
    for table in en:
        assert set(en[table]) == set(ru[table]), table
    assert set(en["status_label"]) == set(en["status_help"]) == {s.value for s in Status}
    assert set(en["refusal_text"]) == {r.value for r in Refusal}
    for language in (en, ru):
        assert len(language["calendar"]["weekdays"]) == 7
        assert len(language["calendar"]["months"]) == 12


# -- headers of every notice ------------------------------------------------------------


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_every_notice_has_tag_threading_and_loop_headers(language: str, name: str) -> None:
    message, _, _ = render(make_notice(name, language))

    assert message["Subject"] == f"{TAG} {SUBJECT}"
    assert message["To"] == (TEAM if name in AGENT_CASES else CLIENT)
    assert message["From"].addresses[0].addr_spec == SENDER.address
    assert message["From"].addresses[0].display_name == SENDER.name
    assert message["Reply-To"] == SENDER.address
    assert re.fullmatch(r"<mg\.12\.[0-9a-f]{32}@example\.org>", message["Message-ID"])
    assert message["In-Reply-To"] == f"<{THREAD[-1]}>"
    assert message["References"].split() == [f"<{ref}>" for ref in THREAD]
    assert message["X-Loop"] == MAILGATE_LOOP_MARKER
    assert message["X-Mailgate-Request"] == "REQ-12"
    assert message["Date"].datetime == NOW


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_auto_submitted_on_all_but_relayed_answers(language: str, name: str) -> None:
    notice = make_notice(name, language)
    message, _, _ = render(notice)
    if notice.relay:
        assert message["Auto-Submitted"] is None
    else:
        assert message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("language", LANGUAGES)
def test_relayed_agent_answer_is_not_auto_generated_but_the_same_text_otherwise_is(
    language: str,
) -> None:
    relayed, _, _ = render(make_notice("agent_answer", language))
    case = CLIENT_CASES["agent_answer"]
    plain = Case(status=case.status, context=case.context, relay=False)
    generated, _, _ = render(make_notice("agent_answer", language, case=plain))
    assert "Auto-Submitted" not in relayed
    assert generated["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_list_unsubscribe_is_a_mailto_with_dont_notify_me(language: str, name: str) -> None:
    message, _, _ = render(make_notice(name, language))
    value = message["List-Unsubscribe"].strip()  # may be folded before the value
    assert value.startswith("<") and value.endswith(">")
    address, subject = mailto_subject(value[1:-1])
    assert address == SENDER.address
    assert subject == f"{TAG} {CLIENT_COMMANDS[language]['dont_notify']}"


def test_list_unsubscribe_names_the_english_and_russian_commands() -> None:
    english, _, _ = render(make_notice("created", "en"))
    russian, _, _ = render(make_notice("created", "ru"))
    assert mailto_subject(english["List-Unsubscribe"].strip()[1:-1])[1] == f"{TAG} Don't notify me"
    assert mailto_subject(russian["List-Unsubscribe"].strip()[1:-1])[1] == f"{TAG} Не уведомлять"


@pytest.mark.parametrize("language", LANGUAGES)
def test_first_notice_of_a_thread_has_no_reply_headers(language: str) -> None:
    message, _, _ = render(make_notice("created", language), thread_ids=[])
    assert message["In-Reply-To"] is None
    assert message["References"] is None


def test_each_notice_gets_its_own_message_id() -> None:
    first, _, _ = render(make_notice("created", "en"))
    second, _, _ = render(make_notice("created", "en"))
    assert first["Message-ID"] != second["Message-ID"]


# -- parts ------------------------------------------------------------------------------


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_text_and_html_parts_are_present_and_decodable(language: str, name: str) -> None:
    message, text, html = render(make_notice(name, language))
    assert message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    for part in message.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert not part.defects
    assert TAG in text and TAG in html
    assert "{{" not in text + html and "{%" not in text + html
    assert html.lstrip().startswith("<!DOCTYPE html>")
    assert html.rstrip().endswith("</html>")


@pytest.mark.parametrize(("language", "name"), OPEN_CLIENT_PAIRS)
def test_html_offers_the_client_commands_as_mailto_links(language: str, name: str) -> None:
    _, _, html = render(make_notice(name, language))
    links = mailto_links(html)
    for command in OFFERED_COMMANDS:
        words = CLIENT_COMMANDS[language][command]
        subject = f"{TAG} {words}"
        assert subject in links, f"no link for {command}"
        assert links[subject] == SENDER.address


@pytest.mark.parametrize(("language", "name"), OPEN_CLIENT_PAIRS)
def test_text_footer_lists_the_client_commands(language: str, name: str) -> None:
    _, text, _ = render(make_notice(name, language))
    footer = text.rpartition("\n-- \n")[2]
    for command in OFFERED_COMMANDS:
        assert CLIENT_COMMANDS[language][command].strip() in footer


@pytest.mark.parametrize(("language", "name"), CLOSED_CLIENT_PAIRS)
def test_notices_about_a_closed_request_offer_no_commands(language: str, name: str) -> None:
    """Commands on a closed request would only be refused; the footer says to write anew."""
    message, text, html = render(make_notice(name, language))
    assert not mailto_links(html)
    footer = text.rpartition("\n-- \n")[2]
    assert CLIENT_COMMANDS[language]["resolve"] not in footer
    assert message["List-Unsubscribe"]  # still there for the mail client's button


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_notice_text_read_back_as_a_reply_carries_no_command(language: str, name: str) -> None:
    """A mail client that quotes without `>` must not turn our own words into commands."""
    _, text, _ = render(make_notice(name, language))
    scan = scan_commands(new_text=text, quoted_text="", subject_after_tag="")
    assert not scan.commands


# -- escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_agent_answer_is_escaped_in_html_and_verbatim_in_text(language: str) -> None:
    _, text, html = render(make_notice("agent_answer", language))
    assert ANSWER.strip() in text
    assert "<script>" not in html and "<b>not bold</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;not bold&lt;/b&gt;" in html
    assert "&amp; done" in html


@pytest.mark.parametrize(("language", "name"), ALL_PAIRS)
def test_nothing_from_mail_is_rendered_as_markup(language: str, name: str) -> None:
    """The subject and every free-text value deciding copies from mail."""
    case = CASES[name]
    hostile = {key: HOSTILE for key in FREE_TEXT_KEYS if key in case.context}
    _, text, html = render(make_notice(name, language, **hostile), subject=HOSTILE)
    assert "<script" not in html and "<img" not in html
    if hostile:
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img" in html
        assert HOSTILE in text  # text parts are not escaped


# -- header injection -----------------------------------------------------------------------

INJECTED_SUBJECTS = [
    "=?utf-8?q?Help=0D=0ABcc:_victim@evil.tld?=",
    "=?utf-8?q?Help=0ABcc:_victim@evil.tld?=",
    "=?utf-8?b?" + base64.b64encode(b"Help\r\nBcc: victim@evil.tld\r\n\r\nbody").decode() + "?=",
    "=?koi8-r?q?=F0=CF=CD=CF=DD=D8=0D=0ABcc:_victim@evil.tld?=",
]


def assert_no_injection(rendered: EmailMessage, raw_subject_words: str) -> None:
    assert rendered["Bcc"] is None
    assert "Bcc" not in rendered
    assert rendered["Subject"].startswith(TAG)
    assert raw_subject_words in rendered["Subject"]
    assert "\r" not in rendered["Subject"] and "\n" not in rendered["Subject"]
    assert rendered["Subject"].count("victim@evil.tld") == 1
    assert rendered.get_all("Subject") == [rendered["Subject"]]
    assert rendered["To"] == CLIENT
    assert not rendered.defects
    for name, value in rendered.items():
        assert not getattr(value, "defects", ()), name


@pytest.mark.parametrize("encoded", INJECTED_SUBJECTS)
def test_encoded_crlf_in_a_request_subject_does_not_reach_a_header(encoded: str) -> None:
    raw = (
        f"From: Ivan <{CLIENT}>\r\nTo: support@example.org\r\nSubject: {encoded}\r\n"
        "Message-ID: <inject@client.example.net>\r\n\r\nhello\r\n"
    ).encode("ascii")
    inbound = parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({SENDER.address}))
    for language in LANGUAGES:
        message, _, _ = render(make_notice("created", language), subject=inbound.subject)
        assert_no_injection(message, "Bcc: victim@evil.tld")


@pytest.mark.parametrize(
    "subject",
    [
        "Help\r\nBcc: victim@evil.tld",
        "Help\nBcc: victim@evil.tld\n\n<html>body</html>",
        "Help\rBcc: victim@evil.tld",
        "Help\x00\x0bBcc: victim@evil.tld",
    ],
)
def test_raw_control_characters_in_a_subject_are_flattened(subject: str) -> None:
    """Even if a caller passes an undecoded subject, the renderer keeps it on one line."""
    message, _, _ = render(make_notice("created", "en"), subject=subject)
    assert_no_injection(message, "Help Bcc: victim@evil.tld")


def test_very_long_subject_is_bounded() -> None:
    message, _, _ = render(make_notice("created", "en"), subject="слово " * 500)
    assert len(message["Subject"]) <= 200
    assert message["Subject"].endswith("…")


@pytest.mark.parametrize("name", sorted(AGENT_CASES))
def test_agent_notices_are_english_and_name_the_owner(name: str) -> None:
    case = CASES[name]
    owned = Case(status=case.status, context=case.context, owner="alice@example.org")
    _, text, html = render(make_notice(name, "en", case=owned))
    assert "owner: alice@example.org" in text and "owner: alice@example.org" in html
    assert f"status: {case.status}" in text
    assert "#note" in text and "#status" in text
    _, unowned, _ = render(make_notice(name, "en"))
    assert "owner:" not in unowned


# -- time ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_awaiting_confirmation_names_the_auto_close_date_in_local_time(language: str) -> None:
    _, text, html = render(make_notice("awaiting_confirmation", language))
    assert "2026-12-10 10:00 MSK" in text  # 07:00 UTC, in the calendar's Moscow time
    assert "2026-12-10 10:00 MSK" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_auto_close_date_follows_the_calendar_time_zone(language: str) -> None:
    renderer = Renderer(
        TEMPLATES, sender=SENDER, tag_prefix="REQ", timezone=ZoneInfo("Asia/Vladivostok")
    )
    case = Case(
        status=Status.AWAITING_CONFIRMATION,
        context={"by_client": False},
        auto_close_at=dt.datetime(2026, 12, 10, 20, 0, tzinfo=dt.UTC),
    )
    notice = make_notice("awaiting_confirmation", language, case=case)
    _, text, html = render(notice, renderer=renderer)
    assert "2026-12-11 06:00 +10" in text  # the next local day
    assert "2026-12-11 06:00 +10" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_cancelled_by_an_agent_names_the_auto_close_date(language: str) -> None:
    case = Case(status=Status.CANCELLED, context={"by_client": False}, auto_close_at=AUTO_CLOSE_AT)
    _, text, html = render(make_notice("status_changed", language, case=case))
    assert "2026-12-10 10:00 MSK" in text and "2026-12-10 10:00 MSK" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_status_change_without_auto_close_names_no_date(language: str) -> None:
    _, text, html = render(make_notice("status_changed", language))
    assert "MSK" not in text and "MSK" not in html


# An agent's answer with a `#status` line: one mail, the answer, then the status news.
ANSWER_NEWS = {
    Status.AWAITING_CONFIRMATION: Case(status=Status.AWAITING_CONFIRMATION, relay=True,
                                       auto_close_at=AUTO_CLOSE_AT),
    Status.CLOSED: Case(status=Status.CLOSED, relay=True),
    Status.ON_HOLD: Case(status=Status.ON_HOLD, relay=True),
}  # fmt: skip


@pytest.mark.parametrize("status", list(ANSWER_NEWS))
@pytest.mark.parametrize("language", LANGUAGES)
def test_answer_carries_the_status_news_after_the_answer(language: str, status: Status) -> None:
    case = ANSWER_NEWS[status]
    news = set_status_notice(status)
    notice = make_notice("agent_answer", language, case=case, answer=ANSWER, status_news=news)
    _, text, html = render(notice)
    alone = make_notice(news, language,
                        case=replace(case, relay=False), by_client=False)  # fmt: skip
    _, news_text, _ = render(alone)
    # The status notice's own paragraphs, word for word, below the answer.
    paragraphs = news_text.split("\n-- \n")[0].strip()
    assert text.index("please restart the PBX") < text.index(paragraphs)
    assert html.index("please restart the PBX") < html.index('class="mg-news"')
    if status is Status.AWAITING_CONFIRMATION:
        assert "2026-12-10 10:00 MSK" in text and "2026-12-10 10:00 MSK" in html


@pytest.mark.parametrize("language", LANGUAGES)
def test_answer_without_news_says_nothing_of_the_status(language: str) -> None:
    _, text, html = render(make_notice("agent_answer", language))
    assert "mg-news" not in html
    assert labels(language)["status_help"]["in_progress"] not in text


def test_agents_see_a_thanks_only_reply_keeps_the_status_and_its_close_date() -> None:
    words = {"text": "Thanks, will check", "from": CLIENT, "thanks_only": True}
    case = Case(status=Status.AWAITING_CONFIRMATION, auto_close_at=AUTO_CLOSE_AT, context=words)
    _, text, html = render(make_notice("agent_client_reply", "en", case=case))
    assert "Only thanks: [REQ-12] stays awaiting_confirmation" in text
    assert "2026-12-10 10:00 MSK" in text and "2026-12-10 10:00 MSK" in html
    assert "Thanks, will check" in text and "Thanks, will check" in html


@pytest.mark.parametrize("name", ["agent_status_changed", "agent_escalated"])
def test_agents_notice_of_a_client_command_shows_the_whole_message(name: str) -> None:
    notice = make_notice(name, "en", text="No answer since Monday.\n\nLogs: calls drop at 30 s")
    _, text, html = render(notice)
    assert "Logs: calls drop at 30 s" in text and "Logs: calls drop at 30 s" in html


# The expected first answer, in the business time zone, in each language's words.
DUE_AT = dt.datetime(2026, 11, 30, 6, 0, tzinfo=dt.UTC)  # Monday 09:00 in Moscow
DUE_WORDS = {"en": "Monday, 30 November 2026, 09:00 MSK",
             "ru": "понедельник, 30 ноября 2026 г., 09:00 (MSK)"}  # fmt: skip


@pytest.mark.parametrize("language", LANGUAGES)
def test_acknowledgement_names_the_expected_first_answer(language: str) -> None:
    _, text, html = render(make_notice("created", language, answer_due=DUE_AT))
    assert DUE_WORDS[language] in text and DUE_WORDS[language] in html
    assert "soon" not in text and "ближайшее время" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_acknowledgement_without_an_sla_says_soon(language: str) -> None:
    _, text, _ = render(make_notice("created", language))
    assert ("soon" if language == "en" else "в ближайшее время") in text


# -- labels and Russian --------------------------------------------------------------------


def labels(language: str) -> dict[str, dict[str, str]]:
    return tomllib.loads((TEMPLATES / language / "labels.toml").read_text("utf-8"))


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("language", LANGUAGES)
def test_status_changed_names_every_status_in_the_language(language: str, status: Status) -> None:
    _, text, html = render(make_notice("status_changed", language, case=Case(status=status)))
    words = labels(language)
    assert words["status_label"][status] in text
    assert words["status_help"][status] in text
    assert words["status_label"][status] in html


@pytest.mark.parametrize("refusal", list(Refusal))
@pytest.mark.parametrize("language", LANGUAGES)
def test_command_refused_explains_every_refusal(language: str, refusal: Refusal) -> None:
    case = Case(status=Status.ESCALATED, context={"command": "Escalate: ASAP"})
    notice = make_notice("command_refused", language, case=case, refusal=refusal.value)
    _, text, html = render(notice)
    assert labels(language)["refusal_text"][refusal] in text
    assert "Escalate: ASAP" in text and "Escalate: ASAP" in html


@pytest.mark.parametrize("name", sorted(CLIENT_CASES))
def test_russian_templates_render_cyrillic(name: str) -> None:
    subject = "Нет гудка «Офис»"  # short: see the xfail on long ones below
    message, text, html = render(make_notice(name, "ru"), subject=subject)
    assert message["Subject"] == f"{TAG} {subject}"
    assert re.search(r"[а-яё]{4}", text, re.I) and re.search(r"[а-яё]{4}", html, re.I)
    status_label = labels("ru")["status_label"][CLIENT_CASES[name].status]
    assert f"статус: {status_label}" in text
    assert f"статус: {status_label}" in html
    assert 'lang="ru"' in html
    # No English left over in the Russian layout.
    for english in ("Reply to", "status:", "request [", "Commands"):
        assert english not in text and english not in html


def test_russian_acknowledgement_wording() -> None:
    _, text, html = render(make_notice("created", "ru"), subject="Нет гудка")
    assert "Здравствуйте!" in text
    assert f"Ваша заявка {TAG} «Нет гудка» зарегистрирована." in text
    assert "«Нет гудка» зарегистрирована" in html  # the layout writes entities as characters
    assert "статус: новая" in text
    assert "Решить вопрос | Отменить заявку | Эскалировать: <причина> | Не уведомлять" in text


def test_russian_escalation_refused_and_closed_wording() -> None:
    _, refused, _ = render(
        make_notice("escalation_refused", "ru", reason="срочно", category="priority_only")
    )
    assert "не эскалирована" in refused and "«срочно»" in refused
    _, without_reason, _ = render(
        make_notice("escalation_refused", "ru", reason="", category="no_reason")
    )
    assert "причина не указана" in without_reason
    _, closed, _ = render(make_notice("closed", "ru"))
    assert "закрыта. Спасибо за подтверждение!" in closed
    _, closed_by_agent, _ = render(make_notice("closed", "ru", by_client=False))
    assert "Спасибо" not in closed_by_agent


def test_russian_sender_name_is_encoded_and_decodes_back() -> None:
    renderer = Renderer(
        TEMPLATES,
        sender=Sender(address="support@example.org", name="Служба поддержки"),
        tag_prefix="REQ",
        timezone=MOSCOW,
    )
    message, text, _ = render(make_notice("created", "ru"), renderer=renderer)
    assert message["From"].addresses[0].display_name == "Служба поддержки"
    assert "Служба поддержки <support@example.org>" in text


@pytest.mark.parametrize("language", ["auto", "de", ""])
def test_unknown_language_falls_back_to_english(language: str) -> None:
    _, text, _ = render(make_notice("created", language))
    assert "registered it as [REQ-12]" in text


def test_english_and_russian_client_templates_use_the_same_variables() -> None:
    """ru mirrors en: a variable used in one language and not the other is a slip."""
    environment = Environment()
    environment.filters["localdate"] = str  # parsing only needs the name to exist
    for name in sorted(EN_CLIENT | {"_client"}):
        for suffix in (".txt", ".html"):
            used = {
                language: meta.find_undeclared_variables(
                    environment.parse((TEMPLATES / language / f"{name}{suffix}").read_text("utf-8"))
                )
                for language in LANGUAGES
            }
            assert used["en"] <= used["ru"] | {"commands"}, (name, suffix)
            assert used["ru"] <= used["en"] | {"commands"}, (name, suffix)


# -- headers written raw ----------------------------------------------------------------
#
# A plain `EmailMessage(policy=SMTP)` refolds any header longer than 78 characters. A value
# with no space to fold at (a long Message-ID, a mailto: URL) is then written as
# RFC 2047 encoded-words, which no mail client reads in those headers; and a long
# non-ASCII Subject is split into encoded-words with the space between two words
# lost (CPython's folder puts it outside the encoded-words, where RFC 2047 says
# readers must ignore it).

# Real shapes: Gmail, and Exchange Online (every Outlook client) -- 80+ characters.
LONG_IDS = [
    "CAF4x9QZ+8bYf2kLmNoPqRsTuVwXyZ0123456789AbCdEfGhIjKlMnOp=Q@mail.gmail.com",
    "AM0PR07MB4531E0F5B8D0C2E1B1D45C42C3F99A@AM0PR07MB4531.eurprd07.prod.outlook.com",
]


def raw_headers(notice: Notice, *, subject: str = SUBJECT, thread_ids: list[str]) -> Any:
    """The headers as written on the wire: unfolded, not decoded."""
    rendered = RENDERER.render(
        notice, request_number=NUMBER, request_subject=subject, thread_ids=thread_ids, now=NOW
    )
    message = email.message_from_bytes(rendered.raw, policy=email.policy.compat32)
    return {name: re.sub(r"\r?\n[ \t]", " ", str(value)) for name, value in message.items()}


def test_short_threading_headers_and_english_unsubscribe_are_plain_on_the_wire() -> None:
    headers = raw_headers(make_notice("created", "en"), thread_ids=THREAD)
    assert headers["In-Reply-To"] == f"<{THREAD[-1]}>"
    assert headers["List-Unsubscribe"].strip().startswith("<mailto:")


def test_long_message_ids_stay_plain_in_threading_headers() -> None:
    headers = raw_headers(make_notice("agent_answer", "en"), thread_ids=LONG_IDS)
    assert headers["In-Reply-To"].strip() == f"<{LONG_IDS[-1]}>"
    assert headers["References"].split() == [f"<{ref}>" for ref in LONG_IDS]


def test_russian_list_unsubscribe_is_a_plain_url_on_the_wire() -> None:
    headers = raw_headers(make_notice("created", "ru"), thread_ids=THREAD)
    value = headers["List-Unsubscribe"].strip()
    assert "=?" not in value
    assert value.startswith("<mailto:support@example.org?subject=")


def test_long_russian_subject_keeps_its_spaces() -> None:
    subject = "Не работает SIP-транк в офисе, звонки обрываются через 30 секунд"
    message, _, _ = render(make_notice("created", "ru"), subject=subject)
    assert message["Subject"] == f"{TAG} {subject}"
