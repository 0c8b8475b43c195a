"""The reply corpus: every fixture's new text, and the commands found in it.

Each `tests/fixtures/replies/<client>_<scenario>.eml` has an entry in
`expected.json` beside it: the exact `new_text` (normalised as described in
docs/new-text.md) and the sorted names of the commands the scanner must find;
`forwarded` (sender, date, subject, text) when the sender forwarded a message;
`client`, `language`, `body` (plain, html or multipart) and `note` describe it.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path

import pytest

from mailgate.domain import CommandName, InboundMessage
from mailgate.parse import parse_message
from mailgate.parse.commands import find_commands, scan_commands
from mailgate.parse.mimetree import decode
from mailgate.parse.newtext import split_reply

FIXTURES = Path(__file__).parent.parent / "fixtures" / "replies"


@cache
def expected_table() -> dict[str, dict]:
    return json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))


def load_reply(name: str) -> InboundMessage:
    raw = (FIXTURES / f"{name}.eml").read_bytes()
    return parse_message(raw, tag_prefix="REQ", own_addresses=frozenset({"support@example.org"}))


NAMES = sorted(expected_table())


def test_every_fixture_has_an_expectation_and_the_reverse() -> None:
    on_disk = {path.stem for path in FIXTURES.glob("*.eml")}
    assert on_disk == set(expected_table())


@pytest.mark.parametrize("name", NAMES)
def test_new_text(name: str) -> None:
    message = load_reply(name)
    assert message.new_text == expected_table()[name]["new_text"]


@pytest.mark.parametrize("name", NAMES)
def test_commands(name: str) -> None:
    message = load_reply(name)
    scan = scan_commands(
        new_text=message.new_text,
        quoted_text=message.quoted_text,
        subject_after_tag=message.subject_after_tag,
    )
    found = sorted({command.name.value for command in scan.commands})
    assert found == sorted(set(expected_table()[name]["commands"]))


@pytest.mark.parametrize("name", NAMES)
def test_forwarded(name: str) -> None:
    """What the sender forwarded (issue 21): `forwarded` in the entry, absent when nothing."""
    message = load_reply(name)
    got = message.forwarded.to_json() if message.forwarded is not None else None
    assert got == expected_table()[name].get("forwarded")


MULTIPART = [name for name in NAMES if expected_table()[name]["body"] == "multipart"]


@pytest.mark.parametrize("name", MULTIPART)
def test_html_part_alone_gives_the_same_new_text(name: str) -> None:
    """The HTML rules agree with the plain-text ones, so HTML-only mail is read as well."""
    mail = decode((FIXTURES / f"{name}.eml").read_bytes())
    assert mail.html is not None
    from_html = split_reply(None, mail.html).new_text
    assert from_html == _one_blank_line(expected_table()[name]["new_text"])


def _one_blank_line(text: str) -> str:
    return re.sub(r"\n{3,}", "\n\n", text)


@pytest.mark.parametrize("name", NAMES)
def test_deciding_finds_the_commands_the_full_scan_finds(name: str) -> None:
    """`find_commands` (what deciding reads) is `scan_commands` without the rejects;
    without approvals it drops the approval phrase and nothing else."""
    message = load_reply(name)
    full = scan_commands(
        new_text=message.new_text,
        quoted_text=message.quoted_text,
        subject_after_tag=message.subject_after_tag,
    ).commands
    text = {"new_text": message.new_text, "subject_after_tag": message.subject_after_tag}
    assert find_commands(**text) == full
    without = tuple(c for c in full if c.name is not CommandName.APPROVAL)
    assert find_commands(**text, approvals=False) == without
