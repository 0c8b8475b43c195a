"""Line ends: bare CR (classic Mac OS, some gateways), LF, CRLF and mixes of them read alike.

Every well-formed fixture is rewritten with each kind of line end and must parse
exactly as its CRLF version does: From, Subject, text, new text, machine-mail
flags, bounce, threading keys, and the Message-ID both as stored and as the
dedupe key.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import time
from pathlib import Path

import pytest

from mailgate.domain import InboundMessage
from mailgate.parse import message_key, parse_message
from mailgate.parse.mimetree import decode

FIXTURES = Path(__file__).parent.parent / "fixtures"
# Hostile fixtures are left out: some hold stray CR bytes on purpose.
WELL_FORMED = sorted(
    str(path.relative_to(FIXTURES))
    for folder in ("replies", "machine", "e2e")
    for path in (FIXTURES / folder).glob("*.eml")
)
# Committed with bare CRs: an editor or a checkout that "fixes" them would hide the case.
BARE_CR_FIXTURES = [
    "hostile/bare_cr_line_ends.eml",
    "hostile/bare_cr_multipart_qp.eml",
    "hostile/mixed_line_ends.eml",
    "machine/gateway_autoreply_bare_cr.eml",
    "machine/sendmail_dsn_bare_cr.eml",
    "replies/eudora_mac_bare_cr_top_resolve.eml",
]
_LINE_END = re.compile(rb"\r\n|\r|\n")
_BARE_CR = re.compile(rb"\r(?!\n)")


def parse(raw: bytes) -> InboundMessage:
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({"support@example.org"}))


def with_line_ends(raw: bytes, ends: tuple[bytes, ...]) -> bytes:
    """`raw` with its line ends replaced by `ends`, taken in turn.

    An empty line after a bare CR gets a bare CR too: CR then LF would be one
    line end, and the empty line would be lost.
    """
    out = bytearray()
    previous = b""
    for number, line in enumerate(_LINE_END.split(raw)):
        end = ends[number % len(ends)]
        if not line and previous == b"\r":
            end = b"\r"
        out += line + end
        previous = end
    return bytes(out)


VARIANTS = {
    "bare CR": (b"\r",),
    "LF": (b"\n",),
    "mixed": (b"\r\n", b"\r", b"\n", b"\r", b"\r"),
}


@pytest.mark.parametrize("name", WELL_FORMED)
def test_every_kind_of_line_end_reads_as_crlf(name: str) -> None:
    original = (FIXTURES / name).read_bytes()
    crlf = with_line_ends(original, (b"\r\n",))
    expected = parse(crlf)
    has_id = not expected.message_id.startswith("sha256-")
    for kind, ends in VARIANTS.items():
        raw = with_line_ends(original, ends)
        message = parse(raw)
        assert message_key(raw) == message.message_id, kind
        if not has_id:  # the hash of other bytes
            message = dataclasses.replace(message, message_id=expected.message_id)
        # A file's line ends are part of its bytes: only which files they are must match.
        assert [_file(a) for a in message.attachments] == [_file(a) for a in expected.attachments]
        message = dataclasses.replace(message, attachments=expected.attachments)
        assert message == expected, kind


def _file(attachment) -> tuple[str, str, bool]:
    return attachment.filename, attachment.content_type, attachment.inline


@pytest.mark.parametrize("name", BARE_CR_FIXTURES)
def test_bare_cr_fixtures_still_hold_bare_crs(name: str) -> None:
    raw = (FIXTURES / name).read_bytes()
    assert _BARE_CR.search(raw)
    assert "bare CR line ends" in decode(raw).defects


@pytest.mark.parametrize("ends", [b"\r\n", b"\n"], ids=["CRLF", "LF"])
def test_crlf_and_lf_mail_is_read_as_it_comes(ends: bytes) -> None:
    raw = with_line_ends((FIXTURES / "replies" / "gmail_top_cancel.eml").read_bytes(), (ends,))
    assert "bare CR line ends" not in decode(raw).defects


def test_a_bare_cr_in_a_header_ends_the_line_as_in_the_standard_library() -> None:
    raw = b"From: a@example.org\r\nSubject: hello\rCc: b@example.org\r\n\r\nbody\r\n"
    message = parse(raw)
    standard = email.message_from_bytes(raw, policy=email.policy.default)
    assert (message.subject, [cc.address for cc in message.cc]) == ("hello", ["b@example.org"])
    assert (standard["subject"], standard["cc"]) == ("hello", "b@example.org")


def test_the_machine_mail_flag_survives_bare_crs() -> None:
    """An auto-reply read as one header line used to look like a person's mail."""
    raw = (
        b"From: Karl <karl@partner.example>\rTo: support@example.org\rSubject: Away\r"
        b"Auto-Submitted: auto-replied\r\rBack on Monday.\r"
    )
    message = parse(raw)
    assert (message.auto, message.sender.address if message.sender else None) == (
        "auto-submitted",
        "karl@partner.example",
    )
    assert message.text == "Back on Monday.\n"


def test_a_large_bare_cr_message_decodes_fast() -> None:
    line = b"The phones in the Kazan office are down again since this morning.\r"
    raw = b"From: a@example.org\rSubject: big\r\r" + line * 60_000  # about 4 MB
    started = time.process_time()
    mail = decode(raw)
    assert time.process_time() - started < 1.0  # about 20 ms here; generous for shared CI
    assert mail.header("subject") == "big"
    assert mail.plain is not None and mail.plain.startswith("The phones")
