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
from collections.abc import Collection
from dataclasses import dataclass, replace
from enum import Enum

from mailgate.parse import quote_markers
from mailgate.parse.approval import find_quoted_approvals
from mailgate.parse.commands import find_commands, normalize, read_line
from mailgate.parse.html import RenderedHtml, html_of_lines, quote_marks, render_html
from mailgate.parse.lines import by_line
from mailgate.parse.signoff import signature_start


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySplit:
    """`new_text` is what the sender wrote; `quoted_text` everything removed from it.

    `signature` is the part of `quoted_text` that is the sender's own signature.
    """

    new_text: str
    quoted_text: str
    signature: str = ""
    # The quoted part that ends the message, from its first line (signature lines
    # above it left out): where a forwarded message starts, if it is one (`forward`).
    tail: str = ""


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
    after_rule: frozenset[int] = frozenset()  # the first line after an <hr>
    bare: tuple[bool, ...] = ()  # inside a <blockquote> without attributes


def _alternation(words: tuple[str, ...]) -> str:
    return "|".join(re.escape(word) for word in sorted(set(words), key=len, reverse=True))


def _is_word_letter(char: str) -> bool:
    """A letter of a script with spaces between words: a verb ending in one is matched whole."""
    return char.isalpha() and ord(char) < 0x2E80


def _verb_pattern(verbs: tuple[str, ...]) -> str:
    """The verbs, grouped by the word-boundary checks they need: each check then runs
    once per position instead of once per verb (`search` is about 8 times faster)."""
    groups: dict[tuple[bool, bool], list[str]] = {}
    for verb in sorted(set(verbs), key=len, reverse=True):
        key = (_is_word_letter(verb[0]), _is_word_letter(verb[-1]))
        groups.setdefault(key, []).append(re.escape(verb))
    parts = []
    for (whole_start, whole_end), escaped in groups.items():
        before = r"(?<!\w)" if whole_start else ""
        after = r"(?!\w)" if whole_end else ""
        parts.append(f"{before}(?:{'|'.join(escaped)}){after}")
    return "|".join(parts)


_VERBS = _verb_pattern(quote_markers.ATTRIBUTION_VERBS)
_VERB = re.compile(_VERBS, re.I)


def _reversed_verb_pattern(verbs: tuple[str, ...]) -> str:
    """`(?:_VERBS)$` for the text read backwards, to `match` at its start: one place to
    try instead of every one of the line (`search` with `$` costs about 7 µs a line)."""
    parts = []
    for verb in sorted(set(verbs), key=len, reverse=True):
        escaped = re.escape(verb[::-1])
        if verb[-1].isalpha() and ord(verb[-1]) < 0x2E80:
            escaped = rf"(?<!\w){escaped}"
        if verb[0].isalpha() and ord(verb[0]) < 0x2E80:
            escaped = rf"{escaped}(?!\w)"
        parts.append(escaped)
    return r"\n?(?:" + "|".join(parts) + ")"


