"""Phrase tables as data: command lines, approval words, escalation-reason words.

Each language is one TOML file in this package (`en.toml`, `ru.toml`); a new
phrase or a new language is a change to data only. `load_phrase_book()` merges
the files into one `PhraseBook`, which the scanners take as a keyword argument
(`phrases=DEFAULT_PHRASES`), so tests and admins can pass other tables.

Two kinds of matching, both folding case, "ё" to "е" and typographic
apostrophes to "'":
- whole lines (`normalize`): commands, status words;
- word sequences (`PhraseSet`): an entry of several words matches those words
  in a row, and a word ending in "*" matches every word that starts with it.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from types import MappingProxyType
from typing import Any, TypeVar

from mailgate.domain import CommandName, Status

Phrase = tuple[str, ...]

# One character for one character, so that offsets in folded text are offsets
# in the original.
_FOLD = str.maketrans(
    {"ё": "е", "Ё": "Е", "’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'", "′": "'"}
)
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_DATA_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*\*?")
# Tried only where a run of these starts: from inside a long run of dots, every try
# ran to the run's end, which was quadratic.
_TRAILING = re.compile(r"(?<![\s.!?,;:…])[\s.!?,;:…]+$")


def fold(text: str) -> str:
    """`ё` -> `е` and typographic apostrophes -> `'`; the length never changes."""
    return text.translate(_FOLD)


def normalize(line: str) -> str:
    """Lower case, `ё` as `е`, straight apostrophes, single spaces, no trailing punctuation."""
    return _TRAILING.sub("", " ".join(fold(line).lower().split()))


def tokenize(text: str, contractions: Mapping[str, Phrase] = MappingProxyType({})) -> Phrase:
    """The words of `text`, folded and lower-cased, with contractions spelt out."""
    folded = fold(text).lower()
    raw = _WORD.findall(folded)
    if "'" not in folded and contractions.keys().isdisjoint(raw):
        return tuple(raw)  # nothing to spell out: most text, without a loop per word
    return _expand(raw, contractions)


def _expand(raw: Iterable[str], contractions: Mapping[str, Phrase]) -> Phrase:
    words: list[str] = []
    for word in raw:
        if word in contractions:
            words.extend(contractions[word])
        elif word.endswith("n't") and len(word) > 3:
            words.extend((word[:-3], "not"))
        elif "'" in word:
            words.append(word.split("'", 1)[0])
        else:
            words.append(word)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class PhraseSet:
    """Word sequences to look for in tokenized text; see the module docstring.

    Every method costs time linear in the words it is given (times the few
    phrases that can start at one word): a word that starts no phrase is
    passed over with one set lookup and one `str.startswith`.
    """

    phrases: tuple[Phrase, ...] = ()
    _by_first: Mapping[str, tuple[Phrase, ...]] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )
    _starred: tuple[Phrase, ...] = field(default=(), repr=False, compare=False)
    # What a starred first word must start with, all at once for `str.startswith`.
    _star_prefixes: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def of(cls, phrases: Iterable[Phrase]) -> PhraseSet:
        unique = tuple(dict.fromkeys(p for p in phrases if p))
        by_first: dict[str, list[Phrase]] = {}
        starred: list[Phrase] = []
        for phrase in unique:
            if phrase[0].endswith("*"):
                starred.append(phrase)
            else:
                by_first.setdefault(phrase[0], []).append(phrase)
        return cls(
            unique,
            MappingProxyType({k: tuple(v) for k, v in by_first.items()}),
            tuple(starred),
            tuple(dict.fromkeys(phrase[0][:-1] for phrase in starred)),
        )

    def __or__(self, other: PhraseSet) -> PhraseSet:
        return PhraseSet.of((*self.phrases, *other.phrases))

    def match_at(self, words: Sequence[str], index: int) -> Phrase | None:
        """The longest phrase that starts at `words[index]`, or None."""
        word = words[index]
        exact = self._by_first.get(word)
        starred = self._starred if self._may_start_starred(word) else ()
        if exact is None and not starred:
            return None
        best: Phrase | None = None
        for group in (exact or (), starred):
            for phrase in group:
                if len(phrase) > len(best or ()) and _matches(phrase, words, index):
                    best = phrase
        return best

    def _may_start_starred(self, word: str) -> bool:
        return bool(self._star_prefixes) and word.startswith(self._star_prefixes)

    def _absent_from(self, words: Sequence[str]) -> bool:
        """True when no phrase can start at any of `words`: told at C speed from the
        distinct words of a long sequence (hostile text repeats few words a lot)."""
        if len(words) < _DISTINCT_FROM:
            return False
        distinct = set(words)
        if not self._by_first.keys().isdisjoint(distinct):
            return False
        stars = self._star_prefixes
        return not (stars and any(word.startswith(stars) for word in distinct))

    def find(self, words: Sequence[str]) -> tuple[int, Phrase] | None:
        """The leftmost occurrence of any phrase: (index, phrase), or None."""
        if self._absent_from(words):
            return None
        by_first, stars = self._by_first, self._star_prefixes
        for index, word in enumerate(words):
            if (word in by_first or (stars and word.startswith(stars))) and (
                phrase := self.match_at(words, index)
            ) is not None:
                return index, phrase
        return None

    def contains(self, words: Sequence[str]) -> bool:
        return self.find(words) is not None

    def spans(self, words: Sequence[str]) -> list[tuple[int, int]]:
        """Every occurrence as (start, end), leftmost-longest, not overlapping."""
        found: list[tuple[int, int]] = []
        if self._absent_from(words):
            return found
        by_first, stars = self._by_first, self._star_prefixes
        index = 0
        count = len(words)
        while index < count:
            word = words[index]
            if word in by_first or (stars and word.startswith(stars)):
                phrase = self.match_at(words, index)
                if phrase is not None:
                    found.append((index, index + len(phrase)))
                    index += len(phrase)
                    continue
            index += 1
        return found

    def covered(self, words: Sequence[str]) -> set[int]:
        """The indexes of words that belong to some occurrence."""
        return {i for start, end in self.spans(words) for i in range(start, end)}


_DISTINCT_FROM = 64  # words: from this many on, `PhraseSet` first asks the distinct ones


def _matches(phrase: Phrase, words: Sequence[str], index: int) -> bool:
    if index + len(phrase) > len(words):
        return False
    for offset, pattern in enumerate(phrase):
        word = words[index + offset]
        if pattern.endswith("*"):
            if not word.startswith(pattern[:-1]):
                return False
        elif word != pattern:
            return False
    return True


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandTables:
    """Whole-line tables; every key is already `normalize`d."""

    lines: Mapping[str, CommandName]  # a client command line -> its command
    polite_prefixes: tuple[str, ...]  # longest first
    polite_suffixes: tuple[str, ...]
    negations: tuple[str, ...]
    escalate_commands: tuple[str, ...]  # reason after ":", a dash or a space
    escalate_labels: tuple[str, ...]  # reason after ":" or a dash only
    greetings: PhraseSet
    agent_keywords: Mapping[str, CommandName]  # "#status" -> STATUS
    assign_me: frozenset[str]
    statuses: Mapping[str, Status]  # status words, spaces for "_" and "-"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalTables:
    close: PhraseSet
    things: PhraseSet
    permission: PhraseSet
    imperative_at_start: PhraseSet
    imperative: PhraseSet
    filler: PhraseSet
    negation: PhraseSet
    question_words: PhraseSet
    question_starts: PhraseSet
    conditional: PhraseSet
    deferral: PhraseSet
    other_request: PhraseSet
    contradiction: PhraseSet
    clause_breaks: PhraseSet


@dataclass(frozen=True, slots=True, kw_only=True)
class ThanksTables:
    """A reply that only thanks (parse/thanks.py): a `gratitude` phrase, and every
    other word in `words` (politeness, "will check", greetings)."""

    gratitude: PhraseSet
    words: PhraseSet
    greetings: PhraseSet  # a greeting line may name its addressee ("Hi Alice,")
    problems: PhraseSet  # words that are never taken for a name


@dataclass(frozen=True, slots=True, kw_only=True)
class EscalationTables:
    priority: PhraseSet
    filler: PhraseSet
    categories: tuple[tuple[str, PhraseSet], ...]  # accepted categories, in the order tried
    explanations: Mapping[str, Mapping[str, str]]  # language -> category -> text


@dataclass(frozen=True, slots=True, kw_only=True)
class PhraseBook:
    """Every language's tables merged: all languages are understood at once."""

    languages: tuple[str, ...]
    contractions: Mapping[str, Phrase]
    commands: CommandTables
    approval: ApprovalTables
    escalation: EscalationTables
    thanks: ThanksTables

    def tokenize(self, text: str) -> Phrase:
        return tokenize(text, self.contractions)


