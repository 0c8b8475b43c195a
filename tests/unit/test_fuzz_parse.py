"""Mutated real fixtures through the whole parsing path: nothing escapes but MalformedMessage.

The example count comes from MAILGATE_FUZZ_EXAMPLES (default 300, so CI stays
fast); a long run is `MAILGATE_FUZZ_EXAMPLES=20000 pytest tests/unit/test_fuzz_parse.py`.
Runs are derandomized (the same examples every time, so CI is reproducible);
MAILGATE_FUZZ_RANDOM=1 explores new ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailgate.parse import parse_message
from mailgate.parse.commands import scan_commands
from mailgate.parse.errors import MalformedMessage

FIXTURES = Path(__file__).parent.parent / "fixtures"
# Seeds: every fixture small enough to mutate quickly (the huge ones have their own tests).
SEEDS = [
    path.read_bytes()
    for folder in ("machine", "hostile")
    for path in sorted((FIXTURES / folder).glob("*.eml"))
    if 0 < path.stat().st_size <= 64 * 1024
]
EXAMPLES = int(os.environ.get("MAILGATE_FUZZ_EXAMPLES", "300"))
RANDOM = os.environ.get("MAILGATE_FUZZ_RANDOM") == "1"
CHARSETS = [
    b"utf-8",
    b"koi8-r",
    b"windows-1251",
    b"iso-8859-1",
    b"us-ascii",
    b"utf-16",
    b"utf-7",
    b"unknown-8bit",
    b"x-user-defined",
    b"unicode_escape",
    b"rot13",
    b"base64",
    b"",
    b'"',
    b"shift_jis",
    b"iso-2022-jp",
]
SNIPPETS = [
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n\r\n",
    b"=?",
    b"?=",
    b"=?utf-8?b?",
    b"=?utf-8?q?=0D=0A",
    b"--",
    b"\n--\n",
    b"Content-Type: multipart/mixed; boundary=x\n\n--x\n",
    b"Content-Type: message/rfc822\n\n",
    b"Content-Transfer-Encoding: base64\n",
    b"Content-Transfer-Encoding: quoted-printable\n",
    b"From: a@b.c, d@e.f\n",
    b"\xff\xfe",
    b"\xd0",
    "Решить вопрос\n".encode(),
    b"<script>",
    b"; filename*=utf-8''%2E%2E%2F",
    b"From: " + b"(" * 1500 + b"\n",
    b"To: " + b"g:" * 1500 + b"\n",
    b"Date: Mon, 1 Jan 99999999999999999999 00:00:00 +99999999999\n",
]
_CHARSET = re.compile(rb"charset=\"?([^\";\s]*)\"?", re.I)
_BOUNDARY = re.compile(rb"boundary=\"?([^\";\s]+)\"?", re.I)
_HEADER_LINE = re.compile(rb"^[A-Za-z-]+:[^\n]*\n", re.M)


@st.composite
def mutated_mail(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 8))
        size = len(data)
        if kind == 0 and size:  # byte flips
            for _ in range(draw(st.integers(1, 8))):
                data[draw(st.integers(0, size - 1))] = draw(st.integers(0, 255))
        elif kind == 1 and size:  # truncation
            del data[draw(st.integers(0, size - 1)) :]
        elif kind == 2:  # header duplication
            lines = _HEADER_LINE.findall(bytes(data))
            if lines:
                line = draw(st.sampled_from(lines))
                data[0:0] = line * draw(st.integers(1, 50))
        elif kind == 3:  # boundary damage
            found = _BOUNDARY.search(data)
            if found:
                boundary = found.group(1)
                occurrences = [m.start() for m in re.finditer(re.escape(b"--" + boundary), data)]
                if occurrences:
                    at = draw(st.sampled_from(occurrences))
                    cut = draw(st.integers(0, len(boundary) + 2))
                    data[at : at + cut] = draw(st.sampled_from([b"", b"-", b"x", b"--\n"]))
        elif kind == 4:  # charset label swap
            labels = list(_CHARSET.finditer(data))
            if labels:
                label = draw(st.sampled_from(labels))
                data[label.start(1) : label.end(1)] = draw(st.sampled_from(CHARSETS))
        elif kind == 5:  # insert a sequence parsers trip on
            at = draw(st.integers(0, size))
            data[at:at] = draw(st.sampled_from(SNIPPETS))
        elif kind == 6:  # splice with another fixture
            other = draw(st.sampled_from(SEEDS))
            at = draw(st.integers(0, size))
            start = draw(st.integers(0, len(other)))
            data[at:] = other[start:]
        elif kind == 7 and size:  # delete a slice
            start = draw(st.integers(0, size - 1))
            del data[start : start + draw(st.integers(1, 200))]
        elif size:  # amplify: one short slice repeated (nesting, floods)
            start = draw(st.integers(0, size - 1))
            piece = bytes(data[start : start + draw(st.integers(1, 4))])
            data[start:start] = piece * draw(st.integers(100, 3000))
    return bytes(data)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not RANDOM,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(raw=mutated_mail())
def test_mutated_mail_never_crashes_the_parser(raw: bytes) -> None:
    try:
        message = parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({"s@example.org"}))
    except MalformedMessage:
        return
    scan_commands(
        new_text=message.new_text,
        quoted_text=message.quoted_text,
        subject_after_tag=message.subject_after_tag,
    )
    for value in (message.subject, message.message_id, *(v for _, v in message.headers)):
        assert "\n" not in value and "\r" not in value and "\x00" not in value
        value.encode("utf-8")
    message.text.encode("utf-8")
    for address in (message.sender, *message.to, *message.cc, *message.reply_to):
        if address is not None:
            assert "\n" not in address.address + address.name
