"""Split a reply into what the sender wrote now and what they quoted.

Commands count only in the new text (SPEC §2), so this module errs on the side
of quoting: once a reliable marker of a quoted or forwarded message is seen,
everything after it is quoted. The rules, per line, top to bottom:

1. A line starting with `>` is quoted. Unquoted lines between quoted blocks
   are an inline answer and stay new text.
2. An attribution ("On <date>, <who> wrote:", "25.11.2026, 10:00, "Поддержка"
   <support@example.org>:"), possibly wrapped over up to three lines, is
   quoted. When `>` lines follow it, scanning goes on (an inline answer may
   follow); when they do not, it starts the quoted part.
3. A separator ("-----Original Message-----", "---------- Forwarded message
   ---------", "Begin forwarded message:"), a header block of two or more
   "From:/Sent:/To:/Subject:" lines in any language (with or without a
   `____` line above it), or a structural quote found in the HTML
   (`mailgate.parse.html`) starts the quoted part.
4. A `-- ` line, or a device line ("Sent from my iPhone", "Отправлено с
   iPhone"), starts the signature; the signature ends where a quote starts.

Plain text is preferred when the message has it. When it also has HTML, the
HTML's structural quote is looked up in the plain text, and cuts it there if
the plain-text rules missed it. See docs/new-text.md.

The words and shapes come from `mailgate.parse.quote_markers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from mailgate.parse import quote_markers
from mailgate.parse.html import render_html


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySplit:
    """`new_text` is what the sender wrote; `quoted_text` everything removed from it.

    `signature` is the part of `quoted_text` that is the sender's own signature.
    """

    new_text: str
    quoted_text: str
    signature: str = ""


class _Kind(Enum):
    NEW = "new"
    QUOTE = "quote"
    SIGNATURE = "signature"


@dataclass(frozen=True, slots=True, kw_only=True)
class _Hints:
    """What the HTML structure says about its rendered lines."""

    quoted: tuple[bool, ...]  # inside <blockquote>
    attribution: tuple[bool, ...]  # inside an attribution element
    cut: int | None
    signature: int | None


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


def _verb_pattern(verbs: tuple[str, ...]) -> re.Pattern[str]:
    parts = []
    for verb in sorted(set(verbs), key=len, reverse=True):
        escaped = re.escape(verb)
        if verb[0].isalpha() and ord(verb[0]) < 0x2E80:  # a word: match it whole
            escaped = rf"(?<!\w){escaped}"
        if verb[-1].isalpha() and ord(verb[-1]) < 0x2E80:
            escaped = rf"{escaped}(?!\w)"
        parts.append(escaped)
    return re.compile("|".join(parts), re.I)


_VERB = _verb_pattern(quote_markers.ATTRIBUTION_VERBS)
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
# "Support <support@example.org>:", "support@example.org:" - an address right before the colon.
_ADDRESS_END = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+\s*[>\])]?\s*[:：]$")
_TIME = re.compile(r"(?<!\d)\d{1,2}:\d{2}(?!\d)")
_MONTH = rf"(?<!\w)(?:{_alternation(quote_markers.MONTH_PREFIXES)})[^\W\d_]*\.?"
_DATE = re.compile(
    r"(?<!\d)(?:\d{1,4}[./-]\d{1,2}[./-]\d{2,4})(?!\d)"
    rf"|(?<!\d)\d{{1,2}}\.?\s+{_MONTH}"
    rf"|{_MONTH}\s+\d{{1,2}}(?!\d)",
    re.I,
)
_LEAD = re.compile(rf"^(?:{_alternation(quote_markers.ATTRIBUTION_LEADS)})\s", re.I)
# "25.11.2026, ...", "ср, 25 нояб. ...", "Wednesday, November 25 ...", "* Support <...> [...]"
_HEAD_START = re.compile(rf"^(?:\*\s|\d|[^\W\d_]{{2,12}}\.?,?\s+(?:\d|{_MONTH}))", re.I)
_FROM_FIELDS = frozenset(quote_markers.HEADER_FROM_FIELDS)
_HEADER_FIELD = re.compile(
    r"^[*_]{0,2}\s*("
    + _alternation(quote_markers.HEADER_FROM_FIELDS + quote_markers.HEADER_OTHER_FIELDS)
    + r")\s*[*_]{0,2}\s*[:：]",
    re.I,
)
_SEPARATOR_TRIM = "-–—=_*~ \t"
_SEPARATOR_PHRASES = frozenset(quote_markers.SEPARATOR_PHRASES)
_FORWARD_INTROS = frozenset(quote_markers.FORWARD_INTRO_PHRASES)
# A quoted line: ">", or The Bat!'s initials before it ("SP> ", "ИП> ").
_QUOTE_PREFIX = re.compile(r"^\s*(?:[A-ZА-ЯЁ]{1,3})?>")
_UNDERSCORES = re.compile(r"^_{10,}$")
_LABEL = re.compile(r"^[*_]{0,2}[^\W\d_][^:：]{0,30}[:：]\s*\S")  # "Feladó: Support <...>"
# "Get Outlook for iOS<https://aka.ms/o0ukef>" in any language: the app's link ends the line.
_DEVICE_LINK = re.compile(
    rf"<https?://(?:{_alternation(quote_markers.DEVICE_SIGNATURE_LINK_HOSTS)})/[^>\s]*>$"
)
_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]*$")
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " ", "\u2007": " "})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_ANCHOR_JUNK = re.compile(r"[\W_]+")
_MAX_ATTRIBUTION_LENGTH = 300
# Lotus Notes "-----Support <support@example.org> wrote: -----", Zoho
# "---- On Wed, 25 Nov 2026 10:00:00 +0300 Support wrote ----": framed by dashes.
_DASH_FRAMED = re.compile(r"^[-–—]{2,}\s*(.*?)\s*[-–—]{2,}$")
_ATTRIBUTION_LINES = 3
_HEADER_BLOCK_WINDOW = 12
_WRAPPED_LINE_LENGTH = 60


def split_reply(plain: str | None, html: str | None) -> ReplySplit:
    """The new text and the quoted rest of a message body.

    `plain` is preferred when it has any text; `html` then only helps find a
    quote the plain-text rules missed.
    """
    html_lines: list[str] = []
    html_kinds: list[_Kind] = []
    if html is not None and html.strip():
        rendered = render_html(html)
        html_lines = [_normalize_line(line) for line in rendered.text_lines()]
        hints = _Hints(
            quoted=tuple(line.depth > 0 for line in rendered.lines),
            attribution=tuple(line.attribution for line in rendered.lines),
            cut=rendered.cut,
            signature=rendered.signature,
        )
        html_kinds = _classify(html_lines, hints)
    if plain is not None and plain.strip():
        lines = [_normalize_line(line) for line in plain.replace("\r\n", "\n").split("\n")]
        kinds = _classify(lines, None)
        if html_lines:
            kinds = _align_with_html(lines, kinds, html_lines, html_kinds)
        return _result(lines, kinds, collapse=False)
    if html_lines:
        return _result(html_lines, html_kinds, collapse=True)
    return ReplySplit(new_text="", quoted_text="")


def _normalize_line(line: str) -> str:
    return _INVISIBLE.sub("", line.translate(_SPACES)).rstrip()


# -- classification -----------------------------------------------------------


def _classify(lines: list[str], hints: _Hints | None) -> list[_Kind]:
    """The kind of every line: new text, quoted, or signature."""
    count = len(lines)
    kinds = [_Kind.NEW] * count
    index = 0
    while index < count:
        stripped = lines[index].strip()
        if hints is not None and hints.cut is not None and index >= hints.cut:
            _mark(kinds, index, _Kind.QUOTE)
            break
        if hints is not None and hints.signature is not None and index >= hints.signature:
            _mark_signature(lines, kinds, index, hints)
            break
        if _is_quoted(lines, index, hints):
            kinds[index] = _Kind.QUOTE
            index += 1
            continue
        if not stripped:
            index += 1
            continue
        if _starts_quoted_part(lines, index):
            _mark(kinds, index, _Kind.QUOTE)
            break
        if _is_signature_start(lines[index]):
            _mark_signature(lines, kinds, index, hints)
            break
        attribution = _attribution_at(lines, index)
        if attribution is not None:
            end, strong = attribution
            if _quote_follows(lines, end + 1, hints):
                _mark(kinds, index, _Kind.QUOTE, end + 1)
                index = end + 1
                continue
            if strong:
                _mark(kinds, index, _Kind.QUOTE)
                break
        if hints is not None and hints.attribution[index]:
            kinds[index] = _Kind.QUOTE
        index += 1
    _quote_wrapped_fragments(lines, kinds)
    return kinds


def _mark(kinds: list[_Kind], start: int, kind: _Kind, end: int | None = None) -> None:
    for index in range(start, len(kinds) if end is None else end):
        kinds[index] = kind


def _mark_signature(lines: list[str], kinds: list[_Kind], start: int, hints: _Hints | None) -> None:
    """From `start`, the signature; from the next quote marker on, quoted."""
    end = start + 1
    while end < len(lines):
        if _is_quoted(lines, end, hints) or _starts_quoted_part(lines, end):
            break
        if hints is not None and hints.cut is not None and end >= hints.cut:
            break
        attribution = _attribution_at(lines, end)
        if attribution is not None and (
            attribution[1] or _quote_follows(lines, attribution[0] + 1, hints)
        ):
            break
        end += 1
    _mark(kinds, start, _Kind.SIGNATURE, end)
    _mark(kinds, end, _Kind.QUOTE)


def _is_quoted(lines: list[str], index: int, hints: _Hints | None) -> bool:
    if _QUOTE_PREFIX.match(lines[index]):
        return True
    return hints is not None and hints.quoted[index]


def _quote_follows(lines: list[str], start: int, hints: _Hints | None) -> bool:
    """Is the next non-blank line from `start` quoted?"""
    for index in range(start, len(lines)):
        if lines[index].strip():
            return _is_quoted(lines, index, hints)
    return False


def _starts_quoted_part(lines: list[str], index: int) -> bool:
    """A separator, a header block, or a `____` line over a header block."""
    stripped = lines[index].strip()
    if _is_separator(stripped):
        return True
    if _UNDERSCORES.match(stripped):
        # Outlook's rule over its header block. The field names may be in a
        # language the tables lack: two "Label: value" lines will do.
        following = [line.strip() for line in lines[index + 1 : index + 8] if line.strip()][:3]
        if any(_HEADER_FIELD.match(line) for line in following[:2]):
            return True
        return (
            bool(following)
            and _LABEL.match(following[0]) is not None
            and sum(1 for line in following if _LABEL.match(line)) >= 2
            and any(_EMAIL.search(line) or _DATE.search(line) for line in following)
        )
    return _starts_header_block(lines, index)


def _is_separator(stripped: str) -> bool:
    core = stripped.strip(_SEPARATOR_TRIM).lower()
    if not core:
        return False
    dashes = sum(1 for char in stripped if char in "-–—=_*~")
    if dashes >= 2 and " ".join(core.rstrip(":").split()) in _SEPARATOR_PHRASES:
        return True
    return core.endswith(":") and " ".join(core[:-1].split()) in _FORWARD_INTROS


def _starts_header_block(lines: list[str], index: int) -> bool:
    """Two or more header fields (one naming the sender) from this line on."""
    first = _HEADER_FIELD.match(lines[index].strip())
    if first is None:
        return False
    fields = {first.group(1).lower()}
    misses = 0
    for line in lines[index + 1 : index + _HEADER_BLOCK_WINDOW]:
        match = _HEADER_FIELD.match(line.strip())
        if match is None:
            misses += 1
            if misses >= 2:
                break
            continue
        misses = 0
        fields.add(match.group(1).lower())
    if len(fields) < 2:
        return False
    return bool(fields & _FROM_FIELDS) or len(fields) >= 3


def _is_signature_start(line: str) -> bool:
    if _SIGNATURE_DELIMITER.match(line):
        return True
    lowered = " ".join(line.split()).lower()
    if len(lowered) > quote_markers.DEVICE_SIGNATURE_MAX_LENGTH:
        return False
    return lowered.startswith(quote_markers.DEVICE_SIGNATURE_PREFIXES) or bool(
        _DEVICE_LINK.search(lowered)
    )


def _attribution_at(lines: list[str], index: int) -> tuple[int, bool] | None:
    """An attribution starting at `index`: (its last line, is it strong), or None.

    Strong attributions start the quoted part on their own; weak ones only when
    `>` lines follow them.
    """
    for size in range(1, _ATTRIBUTION_LINES + 1):
        end = index + size - 1
        if end >= len(lines):
            return None
        window = [line.strip() for line in lines[index : end + 1]]
        if not window[-1] or window[-1].startswith(">"):
            return None
        if size > 1 and window[-2].endswith((":", "：", ".", "!", "?")):
            return None
        if not window[-1].endswith((":", "：", "--")):
            continue
        strength = _attribution_strength(" ".join(window))
        if strength is None:
            continue
        if size > 1 and not _is_wrapped_head(window[0], lines[index + 1 : end + 1]):
            return None
        return end, strength
    return None


def _is_wrapped_head(head: str, rest: list[str]) -> bool:
    """Is `head` the first line of an attribution wrapped onto the `rest` lines?

    It must start like one ("On ...", "Am ...", "ср, 25 ...", "25.11.2026 ...")
    or carry a date, time or address; and when the rest is an attribution on its
    own, only a line that starts like one belongs to it: otherwise `head` is the
    last line the sender wrote.
    """
    starts_like_one = bool(_LEAD.match(head) or _HEAD_START.match(head))
    if not (starts_like_one or _EMAIL.search(head) or _TIME.search(head) or _DATE.search(head)):
        return False
    if starts_like_one:
        return True
    return all(
        _attribution_strength(" ".join(line.strip() for line in rest[start:])) is None
        for start in range(len(rest))
    )


def _attribution_strength(text: str) -> bool | None:
    """True for a strong attribution, False for a weak one, None for none."""
    framed = _DASH_FRAMED.match(text)
    if framed is not None and framed.group(1):
        text = framed.group(1).rstrip(":：") + ":"
    if not text.endswith((":", "：")) or len(text) > _MAX_ATTRIBUTION_LENGTH:
        return None
    has_email = bool(_EMAIL.search(text))
    has_time = bool(_TIME.search(text))
    has_date = bool(_DATE.search(text))
    verb = _VERB.search(text)
    if verb is not None:
        if not text[: verb.start()].strip():
            return None  # "wrote:" alone is the end of a wrapped line, not an attribution
        return has_email or has_time or has_date
    if (has_email and has_time and has_date) or _ADDRESS_END.search(text):
        return True
    if has_email or (has_date and has_time):
        return False
    return None


def _quote_wrapped_fragments(lines: list[str], kinds: list[_Kind]) -> None:
    """A quoted line that a client re-wrapped leaves its tail without `>`.

    Such a tail is a short lower-case line right between two `>` lines, under a
    long quoted line that does not end a sentence. An inline answer starts with
    a capital, follows a question, or is set off by blank lines.
    """
    for index in range(1, len(lines) - 1):
        if kinds[index] is not _Kind.NEW:
            continue
        stripped = lines[index].strip()
        before, after = lines[index - 1].strip(), lines[index + 1].strip()
        if not (stripped and before.startswith(">") and after.startswith(">")):
            continue
        if (
            stripped[0].islower()
            and len(before) >= _WRAPPED_LINE_LENGTH
            and not before.endswith((".", "!", "?", ":"))
        ):
            kinds[index] = _Kind.QUOTE


# -- plain text and HTML together -----------------------------------------------


def _align_with_html(
    lines: list[str], kinds: list[_Kind], html_lines: list[str], html_kinds: list[_Kind]
) -> list[_Kind]:
    """Cut the plain text where the HTML's quoted part starts, if the plain rules missed it."""
    quoted = [
        anchor
        for line, kind in zip(html_lines, html_kinds, strict=True)
        if kind is _Kind.QUOTE and (anchor := _anchor(line))
    ]
    if not quoted:
        return kinds
    first = quoted[0]
    second = quoted[1] if len(quoted) > 1 else None
    for index, line in enumerate(lines):
        if kinds[index] is not _Kind.NEW or _anchor(line) != first:
            continue
        following = next((_anchor(later) for later in lines[index + 1 :] if _anchor(later)), None)
        if len(first) >= 20 or (second is not None and following == second):
            aligned = list(kinds)
            for later in range(index, len(aligned)):
                if aligned[later] is _Kind.NEW:
                    aligned[later] = _Kind.QUOTE
            return aligned
    return kinds


