"""The parser's shortcuts give what the plain form they replace gives (bench/parse_profile.py)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.parse import charsets, headers, mimetree, newtext, quote_markers
from mailgate.parse.mimetree import decode

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


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from("a é\t\n\r\x00\x85\xa0\u2028\u3000 z,"), max_size=30))
def test_single_line_shortcut_agrees_with_the_full_collapse(value: str) -> None:
    assert headers.single_line(value) == " ".join(headers._LINE_BREAKING.sub(" ", value).split())


@pytest.mark.parametrize(
    "values",
    [
        ["Client 1 <Client1@Corp.example>"],
        ["Support <support@example.org>", "a@b.example, (x) c@d.example"],
        ["=?utf-8?q?Ivan?= <ivan@example.org>"],
        ["x" * 3000 + " <long@example.org>"],  # too long to keep: read every time
    ],
)
def test_addresses_kept_from_an_earlier_read_are_what_a_fresh_read_gives(values) -> None:
    fresh = headers._parse_addresses(tuple(values))
    assert headers.parse_addresses(values) == fresh
    assert headers.parse_addresses(list(values)) == fresh  # the second time, from the cache
    assert headers.parse_addresses([]) == ()


def test_header_lookups_read_the_first_value_as_before() -> None:
    raw = (
        b"From: a@example.org\r\nX-A: 1\r\nx-a: 2\r\nSubject: =?utf-8?q?Hi?=\r\n"
        b"Content-Type: text/plain; report-type=x\r\n\r\nbody\r\n"
    )
    mail = decode(raw)
    for name in ("x-a", "X-A", "subject", "content-type", "missing"):
        assert mail.header(name) == headers.first_header(mail.headers, name)
    assert mail.header("subject") == "Hi"
    assert mail.message.get_all("x-a") == ["1", "2"]
    assert mail.message.get_param("report-type") == "x"
    assert mail.message is mail.message  # built once


@pytest.mark.parametrize(
    "content",
    [
        (("content-type", 'text/plain; charset="UTF-8"'), ("content-transfer-encoding", "8bit")),
        (("content-type", "multipart/mixed; boundary=b1"),),
        (("content-type", "application/pdf; name=a.pdf"), ("content-disposition", "inline")),
        (("content-type", "text/plain; charset*=utf-8''%E2%82%AC"),),
        (),
    ],
)
def test_content_fields_kept_from_an_earlier_part_are_what_a_fresh_read_gives(content) -> None:
    for default_type in ("text/plain", "message/rfc822"):
        fresh = mimetree._described(content, default_type)
        assert mimetree._described_cached(content, default_type) == fresh
        assert mimetree._described_cached(content, default_type) == fresh


@pytest.mark.parametrize(
    "label", ["utf-8", ' "UTF-8" ', "windows-1251", "x-unknown", "win-1251", "base64", "a" * 100]
)
def test_charset_labels_kept_from_an_earlier_part_name_what_a_fresh_look_up_names(label) -> None:
    fresh = charsets._look_up_codec(label)
    assert charsets._codec_for(label) == fresh
    assert charsets._codec_for(label) == fresh  # the second time, kept


@pytest.mark.parametrize("line", ["-----Original Message-----", "Original Message", "--", "~=~"])
def test_separator_dashes_are_counted_as_characters(line: str) -> None:
    assert newtext._dashes(line) == sum(1 for char in line if char in "-–—=_*~")
