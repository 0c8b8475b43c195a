"""Commands and approval phrases in the new text and the subject (SPEC §2).

Where a command counts: on a line of its own in the new text, or as the whole
subject after the tag. Lines of the quoted text that would be commands are
reported as rejected ("quoted") and never applied. The words are data
(`mailgate/parse/phrases/*.toml`); docs/commands.md is the grammar for admins.

A line is read like this:
1. Leading bullets and markup (`* `, `- `, `• `, `**`, quotes) are ignored.
2. `#keyword argument` is an agent command (`#status`, `#note`, `#assign`);
   whoever sent it, the caller keeps only the ones the sender's role allows.
3. Otherwise the line, normalized (case, spaces, `ё`, apostrophes, trailing
   punctuation) and without polite words around it ("please", "thanks",
   "пожалуйста"), must be a client command exactly. Ending in "?" it is
   rejected as "question"; preceded by "don't", "не" ... as "negated".
4. A line that starts in lower case right below a line of prose that stops
   without punctuation is the wrapped end of that sentence, not a command
   ("... there is no need to" / "cancel request.").
5. `Escalate` opens an escalation; the reason follows after ":" or a dash, or
   after a space ("Escalate because ..."), or stands on the lines below, up to
   the next blank line (greeting lines skipped).

A message yields at most one command of each kind (but `#cc`, one line per
address): the first one, except that
an escalation with a reason wins over one without. An approval phrase is
dropped when the message also says "Resolve this issue". Dropped repeats are
reported as rejected ("duplicate").
"""

from __future__ import annotations

import email.utils
import functools
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from mailgate.domain import Command, CommandName, RejectedCandidate, Status
from mailgate.parse.approval import find_approval, find_quoted_approvals
from mailgate.parse.limits import APPROVAL_BYTES, COMMAND_BYTES, QUOTED_SCAN_BYTES, whole_lines
from mailgate.parse.lines import by_line
from mailgate.parse.phrases import DEFAULT_PHRASES, PhraseBook, fold, status_key
from mailgate.parse.phrases import normalize as _normalize

