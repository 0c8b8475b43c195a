"""Commands and approval phrases in the new text and the subject (SPEC §2).

A first version: exact command lines in English and Russian and agent
`#` commands. Approval phrases and escalation-reason judgement come with the
workflow work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailgate.domain import Command, CommandName, RejectedCandidate, Status

_COMMAND_LINES: dict[str, CommandName] = {
    "resolve this issue": CommandName.RESOLVE,
    "resolve": CommandName.RESOLVE,
    "решить вопрос": CommandName.RESOLVE,
    "закрыть заявку": CommandName.RESOLVE,
    "cancel request": CommandName.CANCEL,
    "отменить заявку": CommandName.CANCEL,
    "don't notify me": CommandName.DONT_NOTIFY,
    "do not notify me": CommandName.DONT_NOTIFY,
    "unsubscribe": CommandName.DONT_NOTIFY,
    "не уведомлять": CommandName.DONT_NOTIFY,
    "notify me": CommandName.NOTIFY,
    "уведомлять": CommandName.NOTIFY,
}
_ESCALATE = re.compile(r"^(escalate|эскалировать)\s*(?::\s*(.*))?$", re.I)
_AGENT = re.compile(r"^#(status|note|assign)\b\s*(.*)$", re.I)
_TRAILING = re.compile(r"[\s.!?,;:…]+$")


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandScan:
    commands: tuple[Command, ...]
    rejected: tuple[RejectedCandidate, ...]


def normalize(line: str) -> str:
    """Lower case, single spaces, no trailing punctuation, straight apostrophes."""
    line = line.replace("’", "'").replace("`", "'")
    return _TRAILING.sub("", " ".join(line.split()).lower())


def scan_commands(*, new_text: str, quoted_text: str, subject_after_tag: str) -> CommandScan:
    """Commands standing on lines of their own in the new text or the subject."""
    commands: list[Command] = []
    lines = new_text.split("\n")
    for index, line in enumerate([subject_after_tag, *lines]):
        command = _match_line(line, following=lines[index:] if index else [])
        if command is not None:
            commands.append(command)
    rejected = [
        RejectedCandidate(name=command.name, line=command.line, reason="quoted")
        for line in quoted_text.split("\n")
        if (command := _match_line(line.lstrip("> "), following=[])) is not None
    ]
    return CommandScan(commands=tuple(commands), rejected=tuple(rejected))


def _match_line(line: str, *, following: list[str]) -> Command | None:
    stripped = line.strip()
    if not stripped:
        return None
    name = _COMMAND_LINES.get(normalize(stripped))
    if name is not None:
        return Command(name=name, line=stripped)
    if match := _ESCALATE.match(stripped):
        reason = (match.group(2) or "").strip()
        if not reason:
            reason = "\n".join(following).strip().split("\n\n")[0].strip()
        return Command(name=CommandName.ESCALATE, argument=reason or None, line=stripped)
    if match := _AGENT.match(stripped):
        argument = match.group(2).strip() or None
        return Command(name=CommandName(match.group(1).lower()), argument=argument, line=stripped)
    return None


def status_from_words(words: str) -> Status | None:
    """`waiting for client`, `waiting_for_client` or `Waiting-for-client` -> the status."""
    key = re.sub(r"[\s\-]+", "_", normalize(words))
    try:
        return Status(key)
    except ValueError:
        return None
