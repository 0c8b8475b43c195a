"""Charset decoding: labels missing, right, wrong or naming no charset at all."""

from __future__ import annotations

import pytest

from mailgate.parse.charsets import decode_bytes

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