def _anchor(line: str) -> str:
    """A line reduced to its letters and digits, for matching plain text to HTML."""
    return _ANCHOR_JUNK.sub("", line.lstrip("> ").lower())


# -- results --------------------------------------------------------------------


def _result(lines: list[str], kinds: list[_Kind], *, collapse: bool) -> ReplySplit:
    """Join the new lines: each run between quotes trimmed of blank lines, runs joined by "\n".

    `collapse` also makes every run of blank lines one (for text rendered from
    HTML, whose blank lines are markup, not what the sender typed).
    """
    segments: list[list[str]] = [[]]
    for line, kind in zip(lines, kinds, strict=True):
        if kind is _Kind.NEW:
            segments[-1].append(line)
        elif segments[-1]:
            segments.append([])
    new_text = "\n".join(
        text for segment in segments if (text := _tidy(segment, collapse=collapse))
    )
    quoted = [line for line, kind in zip(lines, kinds, strict=True) if kind is not _Kind.NEW]
    signature = [line for line, kind in zip(lines, kinds, strict=True) if kind is _Kind.SIGNATURE]
    return ReplySplit(
        new_text=new_text,
        quoted_text=_tidy(quoted, collapse=True),
        signature=_tidy(signature, collapse=True),
    )


def _tidy(lines: list[str], *, collapse: bool) -> str:
    """Lines joined, blank lines at both ends dropped, and runs of them made one if `collapse`."""
    kept: list[str] = []
    for line in lines:
        if line.strip():
            kept.append(line)
        elif kept and (not collapse or kept[-1]):
            kept.append("")
    while kept and not kept[-1]:
        kept.pop()
    return "\n".join(kept)
