"""What an admin's `requests set-status` and `requests note` do. Pure.

They follow the rules of mail (SPEC §11): the address given with `--by` acts
as an agent writing `#status` or `#note` would, so only an agent may, a closed
request stays closed, and the history names that agent. A refusal changes
nothing and is named, for the command to print.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from mailgate.decide.draft import Draft
from mailgate.decide.rating import agent_status_context
from mailgate.decision import Decision, RequestSnapshot, Rules
from mailgate.parse.commands import status_from_words
from mailgate.workflow import Action, Actor, Refusal, decide, set_status_notice

NOT_AN_AGENT = "not_an_agent"
EMPTY_NOTE = "empty_note"


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminDecision:
    decision: Decision | None = None  # None: refused
    refusal: str = ""  # a `Refusal` value, NOT_AN_AGENT or EMPTY_NOTE

    @property
    def allowed(self) -> bool:
        return self.decision is not None


def decide_set_status(
    request: RequestSnapshot, status: str, *, by: str, note: str, rules: Rules, now: dt.datetime
) -> AdminDecision:
    """`status` is a machine name or its words, as after `#status` in mail."""
    if not rules.settings.is_agent(by):
        return AdminDecision(refusal=NOT_AN_AGENT)
    target = status_from_words(status)
    verdict = decide(request.status, Action.SET_STATUS, actor=Actor.AGENT, target=target)
    if not verdict.allowed:
        return AdminDecision(refusal=(verdict.refusal or Refusal.NOT_ALLOWED).value)
    assert target is not None  # an allowed status change names one
    draft = Draft(rules, now)
    ref = draft.track(request)
    detail = note.strip() or f"#status {target.value} (mailgate requests set-status)"
    draft.move(ref, verdict.steps, actor=by, detail=detail, caused=False)
    context = agent_status_context(draft, ref, target)
    draft.notify_clients(ref, set_status_notice(target), context=context)
    return AdminDecision(decision=draft.decision(request=ref))


def decide_note(
    request: RequestSnapshot, text: str, *, by: str, rules: Rules, now: dt.datetime
) -> AdminDecision:
    """An internal note, shown to the other agents, never sent to the client."""
    if not rules.settings.is_agent(by):
        return AdminDecision(refusal=NOT_AN_AGENT)
    if not text.strip():
        return AdminDecision(refusal=EMPTY_NOTE)
    draft = Draft(rules, now)
    ref = draft.track(request)
    draft.set(ref, updated_at=now)
    draft.event(ref, "note", actor=by, detail=text.strip())
    context = {"text": text.strip(), "from": by}
    draft.notify_agents(ref, "agent_note", context=context, besides=by)
    return AdminDecision(decision=draft.decision(request=ref))
