"""The MIME reader: header values, charsets, structure, limits."""

from __future__ import annotations

import base64
import time

import pytest

from mailgate.parse.errors import MalformedMessage
from mailgate.parse.mime import (
    MAX_ADDRESSES,
    MAX_DEPTH,
    decode,
    decode_bytes,
    decode_header_value,
    parse_addresses,
    parse_message_ids,
    safe_filename,
    single_line,
)

# --- charsets -----------------------------------------------------------------------------

RUSSIAN = [
    "Здравствуйте! У нас не работает телефония с утра, все номера недоступны.",
    "Добрый день. Прошу закрыть заявку, вопрос решён.",
    "Не могу войти в личный кабинет, пишет ошибку авторизации.",
    "Вопрос исчерпан, заявку можно закрыть.",
    "Эскалировать: нет ответа уже три дня",
    "ВСЁ НЕ РАБОТАЕТ, ПОМОГИТЕ",
    "Фёдор Шишкин, ООО «Ромашка»: счёт не пришёл",
]
WESTERN = [
    "Grüße aus München, die Straße ist gesperrt.",
    "Voilà, ça marche très bien, merci beaucoup!",
    "Señor, ¿dónde está la estación?",
    "naïve résumé of the café",
]
# Labels as they come: none, right, wrong, or naming nothing.
LABELS = [None, "utf-8", "iso-8859-1", "us-ascii", "unknown-8bit", "x-user-defined", "bogus"]


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("charset", ["utf-8", "windows-1251", "koi8-r"])
@pytest.mark.parametrize("text", RUSSIAN)
def test_russian_sentences_decode_whatever_the_label(text: str, charset: str, label: str) -> None:
    encoded = text.replace("«", '"').replace("»", '"') if charset == "koi8-r" else text
    assert decode_bytes(encoded.encode(charset), label) == encoded


@pytest.mark.parametrize("label", LABELS)
@pytest.mark.parametrize("charset", ["utf-8", "windows-1252"])
@pytest.mark.parametrize("text", WESTERN)
def test_western_sentences_decode_whatever_the_label(text: str, charset: str, label: str) -> None:
    assert decode_bytes(text.encode(charset), label) == text


@pytest.mark.parametrize(
    ("text", "charset"),
    [("СРОЧНО", "windows-1251"), ("СРОЧНО", "koi8-r"), ("да", "koi8-r"), ("Ü", "iso-8859-1")],
)
def test_a_right_label_wins_on_short_ambiguous_text(text: str, charset: str) -> None:
    assert decode_bytes(text.encode(charset), charset) == text


@pytest.mark.parametrize(
    ("text", "charset", "label"),
    [
        ("работает телефон но медленно", "windows-1251", "koi8-r"),
        ("не работает ничего уже второй день подряд", "koi8-r", "windows-1251"),
        ("Добрый день, линия молчит", "windows-1251", "iso-8859-1"),
    ],
)
def test_a_wrong_label_loses_on_a_sentence(text: str, charset: str, label: str) -> None:
    assert decode_bytes(text.encode(charset), label) == text


def test_utf8_with_a_stray_byte_stays_utf8() -> None:
    data = "Всё работает, спасибо большое за помощь!".encode() + b"\xff" + " Иван".encode()
    assert decode_bytes(data, "utf-8") == "Всё работает, спасибо большое за помощь!\ufffd Иван"


def test_utf8_cut_in_mid_character_keeps_the_rest() -> None:
    data = "Привет, мир".encode()[:-1]
    assert decode_bytes(data, "utf-8") == "Привет, ми"


def test_a_lone_high_byte_in_ascii_text_is_not_taken_for_a_cut_character() -> None:
    assert decode_bytes(b"Caf\xe9", None) == "Café"


