"""Notices -> rendered MIME messages with threading headers. No SMTP here.

Templates live in `templates/<language>/<name>.txt` and `.html`; the HTML
environment autoescapes, so nothing a client wrote is rendered as markup.
A notice that relays files lists them all (`_files.txt`, `_files.html`) and
carries the attached ones as `FilePart`s, encoded once by the writer.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import email.header
import email.utils
import re
import tomllib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from mailgate.config import DEFAULT_AGENT_FROM, DEFAULT_TEMPLATES_DIR
from mailgate.decide.model import AgentAnswer, FileRelay, Notice
from mailgate.domain import Attachment
from mailgate.errors import ConfigError
from mailgate.parse.headers import single_line
from mailgate.parse.mimetree import read_attachment
from mailgate.sanitize import hide_addresses
from mailgate.tags import format_tag

if TYPE_CHECKING:
    from jinja2 import BaseLoader

_MAX_ID_LENGTH = 900  # a longer (hostile) Message-ID could push a header line past 998
_CONTENT_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*")
_MAX_LINE = 998  # octets of a line of mail, CRLF not counted (RFC 5322)

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
class FilePart:
    """A file ready to go into a notification: its body encoded for mail, once."""

    file: Attachment
    content_type: str
    encoding: str  # base64, or 7bit/8bit for a forwarded message kept as it is
    body: bytes | bytearray  # CRLF lines


def file_part(file: Attachment, data: bytes) -> FilePart:
    """Bytes unchanged: base64, except a forwarded message that can travel as itself."""
    content_type = file.content_type if _CONTENT_TYPE.fullmatch(file.content_type) else ""
    if content_type in ("message/rfc822", "message/global") and _is_mail_text(data):
        encoding = "7bit" if data.isascii() else "8bit"
        return FilePart(file=file, content_type=content_type, encoding=encoding, body=data)
    if not content_type or content_type.startswith(("message/", "multipart/")):
        content_type = "application/octet-stream"  # never base64 under a message type
    return FilePart(file=file, content_type=content_type, encoding="base64",
                    body=base64_lines(data))  # fmt: skip


_LINE = 57  # bytes of input per 76-character line of base64
_BLOCK = _LINE * 1024


def base64_lines(data: bytes) -> bytearray:
    """Base64 in CRLF-ended lines of 76, written into one buffer of the exact size: a
    growing buffer and a final copy cost a 25 MB file two more copies of its encoding."""
    full, rest = divmod(len(data), _LINE)
    out = bytearray(full * 78 + ((rest + 2) // 3 * 4 + 2 if rest else 0))
    view = memoryview(data)
    position = 0
    for start in range(0, len(data), _BLOCK):
        block = base64.encodebytes(view[start : start + _BLOCK]).replace(b"\n", b"\r\n")
        out[position : position + len(block)] = block
        position += len(block)
    return out


class FileParts:
    """The files of one received message as notices attach them: each read from the raw
    message and encoded once, however many recipients get it."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._parts: dict[tuple[int, int], FilePart] = {}

    def attached(self, relay: FileRelay | None) -> list[FilePart]:
        if relay is None:
            return []
        parts = []
        for file in relay.attached:
            key = (file.start, file.packed)
            if key not in self._parts:
                self._parts[key] = file_part(file, read_attachment(self._raw, file))
            parts.append(self._parts[key])
        return parts


