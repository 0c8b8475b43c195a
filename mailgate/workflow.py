"""The status machine of SPEC §1 as a table, and `decide` over it. Pure.

Each rule names who acts, what they do, which statuses it applies in, and the
statuses it leads to (one or two steps: a client's cancel is `cancelled`, then
at once `closed`). Anything not in the table is refused and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailgate.domain import Status

S = Status
OPEN = frozenset(status for status in Status if status.is_open)

# Statuses whose request closes by itself after N business days of client silence.
AUTO_CLOSING = frozenset({S.AWAITING_CONFIRMATION, S.CANCELLED})


class Actor(StrEnum):
    CLIENT = "client"
    AGENT = "agent"
    SYSTEM = "system"


class Action(StrEnum):
    REPLY = "reply"  # a message with text and no status command
    RESOLVE = "resolve"  # "Resolve this issue" or an approval phrase
    CANCEL = "cancel"
    ESCALATE = "escalate"  # only with an accepted reason; the reason is judged before
    SET_STATUS = "set_status"  # an agent's `#status`
    TIMEOUT = "timeout"  # N business days of silence in an auto-closing status


class Refusal(StrEnum):
    """Why an action was refused; each has a reply template."""

    CLOSED = "closed"
    ALREADY_ESCALATED = "already_escalated"
    SAME_STATUS = "same_status"
    UNKNOWN_STATUS = "unknown_status"
    NOT_ALLOWED = "not_allowed"
    NOT_AN_AGENT = "not_an_agent"  # #assign of an address that is no agent's
    UNKNOWN_PRIORITY = "unknown_priority"  # #priority of a word that is none
    BAD_LABEL = "bad_label"  # #label without add/remove, or a name that is not one
    TOO_MANY_LABELS = "too_many_labels"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    applies_in: frozenset[Status]
    leads_to: tuple[Status, ...]  # empty: allowed, status unchanged


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    from_status: Status
    to_status: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The status machine's verdict on an action: the steps it takes, or why it is refused.

    Not `mailgate.decision.Decision`, the effects of handling a whole message.
    """

    steps: tuple[Step, ...] = ()
    refusal: Refusal | None = None

    @property
    def allowed(self) -> bool:
        return self.refusal is None


RESUMING = frozenset({S.WAITING_FOR_CLIENT, S.AWAITING_CONFIRMATION, S.CANCELLED})

# (actor, action) -> rules, tried in order; the first whose `applies_in` holds wins.
TRANSITIONS: dict[tuple[Actor, Action], tuple[Rule, ...]] = {
    (Actor.CLIENT, Action.REPLY): (
        Rule(applies_in=RESUMING, leads_to=(S.IN_PROGRESS,)),
        Rule(applies_in=OPEN - RESUMING, leads_to=()),
    ),
    (Actor.CLIENT, Action.RESOLVE): (Rule(applies_in=OPEN, leads_to=(S.CLOSED,)),),
    (Actor.CLIENT, Action.CANCEL): (
        Rule(applies_in=OPEN - {S.CANCELLED}, leads_to=(S.CANCELLED, S.CLOSED)),
        Rule(applies_in=frozenset({S.CANCELLED}), leads_to=(S.CLOSED,)),
    ),
    (Actor.CLIENT, Action.ESCALATE): (
        Rule(applies_in=OPEN - {S.ESCALATED}, leads_to=(S.ESCALATED,)),
    ),
    (Actor.AGENT, Action.REPLY): (
        Rule(applies_in=frozenset({S.NEW}), leads_to=(S.IN_PROGRESS,)),
        Rule(applies_in=OPEN - {S.NEW}, leads_to=()),
        # An agent may still write to the client after closing; it reopens nothing.
        Rule(applies_in=frozenset({S.CLOSED}), leads_to=()),
    ),
    (Actor.SYSTEM, Action.TIMEOUT): (Rule(applies_in=AUTO_CLOSING, leads_to=(S.CLOSED,)),),
}


# What the client is told when an action is taken: the table beside TRANSITIONS,
# so that a new status or action is one row here and one template.
CLIENT_NOTICES: dict[tuple[Actor, Action], str] = {
    (Actor.CLIENT, Action.RESOLVE): "closed",
    (Actor.CLIENT, Action.CANCEL): "cancelled",
    (Actor.CLIENT, Action.ESCALATE): "escalation_accepted",
    (Actor.AGENT, Action.REPLY): "agent_answer",
    (Actor.SYSTEM, Action.TIMEOUT): "closed",
}
# An agent's `#status`: by the status set; any other is "status_changed".
SET_STATUS_NOTICES: dict[Status, str] = {
    S.AWAITING_CONFIRMATION: "awaiting_confirmation",
    S.CLOSED: "closed",
}


def notice_for(actor: Actor, action: Action) -> str:
    """The template of the client notice for an allowed action."""
    return CLIENT_NOTICES[(actor, action)]


def set_status_notice(target: Status) -> str:
    return SET_STATUS_NOTICES.get(target, "status_changed")


def decide(
    status: Status, action: Action, *, actor: Actor, target: Status | None = None
) -> Verdict:
    """What `actor` doing `action` does to a request in `status`.

    `target` is the status an agent's `#status` asks for.
    """
    if action is Action.SET_STATUS:
        return _decide_set_status(status, actor=actor, target=target)
    for rule in TRANSITIONS.get((actor, action), ()):
        if status in rule.applies_in:
            return Verdict(steps=_chain(status, rule.leads_to))
    return Verdict(refusal=_refusal_for(status, action, actor))


def _decide_set_status(status: Status, *, actor: Actor, target: Status | None) -> Verdict:
    if actor is not Actor.AGENT:
        return Verdict(refusal=Refusal.NOT_ALLOWED)
    if target is None:
        return Verdict(refusal=Refusal.UNKNOWN_STATUS)
    if status is S.CLOSED:
        return Verdict(refusal=Refusal.CLOSED)
    if status is target:
        return Verdict(refusal=Refusal.SAME_STATUS)
    return Verdict(steps=_chain(status, (target,)))


def _chain(start: Status, statuses: tuple[Status, ...]) -> tuple[Step, ...]:
    steps = []
    current = start
    for status in statuses:
        steps.append(Step(from_status=current, to_status=status))
        current = status
    return tuple(steps)


def _refusal_for(status: Status, action: Action, actor: Actor) -> Refusal:
    if status is S.CLOSED:
        return Refusal.CLOSED
    if actor is Actor.CLIENT and action is Action.ESCALATE and status is S.ESCALATED:
        return Refusal.ALREADY_ESCALATED
    return Refusal.NOT_ALLOWED