@pytest.mark.parametrize(
    "label", ["unicode_escape", "raw-unicode-escape", "rot13", "base64", "hex", "idna", "zlib"]
)
def test_labels_naming_python_codecs_are_ignored(label: str) -> None:
    assert decode_bytes(b"plain \\x41 text", label) == "plain \\x41 text"
    assert decode_bytes("Привет, мир".encode("koi8-r"), label) == "Привет, мир"


@pytest.mark.parametrize(
    ("label", "data", "text"),
    [
        ("x-cp1251", "Тест".encode("cp1251"), "Тест"),
        ("win-1251", "Тест".encode("cp1251"), "Тест"),
        ('"KOI8-R"', "Тест".encode("koi8-r"), "Тест"),
        ("utf-8*ru", "Тест".encode(), "Тест"),
        ("gb2312", "中文".encode("gb18030"), "中文"),
        ("utf-16", "Тест".encode("utf-16"), "Тест"),
        ("utf-16", b"plain ascii", "plain ascii"),
        ("utf-7", b"+BCIENQRBBEI-", "Тест"),
    ],
)
def test_charset_labels_as_mailers_spell_them(label: str, data: bytes, text: str) -> None:
    assert decode_bytes(data, label) == text


def test_decode_bytes_never_raises_on_any_byte_value() -> None:
    data = bytes(range(256)) * 4
    for label in (None, "utf-8", "ascii", "koi8-r", "windows-1251", "shift_jis", "utf-16"):
        assert isinstance(decode_bytes(data, label), str)


# --- header values ----------------------------------------------------------------------


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
    started = time.perf_counter()
    assert decode_header_value(raw).startswith("ПриветПривет")
    assert time.perf_counter() - started < 1.0


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
    started = time.perf_counter()
    found = parse_addresses([piece * (64 * 1024 // len(piece))])
    assert time.perf_counter() - started < 1.0
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


# --- structure ----------------------------------------------------------------------------


def _mail(headers: str, body: str | bytes) -> bytes:
    body_bytes = body.encode() if isinstance(body, str) else body
    return (
        ("From: a@example.org\r\n" + headers).replace("\n", "\r\n").encode() + b"\r\n" + body_bytes
    )


def test_alternative_gives_one_text_and_one_html() -> None:
    raw = _mail(
        'Content-Type: multipart/alternative; boundary="b"\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nplain\r\n"
        "--b\r\nContent-Type: text/html\r\n\r\n<p>html</p>\r\n--b--\r\n",
    )
    mail = decode(raw)
    assert (mail.plain, mail.html) == ("plain", "<p>html</p>")


def test_inline_text_parts_around_an_image_are_joined() -> None:
    """Apple Mail splits a body around an inline image into several text parts."""
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nbefore the picture\r\n"
        "--m\r\nContent-Type: image/png\r\nContent-Disposition: inline\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\niVBORw0KGgo=\r\n"
        "--m\r\nContent-Type: text/plain\r\n\r\nafter the picture\r\n--m--\r\n",
    )
    assert decode(raw).plain == "before the picture\n\nafter the picture"


def test_a_second_plain_alternative_is_not_appended() -> None:
    raw = _mail(
        'Content-Type: multipart/alternative; boundary="b"\n',
        "--b\r\nContent-Type: text/plain\r\n\r\nfirst\r\n"
        "--b\r\nContent-Type: text/plain\r\n\r\nsecond\r\n--b--\r\n",
    )
    assert decode(raw).plain == "first"


def test_text_of_an_attached_message_is_not_the_senders_text() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: message/rfc822\r\n\r\n"
        "From: other@example.org\r\nSubject: old\r\n\r\nResolve this issue\r\n--m--\r\n",
    )
    mail = decode(raw)
    assert mail.plain is None
    inner = [part for part in mail.parts if part.starts_message and part.in_message]
    assert inner and inner[0].header("subject") == "old"


def test_a_text_attachment_is_not_the_body() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nsee log\r\n"
        "--m\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=log.txt\r\n"
        "\r\nResolve this issue\r\n--m--\r\n",
    )
    mail = decode(raw)
    assert mail.plain == "see log"
    assert [(a.filename, a.size) for a in mail.attachments] == [("log.txt", 18)]