def _is_mail_text(data: bytes) -> bool:
    """CRLF lines of at most 998 octets, ending in CRLF, no NUL: safe to send unencoded."""
    if not data.endswith(b"\r\n") or b"\x00" in data:
        return False
    lines = data.split(b"\r\n")
    return all(b"\n" not in line and b"\r" not in line and len(line) <= _MAX_LINE
               for line in lines)  # fmt: skip


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
        self,
        templates_dir: Path,
        *,
        sender: Sender,
        tag_prefix: str,
        timezone: ZoneInfo,
        agent_from: str = DEFAULT_AGENT_FROM,
    ) -> None:
        # Jinja2 and the layout's CSS inliner load with the first renderer, not with
        # `mailgate`: a round with no notice to render never needs them.
        from jinja2 import Environment, StrictUndefined, select_autoescape

        from mailgate.layout import InliningLoader
        from mailgate.parse.auto import MAILGATE_LOOP_MARKER  # with the auto-reply tables

        loader = template_loader(templates_dir)
        # Templates are read once: no stat() of the file at every render.
        common = {"loader": loader, "undefined": StrictUndefined, "keep_trailing_newline": True,
                  "auto_reload": False}  # fmt: skip
        self._text = Environment(autoescape=False, trim_blocks=True, lstrip_blocks=True, **common)
        self._html = Environment(autoescape=select_autoescape(default=True),
                                 **{**common, "loader": InliningLoader(loader)})  # fmt: skip
        for environment in (self._text, self._html):
            environment.filters["localdate"] = lambda moment: _local_date(moment, timezone)
        self._labels = {language: read_labels(templates_dir, language)
                        for language in CLIENT_COMMANDS}  # fmt: skip
        self._sender = sender
        self._agent_from = agent_from
        self._tag_prefix = tag_prefix
        self._loop_marker = MAILGATE_LOOP_MARKER

    def render(
        self,
        notice: Notice,
        *,
        request_number: int,
        request_subject: str,
        thread_ids: list[str],
        now: dt.datetime,
        files: Sequence[FilePart] = (),
    ) -> Rendered:
        """`files` are the attached files of `notice.files`, in its order."""
        tag = format_tag(self._tag_prefix, request_number)
        reply_to = notice.reply_to or self._sender.address
        language = notice.language if notice.language in CLIENT_COMMANDS else "en"
        unique = uuid.uuid4().hex
        cids = {id(part.file): f"f{n}.{unique}@{self._sender.domain}"
                for n, part in enumerate(files, start=1)}  # fmt: skip
        labels = self._labels[language]
        listed = _files_context(notice.files, cids, labels)
        answer_context = {}
        if notice.answer is not None:
            answer_context = self._answer_context(notice, files, cids)
            shown = answer_context.pop("shown")  # images the answer shows: not again below it
            listed = [{**item, "inline": False} if item["cid"] in shown else item
                      for item in listed]  # fmt: skip
        context = {
            **labels,
            "only_files": False,
            "files": listed,
            "file_limit": _size(notice.files.limit, labels) if notice.files else "",
            "answer_html": None,  # an agent's answer that came as HTML, sanitised (Markup)
            **notice.context,
            **answer_context,
            "tag": tag,
            "number": request_number,
            "subject": request_subject,
            "support_address": self._sender.address,
            "support_name": self._sender.name,
            "commands": self._command_links(tag, language, reply_to),
        }
        text = self._text.get_template(f"{language}/{notice.template}.txt").render(context)
        html = self._html.get_template(f"{language}/{notice.template}.html").render(context)
        message_id = f"mg.{request_number}.{unique}@{self._sender.domain}"
        headers = [
            ("From", _address_header(self._from_name(notice.answer), self._sender.address)),
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
            ("X-Loop", self._loop_marker),
            ("X-Mailgate-Request", tag),
            ("List-Unsubscribe", f"<{self._mailto(reply_to, tag, dont_notify)}>"),
        ]
        raw = compose(headers, text, html, files=[(part, cids[id(part.file)]) for part in files])
        return Rendered(message_id=message_id, raw=raw, text=text)

    def _from_name(self, answer: AgentAnswer | None) -> str:
        """The support name; for a relayed answer `agent_from`, "Alice Smith via Support"."""
        if answer is None:
            return self._sender.name
        return self._agent_from.format(agent=answer.agent, support=self._sender.name)

    def _answer_context(
        self, notice: Notice, files: Sequence[FilePart], cids: dict[int, str]
    ) -> dict[str, Any]:
        """`answer` without the agent's address, `answer_html` sanitised with the
        relayed images' new Content-IDs (None for a plain-text answer), and `shown`:
        the Content-IDs of the images `answer_html` shows."""
        answer = notice.answer
        assert answer is not None
        instead = self._sender.address
        context: dict[str, Any] = {"shown": set()}
        if "answer" in notice.context:
            context["answer"] = hide_addresses(notice.context["answer"], answer.hidden, instead)
        if answer.html:
            from mailgate.sanitize import sanitize_answer

            by_id = {part.file.content_id.strip().lower(): cids[id(part.file)]
                     for part in files if part.file.inline and part.file.content_id}  # fmt: skip
            html = sanitize_answer(answer.html, cids=by_id, hidden=answer.hidden, instead=instead)
            context["answer_html"] = html or None
            context["shown"] = {cid for cid in by_id.values() if f'"cid:{cid}"' in html}
        return context

    def _command_links(self, tag: str, language: str, address: str) -> dict[str, dict[str, str]]:
        return {
            name: {"label": words.rstrip(": "), "href": self._mailto(address, tag, words)}
            for name, words in CLIENT_COMMANDS[language].items()
        }

    @staticmethod
    def _mailto(address: str, tag: str, command: str) -> str:
        """A link that opens a reply with the command in the subject, after the tag."""
        return f"mailto:{address}?subject={quote(f'[{tag}] {command}')}"


def template_loader(templates_dir: Path) -> BaseLoader:
    """The admin's `templates_dir` first, the shipped templates second: an override is
    one file of the same name (`en/created.html`), not a copy of the whole directory."""
    from jinja2 import ChoiceLoader, FileSystemLoader

    shipped = FileSystemLoader(str(DEFAULT_TEMPLATES_DIR))
    if templates_dir.resolve() == DEFAULT_TEMPLATES_DIR.resolve():
        return shipped
    return ChoiceLoader([FileSystemLoader(str(templates_dir)), shipped])


