"""Every HTML notification, rendered through the real `Renderer` with sample data.

The contexts are the ones deciding passes (`tests.unit.test_notify.CASES`, which
a unit test keeps equal to the templates on disk), with realistic free text so
that the screenshots in docs/notifications/ look like real mail. Each page is
parsed back from the rendered message, as a mail client would see it.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
from dataclasses import dataclass, replace
from email.message import EmailMessage
from typing import Any

from mailgate.decision import AgentAnswer, FileRelay, Notice, RelayedFile
from mailgate.domain import Attachment, Status
from mailgate.notify import CLIENT_COMMANDS, Renderer, Sender, file_part, read_labels
from tests.unit.test_notify import (
    AGENT_CASES,
    AUTO_CLOSE_AT,
    CLIENT_CASES,
    LANGUAGES,
    MOSCOW,
    NOW,
    NUMBER,
    TEMPLATES,
    THREAD,
    Case,
    make_notice,
)

SENDER = Sender(address="support@example.org", name="Example Support")
RENDERER = Renderer(TEMPLATES, sender=SENDER, tag_prefix="REQ", timezone=MOSCOW)
TAG = f"[REQ-{NUMBER}]"
RATING_ADDRESSES = {"good": "support+r.12.g.0123456789abcdef@example.org",
                    "bad": "support+r.12.b.0123456789abcdef@example.org"}  # fmt: skip
SUBJECTS = {"en": "SIP trunk down after the update", "ru": "Не работает SIP-транк после обновления"}
ANSWERS = {
    "en": (
        "Hello Ivan,\n\nthank you for the logs. The provider renewed its certificate last night "
        "and the PBX still trusted the old one.\n\n"
        "1. Open Settings > Trunks > Provider.\n"
        '2. Press "Reload certificates".\n'
        "3. Make a test call and tell us whether it works.\n\n"
        "Best regards,\nAlice Smith"
    ),
    "ru": (
        "Здравствуйте, Иван!\n\nСпасибо за журналы. Провайдер обновил сертификат ночью, "
        "а АТС всё ещё доверяла старому.\n\n"
        "1. Откройте Настройки > Транки > Провайдер.\n"
        "2. Нажмите «Перезагрузить сертификаты».\n"
        "3. Сделайте пробный звонок и напишите, работает ли.\n\n"
        "С уважением,\nАлиса Смирнова"
    ),
}
# An agent's answer written in Outlook: a list, bold, colour, a table, a link, a script
# that must not survive; relayed through the real sanitiser (mailgate/sanitize.py).
OUTLOOK_ANSWER = (
    '<html><head><style>p.MsoNormal{{margin:0}}</style></head><body><div class="WordSection1">'
    '<p class="MsoNormal">{hello}<o:p></o:p></p><p class="MsoNormal">{changed}</p><ul>'
    "<li><b>{certificate}</b> {renewed}</li>"
    '<li>{interval} <span style="color:#c00000">300 s</span></li></ul>'
    '<table border="1" cellpadding="4"><tr><th>{line}</th><th>{before}</th><th>{now}</th></tr>'
    "<tr><td>+7 495 000-00-01</td><td>{unregistered}</td><td>{registered}</td></tr></table>"
    '<p>{details} <a href="https://status.example.org/incidents/2026-12-07">'
    "https://status.example.org/incidents/2026-12-07</a></p>"
    "<p>{name}<br>alice@agent.example.org</p><script>alert(1)</script></div></body></html>"
)
OUTLOOK_WORDS = {
    "en": {"hello": "Hello Ivan,", "changed": "the trunk is back. What we changed:",
           "certificate": "Certificate", "renewed": "of the provider renewed",
           "interval": "Registration interval set to", "line": "Line", "before": "State before",
           "now": "State now", "unregistered": "unregistered", "registered": "registered",
           "details": "Details:", "name": "Alice Smith"},
    "ru": {"hello": "Здравствуйте, Иван!", "changed": "Транк снова работает. Что мы изменили:",
           "certificate": "Сертификат", "renewed": "провайдера обновлён",
           "interval": "Интервал регистрации:", "line": "Линия", "before": "Было",
           "now": "Стало", "unregistered": "не зарегистрирована",
           "registered": "зарегистрирована", "details": "Подробности:",
           "name": "Алиса Смирнова"},
}  # fmt: skip
AGENTS = {
    language: AgentAnswer(agent=words["name"], hidden=("alice@agent.example.org",),
                          html=OUTLOOK_ANSWER.format(**words))
    for language, words in OUTLOOK_WORDS.items()
}  # fmt: skip
# A request waiting for the client's confirmation, and when a first answer is due.
AWAITING = Case(status=Status.AWAITING_CONFIRMATION, auto_close_at=AUTO_CLOSE_AT, relay=True)
ANSWER_DUE = dt.datetime(2026, 12, 8, 11, 0, tzinfo=dt.UTC)  # Tuesday 14:00 in Moscow
# Free text of the other notices, by context key.
TEXT = {
    "en": {"text": "Since 9:00 no calls go out; the PBX shows the trunk as unregistered.",
           "reason": "no answer for three days", "from": "ivan.petrov@client.example.net"},
    "ru": {"text": "С 9:00 исходящие звонки не проходят, АТС не видит регистрацию транка.",
           "reason": "нет ответа три дня", "from": "ivan.petrov@client.example.net"},
}  # fmt: skip


# A client's files: one attached, one too large to attach (listed, kept with the request).
FILES = FileRelay(
    files=(
        RelayedFile(file=Attachment(filename="pbx-trunk-log.pdf", content_type="application/pdf",
                                    size=48_213, sha256="0" * 64, inline=False)),
        RelayedFile(file=Attachment(filename="call-recording.wav", content_type="audio/wav",
                                    size=31_457_280, sha256="1" * 64, inline=False),
                    left_out="too_large"),
    ),
    limit=20 * 1024 * 1024,
)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """One notification as a reader gets it, and what its buttons must be."""

    language: str
    name: str  # the template; a variant after a dot (agent_answer.html)
    html: str
    text: str
    commands: dict[str, str]  # mailto subject -> address, that must be offered
    agent: bool

    @property
    def slug(self) -> str:
        return f"{self.language}-{self.name.replace('.', '-').replace('_', '-')}"


def pages() -> list[Page]:
    """Every event of SPEC §4 with a template, both languages; agent notices in English;
    the relayed answer also as HTML and with files (and a client's reply with files, as
    agents get it); `mailgate check`'s test mail."""
    out = []
    for language in LANGUAGES:
        for name, case in CLIENT_CASES.items():
            commands = _commands(language) if case.status.is_open else {}
            out.append(_page(language, name, _client_context(language, name), commands))
        answer = _client_context(language, "agent_answer")
        html = AGENTS[language]
        out.append(_page(language, "agent_answer", answer, _commands(language), "html", html=html))
        out.append(
            _page(language, "agent_answer", answer, _commands(language), "files", files=True)
        )
        # SPEC §15: an answer with `#status awaiting_confirmation` is one mail; the
        # acknowledgement names the expected first answer.
        news = {**answer, "status_news": "awaiting_confirmation"}
        out.append(_page(language, "agent_answer", news, _commands(language), "status",
                         case=AWAITING))  # fmt: skip
        due = {**_client_context(language, "created"), "answer_due": ANSWER_DUE}
        out.append(_page(language, "created", due, _commands(language), "due"))
        out.append(_check_test(language))
        rated = {**_client_context(language, "closed"), "rating_addresses": RATING_ADDRESSES}
        out.append(_page(language, "closed", rated, rating_subjects(language), "rating"))
    for name, case in AGENT_CASES.items():
        keys = {key: value for key, value in TEXT["en"].items() if key in case.context}
        out.append(_page("en", name, keys, {}))
    client_reply = {key: TEXT["en"][key] for key in ("text", "from")}
    out.append(_page("en", "agent_client_reply", client_reply, {}, "files", files=True))
    thanks = {"text": "Thank you, will check tomorrow.", "from": TEXT["en"]["from"],
              "thanks_only": True}  # fmt: skip
    out.append(_page("en", "agent_client_reply", thanks, {}, "thanks", case=AWAITING))
    return out


