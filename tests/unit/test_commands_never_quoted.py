"""No command comes from quoted or forwarded text, over every fixture (issue 21, SPEC §2).

Deciding reads commands with `find_commands` on `message.new_text` and
`message.subject_after_tag` (mailgate/decide/message.py). Over every message
under tests/fixtures (replies, machine, hostile, attachments, e2e), whatever
it holds: every command found stands on a line of the new text (or is the
subject), and a line of the quoted or forwarded parts that would be a command
yields none unless the sender wrote that line in the new text too.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from mailgate.domain import Command, CommandName, InboundMessage
from mailgate.parse import parse_message
from mailgate.parse.commands import find_commands, normalize, read_line
from mailgate.parse.errors import MalformedMessage

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PATHS = sorted(FIXTURES.rglob("*.eml"))
_QUOTE_MARKS = re.compile(r"^[\s>]*>\s?")


@cache
def parsed(path: Path) -> InboundMessage | None:
    try:
        return parse_message(
            path.read_bytes(), tag_prefix="REQ", own_addresses=frozenset({"support@example.org"})
        )
    except MalformedMessage:
        return None


def commands_of(message: InboundMessage) -> tuple[Command, ...]:
    """What deciding reads, approvals included (a client's reply)."""
    return find_commands(new_text=message.new_text, subject_after_tag=message.subject_after_tag)


def not_new_lines(message: InboundMessage) -> list[str]:
    """The lines of the quoted and forwarded parts, quote marks taken off."""
    texts = [message.quoted_text]
    if message.forwarded is not None:
        texts.append(message.forwarded.text)
    return [_QUOTE_MARKS.sub("", line, count=1) for text in texts for line in text.split("\n")]


def test_the_walk_covers_every_fixture_folder() -> None:
    folders = {path.relative_to(FIXTURES).parts[0] for path in PATHS}
    assert {"replies", "machine", "hostile", "attachments", "e2e"} <= folders
    assert len(PATHS) > 300


@pytest.mark.parametrize("path", PATHS, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_every_command_stands_in_the_new_text(path: Path) -> None:
    message = parsed(path)
    if message is None:
        return
    new_lines = {normalize(line) for line in message.new_text.split("\n")}
    subject = normalize(message.subject_after_tag)
    for command in commands_of(message):
        line = normalize(command.line)
        if command.name is CommandName.APPROVAL:
            assert command.line in message.new_text or line == subject
        else:
            assert line in new_lines or line == subject, command


@pytest.mark.parametrize("path", PATHS, ids=lambda path: str(path.relative_to(FIXTURES)))
def test_no_quoted_or_forwarded_line_yields_a_command(path: Path) -> None:
    message = parsed(path)
    if message is None:
        return
    new_lines = {normalize(line) for line in message.new_text.split("\n")}
    found = {normalize(command.line) for command in commands_of(message)}
    for line in not_new_lines(message):
        candidate = read_line(line)
        if not isinstance(candidate, Command):
            continue
        key = normalize(candidate.line)
        if key in new_lines or key == normalize(message.subject_after_tag):
            continue  # the sender wrote it again in their own text
        assert key not in found, line
