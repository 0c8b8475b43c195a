"""Is this a reason to escalate? (SPEC §2, "Escalation reasons").

Accepted: a concrete reason — no answer for a long time or an SLA breach,
dissatisfaction with progress, a problem that grew, another significant
circumstance. Refused: no reason, or one that only asks for priority or speed.

The rule, over the words of the reason (tables in `phrases/*.toml`):
1. No words at all -> refused, "no_reason".
2. A phrase of an accepted category (`[escalation.accept]`, tried in table
   order: sla, no_response, dissatisfied, problem_grew, other_significant)
   -> accepted, that category. "Urgent!!! No answer for a week" is accepted.
3. Otherwise drop the priority/speed words (`priority`) and the filler
   (`filler`: please, the, request, help, ...). At least `min_content_words`
   different words left (3 by default) -> accepted, "other_significant": the
   client described something, and an agent reads it.
4. Otherwise refused: "priority_only" when there was a priority/speed word,
   else "no_reason".

Both outcomes can be undone (an agent sets another status; the client writes
again with a reason), so unlike approval this leans towards accepting.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailgate.parse.limits import REASON_BYTES, utf8_head
from mailgate.parse.phrases import DEFAULT_PHRASES, PhraseBook

NO_REASON = "no_reason"
PRIORITY_ONLY = "priority_only"
OTHER_SIGNIFICANT = "other_significant"
REFUSED_CATEGORIES = frozenset({NO_REASON, PRIORITY_ONLY})


@dataclass(frozen=True, slots=True, kw_only=True)
class ReasonVerdict:
    """Whether an escalation reason counts.

    `category` is one of "no_reason", "priority_only" (refused) or an accepted
    category: "sla", "no_response", "dissatisfied", "problem_grew",
    "other_significant". `explanation` is the text for the client in the asked
    language (templates may phrase it themselves from `category`); `evidence`
    is what decided, for the request's history: the matched phrase, or the
    words that were left.
    """

    accepted: bool
    category: str
    explanation: str
    evidence: str = ""


def judge_escalation_reason(
    reason: str | None,
    *,
    phrases: PhraseBook = DEFAULT_PHRASES,
    language: str = "en",
    min_content_words: int = 3,
    limit: int | None = REASON_BYTES,
) -> ReasonVerdict:
    """Accept or refuse the reason given with an *Escalate* command.

    The reason is judged on its first `limit` bytes (None: all of it); the
    judging is linear in what it reads.
    """
    tables = phrases.escalation
    text = reason or ""
    words = phrases.tokenize(text if limit is None else utf8_head(text, limit))
    if not words:
        return _verdict(NO_REASON, "", phrases=phrases, language=language)
    for category, table in tables.categories:
        if (hit := table.find(words)) is not None:
            index, phrase = hit
            evidence = " ".join(words[index : index + len(phrase)])
            return _verdict(category, evidence, phrases=phrases, language=language)
    priority = tables.priority.covered(words)
    ignored = priority | tables.filler.covered(words)
    content = dict.fromkeys(
        word
        for index, word in enumerate(words)
        if index not in ignored and sum(ch.isalpha() for ch in word) >= 2
    )
    if len(content) >= min_content_words:
        return _verdict(OTHER_SIGNIFICANT, " ".join(content), phrases=phrases, language=language)
    evidence = " ".join(words[index] for index in sorted(priority))
    category = PRIORITY_ONLY if priority else NO_REASON
    return _verdict(category, evidence, phrases=phrases, language=language)


def explain(category: str, *, phrases: PhraseBook = DEFAULT_PHRASES, language: str = "en") -> str:
    """The client-facing text for a category, in `language` (else English, else "")."""
    texts = phrases.escalation.explanations
    for lang in (language, "en"):
        if category in texts.get(lang, {}):
            return texts[lang][category]
    return ""


def _verdict(category: str, evidence: str, *, phrases: PhraseBook, language: str) -> ReasonVerdict:
    return ReasonVerdict(
        accepted=category not in REFUSED_CATEGORIES,
        category=category,
        explanation=explain(category, phrases=phrases, language=language),
        evidence=evidence,
    )