def _client_context(language: str, name: str) -> dict[str, Any]:
    context = {key: value for key, value in TEXT[language].items()
               if key in CLIENT_CASES[name].context}  # fmt: skip
    if name == "agent_answer":
        context["answer"] = ANSWERS[language]
    return context


def rating_subjects(language: str) -> dict[str, str]:
    """The rating buttons of a `closed` notice that asks (SPEC §16): subject -> address."""
    words = read_labels(TEMPLATES, language)["rating"]
    return {f"{TAG} {words[f'{value}_subject']}": address
            for value, address in RATING_ADDRESSES.items()}  # fmt: skip


def _commands(language: str) -> dict[str, str]:
    offered = ("resolve", "escalate", "cancel", "dont_notify")
    return {f"{TAG} {CLIENT_COMMANDS[language][name]}": SENDER.address for name in offered}


def _page(
    language: str,
    name: str,
    context: dict[str, Any],
    commands: dict[str, str],
    variant: str = "",
    *,
    subject: str = "",
    files: bool = False,
    html: AgentAnswer | None = None,
    case: Case | None = None,
) -> Page:
    notice = make_notice(name, language, case=case, **context)
    if html is not None:
        notice = replace(notice, answer=html)
    parts = []
    if files:
        notice = replace(notice, files=FILES)
        parts = [
            file_part(item.file, b"%PDF-1.4 sample") for item in FILES.files if not item.left_out
        ]
    rendered = RENDERER.render(notice, request_number=NUMBER,
                               request_subject=subject or SUBJECTS[language],
                               thread_ids=THREAD, now=NOW, files=parts)  # fmt: skip
    html, text = _bodies(rendered.raw)
    return Page(language=language, name=f"{name}.{variant}" if variant else name, html=html,
                text=text, commands=commands, agent=name in AGENT_CASES)  # fmt: skip