def read_labels(templates_dir: Path, language: str) -> dict[str, Any]:
    """`<language>/labels.toml`, shipped, with the keys of the admin's file over it
    (table by table: an override of one status label keeps the others)."""
    labels: dict[str, Any] = {}
    for directory in dict.fromkeys([DEFAULT_TEMPLATES_DIR, templates_dir]):
        path = directory / language / "labels.toml"
        if directory != DEFAULT_TEMPLATES_DIR and not path.is_file():
            continue
        try:
            found = tomllib.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError("templates_dir", f"{path}: {exc}") from None
        for key, value in found.items():
            if isinstance(value, dict) and isinstance(labels.get(key), dict):
                labels[key] = {**labels[key], **value}
            else:
                labels[key] = value
    return labels


def _local_date(moment: dt.datetime | None, timezone: ZoneInfo) -> str:
    if moment is None:
        return "-"
    return moment.astimezone(timezone).strftime("%Y-%m-%d %H:%M %Z")


def compose(
    headers: list[tuple[str, str]],
    text: str,
    html: str,
    *,
    files: Sequence[tuple[FilePart, str]] = (),
) -> bytes:
    """A message from ready header values, two bodies and (file, Content-ID) pairs.

    Without files it is multipart/alternative. With files it is
    multipart/mixed: the inline images in a multipart/related beside the
    HTML that shows them by their Content-ID, then the other files.

    Written by hand rather than with `EmailMessage`: its header objects cost
    milliseconds per notice, and its folding re-encodes Message-IDs and URLs.
    Every header value here is already one sanitized line (or pre-folded).
    """
    head = [f"{name}: {value}" for name, value in headers]
    head.append("MIME-Version: 1.0")
    out = [("\r\n".join(head) + "\r\n").encode("utf-8")]
    inline = [(part, cid) for part, cid in files if part.file.inline]
    others = [(part, cid) for part, cid in files if not part.file.inline]
    if not files:
        _alternative(out, text, html)
        return b"".join(out)
    mixed = _boundary()
    out.append(f'Content-Type: multipart/mixed; boundary="{mixed}"\r\n\r\n'.encode("ascii"))
    out.append(f"--{mixed}\r\n".encode("ascii"))
    if inline:
        related = _boundary()
        related_type = 'multipart/related; type="multipart/alternative"'
        out.append(f'Content-Type: {related_type};\r\n boundary="{related}"\r\n\r\n'
                   f"--{related}\r\n".encode("ascii"))  # fmt: skip
        _alternative(out, text, html)
        for part, cid in inline:
            out.append(f"--{related}\r\n".encode("ascii"))
            _file(out, part, cid)
        out.append(f"--{related}--\r\n".encode("ascii"))
    else:
        _alternative(out, text, html)
    for part, cid in others:
        out.append(f"--{mixed}\r\n".encode("ascii"))
        _file(out, part, cid)
    out.append(f"--{mixed}--\r\n".encode("ascii"))
    return b"".join(out)


def _boundary() -> str:
    return f"=_mailgate_{uuid.uuid4().hex}"


def _alternative(out: list[bytes], text: str, html: str) -> None:
    """A multipart/alternative of the two bodies, its Content-Type header first."""
    boundary = _boundary()
    out.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode())
    for subtype, body in (("plain", text), ("html", html)):
        out.append(
            f"--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
        out.append(encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode("ascii"))


def _file(out: list[bytes], part: FilePart, cid: str) -> None:
    """One file's headers and body: the name both RFC 2231 (filename*) and RFC 2047 (name),
    which between them every mail client reads."""
    name = header_safe(part.file.filename, limit=255).replace('"', "'")
    if name.isascii():
        type_name, disposition_name = f'name="{name}"', f'filename="{name}"'
    else:
        encoded = email.header.Header(name, "utf-8").encode(linesep="\r\n").replace("\r\n", "\r\n ")
        type_name, disposition_name = f'name="{encoded}"', f"filename*=utf-8''{quote(name)}"
    disposition = "inline" if part.file.inline else "attachment"
    head = [f"Content-Type: {part.content_type};\r\n {type_name}",
            f"Content-Disposition: {disposition};\r\n {disposition_name}",
            f"Content-Transfer-Encoding: {part.encoding}"]  # fmt: skip
    if part.file.inline:
        head.append(f"Content-ID: <{cid}>")
    out.append(("\r\n".join(head) + "\r\n\r\n").encode("utf-8"))
    out.append(part.body if part.body.endswith(b"\r\n") else part.body + b"\r\n")


def _files_context(
    relay: FileRelay | None, cids: dict[int, str], labels: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every file of the message, as the templates list them."""
    if relay is None:
        return []
    listed = []
    for item in relay.files:
        file = item.file
        cid = cids.get(id(file), "")  # an attached file's: the writer passes the same objects
        listed.append({"name": file.filename, "size": _size(file.size, labels),
                       "left_out": item.left_out, "inline": file.inline and bool(cid),
                       "cid": cid})  # fmt: skip
    return listed


def _size(size: int, labels: dict[str, Any]) -> str:
    units = labels["file_units"]
    if size < 1024:
        return f"{size} {units['bytes']}"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} {units['kb']}"
    return f"{size / (1024 * 1024):.1f} {units['mb']}"


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