# A bullet run is tried only where it starts: after "**" took two of its stars, trying
# the rest of a long run of stars again at each step was quadratic.
_LEADING_MARKUP = re.compile(r"^(?:(?<![*•·▪◦\-–—+])[*•·▪◦\-–—+]+\s+|\*\*|__|[\"'«“„]+)+")
_TRAILING_QUOTES = "\"'»”"
_ASKED_TAIL = frozenset(".!?…")  # with white space: what may follow the "?" of a question
_AGENT_LINE = re.compile(r"^(#[^\W_]+)(?![\w-])[\s:]*(.*)$", re.S)
_SEPARATOR = re.compile(r"^\s*[:\-–—,.]\s*")
_ADDRESS = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_QUOTE_MARKS = re.compile(r"^[\s>]*>\s?")  # `^(?:\s*>)+\s?`, without the nested repeat
_REPEATABLE = frozenset({CommandName.CC})  # "#cc add a@…" and "#cc add b@…" in one mail
_MAX_REASON = 2000  # characters read below a bare `Escalate`
# Tried only where a run of these starts: from inside a long run it was quadratic.
_ARGUMENT_END = re.compile(r"(?<![\s.!,;…])[\s.!,;…]+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandScan:
    commands: tuple[Command, ...]
    rejected: tuple[RejectedCandidate, ...]


def normalize(line: str) -> str:
    """Lower case, `ё` as `е`, straight apostrophes, single spaces, no trailing punctuation."""
    return _normalize(line)


def scan_commands(
    *,
    new_text: str,
    quoted_text: str,
    subject_after_tag: str,
    phrases: PhraseBook = DEFAULT_PHRASES,
) -> CommandScan:
    """Commands in the subject and the new text; quoted candidates as rejected."""
    found, rejected_approvals = _scan_new_text(
        new_text, subject_after_tag, phrases, approvals=True, limit=COMMAND_BYTES
    )
    commands, rejected = _keep_one_of_each(found)
    rejected.extend(rejected_approvals)
    quoted_lines = whole_lines(quoted_text, QUOTED_SCAN_BYTES).split("\n")
    for line in quoted_lines:
        candidate = read_line(_QUOTE_MARKS.sub("", line, count=1), phrases=phrases)
        if candidate is not None:
            rejected.append(_as_quoted(candidate, line.strip()))
    dequoted = "\n".join(_QUOTE_MARKS.sub("", line, count=1) for line in quoted_lines)
    rejected.extend(find_quoted_approvals(dequoted, phrases=phrases, limit=APPROVAL_BYTES))
    return CommandScan(commands=tuple(commands), rejected=tuple(dict.fromkeys(rejected)))


def find_commands(
    *,
    new_text: str,
    subject_after_tag: str,
    approvals: bool = True,
    phrases: PhraseBook = DEFAULT_PHRASES,
    limit: int | None = COMMAND_BYTES,
) -> tuple[Command, ...]:
    """The commands `scan_commands` finds, without reading the quote for rejects.

    What deciding needs: it applies commands and never shows rejects. With
    `approvals=False` approval phrases are not looked for (a new request has
    nothing to approve; an agent's mail is read for `#` commands), which saves
    judging every sentence of the text.

    Command lines are looked for in the lines that end within the first
    `limit` bytes of the new text (None: all of it), approval phrases in its
    first `APPROVAL_BYTES` (see `mailgate.parse.limits`).
    """
    found, _ = _scan_new_text(
        new_text, subject_after_tag, phrases, approvals=approvals, limit=limit
    )
    return tuple(_keep_one_of_each(found)[0])


def _scan_new_text(
    new_text: str,
    subject_after_tag: str,
    phrases: PhraseBook,
    *,
    approvals: bool,
    limit: int | None,
) -> tuple[list[Command | RejectedCandidate], tuple[RejectedCandidate, ...]]:
    """Candidates of the subject and the new text, and the approval phrases rejected.

    Each line is read once: whether the line above is a command (for a wrapped
    sentence) is remembered, not read again.
    """
    found: list[Command | RejectedCandidate | None] = []
    lines = whole_lines(new_text, limit).split("\n")
    prose = list(lines)  # the new text without quoted and command lines, for approvals
    if subject_after_tag.strip():
        found.append(read_line(subject_after_tag, following=lines, phrases=phrases))
    previous_read: bool | None = None  # the line above read as a command or look-alike?
    for index, line in enumerate(lines):
        read = previous_read
        previous_read = None
        if not line or line.isspace():
            previous_read = False  # nothing to read, and no wrapped sentence goes on here
            continue
        if _QUOTE_MARKS.match(line):
            prose[index] = ""
            quoted = read_line(_QUOTE_MARKS.sub("", line, count=1), phrases=phrases)
            if quoted is not None:
                found.append(_as_quoted(quoted, line.strip()))
            continue
        if index and _continues_sentence(lines[index - 1], line, phrases, read):
            continue
        command = _read_in_text(lines, index, phrases)
        previous_read = command is not None
        if isinstance(command, Command):
            prose[index] = ""
        found.append(command)
    rejected_approvals: tuple[RejectedCandidate, ...] = ()
    if approvals:
        # Blank lines keep the line count, so sentences stay substrings of the new text.
        approval = find_approval("\n".join(prose), phrases=phrases, limit=APPROVAL_BYTES)
        if approval.approval is not None:
            found.append(approval.approval)
        rejected_approvals = tuple(approval.rejected)
    return [item for item in found if item is not None], rejected_approvals


def _after(lines: list[str], index: int) -> Iterator[str]:
    """The lines below `lines[index]`, started in constant time (`islice` would step
    through every line above first)."""
    return (lines[later] for later in range(index + 1, len(lines)))


def read_line(
    line: str,
    *,
    following: Iterable[str] = (),
    phrases: PhraseBook = DEFAULT_PHRASES,
) -> Command | RejectedCandidate | None:
    """The command a single line holds, a rejected look-alike, or None.

    `following` are the lines below it, where a bare `Escalate` finds its reason.
    """
    stripped = line.strip()
    body = _without_trailing_markup(_LEADING_MARKUP.sub("", stripped)).strip()
    if not body:
        return None
    if body.startswith("#"):
        return _read_agent(body, stripped, phrases)
    return _read_client(body, stripped, following, phrases)


def status_from_words(words: str, *, phrases: PhraseBook = DEFAULT_PHRASES) -> Status | None:
    """`waiting_for_client`, `Waiting-for-client`, `waiting for the client`, `ожидает
    клиента` -> the status; None for words that name no status."""
    key = status_key(_without_trailing_markup(_LEADING_MARKUP.sub("", words.strip())))
    try:
        return Status(key.replace(" ", "_"))
    except ValueError:
        return phrases.commands.statuses.get(key)


def _read_agent(body: str, line: str, phrases: PhraseBook) -> Command | None:
    match = _AGENT_LINE.match(fold(body))
    if match is None:
        return None
    name = phrases.commands.agent_keywords.get(normalize(match.group(1)))
    if name is None:
        return None
    argument = body[match.start(2) :].strip()
    argument = _ARGUMENT_END.sub("", argument) if name is not CommandName.NOTE else argument
    if not argument:
        return Command(name=name, line=line)
    if name is CommandName.STATUS:
        status = status_from_words(argument, phrases=phrases)
        argument = status.value if status is not None else argument
    elif name is CommandName.ASSIGN:
        if normalize(argument) in phrases.commands.assign_me:
            argument = "me"
        else:
            _, address = email.utils.parseaddr(argument.removeprefix("mailto:"))
            if _ADDRESS.match(address):
                argument = address.lower()
    return Command(name=name, argument=argument, line=line)


def _read_client(
    body: str, line: str, following: Iterable[str], phrases: PhraseBook
) -> Command | RejectedCandidate | None:
    tables = phrases.commands
    words = _without_polite(normalize(body), phrases)
    asked = _asks(body)
    name = tables.lines.get(words)
    if name is not None:
        if asked:
            return RejectedCandidate(name=name, line=line, reason="question")
        return Command(name=name, line=line)
    escalation = _read_escalate(body, line, following, phrases)
    if escalation is not None:
        return escalation
    for negation in tables.negations if words.startswith(_joined(tables.negations, " ")) else ():
        if words.startswith(negation + " "):
            rest = _without_polite(words[len(negation) + 1 :], phrases)
            name = tables.lines.get(rest)
            if name is None and _starts_with_escalate(rest, phrases):
                name = CommandName.ESCALATE
            if name is not None:
                return RejectedCandidate(name=name, line=line, reason="negated")
    return None


def _read_escalate(
    body: str, line: str, following: Iterable[str], phrases: PhraseBook
) -> Command | RejectedCandidate | None:
    tables = phrases.commands
    folded = fold(body)  # same length as `body`, so offsets carry over
    polite = _phrase_regex(tables.polite_prefixes, r"\s*,?\s+").match(folded)
    start = polite.end() if polite is not None else 0
    keywords = (*tables.escalate_commands, *tables.escalate_labels)
    match = _phrase_regex(keywords, r"(?![\w'])").match(folded, start)
    if match is None:
        return None
    keyword = normalize(folded[start : match.end()])
    rest = body[match.end() :]
    separated = _SEPARATOR.match(rest)
    if separated is not None:
        reason = rest[separated.end() :].strip()
        reason = reason if _without_polite(normalize(reason), phrases) else ""
    elif not rest.strip() or not _without_polite(normalize(rest), phrases):
        reason = ""
    elif keyword in tables.escalate_commands and rest[:1].isspace():
        reason = rest.strip()
    else:
        return None  # "Escalation is not needed": a label needs ":" or a dash
    if not reason and _asks(body):
        return RejectedCandidate(name=CommandName.ESCALATE, line=line, reason="question")
    reason = reason or _reason_below(following, phrases)
    return Command(name=CommandName.ESCALATE, argument=reason or None, line=line)


@functools.cache
def _phrase_regex(phrases: tuple[str, ...], after: str) -> re.Pattern[str]:
    """One of `phrases` (longest first, any case, any run of spaces), then `after`."""
    ordered = sorted(phrases, key=len, reverse=True)
    alternatives = [r"\s+".join(re.escape(word) for word in p.split()) for p in ordered]
    return re.compile(rf"(?:{'|'.join(alternatives) or '(?!)'}){after}", re.IGNORECASE)


def _reason_below(following: Iterable[str], phrases: PhraseBook) -> str:
    """The paragraph below a bare `Escalate`: blank and greeting lines skipped."""
    greetings = phrases.commands.greetings
    reason: list[str] = []
    for line in following:
        stripped = line.strip()
        if _QUOTE_MARKS.match(line):
            break
        if not reason:
            words = phrases.tokenize(stripped)
            if len(greetings.covered(words)) == len(words):
                continue  # blank, or only "Hello team,"
        elif not stripped:
            break
        if read_line(stripped, phrases=phrases) is not None:
            break
        reason.append(stripped)
        if sum(len(part) for part in reason) > _MAX_REASON:
            break
    return "\n".join(reason)


def _continues_sentence(
    previous: str, line: str, phrases: PhraseBook, previous_read: bool | None = None
) -> bool:
    """Is `line` the wrapped rest of the sentence above ("there is no need to" /
    "cancel request.")? Yes when it starts in lower case and the line above is
    prose that stops without punctuation (not a greeting, not a command).

    `previous_read` is whether `read_line` found something on the line above,
    when the caller knows it already.
    """
    line = line.lstrip()
    if not line[:1].islower():
        return False
    previous = previous.strip()
    if not previous or not previous[-1:].isalnum():
        return False
    if phrases is DEFAULT_PHRASES:
        return not _is_greeting(previous) and not (
            _reads_something(previous) if previous_read is None else previous_read
        )
    words = phrases.tokenize(previous)
    if len(phrases.commands.greetings.covered(words)) == len(words):
        return False
    if previous_read is None:
        previous_read = read_line(previous, phrases=phrases) is not None
    return not previous_read


@by_line
def _is_greeting(line: str) -> bool:
    """Only greeting words ("Hello team,"), with the default tables."""
    words = DEFAULT_PHRASES.tokenize(line)
    return len(DEFAULT_PHRASES.commands.greetings.covered(words)) == len(words)


def _reads_something(line: str) -> bool:
    """Does `read_line` find a command or a look-alike on this line (default tables)?
    The lines below never change that: they only give a bare Escalate its reason."""
    return _read_alone(line) is not None


def _read_in_text(
    lines: list[str], index: int, phrases: PhraseBook
) -> Command | RejectedCandidate | None:
    """`read_line` of `lines[index]` with the lines below it; a line read before (the
    default tables) is not read again unless it is a bare Escalate, whose reason is below."""
    if phrases is not DEFAULT_PHRASES:
        return read_line(lines[index], following=_after(lines, index), phrases=phrases)
    alone = _read_alone(lines[index])
    if isinstance(alone, Command) and alone.name is CommandName.ESCALATE and not alone.argument:
        return read_line(lines[index], following=_after(lines, index))
    return alone


@by_line
def _read_alone(line: str) -> Command | RejectedCandidate | None:
    return read_line(line)


def _starts_with_escalate(words: str, phrases: PhraseBook) -> bool:
    keywords = (*phrases.commands.escalate_commands, *phrases.commands.escalate_labels)
    return any(words == k or words.startswith(k + " ") for k in keywords)


def _without_polite(words: str, phrases: PhraseBook) -> str:
    """`please, cancel request, thanks` -> `cancel request`.

    `words` is `normalize`d, and so is what is left once a polite prefix is
    taken off its start; a suffix taken off its end may leave punctuation,
    which goes too, as `normalize` would drop it. The words are cut by moving
    two offsets, not by copying: a line of a thousand "please" costs a
    thousand steps, not a thousand copies of the line.
    """
    tables = phrases.commands
    prefixes = _joined(tables.polite_prefixes, " ", ", ")
    suffixes = _joined(tables.polite_suffixes, " ", ", ", after=False)
    start, end = 0, len(words)
    changed = True
    while changed:
        changed = False
        if words.startswith(prefixes, start, end):
            for prefix in tables.polite_prefixes:
                for joint in (" ", ", "):
                    if words.startswith(prefix + joint, start, end):
                        start += len(prefix) + len(joint)
                        changed = True
        if words.endswith(suffixes, start, end):
            for suffix in tables.polite_suffixes:
                for joint in (" ", ", "):
                    if words.endswith(joint + suffix, start, end):
                        end = _end_without_punctuation(words, start, end - len(joint + suffix))
                        changed = True
    words = words[start:end]
    if words in tables.polite_prefixes or words in tables.polite_suffixes:
        return ""
    return words


@functools.cache
def _joined(words: tuple[str, ...], *joints: str, after: bool = True) -> tuple[str, ...]:
    """Every word with each joint after it (or before it), for one `str.startswith`."""
    return tuple(word + joint if after else joint + word for word in words for joint in joints)


_TRAILING_PUNCTUATION = frozenset(".!?,;:…")


def _end_without_punctuation(words: str, start: int, end: int) -> int:
    """Where `words[start:end]` ends once trailing spaces and punctuation are dropped."""
    while end > start and (words[end - 1].isspace() or words[end - 1] in _TRAILING_PUNCTUATION):
        end -= 1
    return end


def _without_trailing_markup(text: str) -> str:
    """`text` less the markup closing it ("**", "__", quotes), as
    `re.sub(r"(?:\\*\\*|__|[\"'»”]+)+$", "", text)` did; read from the end, so a
    long run of stars costs its length, not its square."""
    end = len(text)
    while end:
        if text[end - 1] in _TRAILING_QUOTES:
            end -= 1
        elif end >= 2 and text[end - 2 : end] in ("**", "__"):
            end -= 2
        else:
            break
    return text[:end]


def _asks(text: str) -> bool:
    """Does `text` end with a "?", maybe followed by spaces and .!?… (as
    `re.search(r"\\?[\\s.!?…]*$", text)`)? Read from the end: only that tail is looked at."""
    for char in reversed(text):
        if char == "?":
            return True
        if not (char.isspace() or char in _ASKED_TAIL):
            return False
    return False


def _keep_one_of_each(
    items: Sequence[Command | RejectedCandidate],
) -> tuple[list[Command], list[RejectedCandidate]]:
    rejected = [item for item in items if isinstance(item, RejectedCandidate)]
    candidates = [item for item in items if isinstance(item, Command)]
    # By position, not identity: a line read twice may give the very same (remembered)
    # Command object, and both would be kept.
    kept: dict[CommandName, int] = {}
    for position, command in enumerate(candidates):
        if command.name is CommandName.ESCALATE and command.argument:
            previous = kept.get(command.name)
            if previous is not None and not candidates[previous].argument:
                kept[command.name] = position
                continue
        kept.setdefault(command.name, position)
    if CommandName.RESOLVE in kept:
        kept.pop(CommandName.APPROVAL, None)
    order: list[Command] = []
    for position, command in enumerate(candidates):
        if kept.get(command.name) == position or command.name in _REPEATABLE:
            order.append(command)
        else:
            rejected.append(
                RejectedCandidate(name=command.name, line=command.line, reason="duplicate")
            )
    return order, rejected


def _as_quoted(found: Command | RejectedCandidate, line: str) -> RejectedCandidate:
    return RejectedCandidate(name=found.name, line=line, reason="quoted")
