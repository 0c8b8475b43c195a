"""The shortcuts of `send_message` give what aiosmtplib's `sendmail` would put on the wire."""

from __future__ import annotations

import random

import pytest
from aiosmtplib.email import quote_address
from aiosmtplib.protocol import LINE_ENDINGS_REGEX, PERIOD_REGEX

from mailgate.send import (
    _PLAIN_ADDRESS,
    AddressError,
    _crlf_line_ends,
    _dot_stuffed,
    _mailbox,
)

_ADDRESS_CHARS = "ab.@-+_'\"<> \r\n,()[]\\:;é"


def _random_strings(alphabet: str, count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choices(alphabet, k=rng.randint(0, 12))) for _ in range(count)]


def test_an_address_goes_out_as_quote_address_sends_it_or_is_refused() -> None:
    plain = ["client@example.net", "a.b+tag@sub.example.net", "o'brien@x.org", "A-Z_0~9@b-c.d"]
    odd = [
        "",  # the null reverse-path of bounces
        '"john doe"@example.net',
        "a@b@c",
        "a..b@c",
        "a@[127.0.0.1]",
    ]
    for address in plain + odd + _random_strings(_ADDRESS_CHARS, 20_000, seed=5):
        try:
            sent = _mailbox(address)
        except AddressError:
            assert not _PLAIN_ADDRESS.fullmatch(address)
            continue
        assert sent == quote_address(address).encode("ascii") == b"<%s>" % address.encode()
    assert all(_PLAIN_ADDRESS.fullmatch(address) for address in plain)


@pytest.mark.parametrize("address", ["a@b\r\nRSET", "a@b\n", "<a@b>", "a>@b", "Ann <a@b>",
                                     "a@b,c@d", "a@b (Ann)", 'a"@b', "é@x.ru"])  # fmt: skip
def test_an_address_that_sendmail_would_cut_or_cannot_carry_is_refused(address: str) -> None:
    with pytest.raises(AddressError):
        _mailbox(address)


def test_line_ends_and_dot_stuffing_equal_aiosmtplibs_and_copy_nothing_when_canonical() -> None:
    pieces = [s.encode("latin-1") for s in _random_strings("a.\r\n", 20_000, seed=7)]
    pieces += [b"", b".", b"a\r\n.b\r\n", b"a\r\nb\r\n", b"\r\n\r\n..\r\n"]
    for piece in pieces:
        crlf = _crlf_line_ends(piece)
        assert crlf == LINE_ENDINGS_REGEX.sub(b"\r\n", piece)
        assert _dot_stuffed(crlf) == PERIOD_REGEX.sub(b"..", crlf)
        if crlf == piece:
            assert crlf is piece
    canonical = b"Subject: x\r\n\r\nno period starts a line.\r\n"
    assert _dot_stuffed(canonical) is canonical
