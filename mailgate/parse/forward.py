"""What the sender forwarded: the message under a forward separator, or an attached one.

A client's "FYI, our provider says this:" over `---------- Forwarded message
----------` and the provider's mail is a new request whose point is the
forwarded part: it must reach the agents. The reply splitter
(`mailgate.parse.newtext`) removes it from the new text like any quote (no
command is ever read from it, SPEC §2) and hands over the quoted part that
ends the message (`ReplySplit.tail`). Here that part is read as a forward when
it starts with:

- a forward separator or introduction (`---------- Forwarded message
  ---------`, `Begin forwarded message:`, `-------- Пересылаемое сообщение
  --------`, ... : the separators of `quote_markers` naming a forward,
  `FORWARD_WORDS`), or
- a header block (`From:/Sent:/To:/Subject:` in any language the quote rules
  know, with or without Outlook's `____` line over it) under a forward's
  subject (`FW:`, `Fwd:`, `WG:`, `TR:`, `Пересл:` ...): Outlook forwards as it
  replies.

Its sender, date and subject come from the header block under the separator
(or a Yandex-style attribution line, `07.12.2026, 09:12, "NOC"
<noc@provider.example>:`); the rest is its text. Without an inline forward,
the first attached `message/rfc822` (not one inside a delivery report) is the
forwarded message, read from its own headers and text parts.

Everything here is one pass over lines already split, or one more decoding of
the attached message's bytes: linear in the message (SPEC §14).
"""

from __future__ import annotations

import re

from mailgate.domain import ForwardedMessage
from mailgate.parse import quote_markers
from mailgate.parse.errors import MalformedMessage
from mailgate.parse.limits import utf8_size
from mailgate.parse.mimetree import DecodedMail, MimePart, decode, read_attachment
from mailgate.parse.newtext import (
    attribution_end,
    header_field_name,
    is_rule_line,
    separator_phrase,
    starts_header_block,
)

_FORWARD_WORDS = tuple(quote_markers.FORWARD_WORDS)
_END_PHRASES = frozenset(quote_markers.FORWARD_END_PHRASES)
_FROM_FIELDS = frozenset(quote_markers.HEADER_FROM_FIELDS)
_DATE_FIELDS = frozenset(quote_markers.HEADER_DATE_FIELDS)
_SUBJECT_FIELDS = frozenset(quote_markers.HEADER_SUBJECT_FIELDS)
_PREFIXES = sorted(quote_markers.FORWARD_SUBJECT_PREFIXES, key=len, reverse=True)
# A forward prefix at the start of the subject, or after other prefixes and tags
# ("Re: FW:", "[REQ-12] Fwd:"); never a word inside it ("Part I: setup").
_FORWARD_SUBJECT = re.compile(
    r"^(?:\s*(?:\[[^\[\]]{0,40}\]|[^\W\d_]{1,10}\s*(?:\[\d+\]|\(\d+\))?\s*[:：]))*?\s*"
    r"(?:" + "|".join(map(re.escape, _PREFIXES)) + r")\s*(?:\[\d+\]|\(\d+\))?\s*[:：]",
    re.I,
)
_SUBJECT_HEAD = 80  # a forward prefix stands near the start of the subject
_LABEL = re.compile(r"^[*_]{0,2}\s*[^:：]{1,40}?\s*[*_]{0,2}\s*[:：][*_]{0,2}")
# Outlook's `support@example.org<mailto:support@example.org>`: the address once.
_MAILTO_SAME = re.compile(r"(?<![^\s<\[(])([^\s<>\[\]()]+@[^\s<>\[\]()]+)\s*[\[<(]mailto:\1[\]>)]")
_MAILTO = re.compile(r"\s*[\[<(]\s*mailto:([^\]>)\s]+)\s*[\]>)]")
_QUOTED_NAME = re.compile(r'^\s*"?([^"<>]*?)"?\s*<([^<>\s]+@[^<>\s]+)>\s*$')
_ATTRIBUTION_SENDER = re.compile(r'((?:"[^"]*"|[^,"<>]*)\s*<[^<>\s]+@[^<>\s]+>)\s*[:：]?\s*$')
_SPACES = re.compile(r"\s+")
_FIELD_BLANKS = 2  # blank lines allowed between two fields of one block (Outlook's <p>s)
_BLOCK_LINES = 30  # lines a forwarded header block is read over
_MAX_VALUE = 998


