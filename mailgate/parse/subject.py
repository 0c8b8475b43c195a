"""The request tag in a subject line, behind any reply or forward prefixes."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from mailgate.tags import tag_pattern

# Reply and forward prefixes of common clients in many languages, each possibly
# followed by a counter ("Re[2]:", "RE(3):") and repeated ("Re: Fwd: Re:").
_PREFIX_WORDS = (
    "re|fw|fwd|aw|wg|sv|vs|antw|rif|r|tr|enc|res|odp|vl|ynt|ref"
    "|ответ|отв|ответить|пересл|переслать|fwd?"
)
_PREFIXES = re.compile(rf"^(?:\s*(?:{_PREFIX_WORDS})\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*)+", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubjectTag:
    number: int | None  # the request number, or None when no tag is present
    after_tag: str  # the text after the tag, where a subject command may stand
    prefix: str | None = None  # whose tag it is, as configured (several mailboxes: SPEC §12)


def strip_reply_prefixes(subject: str) -> str:
    """`Re: Fwd: AW: Hello` -> `Hello`."""
    return _PREFIXES.sub("", subject).strip()


def find_tag(subject: str, prefix: str | Sequence[str]) -> SubjectTag:
    """The first tag in the subject, of this prefix or any of these, and the text after it."""
    prefixes = (prefix,) if isinstance(prefix, str) else tuple(prefix)
    match = tag_pattern(*prefixes).search(subject)
    if match is None:
        return SubjectTag(number=None, after_tag="")
    after = strip_reply_prefixes(subject[match.end() :].strip())
    found = next(p for p in prefixes if p.lower() == match.group(1).lower())
    return SubjectTag(number=int(match.group(2)), after_tag=after, prefix=found)
