"""Approval phrases: a client's permission to close, written in prose (SPEC §2).

"Everything works, the request can be closed" closes a request for good, so
this module says yes only to a plain, unconditional permission and no to
anything doubtful. The rules, tried on each sentence of the new text:

1. The sentence is cut into clauses at , ; : ( ) and dashes, and at the
   `clause_breaks` words (but, so, and, но, поэтому, ...). A clause made only
   of polite words ("please", "пожалуйста") is joined to its neighbours, so
   "Закройте, пожалуйста, заявку" stays one clause.
2. A clause is a *candidate* when it has a `close` word and either a `things`
   word (request, ticket, заявка, ...) or nothing else but permission, filler,
   negation and deferral words ("можно закрывать", "you can close it").
3. A candidate *approves* when it has a `permission` (can, may, please, можно,
   прошу, ...) or is an imperative (`imperative` anywhere: закройте; or
   `imperative_at_start` opening the clause: "Close the ticket").
4. A candidate is rejected, in this order, as
   - "negated": the clause has a `negation` word (not, n't, no, не, нельзя);
   - "question": the sentence has "?", a `question_words` word (why, ли,
     почему) or opens with a `question_starts` word (can, could, is, ...);
   - "conditional": the sentence has a `conditional` word (if, when, maybe,
     если, когда, наверное) or the clause a `deferral` word (after, later,
     yet, после, завтра, будет);
   - "other_request": the clause speaks of another request (other, old, другую);
   - "contradicted": the message says something still does not work
     (`contradiction`: "still doesn't work", "не работает"), or another
     sentence of it is a negated or conditional candidate.
5. The first approving sentence is the approval; `Command.line` is that
   sentence as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailgate.domain import Command, CommandName, RejectedCandidate
from mailgate.parse.limits import utf8_head
from mailgate.parse.lines import by_line
from mailgate.parse.phrases import DEFAULT_PHRASES, Phrase, PhraseBook

# Where a sentence ends: terminal punctuation (with closing quotes or brackets)
# before a space, a blank line, or a line break before a capital, digit or bullet.
# Punctuation is tried only where its run starts: only the whole run can end a
# sentence, and trying from inside it too made a run of dots quadratic.
_SENTENCE_END = re.compile(
    r"(?<![.!?…])[.!?…]+[\"'»”)\]]*(?=\s|$)|\n[ \t\r]*\n\s*|\n(?=[ \t]*[A-ZА-ЯЁ0-9•*\-–—])"
)
_CLAUSE_PUNCT = re.compile(r"[,;:()\[\]—–]|\s-\s|\s-$|^-\s")

# Why an approval candidate does not count, strongest first.
QUESTION = "question"
NEGATED = "negated"
CONDITIONAL = "conditional"
OTHER_REQUEST = "other_request"
CONTRADICTED = "contradicted"
QUOTED = "quoted"


@dataclass(frozen=True, slots=True, kw_only=True)
class ApprovalScan:
    approval: Command | None  # the first approving sentence, or None
    rejected: tuple[RejectedCandidate, ...]  # candidates that do not count, and why


@dataclass(frozen=True, slots=True, kw_only=True)
class _Sentence:
    text: str  # as written, stripped
    verdict: str | None  # "approval", a rejection reason, or None: nothing about closing


def find_approval(
    text: str, *, phrases: PhraseBook = DEFAULT_PHRASES, limit: int | None = None
) -> ApprovalScan:
    """The approval phrase in `text` (a message's new text), and the rejected candidates.

    With `limit`, only the sentences that end within the first `limit` bytes
    of `text` are judged; a contradiction ("still doesn't work") counts
    wherever it stands. Linear in `text` either way.
    """
    sentences = [
        _Sentence(text=sentence, verdict=_judged(sentence, phrases))
        for sentence in _sentences_within(text, limit)
    ]
    contradicted = phrases.approval.contradiction.contains(phrases.tokenize(text)) or any(
        s.verdict in (NEGATED, CONDITIONAL) for s in sentences
    )
    approval: Command | None = None
    rejected: list[RejectedCandidate] = []
    for sentence in sentences:
        if sentence.verdict is None:
            continue
        if sentence.verdict == "approval" and contradicted:
            reason = CONTRADICTED
        elif sentence.verdict == "approval":
            if approval is None:
                approval = Command(name=CommandName.APPROVAL, line=sentence.text)
            continue
        else:
            reason = sentence.verdict
        rejected.append(
            RejectedCandidate(name=CommandName.APPROVAL, line=sentence.text, reason=reason)
        )
    return ApprovalScan(approval=approval, rejected=tuple(rejected))


def find_quoted_approvals(
    text: str, *, phrases: PhraseBook = DEFAULT_PHRASES, limit: int | None = None
) -> tuple[RejectedCandidate, ...]:
    """Sentences of quoted text that would approve if they were new: rejected as "quoted".

    With `limit`, those that end within its first `limit` bytes.
    """
    return tuple(
        RejectedCandidate(name=CommandName.APPROVAL, line=sentence, reason=QUOTED)
        for sentence in _sentences_within(text, limit)
        if _judged(sentence, phrases) == "approval"
    )


def is_approval(sentence: str, *, phrases: PhraseBook = DEFAULT_PHRASES) -> bool:
    """Does this one sentence, standing alone in a message, approve closing?"""
    return find_approval(sentence, phrases=phrases).approval is not None


def _judged(sentence: str, phrases: PhraseBook) -> str | None:
    """`judge_sentence`; with the default tables a short sentence is judged once per
    distinct text (a reply repeating one sentence a hundred thousand times)."""
    if phrases is DEFAULT_PHRASES:
        return _judged_by_default(sentence)
    return judge_sentence(sentence, phrases=phrases)


@by_line
def _judged_by_default(sentence: str) -> str | None:
    return judge_sentence(sentence)


def _sentences_within(text: str, limit: int | None) -> list[str]:
    """The sentences of `text`; with `limit`, those that end within its first `limit`
    bytes (the one the cut falls in may go on past it: it is not judged)."""
    if limit is None:
        return split_sentences(text)
    head = utf8_head(text, limit)
    sentences = split_sentences(head)
    if len(head) < len(text) and sentences:
        sentences.pop()
    return sentences


def split_sentences(text: str) -> list[str]:
    """Sentences as written (stripped), each a substring of `text`."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        if match.end() > start:
            sentences.append(text[start : match.end()].strip())
            start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


def judge_sentence(sentence: str, *, phrases: PhraseBook = DEFAULT_PHRASES) -> str | None:
    """ "approval", a rejection reason, or None when the sentence is not about closing.

    Judges the sentence alone; `find_approval` adds what the rest of the
    message says ("contradicted"). Linear in the sentence: what the sentence
    says as a whole (asked? conditional?) is worked out once, for all its clauses.
    """
    facts = _SentenceFacts(sentence, phrases)
    blocked: str | None = None
    approves = False
    for clause in _clauses(sentence, phrases):
        if not _is_candidate(clause, phrases):
            continue
        reason = _blocker(clause, facts, phrases)
        if reason is not None:
            blocked = blocked or reason
        elif _is_permitted(clause, phrases):
            approves = True
    if blocked is not None:
        return blocked
    return "approval" if approves else None


class _SentenceFacts:
    """What the whole sentence says, asked by each candidate clause: found at most once."""

    __slots__ = ("_conditional", "_phrases", "_question", "_sentence", "_words")

    def __init__(self, sentence: str, phrases: PhraseBook) -> None:
        self._sentence = sentence
        self._phrases = phrases
        self._words: Phrase | None = None
        self._question: bool | None = None
        self._conditional: bool | None = None

    @property
    def words(self) -> Phrase:
        if self._words is None:
            self._words = self._phrases.tokenize(self._sentence)
        return self._words

    @property
    def question(self) -> bool:
        """A "?", a `question_words` word, or a `question_starts` opening."""
        if self._question is None:
            tables = self._phrases.approval
            words = self.words
            self._question = (
                "?" in self._sentence
                or tables.question_words.contains(words)
                or (bool(words) and tables.question_starts.match_at(words, 0) is not None)
            )
        return self._question

    @property
    def conditional(self) -> bool:
        """A `conditional` word anywhere in the sentence."""
        if self._conditional is None:
            self._conditional = self._phrases.approval.conditional.contains(self.words)
        return self._conditional


def _clauses(sentence: str, phrases: PhraseBook) -> list[Phrase]:
    tables = phrases.approval
    chunks = [phrases.tokenize(part) for part in _CLAUSE_PUNCT.split(sentence)]
    chunks = [chunk for chunk in chunks if chunk]
    # Join parenthetical polite chunks ("закройте, пожалуйста, заявку"). Lists, extended
    # in place: "close, please, close, please, ..." must not copy a growing tuple.
    joined: list[list[str]] = []
    index = 0
    while index < len(chunks):
        chunk = chunks[index]
        polite = tables.permission.covered(chunk) | tables.filler.covered(chunk)
        is_polite = len(polite) == len(chunk) and not tables.close.contains(chunk)
        if is_polite and index + 1 < len(chunks):
            # "Закройте, пожалуйста, заявку": the verb before belongs with the words after.
            head = joined.pop() if joined and _ends_with_close(joined[-1], phrases) else []
            head.extend(chunk)
            head.extend(chunks[index + 1])
            joined.append(head)
            index += 2
            continue
        if is_polite and joined:
            joined[-1].extend(chunk)
        else:
            joined.append(list(chunk))
        index += 1
    clauses: list[Phrase] = []
    for words in joined:
        start = 0
        for begin, end in tables.clause_breaks.spans(words):
            clauses.append(tuple(words[start:begin]))
            start = end
        clauses.append(tuple(words[start:]))
    return [clause for clause in clauses if clause]


def _ends_with_close(chunk: Sequence[str], phrases: PhraseBook) -> bool:
    return phrases.approval.close.match_at(chunk, len(chunk) - 1) is not None


def _is_candidate(clause: Sequence[str], phrases: PhraseBook) -> bool:
    tables = phrases.approval
    closing = tables.close.covered(clause)
    if not closing:
        return False
    if tables.things.contains(clause):
        return True
    allowed = closing.union(
        tables.permission.covered(clause),
        tables.filler.covered(clause),
        tables.negation.covered(clause),
        tables.deferral.covered(clause),
        tables.conditional.covered(clause),
        tables.question_words.covered(clause),
    )
    return len(allowed) == len(clause)


def _is_permitted(clause: Sequence[str], phrases: PhraseBook) -> bool:
    tables = phrases.approval
    if tables.permission.contains(clause) or tables.imperative.contains(clause):
        return True
    start = 0
    while start < len(clause) and (phrase := tables.permission.match_at(clause, start)):
        start += len(phrase)
    return start < len(clause) and tables.imperative_at_start.match_at(clause, start) is not None


def _blocker(clause: Sequence[str], facts: _SentenceFacts, phrases: PhraseBook) -> str | None:
    tables = phrases.approval
    if tables.negation.contains(clause):
        return NEGATED
    if facts.question:
        return QUESTION
    if facts.conditional or tables.deferral.contains(clause):
        return CONDITIONAL
    if tables.other_request.contains(clause):
        return OTHER_REQUEST
    return None