_AGENT_COMMANDS = (  # the keys of [agent] with keywords
    "status", "note", "assign", "priority", "label", "forward", "cc", "merge",
)  # fmt: skip
_APPROVAL_KEYS = tuple(ApprovalTables.__dataclass_fields__)
_THANKS_KEYS = tuple(ThanksTables.__dataclass_fields__)
_TOP_KEYS = (
    "language",
    "contractions",
    "commands",
    "escalate",
    "agent",
    "statuses",
    "approval",
    "escalation",
    "thanks",
)
_COMMAND_KEYS = (
    "resolve",
    "cancel",
    "dont_notify",
    "notify",
    "polite_prefixes",
    "polite_suffixes",
    "negations",
)


class PhraseTableError(ValueError):
    """A phrase file is malformed; the message names the file and the key."""


def load_phrase_book(*sources: Path | Traversable) -> PhraseBook:
    """Merge phrase files; by default every `*.toml` in this package, by name.

    Lists are concatenated in file order. The first file's escalation
    categories come first; a later file can add categories after them.
    """
    if not sources:
        package = resources.files(__name__)
        sources = tuple(
            sorted(
                (p for p in package.iterdir() if p.name.endswith(".toml")),
                key=lambda p: p.name,
            )
        )
        if not sources:
            raise PhraseTableError(f"no *.toml phrase files in {package}: check package-data")
    merged = _Merged()
    for source in sources:
        with source.open("rb") as handle:
            data = tomllib.load(handle)
        merged.add(data, source=source.name)
    return merged.build()


