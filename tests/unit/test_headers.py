"""Header values: encoded-words, one-line values, addresses, message ids, file names."""

from __future__ import annotations

import time

import pytest

from mailgate.parse.headers import (
    MAX_ADDRESSES,
    decode_header_value,
    parse_addresses,
    parse_message_ids,
    safe_filename,
    single_line,
)


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("=?utf-8?b?0J/RgNC40LLQtdGC?= =?utf-8?q?_=D0=BC=D0=B8=D1=80?=", "Привет мир"),
        ("=?utf-8?b?0J/R?= =?utf-8?b?gNC40LLQtdGC?=", "Привет"),  # split character
        ("=?utf-8?B?0J/RgNC4?==?utf-8?B?0LLQtdGC?=", "Привет"),  # no space between
        ("Re: =?koi8-r?b?8NLP18XSy8E=?= now", "Re: Проверка now"),
        ("=?windows-1251?q?=CF=F0=E8=E2=E5=F2?=", "Привет"),
        ("=?UTF-8?Q?caf=C3=A9_ok?=", "café ok"),
        ("=?utf-8?q?Help=0D=0ABcc:_victim@evil.tld?=", "Help Bcc: victim@evil.tld"),
        ("=?utf-8?q?a=00b?=", "a b"),
        ("=?utf-8?b?!!!?= rest", "=?utf-8?b?!!!?= rest"),  # not base64: kept as written
        ("=?utf-8?q?never closed", "=?utf-8?q?never closed"),
        ("=?no-such-charset?q?abc?=", "abc"),
        ("=?utf-8?x?abc?=", "=?utf-8?x?abc?="),
        ("=?utf-8?b?0J/RgNC40LLQtdG?=", "Приве"),  # cut base64
        ("plain  text\twith\r\n folding", "plain text with folding"),
        ("", ""),
        (None, ""),
    ],
)
def test_decode_header_value(raw: str | None, decoded: str) -> None:
    assert decode_header_value(raw) == decoded


def test_single_line_removes_every_kind_of_line_break() -> None:
    assert single_line("a\r\nb\nc\rd\x00e\x85f\u2028g\u2029h\x1bi") == "a b c d e f g h i"


def test_a_huge_encoded_subject_decodes_fast() -> None:
    raw = " ".join(["=?utf-8?b?0J/RgNC40LLQtdGC?="] * 16000)
    started = time.process_time()
    assert decode_header_value(raw).startswith("ПриветПривет")
    assert time.process_time() - started < 1.0


# --- addresses and ids ------------------------------------------------------------------


def test_parse_addresses_decodes_names_after_splitting() -> None:
    found = parse_addresses(
        ['"=?utf-8?b?0JjQstCw0L0sINCf0LXRgtGA0L7Qsg==?=" <Ivan@Example.RU>, b@x.org']
    )
    assert [(a.address, a.name) for a in found] == [
        ("ivan@example.ru", "Иван, Петров"),
        ("b@x.org", ""),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "undisclosed-recipients:;",
        "no-at-sign",
        "<>",
        "a b@c d",
        "@example.org",
        "user@",
        "\x00\r\n",
    ],
)
def test_parse_addresses_drops_what_is_not_an_address(value: str) -> None:
    assert parse_addresses([value]) == ()


def test_parse_addresses_stops_at_its_limit() -> None:
    values = [
        ", ".join(f"u{i}@example.org" for i in range(j, j + 500)) for j in range(0, 3000, 500)
    ]
    assert len(parse_addresses(values)) <= MAX_ADDRESSES


@pytest.mark.parametrize(
    "piece", ["(", "a:", "@", "<", ">", '"', ",", "[", "a@", "\\(", "(:", "g:a@b;", "<@a,@b:x@y>"]
)
def test_parse_addresses_survives_floods(piece: str) -> None:
    """The standard parser recurses on nested comments and groups: defused first."""
    started = time.process_time()
    found = parse_addresses([piece * (64 * 1024 // len(piece))])
    assert time.process_time() - started < 1.0
    assert len(found) <= MAX_ADDRESSES


def test_parse_addresses_keeps_comment_names_and_groups() -> None:
    found = parse_addresses(["ivan@example.ru (Ivan (work) Petrov)", "Team: a@b.c, d@e.f;, g@h.i"])
    assert [(a.address, a.name) for a in found] == [
        ("ivan@example.ru", "Ivan work Petrov"),
        ("a@b.c", ""),
        ("d@e.f", ""),
        ("g@h.i", ""),
    ]


def test_parse_addresses_strips_header_injection() -> None:
    found = parse_addresses(
        ["Ivan\r\nBcc: x@evil.tld <ivan@example.ru>", "=?utf-8?q?A=0D=0AB?= <a@b.c>"]
    )
    assert found and all("\n" not in a.name and "\r" not in a.name for a in found)
    assert found[-1].name == "A B"


@pytest.mark.parametrize(
    ("value", "ids"),
    [
        ("<a@b> <c@d>", ("a@b", "c@d")),
        ("bare@example.org", ("bare@example.org",)),
        ("<<nested@x>>", ("nested@x",)),
        ("<has space@x> <ok@x>", ("ok@x",)),
        ("garbage", ()),
        ("", ()),
        (None, ()),
    ],
)
def test_parse_message_ids(value: str | None, ids: tuple[str, ...]) -> None:
    assert parse_message_ids(value) == ids


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\Windows\\evil.dll", "evil.dll"),
        ("invoice\u202efdp.exe", "invoice_fdp.exe"),
        ("a\x00b.txt", "a b.txt"),
        (".hidden", "hidden"),
        ("..", ""),
        ("=?utf-8?b?0L7RgtGH0ZHRgi5wZGY=?=", "отчёт.pdf"),
        ("x" * 400 + ".txt", "x" * 255),
    ],
)
def test_safe_filename(name: str, safe: str) -> None:
    assert safe_filename(name) == safe
