"""The parser's shortcuts give what the plain form they replace gives (bench/parse_profile.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.parse import newtext, quote_markers

VERB_AT_END = re.compile(rf"(?:{newtext._VERBS})$", re.I)
VERBS = quote_markers.ATTRIBUTION_VERBS

# Letters whose case rules are odd (dotless i, long s, Kelvin sign), and word edges.
_AROUND = st.text(alphabet="aZé_1 :.-\n\tıIİiſsSKkнЖ写()", max_size=4)


def _cased(verb: str, flips: list[bool]) -> str:
    flips = (flips + [False] * len(verb))[: len(verb)]
    return "".join(char.upper() if flip else char for char, flip in zip(verb, flips, strict=True))


@pytest.mark.parametrize("verb", VERBS)
def test_every_verb_ends_a_line_as_the_search_finds(verb: str) -> None:
    for line in (verb, f"On Wed Support {verb}", f"Support{verb}", f"{verb}x", f"{verb}\n"):
        assert newtext._verb_at_end(line) is (VERB_AT_END.search(line) is not None)
    assert newtext._verb_at_end(f"On Wed Support {verb.upper()}")


@settings(max_examples=400, deadline=None)
@given(
    before=_AROUND,
    verb=st.sampled_from(VERBS),
    flips=st.lists(st.booleans(), max_size=25),
    cut_start=st.booleans(),
    cut_end=st.booleans(),
    after=_AROUND,
)
def test_verb_at_end_agrees_with_the_search(
    before: str, verb: str, flips: list[bool], cut_start: bool, cut_end: bool, after: str
) -> None:
    word = _cased(verb, flips)[int(cut_start) : len(verb) - int(cut_end)]
    for line in (before + word + after, before + word):
        assert newtext._verb_at_end(line) is (VERB_AT_END.search(line) is not None)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_verb_at_end_agrees_on_any_text(text: str) -> None:
    assert newtext._verb_at_end(text) is (VERB_AT_END.search(text) is not None)
