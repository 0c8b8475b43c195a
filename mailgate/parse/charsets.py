"""Bytes -> text when the declared charset may be missing, wrong or unknown.

Mail mislabels its charset often (Russian and Western mail above all), so a
label is evidence, not a fact: see `decode_bytes`.
"""

from __future__ import annotations

import codecs
import functools
import math
import re

_NON_ASCII_BYTES = bytes(range(128, 256))
_WORD = re.compile(r"[^\W\d_]+")
_SUSPICIOUS = re.compile(r"[\x80-\x9f\u2500-\u259f¤¦§¨©ª¬®¯°±²³´µ¶·¸¹º¼½¾]")

# Labels seen in the wild that name no charset, or one Python spells otherwise.
_CHARSET_ALIASES: dict[str, str | None] = {
    "unknown-8bit": None,
    "unknown": None,
    "x-unknown": None,
    "x-user-defined": None,
    "default": None,
    "8bit": None,
    "iso-8859-8-i": "iso8859_8",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-mac-cyrillic": "mac_cyrillic",
    "win-1251": "cp1251",
    "cp-1251": "cp1251",
    "windows-1251": "cp1251",
    "latin1": "cp1252",
    "iso-8859-1": "cp1252",  # as browsers do: the C1 range is windows-1252 in practice
    "us-ascii": "ascii",
}
# Python codecs that are not mail charsets: a label naming one is ignored.
_NOT_MAIL_CODECS = frozenset(
    {"unicode_escape", "raw_unicode_escape", "idna", "punycode", "undefined", "mbcs", "oem"}
)
_SEVEN_BIT_CODECS = frozenset({"utf_7", "iso2022_jp", "iso2022_kr", "hz"})
_WIDE_CODECS = frozenset({"utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"})
# Single-byte charsets that mislabel each other in Russian and Western mail:
# a label naming one of these is weighed against the others.
_CONFUSABLE = frozenset(
    {"ascii", "utf_8", "cp1251", "koi8_r", "koi8_u", "iso8859_1", "cp1252", "iso8859_15"}
)
_GUESSES = ("cp1251", "koi8_r", "cp1252")
# How much likelier each Russian letter is than one of 33 drawn at random, as a
# log-odds weight (letter frequencies of Russian prose). Wrongly decoded
# windows-1251 / KOI8-R text shuffles the alphabet, so its letters score low.
_RUSSIAN_FREQUENCY = {
    "о": 10.97, "е": 8.45, "а": 8.01, "и": 7.35, "н": 6.70, "т": 6.26, "с": 5.47,
    "р": 4.73, "в": 4.54, "л": 4.40, "к": 3.49, "м": 3.21, "д": 2.98, "п": 2.81,
    "у": 2.62, "я": 2.01, "ы": 1.90, "ь": 1.74, "г": 1.70, "з": 1.65, "б": 1.59,
    "ч": 1.44, "й": 1.21, "х": 0.97, "ж": 0.94, "ш": 0.73, "ю": 0.64, "ц": 0.48,
    "щ": 0.36, "э": 0.32, "ф": 0.26, "ъ": 0.04, "ё": 0.50,
}  # fmt: skip
_CYRILLIC_WEIGHT = {ch: math.log(share * 33 / 100) for ch, share in _RUSSIAN_FREQUENCY.items()}
_OTHER_CYRILLIC_WEIGHT = -4.0  # і, ј, ћ ...: what KOI8-R read as windows-1251 is full of


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode text whose declared charset may be missing, wrong or unknown.

    Valid UTF-8 wins over any single-byte label: other charsets practically
    never form valid multi-byte UTF-8 by chance. Otherwise a trusted label is
    used, and windows-1251, KOI8-R and windows-1252 (the charsets Russian and
    Western mail mislabel as each other) are weighed by how plausible their
    words look. Never raises; never drops bytes silently.
    """
    codec = _codec_for(declared)
    if data.isascii():
        if codec in _SEVEN_BIT_CODECS or (codec in _WIDE_CODECS and _looks_wide(data)):
            try:
                return data.decode(codec)
            except (UnicodeError, LookupError):
                pass
        return data.decode("ascii")
    if codec in _WIDE_CODECS and _looks_wide(data):
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            pass
    text = _decode_utf8(data)
    if text is not None:
        return text
    if codec is not None and codec not in _CONFUSABLE and codec not in _WIDE_CODECS:
        try:
            return data.decode(codec)
        except (UnicodeError, LookupError):
            pass
    return _guess_single_byte(data, codec if codec in _CONFUSABLE else None)


def bytes_per_text_byte(declared: str | None) -> int:
    """At most how many bytes of this charset one byte of decoded UTF-8 text can take,
    for text in practice: 4 for UTF-32, 2 for UTF-16, 3 for the 7-bit encodings
    (UTF-7's base64), 1 for every other charset (a character is at least one byte)."""
    codec = _codec_for(declared)
    if codec in _WIDE_CODECS:
        return 4 if codec.startswith("utf_32") else 2
    return 3 if codec in _SEVEN_BIT_CODECS else 1


def _codec_for(label: str | None) -> str | None:
    """Python's codec name for a MIME charset label, or None when it names no usable charset."""
    if not label:
        return None
    if type(label) is str and len(label) <= _CACHED_LABEL_CHARS:
        return _codec_for_label(label)  # a few labels name nearly every part's charset
    return _look_up_codec(label)


_CACHED_LABEL_CHARS = 64


@functools.lru_cache(maxsize=128)
def _codec_for_label(label: str) -> str | None:
    return _look_up_codec(label)


def _look_up_codec(label: object) -> str | None:
    name = str(label).strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not name or len(name) > 40:
        return None
    if name in _CHARSET_ALIASES:
        alias = _CHARSET_ALIASES[name]
        return None if alias is None else codecs.lookup(alias).name.replace("-", "_")
    for candidate in (name, name.removeprefix("x-"), name.replace("win-", "cp")):
        try:
            codec = codecs.lookup(candidate).name.replace("-", "_")
        except (LookupError, ValueError):
            continue
        if codec in _NOT_MAIL_CODECS:
            return None
        try:
            b"a".decode(codec)
        except (LookupError, TypeError):  # not a text encoding (base64, rot13, ...)
            return None
        except UnicodeError:  # a text encoding that needs more than one byte
            pass
        return codec
    return None


def _looks_wide(data: bytes) -> bool:
    """UTF-16/32 text has a byte-order mark or many NUL bytes; 8-bit text has neither."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or data[:4] in (b"\x00\x00\xfe\xff",):
        return True
    return data.count(0) * 4 >= len(data)


def _decode_utf8(data: bytes) -> str | None:
    """The text when `data` is UTF-8, tolerating a cut last character and rare stray bytes."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        cut = exc.reason == "unexpected end of data" and exc.start >= len(data) - 3
        if cut and not data[: exc.start].isascii():
            try:
                return data[: exc.start].decode("utf-8")  # a part cut in mid-character
            except UnicodeDecodeError:
                pass
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    non_ascii = len(data) - len(data.translate(None, _NON_ASCII_BYTES))
    valid = non_ascii - bad
    # Mostly UTF-8 with a few stray bytes (a signature in another charset): keep it.
    if valid >= 8 and bad * 20 <= valid:
        return text
    return None


def _guess_single_byte(data: bytes, declared: str | None) -> str:
    sample = data[:8192]
    candidates = [declared] if declared not in (None, "ascii", "utf_8") else []
    candidates += [codec for codec in _GUESSES if codec not in candidates]
    best: tuple[float, str] | None = None
    for codec in candidates:
        try:
            text = sample.decode(codec)
        except UnicodeDecodeError:
            continue
        score = _plausibility(text)
        if codec == declared:  # a label is evidence too: overrule it only when clearly worse
            score += 3.0
        if best is None or score > best[0]:
            best = (score, codec)
    if best is not None:
        try:
            return data.decode(best[1])
        except UnicodeDecodeError:  # a byte past the sample that this charset lacks
            pass
    return data.decode("latin-1")


def _plausibility(text: str) -> float:
    """How much `text` looks like words people write: letters of one script, sane case."""
    score = 0.0
    for word in _WORD.findall(text):
        if word.isascii():
            continue
        length = len(word)
        cyrillic = sum(1 for ch in word if "\u0400" <= ch <= "\u04ff")
        if cyrillic and cyrillic != length:
            score -= 2 * length  # Latin and Cyrillic inside one word
            continue
        if length > 1 and not (word.islower() or word.isupper() or word.istitle()):
            score -= length
            continue
        if length == 1:
            continue
        if cyrillic:
            score += sum(_CYRILLIC_WEIGHT.get(ch, _OTHER_CYRILLIC_WEIGHT) for ch in word.lower())
        else:
            accented = sum(1 for ch in word if ord(ch) > 127)
            score += length if accented * 2 <= length else -length
    return score - 2 * len(_SUSPICIOUS.findall(text))
