"""Conversation rules of SPEC §15 that deciding a message applies. Pure.

- The owner: an agent's first public answer to an unassigned request makes
  that agent its owner (as RT and Zammad do); `#assign` still changes it.
- Thanks only: a client's reply that only thanks, to a request waiting for
  the client to confirm (or agent-cancelled), keeps the status and its
  automatic-close clock (parse/thanks.py reads the words).
- One mail per event: an answer's `#status` travels inside the answer
  (`status_news`), and the agents' notice of a client's message is one notice,
  chosen by what the message did (`AgentsNotice`).
- Expected answer: the acknowledgement names when the first answer is due
  (`first_answer_due`), from `[sla] first_response_hours` and the calendar.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from mailgate.decide.draft import Draft
from mailgate.decision import RequestRef
from mailgate.domain import InboundMessage, Status
from mailgate.parse.thanks import only_thanks
from mailgate.workflow import AUTO_CLOSING


def claim_if_unowned(draft: Draft, ref: RequestRef, agent: str) -> None:
    """Make `agent` the owner of a request that has none, with a history entry."""
    if draft.request(ref).owner is not None:
        return
    draft.set(ref, owner=agent)
    draft.event(ref, "assign", actor=agent, detail=f"{agent} (first answer)", caused=True)


def first_answer_due(draft: Draft, ref: RequestRef) -> dt.datetime | None:
    """When the first answer to a request is due by the SLA; None without that target."""
    deadlines, request = draft.rules.deadlines, draft.request(ref)
    if deadlines.policy(request.priority).first_response is None:
        return None
    state = deadlines.sla(request.history, request.first_response_at, draft.now,
                          priority=request.priority)  # fmt: skip
    return state.first_response_due_at


def keeps_waiting(message: InboundMessage, status: Status, *, text: str) -> bool:
    """Whether a client's reply leaves an auto-closing status as it is: it only thanks
    (`only_thanks`, which says no to anything it does not know, and to files). `text`
    is its new text without its command lines ("Thanks!" + "Don't notify me")."""
    return status in AUTO_CLOSING and only_thanks(message, text=text)


@dataclass(slots=True)
class AgentsNotice:
    """The one notice the agents get about a client's message: `agent_client_reply`
    unless a command changed more (`agent_status_changed`, `agent_escalated`,
    which also goes to `escalation_notify`)."""

    template: str = "agent_client_reply"
    context: dict[str, object] = field(default_factory=dict)
    also: tuple[str, ...] = ()  # recipients besides the agents