def read_forward(tail: str, *, subject: str) -> ForwardedMessage | None:
    """The forwarded message that `tail` (`ReplySplit.tail`) starts with, or None.

    `subject` is the message's own: under `FW:`/`Fwd:`/... a header block
    with no separator over it heads a forward too.
    """
    lines = [line.rstrip() for line in tail.split("\n")]
    first = next((index for index, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return None
    head = lines[first].strip()
    phrase = separator_phrase(head.lstrip("> "))
    if phrase is not None and any(word in phrase for word in _FORWARD_WORDS):
        start = first + 1
    elif _is_forward_subject(subject) and _header_block_follows(lines, first):
        start = first + 1 if is_rule_line(head) or phrase is not None else first
    else:
        return None
    body = _unquoted(lines[start:])
    return _read_block(body)


def _is_forward_subject(subject: str) -> bool:
    head = subject[:_SUBJECT_HEAD].replace("İ", "i")
    return _FORWARD_SUBJECT.match(head) is not None


def _header_block_follows(lines: list[str], first: int) -> bool:
    """A header block at `first`, or right under a rule line or separator there."""
    if starts_header_block(lines, first):
        return True
    head = lines[first].strip()
    if not (is_rule_line(head) or separator_phrase(head) is not None):
        return False
    later = next((i for i in range(first + 1, len(lines)) if lines[i].strip()), None)
    return later is not None and starts_header_block(lines, later)


def _unquoted(lines: list[str]) -> list[str]:
    """The lines with one level of `>` taken off when every line with text has one
    (Apple Mail's forward in a `<blockquote type="cite">`, rendered)."""
    if not all(line.lstrip().startswith(">") for line in lines if line.strip()):
        return lines
    return [line.lstrip()[1:].removeprefix(" ") if line.strip() else "" for line in lines]


def _read_block(lines: list[str]) -> ForwardedMessage:
    """Sender, date and subject from the header block (or attribution) at the top of
    `lines`; the rest is the forwarded text."""
    index = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    fields: dict[str, str] = {}
    end = attribution_end(lines, index) if index < len(lines) else None
    if end is not None:
        fields.update(_from_attribution(" ".join(line.strip() for line in lines[index:end + 1])))
        index = end + 1
    else:
        index = _read_fields(lines, index, fields)
    text = _tidy(lines[index:])
    return ForwardedMessage(
        sender=fields.get("sender", ""),
        date=fields.get("date", ""),
        subject=fields.get("subject", ""),
        text=text,
    )


def _read_fields(lines: list[str], index: int, fields: dict[str, str]) -> int:
    """Read header fields from `lines[index]` on into `fields` (the first of each
    role); return the index of the first line after the block."""
    role: str | None = None
    last_field = index - 1  # the block ends after its last field line (or continuation)
    blanks = 0
    stop = min(len(lines), index + _BLOCK_LINES)
    position = index
    while position < stop:
        line = lines[position]
        stripped = line.strip()
        if not stripped:
            blanks += 1
            if blanks > _FIELD_BLANKS:
                break
            position += 1
            continue
        name = header_field_name(stripped)
        if name is not None:
            label = _LABEL.match(stripped)
            value = stripped[label.end() :] if label is not None else ""
            role = _role(name)
            if role and not fields.get(role):
                fields[role] = _clean(value)
            last_field, blanks = position, 0
        elif role is not None and not blanks and (
            line[:1].isspace() or lines[position - 1].rstrip().endswith(",")
        ):
            if role and len(fields.get(role, "")) < _MAX_VALUE:
                fields[role] = _clean(f"{fields.get(role, '')} {stripped}")
            last_field = position
        else:
            break
        position += 1
    return last_field + 1


def _role(name: str) -> str:
    """What a field gives: "sender", "date", "subject", or "" (To:, Cc: ...)."""
    if name in _FROM_FIELDS:
        return "sender"
    if name in _DATE_FIELDS:
        return "date"
    if name in _SUBJECT_FIELDS:
        return "subject"
    return ""  # a field kept out of the result (To:, Cc:), still part of the block


def _clean(value: str) -> str:
    """A field value as shown: bold marks and `[mailto:…]` taken off, spaces single."""
    value = value[: 2 * _MAX_VALUE].strip().strip("*_").strip()
    value = _MAILTO_SAME.sub(r"\1", value)
    value = _MAILTO.sub(lambda match: f" <{match.group(1)}>", value)
    value = _SPACES.sub(" ", value).strip()
    named = _QUOTED_NAME.match(value)
    if named is not None:
        name, address = named.group(1).strip(), named.group(2)
        value = f"{name} <{address}>" if name and name != address else address
    return value[:_MAX_VALUE]


def _from_attribution(text: str) -> dict[str, str]:
    """Sender and date of `07.12.2026, 09:12, "NOC" <noc@provider.example>:`."""
    found = _ATTRIBUTION_SENDER.search(text)
    if found is None:
        return {}
    date = text[: found.start()].strip().rstrip(",").strip()
    return {"sender": _clean(found.group(1)), "date": date}


def _tidy(lines: list[str]) -> str:
    """The forwarded text: blank lines at both ends and a closing end line removed."""
    kept = list(lines)
    while kept and not kept[-1].strip():
        kept.pop()
    if kept and _is_end_line(kept[-1]):
        kept.pop()
    start = next((i for i, line in enumerate(kept) if line.strip()), len(kept))
    end = len(kept)
    while end > start and not kept[end - 1].strip():
        end -= 1
    return "\n".join(kept[start:end])


def _is_end_line(line: str) -> bool:
    """ "-------- Конец пересылаемого сообщения --------", "--- End of forwarded message ---"."""
    stripped = line.strip()
    if len(stripped) > 100 or not stripped.startswith(("-", "=", "_", "*")):
        return False
    words = " ".join(stripped.strip("-–—=_*~ \t").lower().split())
    return words in _END_PHRASES


# -- an attached message -----------------------------------------------------------------


def attached_forward(
    raw: bytes, mail: DecodedMail, *, max_text_bytes: int | None
) -> tuple[ForwardedMessage, bool] | None:
    """The first attached message (`message/rfc822`, not inside a report) as the
    forwarded one, and whether its text was cut; None when there is none.

    Its text is read within what `max_text_bytes` leaves after the message's own
    text parts.
    """
    part = _first_attached_message(mail.parts)
    if part is None:
        return None
    attachment = next(
        (a for a in mail.attachments if a.start == part.body_start and a.end == part.body_end),
        None,
    )
    if attachment is None:
        return None
    budget = max_text_bytes
    if budget is not None:
        budget -= utf8_size(mail.plain or "") + utf8_size(mail.html or "")
        if budget <= 0:
            return _headers_only(mail.parts, part), True
    try:
        inner = decode(read_attachment(raw, attachment), max_text_bytes=budget)
    except MalformedMessage:  # nothing readable in it
        return None
    if inner.plain is not None and inner.plain.strip():
        text = inner.plain
    else:
        from mailgate.parse.html import html_to_text

        text = html_to_text(inner.html or "")
    forwarded = ForwardedMessage(
        sender=_clean(inner.header("from") or ""),
        date=_clean(inner.header("date") or ""),
        subject=_clean(inner.header("subject") or ""),
        text=_tidy([line.rstrip() for line in text.split("\n")]),
    )
    return forwarded, inner.text_cut


def _first_attached_message(parts: tuple[MimePart, ...]) -> MimePart | None:
    for part in parts:
        if part.in_message or part.content_type not in ("message/rfc822", "message/global"):
            continue
        if not _in_report(parts, part):
            return part
    return None


def _in_report(parts: tuple[MimePart, ...], part: MimePart) -> bool:
    ancestor, steps = part.parent, 0
    while ancestor >= 0 and steps < len(parts):
        if parts[ancestor].content_type == "multipart/report":
            return True
        ancestor, steps = parts[ancestor].parent, steps + 1
    return False


def _headers_only(parts: tuple[MimePart, ...], part: MimePart) -> ForwardedMessage:
    """No text budget left: the attached message's own header fields alone."""
    inner = next((p for p in parts if p.parent == part.index and p.starts_message), None)
    if inner is None:
        return ForwardedMessage()
    from mailgate.parse.headers import decode_header_value

    def field(name: str) -> str:
        value = inner.header(name)
        return _clean(decode_header_value(value)) if value else ""

    return ForwardedMessage(sender=field("from"), date=field("date"), subject=field("subject"))
