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
import email.base64mime
import email.header
import email.quoprimime
import email.utils
import functools
import os
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from mailgate.config import DEFAULT_AGENT_FROM, DEFAULT_TEMPLATES_DIR
from mailgate.decision import AgentAnswer, FileRelay, Notice
from mailgate.domain import Attachment
from mailgate.errors import ConfigError
from mailgate.parse.headers import single_line
from mailgate.parse.mimetree import read_attachment
from mailgate.sanitize import hide_addresses
from mailgate.tags import format_tag

if TYPE_CHECKING:
    from jinja2 import BaseLoader, Template

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


class CommandLink(dict):
    """A command's `label` and `href`: a dict, with its two keys also attributes, which
    Jinja tries first (on a plain dict `link.href` fails as an attribute, then is read
    as a key: an exception at every lookup)."""

    __slots__ = ("href", "label")

    def __init__(self, label: str, href: str) -> None:
        super().__init__(label=label, href=href)
        self.label = label
        self.href = href


class CommandLinks(dict):
    """The `commands` of a notice: name -> CommandLink, each also an attribute."""

    __slots__ = tuple(CLIENT_COMMANDS["en"])

    def __init__(self, links: dict[str, CommandLink]) -> None:
        super().__init__(links)
        for name, link in links.items():
            setattr(self, name, link)


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
        from jinja2 import StrictUndefined, select_autoescape

        from mailgate.layout import InliningLoader, NoticeEnvironment
        from mailgate.parse.auto import MAILGATE_LOOP_MARKER  # with the auto-reply tables

        loader = template_loader(templates_dir)
        # Templates are read once (auto_reload off): no stat() of the file at every render.
        self._text = NoticeEnvironment(loader=loader, undefined=StrictUndefined,
                                       keep_trailing_newline=True, auto_reload=False,
                                       autoescape=False, trim_blocks=True,
                                       lstrip_blocks=True)  # fmt: skip
        self._html = NoticeEnvironment(loader=InliningLoader(loader), undefined=StrictUndefined,
                                       keep_trailing_newline=True, auto_reload=False,
                                       autoescape=select_autoescape(default=True))  # fmt: skip
        for environment in (self._text, self._html):
            environment.filters["localdate"] = lambda moment: _local_date(moment, timezone)
            environment.filters["localmoment"] = functools.partial(local_moment, timezone=timezone)
        self._labels = {language: read_labels(templates_dir, language)
                        for language in CLIENT_COMMANDS}  # fmt: skip
        # Each command's label and its words quoted for a URL, the same for every notice.
        self._commands = {language: [(name, words.rstrip(": "), quote(words))
                                     for name, words in commands.items()]
                          for language, commands in CLIENT_COMMANDS.items()}  # fmt: skip
        self._templates: dict[tuple[str, str], tuple[Template, Template]] = {}
        self._support_from = _address_header(sender.name, sender.address)
        self._sender = sender
        self._agent_from = agent_from
        self._tag_prefix = tag_prefix
        self._loop_marker = MAILGATE_LOOP_MARKER

    def render(
        self,
        notice: Notice,
        *,
        request_number: int | None,
        request_subject: str,
        thread_ids: list[str],
        now: dt.datetime,
        files: Sequence[FilePart] = (),
    ) -> Rendered:
        """`files` are the attached files of `notice.files`, in its order. A notice
        about no request (`request_number` None: a refused `#fwd`) has no tag: its
        subject is `Re:` the mail it answers, and it offers no command."""
        tag = format_tag(self._tag_prefix, request_number) if request_number is not None else ""
        reply_to = notice.reply_to or self._sender.address
        language = notice.language if notice.language in CLIENT_COMMANDS else "en"
        unique = _random_hex()
        cids = {id(part.file): f"f{n}.{unique}@{self._sender.domain}"
                for n, part in enumerate(files, start=1)}  # fmt: skip
        labels = self._labels[language]
        commands = self._command_links(tag, language, reply_to)
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
            "rating_buttons": None,
            **notice.context,
            **answer_context,
            "tag": tag,
            "recipient": notice.recipient,  # the client notices name the other participants
            "number": request_number,
            "subject": request_subject,
            "support_address": self._sender.address,
            "support_name": self._sender.name,
            "commands": commands,
        }
        if "rating_addresses" in notice.context:
            context["rating_buttons"] = _rating_buttons(tag, notice.context["rating_addresses"],
                                                        labels)  # fmt: skip
        text_template, html_template = self._pair(language, notice.template)
        text = text_template.render(context)
        html = html_template.render(context)
        message_id = f"mg.{request_number or 'x'}.{unique}@{self._sender.domain}"
        subject = f"[{tag}] {request_subject}" if tag else f"Re: {request_subject}"
        headers = [
            ("From", self._from(notice.answer)),
            ("To", header_safe(notice.recipient, limit=320)),
            ("Subject", _encoded_subject(header_safe(subject))),
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
        headers.append(("X-Loop", self._loop_marker))
        if tag:
            headers += [
                ("X-Mailgate-Request", tag),
                ("List-Unsubscribe", f"<{commands['dont_notify'].href}>"),
            ]
        raw = compose(headers, text, html, files=[(part, cids[id(part.file)]) for part in files])
        return Rendered(message_id=message_id, raw=raw, text=text)

    def _pair(self, language: str, name: str) -> tuple[Template, Template]:
        """The text and HTML templates of a notice, looked up once."""
        key = (language, name)
        if key not in self._templates:
            self._templates[key] = (self._text.get_template(f"{language}/{name}.txt"),
                                    self._html.get_template(f"{language}/{name}.html"))  # fmt: skip
        return self._templates[key]

    def _from(self, answer: AgentAnswer | None) -> str:
        """The support name; for a relayed answer `agent_from`, "Alice Smith via Support"."""
        if answer is None:
            return self._support_from
        name = self._agent_from.format(agent=answer.agent, support=self._sender.name)
        return _address_header(name, self._sender.address)

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

    def _command_links(self, tag: str, language: str, address: str) -> CommandLinks:
        """Links that open a reply with the command in the subject, after the tag (URL
        quoting is character by character: the tag's and the words' quoted apart)."""
        prefix = f"mailto:{address}?subject={quote(f'[{tag}] ')}"
        return CommandLinks({name: CommandLink(label, prefix + quoted)
                             for name, label, quoted in self._commands[language]})  # fmt: skip


def _rating_buttons(
    tag: str, addresses: dict[str, str], labels: dict[str, Any]
) -> dict[str, CommandLink]:
    """The good and bad buttons of a `closed` notice (SPEC §16): each a `mailto:` its
    rating address with the tag and its words in the subject (`[rating]` of labels.toml)."""
    words = labels.get("rating", {})
    return {value: CommandLink(str(words.get(value, value)),
                               f"mailto:{address}?subject="
                               + quote(f"[{tag}] {words.get(f'{value}_subject', value)}"))
            for value, address in addresses.items()}  # fmt: skip


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


def local_moment(moment: dt.datetime, names: dict[str, Any], *, timezone: ZoneInfo) -> str:
    """A moment in the business time zone, in the words of a language: `names` is the
    `[calendar]` table of its labels.toml (`format`, `weekdays` from Monday, `months`)."""
    local = moment.astimezone(timezone)
    return str(names["format"]).format(
        weekday=names["weekdays"][local.weekday()],
        day=local.day,
        month=names["months"][local.month - 1],
        year=local.year,
        time=local.strftime("%H:%M"),
        zone=local.strftime("%Z"),
    )


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
    out: list[bytes | bytearray] = [("\r\n".join(head) + "\r\n").encode("utf-8")]
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
    return f"=_mailgate_{_random_hex()}"


def _random_hex() -> str:
    """128 random bits in hex, for Message-IDs and boundaries (a fifth of uuid4's cost)."""
    return os.urandom(16).hex()


def _alternative(out: list[bytes | bytearray], text: str, html: str) -> None:
    """A multipart/alternative of the two bodies, its Content-Type header first."""
    boundary = _boundary()
    out.append(f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'.encode())
    for subtype, encoded in (("plain", quoted_printable(text)),
                             ("html", quoted_printable_by_line(html))):  # fmt: skip
        out.append(
            f"--{boundary}\r\nContent-Type: text/{subtype}; charset=utf-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n".encode("ascii")
        )
        out.append(encoded + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode("ascii"))


_CACHED_LINE = 1000  # characters: a body with a longer line is encoded whole, not kept


def quoted_printable(body: str) -> bytes:
    """`body` in UTF-8 quoted-printable with CRLF line ends."""
    encoded = binascii.b2a_qp(body.encode("utf-8"), istext=True)
    return encoded.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def quoted_printable_by_line(body: str) -> bytes:
    """`quoted_printable(body)`, for an HTML part: most of its lines, the layout's, are
    the same in every notice, and each is encoded once. (A text part is short and
    mostly the notice's own words: encoded whole, it costs less.)

    Text-mode quoted-printable encodes each line apart (a line end resets the count
    of its 76 columns). A body with a CR is encoded whole: `b2a_qp` reads CR LF as
    a line end, a lone CR as text."""
    lines = body.split("\n")
    if "\r" in body or max(map(len, lines)) > _CACHED_LINE:
        return quoted_printable(body)
    last = lines.pop()  # after the final line end: usually ""
    return b"".join(map(_quoted_line, lines)) + _quoted(last)


@functools.lru_cache(maxsize=1024)
def _quoted_line(line: str) -> bytes:
    return _quoted(f"{line}\n")


def _quoted(text: str) -> bytes:
    """Quoted-printable of text without a CR: `b2a_qp` ends its lines with LF alone."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


def _file(out: list[bytes | bytearray], part: FilePart, cid: str) -> None:
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
    return f"{encoded_words(name)} <{address}>"


@functools.lru_cache(maxsize=256)  # the notices of a request share their subject
def _encoded_subject(subject: str) -> str:
    """ASCII as is; else RFC 2047-encoded as `Header` does, which folds without losing spaces."""
    if subject.isascii():
        return subject
    return encoded_words(subject, header_name="Subject")


_LINE_LENGTH = 78  # `Header`'s default
_q_length = email.quoprimime.header_length
_CHROME = len("=?utf-8?b??=")


def encoded_words(value: str, *, header_name: str = "") -> str:
    """`email.header.Header(value, "utf-8", header_name=...).encode(linesep="\r\n")`,
    worked out in one pass: `Header` measures the encoding of every prefix of each
    encoded word (quadratic; 0.1 ms for a Cyrillic subject).

    Like `Header`: base64 or Q, whichever is shorter for the whole value; words as
    long as fit in lines of 78, the first after "Name: " (a short name); folded between
    words."""
    if value.splitlines() != [value]:  # `Header` encodes each line apart
        return email.header.Header(value, "utf-8", header_name=header_name or None).encode(
            linesep="\r\n"
        )
    data = value.encode("utf-8")
    base64 = email.base64mime.header_length(data) < _q_length(data)
    room = _LINE_LENGTH - (len(header_name) + 2 if header_name else 0) - _CHROME
    words: list[bytes] = []
    word = bytearray()
    length = 0  # of `word` encoded
    for char in value:
        piece = char.encode("utf-8")
        grown = (len(word) + len(piece) + 2) // 3 * 4 if base64 else length + _q_length(piece)
        if grown > room and word:
            words.append(bytes(word))
            word = bytearray()
            grown = (len(piece) + 2) // 3 * 4 if base64 else _q_length(piece)
            room = _LINE_LENGTH - 1 - _CHROME  # a folded line starts with a space
        word += piece
        length = grown
    words.append(bytes(word))
    encode = email.base64mime.header_encode if base64 else email.quoprimime.header_encode
    return "\r\n ".join(encode(word, charset="utf-8") for word in words)


def header_safe(value: str, limit: int = 200) -> str:
    """One line, no control characters, bounded: safe to put in any header."""
    value = single_line(value)
    return value if len(value) <= limit else value[: limit - 1] + "…"