def _check_test(language: str) -> Page:
    """`mailgate check --send-test`'s mail has no request: rendered as `check` renders it."""
    sent_at = NOW.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    context = {"mailbox": "support", "smtp_server": "smtp.example.org:587", "machine": "mail1",
               "sent_at": sent_at}  # fmt: skip
    notice = Notice(template="check_test", recipient="admin@example.org", language=language,
                    context=context)  # fmt: skip
    rendered = RENDERER.render(notice, request_number=NUMBER, request_subject="check",
                               thread_ids=[], now=NOW)  # fmt: skip
    html, text = _bodies(rendered.raw)
    return Page(language=language, name="check_test", html=html, text=text, commands={},
                agent=False)  # fmt: skip


def _bodies(raw: bytes) -> tuple[str, str]:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    html, text = message.get_body(("html",)), message.get_body(("plain",))
    assert html is not None and text is not None
    return html.get_content(), text.get_content().replace("\r\n", "\n")


LONG_WORD = "https://pbx.client.example.net/logs/" + "sip_trunk_registration_" * 12 + "failed.txt"


def long_word_pages() -> list[Page]:
    """A subject and a text of one unbroken 300-character word: they must wrap on a phone."""
    return [
        _page("en", "created", {"text": LONG_WORD}, _commands("en"), subject=LONG_WORD),
        _page("en", "agent_answer", {"answer": f"See {LONG_WORD}"}, _commands("en")),
        _page("en", "agent_new_request", {"text": LONG_WORD}, {}, subject=LONG_WORD),
    ]
