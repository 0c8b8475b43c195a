"""Notices -> rendered MIME messages with threading headers. No SMTP here.

Templates live in `templates/<language>/<name>.txt` and `.html`; the HTML
environment autoescapes, so nothing a client wrote is rendered as markup.
"""

from __future__ import annotations

import binascii
import datetime as dt
import email.header
import email.utils
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from mailgate.decide.model import Notice
from mailgate.parse.auto import MAILGATE_LOOP_MARKER
from mailgate.parse.headers import single_line
from mailgate.tags import format_tag

_MAX_ID_LENGTH = 900  # a longer (hostile) Message-ID could push a header line past 998

# Client commands offered as mailto: links, in the order shown.
CLIENT_COMMANDS = {
    "en": {
        "resolve": "Resolve this issue",
        "escalate": "Escalate: ",
        "cancel": "Cancel request",
        "dont_notify": "Don't notify me",
        "notify": "Notify me",
    },
    "ru": {
        "resolve": "Решить вопрос",
        "escalate": "Эскалировать: ",
        "cancel": "Отменить заявку",
        "dont_notify": "Не уведомлять",
        "notify": "Уведомлять",
    },
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    message_id: str
    raw: bytes
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Sender:
    address: str
    name: str

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2]


class Renderer:
    """Compiles templates once; renders notices into complete messages."""

    def __init__(
        self, templates_dir: Path, *, sender: Sender, tag_prefix: str, timezone: ZoneInfo
    ) -> None:
        loader = FileSystemLoader(str(templates_dir))
        # Templates are read once: no stat() of the file at every render.
        common = {"loader": loader, "undefined": StrictUndefined, "keep_trailing_newline": True,
                  "auto_reload": False}  # fmt: skip
        self._text = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, **common)
        self._html = Environment(autoescape=select_autoescape(default=True), **common)
        for environment in (self._text, self._html):
            environment.filters["localdate"] = lambda moment: _local_date(moment, timezone)
        self._labels = {
            language: tomllib.loads((templates_dir / language / "labels.toml").read_text("utf-8"))
            for language in CLIENT_COMMANDS
        }
        self._sender = sender
        self._tag_prefix = tag_prefix

    def render(
        self,
        notice: Notice,
        *,
        request_number: int,
        request_subject: str,
        thread_ids: list[str],
        now: dt.datetime,
    ) -> Rendered:
        tag = format_tag(self._tag_prefix, request_number)
        reply_to = notice.reply_to or self._sender.address
        language = notice.language if notice.language in CLIENT_COMMANDS else "en"
        context = {
            **self._labels[language],
            **notice.context,
            "tag": tag,
            "number": request_number,
            "subject": request_subject,
            "support_address": self._sender.address,
            "support_name": self._sender.name,
            "commands": self._command_links(tag, language, reply_to),
        }
        text = self._text.get_template(f"{language}/{notice.template}.txt").render(context)
        html = self._html.get_template(f"{language}/{notice.template}.html").render(context)
        message_id = f"mg.{request_number}.{uuid.uuid4().hex}@{self._sender.domain}"
        headers = [
            ("From", _address_header(self._sender.name, self._sender.address)),
            ("To", header_safe(notice.recipient, limit=320)),
            ("Subject", _encoded_subject(header_safe(f"[{tag}] {request_subject}"))),
            ("Date", email.utils.format_datetime(now)),
            ("Message-ID", f"<{message_id}>"),
        ]
        thread_ids = [ref for ref in thread_ids if len(ref) <= _MAX_ID_LENGTH]
        if thread_ids:
            headers.append(("In-Reply-To", f"<{thread_ids[-1]}>"))
            headers.append(("References", "\r\n ".join(f"<{ref}>" for ref in thread_ids)))
        headers.append(("Reply-To", reply_to))
        if not notice.relay:
            headers.append(("Auto-Submitted", "auto-generated"))
        dont_notify = CLIENT_COMMANDS[language]["dont_notify"]
        headers += [
            ("X-Loop", MAILGATE_LOOP_MARKER),
            ("X-Mailgate-Request", tag),
            ("List-Unsubscribe", f"<{self._mailto(reply_to, tag, dont_notify)}>"),
        ]
        return Rendered(message_id=message_id, raw=compose(headers, text, html), text=text)

    def _command_links(self, tag: str, language: str, address: str) -> dict[str, dict[str, str]]:
        return {
            name: {"label": words.rstrip(": "), "href": self._mailto(address, tag, words)}
            for name, words in CLIENT_COMMANDS[language].items()
        }

    @staticmethod
    def _mailto(address: str, tag: str, command: str) -> str:
        """A link that opens a reply with the command in the subject, after the tag."""
        return f"mailto:{address}?subject={quote(f'[{tag}] {command}')}"


def _local_date(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M %Z")


def compose(headers: list[tuple[str, str]], text: str, html: str) -> bytes:
    """A multipart/alternative message from ready header values and two bodies.

    Written by hand rather than with `EmailMessage`: its header objects cost
    milliseconds per notice, and its folding re-encodes Message-IDs and URLs.
    Every header value here is already one sanitized line (or pre-folded).
    """
    boundary = f"=_mailgate_{uuid.uuid4().hex}"
    head = [f"{name}: {value}" for name, value in headers]
    head += ["MIME-Version: 1.0", f'Content-Type: multipart/alternative; boundary="{boundary}"']
    parts = [("\r\n".join(head) + "\r\n\r\n").encode("utf-8")]
    for subtype, body in (("plain", text), ("html", html)):
        parts.append(
            f"--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
        parts.append(encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode("ascii"))
    return b"".join(parts)


def _address_header(name: str, address: str) -> str:
    name = single_line(name)
    if not name:
        return address
    if name.isascii():
        return email.utils.formataddr((name, address))
    encoded = email.header.Header(name, "utf-8").encode(linesep="\r\n")
    return f"{encoded} <{address}>"


def _encoded_subject(subject: str) -> str:
    """ASCII as is; else RFC 2047-encoded by `Header`, which folds without losing spaces."""
    if subject.isascii():
        return subject
    return email.header.Header(subject, "utf-8", header_name="Subject").encode(linesep="\r\n")


def header_safe(value: str, limit: int = 200) -> str:
    """One line, no control characters, bounded: safe to put in any header."""
    value = single_line(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"
