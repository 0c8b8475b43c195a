"""Does a client's reply only thank? (SPEC §15: "Thanks!" keeps `awaiting_confirmation`.)

Every helpdesk reopens a resolved ticket on a bare thank-you; reading it wrong
the other way would be worse: a problem report left waiting to close by
itself. So this reader says yes only when it knows every word of the reply:

1. there is a `[thanks] gratitude` phrase ("thanks", "спасибо", "благодарю");
2. there is no "?", no `[approval] negation` word ("not thankful", "no thanks,
   it's broken", "спасибо, но не работает") and no `[approval] contradiction`;
3. every other word is in `[thanks] words` (politeness, "will check",
   "посмотрю", greetings), besides a name after a greeting ("Hi Alice,") and a
   name alone on the last line ("Thanks!\\nOlga"): capitalised words of no
   table, `[thanks] problems` included ("Thanks!\\nBroken" is no name);
4. it is short (`MAX_WORDS`): a long reply says more than thanks.

"Thanks for nothing" fails rule 3, "Thanks, but it still fails" rules 2 and 3.
"""

from __future__ import annotations

import re

from mailgate.domain import InboundMessage
from mailgate.parse.phrases import DEFAULT_PHRASES, Phrase, PhraseBook

MAX_WORDS = 40
_MAX_NAME_WORDS = 3
_NAME = re.compile(r"[A-ZА-ЯЁ][a-zа-яё'’-]*\.?")  # "Olga", "O'Brien", "A."


def only_thanks(message: InboundMessage, *, text: str | None = None) -> bool:
    """Whether a message only thanks: its words (`is_thanks_only`; `text`: its new
    text without the command lines that were applied, "Don't notify me" say), and
    neither a file nor a forwarded message with them (a screenshot may show the problem)."""
    if message.attachments or message.forwarded is not None:
        return False
    return is_thanks_only(message.new_text if text is None else text)


def is_thanks_only(text: str, *, phrases: PhraseBook = DEFAULT_PHRASES) -> bool:
    """Whether `text` (a reply's new text) only thanks, acknowledges or promises to check."""
    if "?" in text or len(text) > MAX_WORDS * 20:
        return False
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    words: list[str] = []
    for number, line in enumerate(lines):
        if number == len(lines) - 1 and number > 0 and _is_name(line, phrases):
            continue  # "Thanks!\nOlga": the name under it
        words.extend(_without_greeted_name(line, phrases) if number == 0 else _words(line, phrases))
    if not words or len(words) > MAX_WORDS:
        return False
    thanks, approval = phrases.thanks, phrases.approval
    if not thanks.gratitude.contains(words):
        return False
    if approval.negation.contains(words) or approval.contradiction.contains(words):
        return False
    known = thanks.gratitude.covered(words) | thanks.words.covered(words)
    return len(known) == len(words)


def _words(line: str, phrases: PhraseBook) -> Phrase:
    return phrases.tokenize(line)


def _without_greeted_name(line: str, phrases: PhraseBook) -> Phrase:
    """The words of a first line, without the name a greeting addresses ("Hi Alice,",
    "Добрый день, Алиса!")."""
    words = phrases.tokenize(line)
    greeting = phrases.thanks.greetings.match_at(words, 0) if words else None
    if greeting is None:
        return words
    raw = [part.strip(",!.:;") for part in line.split()]
    raw = [part for part in raw if part]
    named = 0
    for part in raw[len(greeting) : len(greeting) + _MAX_NAME_WORDS]:
        if not _NAME.fullmatch(part) or _is_known(phrases.tokenize(part), phrases):
            break
        named += 1
    return (*greeting, *phrases.tokenize(" ".join(raw[len(greeting) + named :])))


def _is_name(line: str, phrases: PhraseBook) -> bool:
    """A last line of one or two capitalised words that are no words of the tables."""
    parts = line.strip(" ,.!").split()
    return 0 < len(parts) < _MAX_NAME_WORDS and all(
        _NAME.fullmatch(part) and not _is_known(phrases.tokenize(part), phrases)
        for part in parts
    )


def _is_known(words: Phrase, phrases: PhraseBook) -> bool:
    thanks, approval = phrases.thanks, phrases.approval
    tables = (thanks.gratitude, thanks.words, thanks.problems, approval.negation,
              approval.contradiction)  # fmt: skip
    return any(table.contains(words) for table in tables)