# "On ... <support@example.org> wrote" with no colon: the verb ends the line.
_VERB_AT_END_REVERSED = re.compile(_reversed_verb_pattern(quote_markers.ATTRIBUTION_VERBS), re.I)
# A verb matches as many characters as it has (case is matched a character at a
# time), so the tail read backwards holds the longest verb, the line break `$`
# may stand before, and the character the look-behind checks.
_VERB_TAIL = max(len(verb) for verb in quote_markers.ATTRIBUTION_VERBS) + 2
# Polymail and wrapped Gmail: "> wrote:" or ">:" closing an address wrapped as "<" ... ">".
_QUOTE_LIKE_TAIL = re.compile(rf"^>\s*(?:(?:{_VERBS})\s*[:：]?|[:：])$", re.I)
# Tried where a run of address characters starts: from inside a long word without
# an "@" each try ran to the word's end, which made the search quadratic.
_EMAIL = re.compile(r"(?<![\w.+'-])[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
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
# The sender's sentence and an attribution on one line: "Works now. On Wed, ... wrote:".
_SENTENCE_THEN_LEAD = re.compile(
    rf"[.!?)]\s+(?=(?:{_alternation(quote_markers.ATTRIBUTION_LEADS)})\s)", re.I
)
# Without a full stop: Yahoo's "--- On …", or a space before a strong attribution.
_TEXT_THEN_LEAD = re.compile(
    rf"(?:-{{2,}}\s*|\s+)(?=(?:{_alternation(quote_markers.ATTRIBUTION_LEADS)})\s)", re.I
)
_SHARED_LINE_TRIES = 3  # the first few places an attribution may start: linear time
# "2026/11/25 Support <support@example.org>": date first, then name and address, no verb.
_DATE_FIRST = re.compile(r"^\d{4}/\d{1,2}/\d{1,2}\b[^<>]{0,120}<[^<>\s]+@[^<>\s]+>:?$")
# "25.11.2026, ...", "ср, 25 нояб. ...", "Wednesday, November 25 ...", "* Support <...> [...]"
_HEAD_START = re.compile(rf"^(?:\*\s|\d|[^\W\d_]{{2,12}}\.?,?\s+(?:\d|{_MONTH}))", re.I)
_FROM_FIELDS = frozenset(quote_markers.HEADER_FROM_FIELDS)
_FIELD_NAMES = frozenset(quote_markers.HEADER_FROM_FIELDS + quote_markers.HEADER_OTHER_FIELDS)
# "From:", "*Sent:*", "De :", "Enviado el:": the label before the first colon, looked
# up in `_FIELD_NAMES` (one set lookup instead of trying every name at the line's start).
_FIELD_LABEL = re.compile(r"^[*_]{0,2}\s*([^\W\d_][^:：*_]{0,24}?)\s*[*_]{0,2}\s*[:：]")
_SEPARATOR_TRIM = "-–—=_*~ \t"
_SEPARATOR_PHRASES = frozenset(quote_markers.SEPARATOR_PHRASES)
_FORWARD_INTROS = frozenset(quote_markers.FORWARD_INTRO_PHRASES)
# A quoted line: ">", or The Bat!'s initials before it ("SP> ", "ИП> ").
_QUOTE_PREFIX = re.compile(r"^\s*(?:[A-ZА-ЯЁ]{1,3})?>")
_RULE_LINE = re.compile(r"^(?:_{10,}|={10,}|-{10,})$")  # Outlook's, French webmail's
# A line of rule characters only: between the new text and a quote it is no text.
_BARE_RULE = re.compile(r"^[-_=*~─━]{5,}$")
# The last word of a wrapped attribution's line may be an abbreviation ("kl.", "Ltd.").
_ABBREVIATION_END = re.compile(r"(?<!\S)[^\W\d_]{1,4}\.$")
# Decoration, not a quote: ">>>>>>>>>>" or ">>> UPDATE <<<" standing alone.
# `>{3,}+` takes every ">" at once: giving them back one by one, each time trying the
# rest of the line, was quadratic on a deeply quoted line.
_DECORATION = re.compile(r"^>{3,}+(?:[^\w]*|.*<{3,})$")
_URL_START = re.compile(r"https?://|www\.", re.I)
_LABEL = re.compile(r"^[*_]{0,2}[^\W\d_][^:：]{0,30}[:：]\s*\S")  # "Feladó: Support <...>"
# "Get Outlook for iOS<https://aka.ms/o0ukef>" in any language: the app's link ends the line.
_DEVICE_LINK = re.compile(
    rf"<https?://(?:{_alternation(quote_markers.DEVICE_SIGNATURE_LINK_HOSTS)})/[^>\s]*>$"
)
_DEVICE_PREFIX = re.compile(
    "|".join(
        re.escape(prefix)
        for prefix in sorted(quote_markers.DEVICE_SIGNATURE_PREFIXES, key=len, reverse=True)
    )
)
# Their first characters: a line starting with none of them skips the long pattern.
_DEVICE_FIRST = frozenset(prefix[0] for prefix in quote_markers.DEVICE_SIGNATURE_PREFIXES)
# The app's link after its name ("Sent from TypeApp<http://www.typeapp.com/r?b=1>"): not prose.
_TRAILING_LINK = re.compile(r"\s*[<‹(\[]\s*(?:https?://|www\.)[^\s<>‹›()\[\]]*\s*[>›)\]]$")
# A device line goes on as a sentence: "Sent from my phone on the train, so ...".
_PROSE = re.compile(r"[,;!?]|\.\s+\S")
_SIGNATURE_DELIMITER = re.compile(r"^--[ \t]*$")
_SPACES = str.maketrans({"\xa0": " ", "\u202f": " ", "\u2007": " "})
_INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_ANCHOR_JUNK = re.compile(r"[\W_]+")
_MAX_ATTRIBUTION_LENGTH = 300
_COLON_AT_LINE_END = re.compile(r"[:：]\s*?$", re.M)  # `\s*?`: never past the line's end
_GT_AT_LINE_START = re.compile(r"^[^\S\n]*>", re.M)  # as `line.lstrip().startswith(">")`
_TRAIT_CHUNK = 256  # lines whose traits are found at a time
# Lotus Notes "-----Support <support@example.org> wrote: -----", Zoho
# "---- On Wed, 25 Nov 2026 10:00:00 +0300 Support wrote ----": framed by dashes.
_DASH_FRAMED = re.compile(r"^[-–—]{2,}\s*(.*?)\s*[-–—]{2,}$")
_ATTRIBUTION_LINES = 3
_HEADER_BLOCK_WINDOW = 12
_WRAPPED_LINE_LENGTH = 60
# Clients wrap quoted text at 72 to 78 characters: a longer `>` line was not wrapped,
# so a short line under it is an inline answer, not its tail.
_WRAP_WIDTH = 80
_LINK_REST_STARTS = frozenset("_&=?/%#.+~)")
_TAIL_LOOKBACK = 5
_CITATION_LINES = 8
_MAX_CITATIONS = 20


def split_reply(plain: str | None, html: str | None) -> ReplySplit:
    """The new text and the quoted rest of a message body.

    `plain` is preferred when it has any text; `html` then only helps find a
    quote the plain-text rules missed.
    """
    html_lines: list[str] = []
    html_kinds: list[_Kind] = []
    if html is not None and html.strip():
        html_lines, html_kinds, _ = _split_html_lines(render_html(html))
    if plain is not None and plain.strip():
        text = _INVISIBLE.sub("", plain.replace("\r\n", "\n").translate(_SPACES))
        lines = _split_shared_lines([line.rstrip() for line in text.split("\n")])
        kinds = _classify(lines, None)
        if html_lines:
            aligned = _align_with_html(lines, kinds, html_lines, html_kinds)
            if aligned is not kinds and (
                _has_new_text(lines, aligned) or _fallback_kinds(lines) is None
            ):
                kinds = aligned
            kinds = _guard_quoted_commands(lines, kinds, html_lines, html_kinds)
        return _result(lines, _with_signature(lines, kinds), collapse=False)
    if html_lines:
        return _result(html_lines, _with_signature(html_lines, html_kinds), collapse=True)
    return ReplySplit(new_text="", quoted_text="")


def new_html(html: str, *, drop: Collection[str] = (), images: Collection[str] = ()) -> str | None:
    """The HTML of what the sender wrote: the elements of the lines that are new
    text when `split_reply` reads this HTML alone (quote and signature cut the
    same way), less the lines whose `normalize`d text is in `drop` (command
    lines), with only the `cid:` images of `images`. None when nothing is left.

    Not sanitised: see `mailgate.sanitize`.
    """
    if not html.strip():
        return None
    rendered = render_html(html)
    lines, kinds, origin = _split_html_lines(rendered)
    kinds = _with_signature(lines, kinds)
    keep = [False] * len(rendered.lines)
    for kind, source in zip(kinds, origin, strict=True):
        if kind is _Kind.NEW and normalize(rendered.lines[source].text) not in drop:
            keep[source] = True
    if not any(keep[index] and line.text.strip() for index, line in enumerate(rendered.lines)):
        return None
    return html_of_lines(html, keep, images=images)


def _split_html_lines(rendered: RenderedHtml) -> tuple[list[str], list[_Kind], list[int]]:
    """Rendered lines (`> ` per quote depth), their kinds, and the rendered line each
    comes from (an attribution sharing a line with the sender's text is split off).

    When the structure quotes everything (the whole body in one `<blockquote>`,
    a client that wraps the sender's text in its quote container) and the text
    itself shows no quote, the sender wrote something: the structure is
    ignored rather than nothing returned.
    """
    origin, texts = _split_shared_origins(_normalize_lines([line.text for line in rendered.lines]))
    source = [rendered.lines[index] for index in origin]
    lines = [_prefixed(text, line.depth) for text, line in zip(texts, source, strict=True)]
    moved = _index_map(origin, len(rendered.lines))
    hints = _Hints(
        quoted=tuple(line.depth > 0 for line in source),
        attribution=tuple(line.attribution for line in source),
        cut=None if rendered.cut is None else moved[rendered.cut],
        signature=None if rendered.signature is None else moved[rendered.signature],
        after_rule=frozenset(moved[rule] for rule in rendered.rules),
        bare=tuple(line.bare for line in source),
    )
    kinds = _classify(lines, hints)
    unquoted = _unquote_citations(lines, kinds, hints)
    if unquoted is not None:
        lines, hints = unquoted
        kinds = _classify(lines, hints)
    if not _has_new_text(lines, kinds):
        fallback = _fallback_kinds(texts, inside_quote=True)
        if fallback is not None:
            return texts, fallback, origin
    return lines, kinds, origin


def _prefixed(text: str, depth: int) -> str:
    if not depth:
        return text
    marker = quote_marks(depth)
    return f"{marker} {text}" if text else marker


def _index_map(origin: list[int], count: int) -> list[int]:
    """For each of `count` rendered lines (and the end), its index once shared lines were split."""
    moved = [len(origin)] * (count + 1)
    for new in range(len(origin) - 1, -1, -1):
        moved[origin[new]] = new
    return moved


def _has_new_text(lines: list[str], kinds: list[_Kind]) -> bool:
    return any(kind is _Kind.NEW and line.strip() for line, kind in zip(lines, kinds, strict=True))


def _fallback_kinds(lines: list[str], *, inside_quote: bool = False) -> list[_Kind] | None:
    """The kinds of lines quoted by the HTML structure alone, read as plain text.

    None unless the text rules leave some new text and no command line stands
    in it below its first line: a reply with nothing written over a quote that
    lost its marks (our notice lists the commands under a greeting) must not
    hand the quoted commands on, while a sender's command opens their text.

    `inside_quote`: the lines are all in the HTML's quote (a `<blockquote>`
    holding the whole body). There any attribution, weak ones too, starts the
    quoted part; and when the text rules find a quote in it, the quote is a
    reply's and no command may come from it: None if the text left holds one.
    """
    kinds = _classify(lines, None, attributions_cut=inside_quote)
    text = [line for line, kind in zip(lines, kinds, strict=True) if kind is _Kind.NEW]
    first = next((index for index, line in enumerate(text) if line.strip()), None)
    if first is None:
        return None
    quoted_inside = inside_quote and _Kind.QUOTE in kinds
    below = "\n".join(text if quoted_inside else text[first + 1 :])
    if find_commands(new_text=below, subject_after_tag=""):
        return None
    return kinds


def _split_shared_lines(lines: list[str]) -> list[str]:
    return _split_shared_origins(lines)[1]


def _split_shared_origins(lines: list[str]) -> tuple[list[int], list[str]]:
    """Lines with the sender's sentence split from an attribution sharing its line.

    "Yes, it works now. On Wed, Nov 25, 2026 at 10:00 AM Support <...> wrote:"
    becomes two lines. Returns, for every new line, the index of the line it
    came from, and the lines.
    """
    # Only a line ending with a colon can be split: those are found in the joined text
    # at C speed, not by a call per line (a megabyte of blank lines is a million lines).
    parts: dict[int, tuple[str, ...]] = {}
    for index in _lines_matching(lines, _COLON_AT_LINE_END):
        found = _shared_parts(lines[index])
        if len(found) > 1:
            parts[index] = found
    if not parts:
        return list(range(len(lines))), lines
    origin: list[int] = []
    split: list[str] = []
    for index, line in enumerate(lines):
        for part in parts.get(index, (line,)):
            origin.append(index)
            split.append(part)
    return origin, split


def _lines_matching(lines: list[str], pattern: re.Pattern[str]) -> list[int]:
    """The indexes of the lines where `pattern` (a multi-line pattern that never spans
    a line break) matches, found in the joined lines by one search."""
    text = "\n".join(lines)
    found: list[int] = []
    index, counted_to = 0, 0
    for match in pattern.finditer(text):
        index += text.count("\n", counted_to, match.start())
        counted_to = match.start()
        if not found or found[-1] != index:
            found.append(index)
    return found


@by_line
def _shared_parts(line: str) -> tuple[str, ...]:
    stripped = line.strip()
    if len(stripped) > 2 * _MAX_ATTRIBUTION_LENGTH or not stripped.endswith((":", "：")):
        return (line,)
    if _QUOTE_PREFIX.match(line) or not ("@" in line or _VERB.search(line)):
        return (line,)
    for boundary in _SENTENCE_THEN_LEAD.finditer(line):
        tail = line[boundary.end() :]
        if tail[:1].isupper() and _attribution_strength(tail) is not None:
            return (line[: boundary.start() + 1], tail)
    if _LEAD.match(stripped) or _HEAD_START.match(stripped):
        return (line,)  # an attribution whose name holds a lead word ("Am Rhein GmbH")
    # "bla-bla - bla--- On … wrote:" (Yahoo's dashes), "Monday works On … <…> wrote:".
    tried = 0
    for boundary in _TEXT_THEN_LEAD.finditer(line):
        tail = line[boundary.end() :]
        if len(tail) > _MAX_ATTRIBUTION_LENGTH or not tail[:1].isupper():
            continue
        head = line[: boundary.start()]
        strength = _attribution_strength(tail)
        dashed = boundary.group().strip().startswith("-")
        if head.strip(_SEPARATOR_TRIM) and (strength or (dashed and strength is not None)):
            return (head.rstrip(), tail)
        tried += 1
        if tried >= _SHARED_LINE_TRIES:
            break
    return (line,)


def _normalize_lines(lines: list[str]) -> list[str]:
    """`_normalize_line` of each line (none holds a line break), done on them joined."""
    text = _INVISIBLE.sub("", "\n".join(lines).translate(_SPACES))
    return [line.rstrip() for line in text.split("\n")] if lines else []


# What one line can be, on its own (`_line_traits`).
_BLANK = 1
_QUOTED = 2  # starts with a quote mark
_MARKER = 4  # may start a quoted part or a signature, or end a wrapped attribution with ">"
_ENDS_ATTRIBUTION = 8  # may be the last line of an attribution


@by_line
def _line_traits(line: str) -> int:
    """What `_classify` must look at on this line; a line with none of these is
    the sender's text unless an attribution ends on one of the next two lines."""
    stripped = line.strip()
    if not stripped:
        return _BLANK
    traits = _QUOTED if _QUOTE_PREFIX.match(line) else 0
    if (
        _QUOTE_LIKE_TAIL.match(stripped)
        or _may_start_quoted_part(stripped)
        or _is_signature_start(line)
    ):
        traits |= _MARKER
    if _may_end_attribution(stripped):
        traits |= _ENDS_ATTRIBUTION
    return traits


def _may_start_quoted_part(stripped: str) -> bool:
    """Can `_starts_quoted_part` say yes at this line, whatever follows it?"""
    phrase = _separator_phrase(stripped)
    return (
        _is_separator(stripped, phrase)
        or _RULE_LINE.match(stripped) is not None
        or phrase in _SEPARATOR_PHRASES
        or _header_field(stripped) is not None
    )


# -- classification -----------------------------------------------------------


def _classify(
    lines: list[str], hints: _Hints | None, *, attributions_cut: bool = False
) -> list[_Kind]:
    """The kind of every line: new text, quoted, or signature. With `attributions_cut`
    a weak attribution starts the quoted part as a strong one does."""
    count = len(lines)
    kinds = [_Kind.NEW] * count
    first = next((index for index, line in enumerate(lines) if line.strip()), count)
    # The traits of the lines, found a chunk at a time as the scan gets there (the lines
    # after a quote starts are never looked at); two zeros stand past the last line.
    traits: list[int] = []
    index = 0
    while index < count:
        if hints is not None and hints.cut is not None and index >= hints.cut:
            _mark(kinds, index, _Kind.QUOTE)
            break
        if hints is not None and hints.signature is not None and index >= hints.signature:
            _mark_signature(lines, kinds, index, hints)
            break
        if index + _ATTRIBUTION_LINES > len(traits):
            _more_traits(lines, traits, index + _ATTRIBUTION_LINES + _TRAIT_CHUNK)
        trait = traits[index]
        if not trait & (_QUOTED | _MARKER) and not (
            hints is not None and (hints.quoted[index] or index in hints.after_rule)
        ):
            # The common line, told in a few lookups: what the rules below would find.
            if trait & _BLANK:
                index += 1
                continue
            # Could an attribution starting here end on this line or one of the next two?
            if not (trait | traits[index + 1] | traits[index + 2]) & _ENDS_ATTRIBUTION:
                if hints is not None and hints.attribution[index]:
                    kinds[index] = _Kind.QUOTE
                index += 1
                continue
        stripped = lines[index].strip()
        head = _tail_head(lines, kinds, index)
        if head is not None:
            _mark(kinds, head, _Kind.QUOTE, index + 1)
            index += 1
            if not _quote_follows(lines, index, hints):
                _mark(kinds, index, _Kind.QUOTE)
                break
            continue
        if _is_quoted(lines, index, hints):
            kinds[index] = _Kind.QUOTE
            index += 1
            continue
        if not stripped:
            index += 1
            continue
        if hints is not None and index in hints.after_rule and _labels_follow(lines, index):
            _mark(kinds, index, _Kind.QUOTE)
            break
        if _starts_quoted_part(lines, index):
            end = _top_block_end(lines, index) if index == first else None
            if end is not None:
                _mark(kinds, index, _Kind.QUOTE, end)
                index = end
                continue
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
            if strong or attributions_cut:
                _mark(kinds, index, _Kind.QUOTE)
                break
        if hints is not None and hints.attribution[index]:
            kinds[index] = _Kind.QUOTE
        index += 1
    _quote_wrapped_fragments(lines, kinds)
    _quote_rules_over_quotes(lines, kinds)
    return kinds


def _quote_rules_over_quotes(lines: list[str], kinds: list[_Kind]) -> None:
    """A rule line (`------------------------------`) that ends the sender's lines right
    above a quote or a signature, or at the end, goes with what follows it."""
    following: _Kind | None = None  # the kind of the next line with text below
    for index in range(len(lines) - 1, -1, -1):
        stripped = lines[index].strip()
        if not stripped:
            continue
        if kinds[index] is _Kind.NEW and following is not _Kind.NEW and _BARE_RULE.match(stripped):
            kinds[index] = following or _Kind.QUOTE
        following = kinds[index]


def _more_traits(lines: list[str], traits: list[int], end: int) -> None:
    """Extend `traits` to the lines before `end`, and two zeros past the last line."""
    start = len(traits)
    if start > len(lines):
        return
    traits.extend(
        _line_traits(line) if line and not line.isspace() else _BLANK for line in lines[start:end]
    )
    if len(traits) == len(lines):
        traits += [0] * (_ATTRIBUTION_LINES - 1)


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
        return not _is_decoration(lines, index)
    return hints is not None and hints.quoted[index]


def _is_decoration(lines: list[str], index: int) -> bool:
    """ ">>>>>>>>>>" or ">>> UPDATE <<<" on its own, between lines that are not quoted."""
    if not _DECORATION.match(lines[index].strip()):
        return False
    before = next((back for back in range(index - 1, -1, -1) if lines[back].strip()), None)
    after = next((later for later in range(index + 1, len(lines)) if lines[later].strip()), None)
    return not any(
        neighbour is not None and _QUOTE_PREFIX.match(lines[neighbour])
        for neighbour in (before, after)
    )


def _quote_follows(lines: list[str], start: int, hints: _Hints | None) -> bool:
    """Is the next non-blank line from `start` quoted?"""
    for index in range(start, len(lines)):
        if lines[index].strip():
            return _is_quoted(lines, index, hints)
    return False


def _tail_head(lines: list[str], kinds: list[_Kind], index: int) -> int | None:
    """The first line of an attribution whose last line looks quoted.

    Polymail wraps the address as "<" / "mailto:..." / "> wrote:", and a
    wrapped Gmail attribution may end with ">:" on a line of its own. The
    head must start like an attribution and carry a date or a time.
    """
    if not _QUOTE_LIKE_TAIL.match(lines[index].strip()):
        return None
    for back in range(index - 1, max(-1, index - 1 - _TAIL_LOOKBACK), -1):
        text = lines[back].strip()
        if kinds[back] is not _Kind.NEW or len(text) > _MAX_ATTRIBUTION_LENGTH:
            return None
        if (_LEAD.match(text) or _HEAD_START.match(text)) and (
            _DATE.search(text) or _TIME.search(text)
        ):
            return back
    return None


def _starts_quoted_part(lines: list[str], index: int) -> bool:
    """A separator, a header block, or a rule line over a header block."""
    stripped = lines[index].strip()
    if not stripped:
        return False
    phrase = _separator_phrase(stripped)
    if _is_separator(stripped, phrase):
        return True
    if _RULE_LINE.match(stripped):
        return _labels_follow(lines, index + 1)
    if phrase in _SEPARATOR_PHRASES:
        # BlackBerry's "  Original Message  " has no dashes: a header block must follow.
        later = next(
            (later for later in range(index + 1, len(lines)) if lines[later].strip()), None
        )
        return later is not None and _starts_header_block(lines, later)
    return _starts_header_block(lines, index)


def _labels_follow(lines: list[str], start: int) -> bool:
    """Does a header block start at `start` (under a rule line)?

    The field names may be in a language the tables lack: two "Label: value"
    lines will do, if the first is one and one of them has an address or a date.
    """
    following = [line.strip() for line in lines[start : start + 7] if line.strip()][:3]
    if any(_header_field(line) for line in following[:2]):
        return True
    return (
        bool(following)
        and _LABEL.match(following[0]) is not None
        and sum(1 for line in following if _LABEL.match(line)) >= 2
        and any(_EMAIL.search(line) or _DATE.search(line) for line in following)
    )


def _separator_phrase(stripped: str) -> str:
    """The words of a line without the dashes around them, lower-cased; the Turkish
    dotted capital I ("İletilen") lower-cases to a plain "i"."""
    core = stripped.strip(_SEPARATOR_TRIM).lower().replace("i\u0307", "i")
    return " ".join(core.split())


def _is_separator(stripped: str, phrase: str | None = None) -> bool:
    """A separator line; `phrase` is `_separator_phrase(stripped)` when known."""
    if phrase is None:
        phrase = _separator_phrase(stripped)
    if not phrase:
        return False
    if phrase.rstrip(":：").rstrip() in _SEPARATOR_PHRASES and _dashes(stripped) >= 2:
        return True
    return phrase.endswith((":", "：")) and phrase[:-1].rstrip() in _FORWARD_INTROS


def _dashes(text: str) -> int:
    return sum(text.count(char) for char in "-–—=_*~")


def _starts_header_block(lines: list[str], index: int) -> bool:
    """Two or more header fields from this line on: one naming the sender, or one dated."""
    block = _header_block_at(lines, index)
    if block is None:
        return False
    fields, _, evidence = block
    if len(fields) < 2:
        return False
    return bool(fields & _FROM_FIELDS) or len(fields) >= 3 or evidence


def _header_block_at(lines: list[str], index: int) -> tuple[set[str], int, bool] | None:
    """The header fields from line `index` on, the last line of the block, and
    whether a field line holds a date or an address. None if `index` is no field.

    A line that does not start a field is a miss, unless it continues a field
    (indented, or after a line ending with ","); two misses in a row end the block.
    """
    first = _header_field(lines[index].strip())
    if first is None:
        return None
    fields = {first}
    last = index
    evidence = _has_date_or_address(lines[index])
    misses = 0
    for later in range(index + 1, min(len(lines), index + _HEADER_BLOCK_WINDOW)):
        line = lines[later]
        field = _header_field(line.strip())
        if field is not None:
            fields.add(field)
            evidence = evidence or _has_date_or_address(line)
            last, misses = later, 0
        elif line.strip() and (line[:1].isspace() or lines[later - 1].rstrip().endswith(",")):
            last = later
        else:
            misses += 1
            if misses >= 2:
                break
    return fields, last, evidence


@by_line
def _header_field(stripped: str) -> str | None:
    """The header field name a line starts with, lower-cased, or None."""
    label = _FIELD_LABEL.match(stripped)
    if label is None:
        return None
    name = label.group(1).lower()
    return name if name in _FIELD_NAMES else None


@by_line
def _has_date_or_address(line: str) -> bool:
    return bool(_EMAIL.search(line) or (_DATE.search(line) and _TIME.search(line)))


def _top_block_end(lines: list[str], index: int) -> int | None:
    """The end of a header block that opens the body, when the sender wrote under it.

    Some clients (Outlook in several languages, forward chains) put the
    message's own header block first. The text under it is the sender's only
    when another separator or header block follows it: otherwise the block
    heads a forwarded message, all quoted.
    """
    start = index
    stripped = lines[index].strip()
    if _is_separator(stripped) or _RULE_LINE.match(stripped):
        start = next(
            (
                later
                for later in range(index + 1, min(len(lines), index + 4))
                if lines[later].strip()
            ),
            len(lines),
        )
    if start >= len(lines) or not _starts_header_block(lines, start):
        return None
    block = _header_block_at(lines, start)
    assert block is not None
    end = block[1] + 1
    text = next((later for later in range(end, len(lines)) if lines[later].strip()), None)
    if text is None or _QUOTE_PREFIX.match(lines[text]) or _starts_quoted_part(lines, text):
        return None
    for later in range(text + 1, len(lines)):
        if lines[later].strip() and _starts_quoted_part(lines, later):
            return end
    return None


@by_line
def _is_signature_start(line: str) -> bool:
    if _SIGNATURE_DELIMITER.match(line):
        return True
    lowered = " ".join(line.split()).lower()
    if len(lowered) > quote_markers.DEVICE_SIGNATURE_MAX_LENGTH:
        return False
    if _DEVICE_LINK.search(lowered):
        return True
    prefix = _DEVICE_PREFIX.match(lowered) if lowered[:1] in _DEVICE_FIRST else None
    if prefix is None:
        return False
    rest = _TRAILING_LINK.sub("", lowered[prefix.end() :])
    return len(rest.split()) <= quote_markers.DEVICE_SIGNATURE_MAX_WORDS and not _PROSE.search(rest)


def _attribution_at(lines: list[str], index: int) -> tuple[int, bool] | None:
    """An attribution starting at `index`: (its last line, is it strong), or None.

    Strong attributions start the quoted part on their own; weak ones only when
    `>` lines follow them.
    """
    window: list[str] = []
    for size in range(1, _ATTRIBUTION_LINES + 1):
        end = index + size - 1
        if end >= len(lines):
            return None
        window.append(lines[end].strip())
        if not window[-1] or window[-1].startswith(">"):
            return None
        if size > 1 and _ends_sentence(window[-2], window[0]):
            return None
        if not _may_end_attribution(window[-1]):
            continue
        strength = _attribution_strength(" ".join(window))
        if strength is None:
            continue
        if size > 1 and not _is_wrapped_head(window[0], lines[index + 1 : end + 1]):
            return None
        return end, strength
    return None


@by_line
def _may_end_attribution(line: str) -> bool:
    return (
        line.endswith((":", "：", "--"))
        or _verb_at_end(line)
        or _DATE_FIRST.match(line) is not None
    )


def _verb_at_end(text: str) -> bool:
    """Does an attribution verb end `text` (as `re.search(f"(?:{_VERBS})$", text, re.I)`)?"""
    return _VERB_AT_END_REVERSED.match(text[-_VERB_TAIL:][::-1]) is not None


def _ends_sentence(line: str, head: str) -> bool:
    """Does `line` end a sentence, so that the line under it cannot continue it?

    A wrapped attribution may break after an abbreviation ("kl.", "Ltd."):
    allowed when its first line starts like one and carries a date or time.
    """
    if line.endswith((":", "：", "!", "?")):
        return True
    if not line.endswith("."):
        return False
    return not (
        _ABBREVIATION_END.search(line)
        and (_LEAD.match(head) or _HEAD_START.match(head))
        and (_DATE.search(head) or _TIME.search(head))
    )


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


@by_line
def _attribution_strength(text: str) -> bool | None:
    """True for a strong attribution, False for a weak one, None for none."""
    framed = _DASH_FRAMED.match(text)
    if framed is not None and framed.group(1):
        text = framed.group(1).rstrip(":：") + ":"
    if len(text) > _MAX_ATTRIBUTION_LENGTH:
        return None
    if not text.endswith((":", "：")):
        return _colonless_strength(text)
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


def _colonless_strength(text: str) -> bool | None:
    """ "On ... <support@example.org> wrote" (strong with an address and a date or
    time), and "2026/11/25 Support <support@example.org>" (weak)."""
    if _DATE_FIRST.match(text):
        return False
    if not _verb_at_end(text) or not _LEAD.match(text):
        return None
    has_email = bool(_EMAIL.search(text))
    dated = bool(_DATE.search(text) or _TIME.search(text))
    if has_email and dated:
        return True
    return False if has_email or dated else None


def _quote_wrapped_fragments(lines: list[str], kinds: list[_Kind]) -> None:
    """A quoted line that a client re-wrapped leaves its tail without `>`.

    Such a tail is a short lower-case line right between two `>` lines, under a
    long quoted line that does not end a sentence; or the rest of a long link
    (no spaces) under a quoted line that ends with the link's start. An inline
    answer starts with a capital, follows a question, or is set off by blank
    lines.
    """
    for quoted in _lines_matching(lines, _GT_AT_LINE_START):
        index = quoted + 1  # a line right under a ">" line
        if index >= len(lines) or kinds[index] is not _Kind.NEW:
            continue
        stripped = lines[index].strip()
        if not stripped:
            continue
        before = lines[index - 1].strip()
        after = lines[index + 1].strip() if index + 1 < len(lines) else ""
        if _continues_link(before, stripped, after) or _continues_line(before, stripped, after):
            kinds[index] = _Kind.QUOTE


def _continues_line(before: str, line: str, after: str) -> bool:
    return (
        after.startswith(">")
        and line[0].islower()
        and _WRAPPED_LINE_LENGTH <= len(before) <= _WRAP_WIDTH
        and not before.endswith((".", "!", "?", ":"))
    )


def _continues_link(before: str, line: str, after: str) -> bool:
    """The rest of a link the client wrapped: no spaces, under a `>` line that ends
    with the link's start; a long line (wrapped at its width), or a rest that can
    only be a link's (`_nonce=5d21e8b)`, `&id=7`, `/path`)."""
    return (
        (not after or after.startswith(">"))
        and (len(before) >= _WRAPPED_LINE_LENGTH or line[0] in _LINK_REST_STARTS)
        and " " not in line
        and len(line) <= _WRAPPED_LINE_LENGTH
        and _ends_with_link(before)
    )


def _ends_with_link(text: str) -> bool:
    """Does a link end `text` (`re.search(r"(?:https?://|www\\.)\\S+$", text, re.I)`)?
    Such a match lies in the last word: only that is searched."""
    word = text.rsplit(None, 1)[-1] if text else ""
    start = _URL_START.search(word)
    return start is not None and start.end() < len(word)


def _unquote_citations(
    lines: list[str], kinds: list[_Kind], hints: _Hints
) -> tuple[list[str], _Hints] | None:
    """A `<blockquote>` without attributes that the sender put in their own text.

    It counts as theirs when it stands between their lines before any quote
    marker (no attribution above it) and is short; then its lines lose their
    `>` and are read again. Returns the new lines and hints, or None.
    """
    if not any(hints.bare):
        return None
    quoted = list(hints.quoted)
    unquoted = list(lines)
    seen_text = False
    citations = 0
    index = 0
    while index < len(lines):
        if hints.bare[index] and kinds[index] is _Kind.QUOTE:
            citations += 1
            if citations > _MAX_CITATIONS:
                break  # a few in real mail: past that, quotes (and bounded work)
            end = index
            while end < len(lines) and hints.bare[end]:
                end += 1
            after = next((later for later in range(end, len(lines)) if lines[later].strip()), None)
            size = sum(1 for line in lines[index:end] if line.strip(">").strip())
            if not (seen_text and after is not None and kinds[after] is _Kind.NEW):
                break
            if size > _CITATION_LINES or not _is_own_citation(lines[index:end]):
                break
            for inner in range(index, end):
                quoted[inner] = False
                unquoted[inner] = lines[inner][1:].lstrip(" ")
            index = end
            continue
        if kinds[index] is not _Kind.NEW:
            break
        seen_text = seen_text or bool(lines[index].strip())
        index += 1
    if quoted == list(hints.quoted):
        return None
    return unquoted, replace(hints, quoted=tuple(quoted))


def _is_own_citation(lines: list[str]) -> bool:
    """Can the lines of a short `<blockquote>` (`>`-prefixed) be the sender's own
    citation? Not when the quote rules find a quote in them (an attribution, weak
    ones too, a separator, a header field, a signature, a `>` line), nor when a
    line of them would be a command or an approval: such a blockquote is a quote,
    and no command may come from it (SPEC §2)."""
    inner = [line[1:].lstrip(" ") for line in lines]
    ends_attribution = False
    for line in inner:
        if not line.strip():
            continue
        traits = _line_traits(line)
        if traits & (_QUOTED | _MARKER) or read_line(line) is not None:
            return False
        ends_attribution = ends_attribution or bool(traits & _ENDS_ATTRIBUTION)
    if ends_attribution and any(
        line.strip() and _attribution_at(inner, index) is not None
        for index, line in enumerate(inner)
    ):
        return False
    return not find_quoted_approvals("\n".join(inner))


def _with_signature(lines: list[str], kinds: list[_Kind]) -> list[_Kind]:
    """Kinds with the sender's sign-off and what follows it (or a list footer) as signature."""
    start = signature_start(lines, [kind is _Kind.NEW for kind in kinds])
    if start is None:
        return kinds
    return kinds[:start] + [
        _Kind.SIGNATURE if kind is _Kind.NEW else kind for kind in kinds[start:]
    ]


# -- plain text and HTML together -----------------------------------------------


def _align_with_html(
    lines: list[str], kinds: list[_Kind], html_lines: list[str], html_kinds: list[_Kind]
) -> list[_Kind]:
    """Cut the plain text where the HTML's quoted part starts, if the plain rules missed it."""
    quoted = (
        anchor
        for line, kind in zip(html_lines, html_kinds, strict=True)
        if kind is _Kind.QUOTE and (anchor := _anchor(line))
    )
    first = next(quoted, None)
    if first is None:
        return kinds
    second = next(quoted, None)
    anchors = [_anchor(line) for line in lines]
    # For each line, the anchor of the next line below it that has one: one pass from the end.
    following: list[str | None] = [None] * len(lines)
    below: str | None = None
    for index in range(len(lines) - 1, -1, -1):
        following[index] = below
        below = anchors[index] or below
    for index in range(len(lines)):
        if kinds[index] is not _Kind.NEW or anchors[index] != first:
            continue
        if len(first) >= 20 or _second_follows(second, following[index]):
            aligned = list(kinds)
            for later in range(index, len(aligned)):
                if aligned[later] is _Kind.NEW:
                    aligned[later] = _Kind.QUOTE
            return aligned
    return kinds


def _second_follows(second: str | None, following: str | None) -> bool:
    """Is the plain line below the match the HTML's second quoted line, or (the
    plain text wrapped at 76 characters where the HTML did not) its start?"""
    if second is None or not following:
        return False
    return following == second or (len(following) >= 20 and second.startswith(following))


def _guard_quoted_commands(
    lines: list[str], kinds: list[_Kind], html_lines: list[str], html_kinds: list[_Kind]
) -> list[_Kind]:
    """A command line of the plain text that the HTML shows only in its quote is quoted.

    Commands never come from a part the parser marked as quoted (SPEC §2), even
    when the plain text lost the quote marks and could not be lined up with the
    HTML (`_align_with_html`): its lines are matched by their letters and digits.
    """
    quoted: set[str] = set()
    written: set[str] = set()
    for line, kind in zip(html_lines, html_kinds, strict=True):
        anchor = _anchor(line)
        if anchor:
            (written if kind is _Kind.NEW else quoted).add(anchor)
    quoted -= written
    if not quoted:
        return kinds
    guarded = kinds
    for index, (line, kind) in enumerate(zip(lines, kinds, strict=True)):
        if kind is not _Kind.NEW or _anchor(line) not in quoted or read_line(line) is None:
            continue
        if guarded is kinds:
            guarded = list(kinds)
        guarded[index] = _Kind.QUOTE
    return guarded


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
    quoted: list[str] = []
    signature: list[str] = []
    for line, kind in zip(lines, kinds, strict=True):
        if kind is _Kind.NEW:
            segments[-1].append(line)
            continue
        if segments[-1]:
            segments.append([])
        quoted.append(line)
        if kind is _Kind.SIGNATURE:
            signature.append(line)
    new_text = "\n".join(
        text for segment in segments if (text := _tidy(segment, collapse=collapse))
    )
    return ReplySplit(
        new_text=new_text,
        quoted_text=_tidy(quoted, collapse=True),
        signature=_tidy(signature, collapse=True),
        tail="\n".join(lines[_tail_start(lines, kinds) :]),
    )


def _tail_start(lines: list[str], kinds: list[_Kind]) -> int:
    """The first quoted line with text below the sender's last new line (the end
    when there is none)."""
    start = len(lines)
    for index in range(len(lines) - 1, -1, -1):
        kind = kinds[index]
        if kind is _Kind.NEW and lines[index].strip():
            break
        if kind is _Kind.QUOTE and lines[index].strip():
            start = index
    return start


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


# -- for reading a forwarded message (`mailgate.parse.forward`) ----------------------


def separator_phrase(stripped: str) -> str | None:
    """The phrase of a separator or forward introduction line ("forwarded message",
    "begin forwarded message"), lower-cased; None when the line is neither."""
    phrase = _separator_phrase(stripped)
    return phrase.rstrip(":：").rstrip() if _is_separator(stripped, phrase) else None


def is_rule_line(stripped: str) -> bool:
    """Outlook's `____` line, the French webmail's `====` line."""
    return _RULE_LINE.match(stripped) is not None


def header_field_name(stripped: str) -> str | None:
    """The header field a line starts with ("from", "тема", "betreff"), or None."""
    return _header_field(stripped)


def starts_header_block(lines: list[str], index: int) -> bool:
    """Do two or more header fields start at `lines[index]`, as a quote's header block?"""
    return _starts_header_block(lines, index)


def attribution_end(lines: list[str], index: int) -> int | None:
    """The last line of an attribution starting at `lines[index]` (any strength), or None."""
    found = _attribution_at(lines, index)
    return None if found is None else found[0]