def test_a_one_part_message_marked_as_attachment_is_still_read() -> None:
    raw = _mail("Content-Type: text/plain\nContent-Disposition: attachment\n", "hello")
    assert decode(raw).plain == "hello"


def test_quoted_printable_and_base64_bodies() -> None:
    qp = _mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n",
        "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82 soft=\r\nbreak",
    )
    assert decode(qp).plain == "Привет softbreak"
    b64 = _mail(
        "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n",
        base64.encodebytes("Привет".encode()).decode(),
    )
    assert decode(b64).plain == "Привет"


def test_attachment_size_is_counted_without_keeping_the_payload() -> None:
    payload = base64.encodebytes(bytes(300_000)).decode()
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="m"\n',
        "--m\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        "--m\r\nContent-Type: application/zip\r\n"
        "Content-Disposition: attachment; filename=a.zip\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}--m--\r\n",
    )
    mail = decode(raw)
    assert [(a.filename, a.size) for a in mail.attachments] == [("a.zip", 300_000)]
    assert all(part.text is None for part in mail.parts if part.content_type == "application/zip")


def test_deep_nesting_is_flattened_not_lost() -> None:
    depth = 200
    body = ""
    for level in range(1, depth):
        body += f"--l{level - 1}\r\nContent-Type: multipart/mixed; boundary=l{level}\r\n\r\n"
    body += f"--l{depth - 1}\r\nContent-Type: text/plain\r\n\r\nbottom\r\n"
    body += "".join(f"--l{level}--\r\n" for level in range(depth - 1, -1, -1))
    mail = decode(_mail("Content-Type: multipart/mixed; boundary=l0\n", body))
    assert mail.plain == "bottom"
    assert max(part.depth for part in mail.parts) <= MAX_DEPTH + 1
    assert "nesting flattened" in mail.defects


def test_an_outer_delimiter_closes_an_unclosed_inner_multipart() -> None:
    raw = _mail(
        'Content-Type: multipart/mixed; boundary="out"\n',
        "--out\r\nContent-Type: multipart/alternative; boundary=in\r\n\r\n"
        "--in\r\nContent-Type: text/plain\r\n\r\ninner text\r\n"
        "--out\r\nContent-Type: text/plain\r\n\r\nouter text\r\n--out--\r\n",
    )
    mail = decode(raw)
    assert mail.plain == "inner text\n\nouter text"
    assert "close delimiter missing" in mail.defects


def test_headers_keep_order_and_decode_8bit() -> None:
    raw = "Subject: Тема\r\nX-A: 1\r\nX-A: 2\r\n\r\n".encode()
    mail = decode(raw)
    assert mail.header("subject") == "Тема"
    assert mail.header_all("x-a") == ["1", "2"]
    assert mail.raw_header_all("X-A") == ["1", "2"]
    assert mail.message.get_all("x-a") == ["1", "2"]


@pytest.mark.parametrize("raw", [b"", b"   ", b"\r\n\r\n", b"\x00\x00\n"])
def test_nothing_to_read_is_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedMessage) as caught:
        decode(raw)
    assert caught.value.reason == "empty message"


def test_a_typical_message_decodes_in_well_under_a_millisecond_or_so() -> None:
    raw = _mail(
        "Subject: =?utf-8?b?0J/RgNC40LLQtdGC?=\nTo: support@example.org\n"
        "Message-ID: <a@b>\nContent-Type: multipart/alternative; boundary=b\n",
        "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + "Здравствуйте, не работает телефон.\r\n" * 20
        + "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--b--\r\n",
    )
    decode(raw)
    rounds = 200
    started = time.perf_counter()
    for _ in range(rounds):
        decode(raw)
    assert (time.perf_counter() - started) / rounds < 0.005  # generous: shared CI machines
