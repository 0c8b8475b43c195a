"""Priority and labels (SPEC §16): agents' `#priority` and `#label` lines, and the
priority a client's first message asks for in its headers. Pure.

- `#priority low|normal|high|urgent` (`#приоритет низкий|обычный|высокий|срочный`)
  sets the priority; the SLA deadlines are recomputed with its targets
  (`[sla.priority.NAME]`, counted from the creation as if it had always had it).
- `#label add NAME [NAME ...]`, `#label remove NAME [NAME ...]` (`#метка добавить|убрать`):
  names are lower-cased; letters, digits, `-`, `_`, `.` and `:`, starting with a
  letter or digit, at most `MAX_LABEL_LENGTH` characters; a request carries at
  most `MAX_LABELS`. A line with one bad name changes nothing.
- A client can ask for `low` or `high` only, never `urgent`, and only in the first
  message of a request and with `client_priority = "read"`: `X-Priority: 1|2` and
  `Importance: high` are high, `X-Priority: 4|5` and `Importance: low` are low.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from mailgate.decide.draft import Draft
from mailgate.decision import RequestRef
from mailgate.domain import DEFAULT_PRIORITY, PRIORITIES, Command, CommandName
from mailgate.parse.commands import normalize
from mailgate.workflow import Refusal

MAX_LABELS = 20  # labels on one request
MAX_LABEL_LENGTH = 40  # characters of one label (the column's width)
_LABEL = re.compile(rf"[^\W_][\w.:-]{{0,{MAX_LABEL_LENGTH - 1}}}")
_PRIORITY_WORDS = {
    **{name: name for name in PRIORITIES},
    "низкий": "low",
    "обычный": "normal",
    "нормальный": "normal",
    "высокий": "high",
    "срочный": "urgent",
}
_ADD = frozenset({"add", "+", "добавить"})
_REMOVE = frozenset({"remove", "delete", "-", "убрать", "удалить", "снять"})
_X_PRIORITY = re.compile(r"\s*([1-5])\b")  # "1 (Highest)", "2", "5 (Lowest)"


def set_priority(draft: Draft, ref: RequestRef, command: Command, *, actor: str) -> Refusal | None:
    """An agent's `#priority`: the priority set, its SLA recomputed, the change in the
    history; the same priority again changes nothing."""
    priority = _PRIORITY_WORDS.get(normalize(command.argument or ""))
    if priority is None:
        return Refusal.UNKNOWN_PRIORITY
    before = draft.request(ref).priority
    if priority != before:
        draft.set(ref, priority=priority)
        draft.refresh_sla(ref)
        draft.event(ref, "priority", actor=actor, detail=f"{before} -> {priority}", caused=True)
    return None


def change_labels(draft: Draft, ref: RequestRef, command: Command, *, actor: str) -> Refusal | None:
    """An agent's `#label add|remove NAME ...`: all the names or none."""
    verb, _, rest = (command.argument or "").strip().partition(" ")
    names = list(dict.fromkeys(name.lower() for name in re.split(r"[\s,]+", rest) if name))
    adding = verb.lower() in _ADD
    if not (adding or verb.lower() in _REMOVE) or not names:
        return Refusal.BAD_LABEL
    if not all(_LABEL.fullmatch(name) for name in names):
        return Refusal.BAD_LABEL
    labels = set(draft.request(ref).labels)
    changed = [name for name in names if (name in labels) is not adding]
    after = labels | set(changed) if adding else labels - set(changed)
    if len(after) > MAX_LABELS:
        return Refusal.TOO_MANY_LABELS
    if changed:
        draft.set(ref, labels=tuple(sorted(after)))
        detail = f"{'added' if adding else 'removed'} {', '.join(changed)}"
        draft.event(ref, "label", actor=actor, detail=detail, caused=True)
    return None


# The agent commands of this module, by name, for decide/message.py.
AGENT_TRIAGE: dict[CommandName, Callable[..., Refusal | None]] = {
    CommandName.PRIORITY: set_priority,
    CommandName.LABEL: change_labels,
}


def client_priority(headers: Sequence[tuple[str, str]]) -> str:
    """The priority a client's message asks for in `X-Priority` (first) or
    `Importance`: "high", "low", else the default. Never "urgent": a client's header
    is the client's own opinion, and urgency is the agents' call."""
    for name, value in headers:
        if name == "x-priority" and (match := _X_PRIORITY.match(value)):
            digit = int(match.group(1))
            return "high" if digit <= 2 else "low" if digit >= 4 else DEFAULT_PRIORITY
    for name, value in headers:
        if name == "importance":
            word = value.strip().lower()
            return {"high": "high", "low": "low"}.get(word, DEFAULT_PRIORITY)
    return DEFAULT_PRIORITY
