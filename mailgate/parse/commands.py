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

A message yields at most one command of each kind: the first one, except that
an escalation with a reason wins over one without. An approval phrase is
dropped when the message also says "Resolve this issue". Dropped repeats are
reported as rejected ("duplicate").
"""

from __future__ import annotations

import email.utils
import functools
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from mailgate.domain import Command, CommandName, RejectedCandidate, Status
from mailgate.parse.approval import find_approval, find_quoted_approvals
from mailgate.parse.phrases import DEFAULT_PHRASES, PhraseBook, fold, status_key
from mailgate.parse.phrases import normalize as _normalize

_LEADING_MARKUP = re.compile(r"^(?:[*•·▪◦\-–—+]+\s+|\*\*|__|[\"'«“„]+)+")
_TRAILING_MARKUP = re.compile(r"(?:\*\*|__|[\"'»”]+)+$")
_QUESTION_END = re.compile(r"\?[\s.!?…]*$")
_AGENT_LINE = re.compile(r"^(#[^\W_]+)(?![\w-])[\s:]*(.*)$", re.S)
_SEPARATOR = re.compile(r"^\s*[:\-–—,.]\s*")
_ADDRESS = re.compile(r"^[^\s<>@]+@[^\s<>@]+$")
_QUOTE_MARKS = re.compile(r"^(?:\s*>)+\s?")
_MAX_REASON = 2000  # characters read below a bare `Escalate`


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
    found, rejected_approvals = _scan_new_text(new_text, subject_after_tag, phrases, approvals=True)
    commands, rejected = _keep_one_of_each(found)
    rejected.extend(rejected_approvals)
    for line in quoted_text.split("\n"):
        candidate = read_line(_QUOTE_MARKS.sub("", line, count=1), phrases=phrases)
        if candidate is not None:
            rejected.append(_as_quoted(candidate, line.strip()))
    dequoted = "\n".join(_QUOTE_MARKS.sub("", line, count=1) for line in quoted_text.split("\n"))
    rejected.extend(find_quoted_approvals(dequoted, phrases=phrases))
    return CommandScan(commands=tuple(commands), rejected=tuple(dict.fromkeys(rejected)))


def find_commands(
    *,
    new_text: str,
    subject_after_tag: str,
    approvals: bool = True,
    phrases: PhraseBook = DEFAULT_PHRASES,
) -> tuple[Command, ...]:
    """The commands `scan_commands` finds, without reading the quote for rejects.

    What deciding needs: it applies commands and never shows rejects. With
    `approvals=False` approval phrases are not looked for (a new request has
    nothing to approve; an agent's mail is read for `#` commands), which saves
    judging every sentence of the text.
    """
    found, _ = _scan_new_text(new_text, subject_after_tag, phrases, approvals=approvals)
    return tuple(_keep_one_of_each(found)[0])


def _scan_new_text(
    new_text: str, subject_after_tag: str, phrases: PhraseBook, *, approvals: bool
) -> tuple[list[Command | RejectedCandidate], tuple[RejectedCandidate, ...]]:
    """Candidates of the subject and the new text, and the approval phrases rejected."""
    found: list[Command | RejectedCandidate | None] = []
    lines = new_text.split("\n")
    prose = list(lines)  # the new text without quoted and command lines, for approvals
    if subject_after_tag.strip():
        found.append(read_line(subject_after_tag, following=lines, phrases=phrases))
    for index, line in enumerate(lines):
        if _QUOTE_MARKS.match(line):
            prose[index] = ""
            quoted = read_line(_QUOTE_MARKS.sub("", line, count=1), phrases=phrases)
            if quoted is not None:
                found.append(_as_quoted(quoted, line.strip()))
            continue
        if index and _continues_sentence(lines[index - 1], line, phrases):
            continue
        following = itertools.islice(lines, index + 1, None)
        command = read_line(line, following=following, phrases=phrases)
        if isinstance(command, Command):
            prose[index] = ""
        found.append(command)
    rejected_approvals: tuple[RejectedCandidate, ...] = ()
    if approvals:
        # Blank lines keep the line count, so sentences stay substrings of the new text.
        approval = find_approval("\n".join(prose), phrases=phrases)
        if approval.approval is not None:
            found.append(approval.approval)
        rejected_approvals = tuple(approval.rejected)
    return [item for item in found if item is not None], rejected_approvals


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
    body = _TRAILING_MARKUP.sub("", _LEADING_MARKUP.sub("", stripped)).strip()
    if not body:
        return None
    if body.startswith("#"):
        return _read_agent(body, stripped, phrases)
    return _read_client(body, stripped, following, phrases)


def status_from_words(words: str, *, phrases: PhraseBook = DEFAULT_PHRASES) -> Status | None:
    """`waiting_for_client`, `Waiting-for-client`, `waiting for the client`, `ожидает
    клиента` -> the status; None for words that name no status."""
    key = status_key(_TRAILING_MARKUP.sub("", _LEADING_MARKUP.sub("", words.strip())))
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
    argument = re.sub(r"[\s.!,;…]+$", "", argument) if name is not CommandName.NOTE else argument
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
    asked = _QUESTION_END.search(body) is not None
    name = tables.lines.get(words)
    if name is not None:
        if asked:
            return RejectedCandidate(name=name, line=line, reason="question")
        return Command(name=name, line=line)
    escalation = _read_escalate(body, line, following, phrases)
    if escalation is not None:
        return escalation
    for negation in tables.negations:
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
    if not reason and _QUESTION_END.search(body):
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


def _continues_sentence(previous: str, line: str, phrases: PhraseBook) -> bool:
    """Is `line` the wrapped rest of the sentence above ("there is no need to" /
    "cancel request.")? Yes when it starts in lower case and the line above is
    prose that stops without punctuation (not a greeting, not a command)."""
    previous, line = previous.strip(), line.strip()
    if not previous or not line[:1].islower() or not previous[-1:].isalnum():
        return False
    words = phrases.tokenize(previous)
    if len(phrases.commands.greetings.covered(words)) == len(words):
        return False
    return read_line(previous, phrases=phrases) is None


def _starts_with_escalate(words: str, phrases: PhraseBook) -> bool:
    keywords = (*phrases.commands.escalate_commands, *phrases.commands.escalate_labels)
    return any(words == k or words.startswith(k + " ") for k in keywords)


def _without_polite(words: str, phrases: PhraseBook) -> str:
    """`please, cancel request, thanks` -> `cancel request`."""
    tables = phrases.commands
    changed = True
    while changed:
        changed = False
        for prefix in tables.polite_prefixes:
            for joint in (" ", ", "):
                if words.startswith(prefix + joint):
                    words, changed = normalize(words[len(prefix) + len(joint) :]), True
        for suffix in tables.polite_suffixes:
            for joint in (" ", ", "):
                if words.endswith(joint + suffix):
                    words, changed = normalize(words[: -len(suffix) - len(joint)]), True
    if words in tables.polite_prefixes or words in tables.polite_suffixes:
        return ""
    return words


def _keep_one_of_each(
    items: Sequence[Command | RejectedCandidate],
) -> tuple[list[Command], list[RejectedCandidate]]:
    rejected = [item for item in items if isinstance(item, RejectedCandidate)]
    candidates = [item for item in items if isinstance(item, Command)]
    kept: dict[CommandName, Command] = {}
    for command in candidates:
        if command.name is CommandName.ESCALATE and command.argument:
            previous = kept.get(command.name)
            if previous is not None and not previous.argument:
                kept[command.name] = command
                continue
        kept.setdefault(command.name, command)
    if CommandName.RESOLVE in kept:
        kept.pop(CommandName.APPROVAL, None)
    order = [command for command in candidates if kept.get(command.name) is command]
    for command in candidates:
        if kept.get(command.name) is not command:
            rejected.append(
                RejectedCandidate(name=command.name, line=command.line, reason="duplicate")
            )
    return order, rejected


def _as_quoted(found: Command | RejectedCandidate, line: str) -> RejectedCandidate:
    return RejectedCandidate(name=found.name, line=line, reason="quoted")