_V = TypeVar("_V")


class _Merged:
    def __init__(self) -> None:
        self.languages: list[str] = []
        self.contractions: dict[str, Phrase] = {}
        self.lists: dict[str, list[str]] = {}
        self.lines: dict[str, CommandName] = {}
        self.agent: dict[str, CommandName] = {}
        self.statuses: dict[str, Status] = {}
        self.categories: dict[str, list[str]] = {}
        self.explanations: dict[str, dict[str, str]] = {}

    def add(self, data: dict[str, Any], *, source: str) -> None:
        _only(data, _TOP_KEYS, where=source)
        language = data.get("language")
        if not isinstance(language, str) or not language:
            raise PhraseTableError(f"{source}: `language` must name the language, e.g. 'en'")
        self.languages.append(language)
        for word, spelt in _table(data, "contractions", source).items():
            if not isinstance(spelt, str):
                raise PhraseTableError(f"{source}: contractions.{word} must be a string")
            self.contractions[fold(word).lower()] = tuple(_WORD.findall(fold(spelt).lower()))
        commands = _table(data, "commands", source)
        _only(commands, _COMMAND_KEYS, where=f"{source}: [commands]")
        for name in ("resolve", "cancel", "dont_notify", "notify"):
            for line in _strings(commands, name, f"{source}: commands"):
                self._add_line(self.lines, normalize(line), CommandName(name), source)
        for key in ("polite_prefixes", "polite_suffixes", "negations"):
            self._extend(key, _strings(commands, key, f"{source}: commands"))
        escalate = _table(data, "escalate", source)
        _only(escalate, ("commands", "labels", "greetings"), where=f"{source}: [escalate]")
        for key in ("commands", "labels", "greetings"):
            self._extend(f"escalate_{key}", _strings(escalate, key, f"{source}: escalate"))
        agent = _table(data, "agent", source)
        _only(agent, (*_AGENT_COMMANDS, "assign_me"), where=f"{source}: [agent]")
        for name in _AGENT_COMMANDS:
            for keyword in _strings(agent, name, f"{source}: agent"):
                if not keyword.startswith("#") or len(keyword.split()) != 1:
                    raise PhraseTableError(
                        f"{source}: agent.{name}: {keyword!r} must be one word starting with #"
                    )
                self._add_line(self.agent, normalize(keyword), CommandName(name), source)
        self._extend("assign_me", _strings(agent, "assign_me", f"{source}: agent"))
        statuses = _table(data, "statuses", source)
        for name in statuses:
            try:
                status = Status(name)
            except ValueError:
                raise PhraseTableError(f"{source}: [statuses] has no status {name!r}") from None
            for words in _strings(statuses, name, f"{source}: statuses"):
                self._add_line(self.statuses, status_key(words), status, source)
        approval = _table(data, "approval", source)
        _only(approval, _APPROVAL_KEYS, where=f"{source}: [approval]")
        for key in _APPROVAL_KEYS:
            self._extend(f"approval_{key}", _strings(approval, key, f"{source}: approval"))
        thanks = _table(data, "thanks", source)
        _only(thanks, _THANKS_KEYS, where=f"{source}: [thanks]")
        for key in _THANKS_KEYS:
            self._extend(f"thanks_{key}", _strings(thanks, key, f"{source}: thanks"))
        escalation = _table(data, "escalation", source)
        _only(
            escalation,
            ("priority", "filler", "accept", "explanations"),
            where=f"{source}: [escalation]",
        )
        for key in ("priority", "filler"):
            self._extend(f"escalation_{key}", _strings(escalation, key, f"{source}: escalation"))
        accept = _table(escalation, "accept", f"{source}: escalation")
        for category in accept:
            accepted = _strings(accept, category, f"{source}: escalation.accept")
            self.categories.setdefault(category, []).extend(accepted)
        explanations = _table(escalation, "explanations", f"{source}: escalation")
        texts = self.explanations.setdefault(language, {})
        for category, text in explanations.items():
            if not isinstance(text, str):
                raise PhraseTableError(f"{source}: escalation.explanations.{category}: a string")
            texts[category] = text

    def _extend(self, key: str, values: list[str]) -> None:
        self.lists.setdefault(key, []).extend(values)

    @staticmethod
    def _add_line(table: dict[str, _V], key: str, value: _V, source: str) -> None:
        if table.get(key, value) != value:
            raise PhraseTableError(f"{source}: {key!r} means both {table[key]} and {value}")
        table[key] = value

    def build(self) -> PhraseBook:
        def phrases(key: str) -> PhraseSet:
            return PhraseSet.of(self._phrase(text) for text in self.lists.get(key, ()))

        def lines(key: str) -> tuple[str, ...]:
            unique = dict.fromkeys(normalize(text) for text in self.lists.get(key, ()))
            return tuple(sorted(unique, key=len, reverse=True))

        commands = CommandTables(
            lines=MappingProxyType(dict(self.lines)),
            polite_prefixes=lines("polite_prefixes"),
            polite_suffixes=lines("polite_suffixes"),
            negations=lines("negations"),
            escalate_commands=lines("escalate_commands"),
            escalate_labels=lines("escalate_labels"),
            greetings=phrases("escalate_greetings"),
            agent_keywords=MappingProxyType(dict(self.agent)),
            assign_me=frozenset(lines("assign_me")),
            statuses=MappingProxyType(dict(self.statuses)),
        )
        approval = ApprovalTables(**{key: phrases(f"approval_{key}") for key in _APPROVAL_KEYS})
        escalation = EscalationTables(
            priority=phrases("escalation_priority"),
            filler=phrases("escalation_filler"),
            categories=tuple(
                (category, PhraseSet.of(self._phrase(text) for text in words))
                for category, words in self.categories.items()
            ),
            explanations=MappingProxyType(
                {lang: MappingProxyType(dict(texts)) for lang, texts in self.explanations.items()}
            ),
        )
        return PhraseBook(
            languages=tuple(self.languages),
            contractions=MappingProxyType(dict(self.contractions)),
            commands=commands,
            approval=approval,
            escalation=escalation,
            thanks=ThanksTables(**{key: phrases(f"thanks_{key}") for key in _THANKS_KEYS}),
        )

    def _phrase(self, text: str) -> Phrase:
        return _expand(_DATA_WORD.findall(fold(text).lower()), self.contractions)


def status_key(words: str) -> str:
    """How status words are compared: normalized, with `_` and `-` read as spaces."""
    return " ".join(re.sub(r"[_\-‐–]+", " ", normalize(words)).split())


def _table(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise PhraseTableError(f"{where}: [{key}] must be a table")
    return value


def _strings(data: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise PhraseTableError(f"{where}.{key} must be a list of strings")
    return value


def _only(data: Mapping[str, Any], allowed: Sequence[str], *, where: str) -> None:
    for key in data:
        if key not in allowed:
            raise PhraseTableError(f"{where}: unknown key {key!r} (known: {', '.join(allowed)})")


DEFAULT_PHRASES: PhraseBook = load_phrase_book()
