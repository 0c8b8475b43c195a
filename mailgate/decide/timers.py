"""What a due timer does to a request: the automatic close, the reminder one
business day before it, the SLA breach notice. Pure, like `decide_message`.

Each request carries the moments its timers are next due (`auto_close_at`,
`remind_at`, `sla_check_at`), derived from its history whenever it changes;
the worker fires whatever is due as of `now`, so a worker that was stopped
catches up on its first round.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from enum import StrEnum

from mailgate.deadlines import next_sla_check
from mailgate.decide.draft import Draft
from mailgate.decision import Decision, RequestSnapshot, Rules
from mailgate.workflow import AUTO_CLOSING, Action, Actor, decide, notice_for


class Timer(StrEnum):
    """A timer, by the request column that says when it is due; fired in this order
    (an overdue close needs no reminder)."""

    AUTO_CLOSE = "auto_close_at"
    REMIND = "remind_at"
    SLA = "sla_check_at"


def decide_timer(
    timer: Timer, request: RequestSnapshot, rules: Rules, *, now: dt.datetime
) -> Decision | None:
    """What the due `timer` does, or None when it is not due (any more) as of `now`."""
    moment = getattr(request, timer.value)
    if moment is None or moment > now:
        return None
    draft = Draft(rules, now)
    ref = draft.track(request)
    _TIMERS[timer](draft, ref, rules)
    return draft.decision(request=ref)


def _auto_close(draft: Draft, ref: int, rules: Rules) -> None:
    verdict = decide(draft.request(ref).status, Action.TIMEOUT, actor=Actor.SYSTEM)
    if not verdict.allowed:
        draft.set(ref, auto_close_at=None, remind_at=None)
        return
    days = rules.settings.auto_close_business_days
    detail = f"no reply from the client within {days} business days"
    draft.move(ref, verdict.steps, actor="system", detail=detail, caused=False)
    context = {"by_client": False, "by_timeout": True}
    draft.notify_clients(ref, notice_for(Actor.SYSTEM, Action.TIMEOUT), context=context)


def _remind(draft: Draft, ref: int, rules: Rules) -> None:
    draft.set(ref, remind_at=None)  # one reminder per stay in the status, whatever follows
    request = draft.request(ref)
    if request.status not in AUTO_CLOSING or request.auto_close_at is None:
        return
    detail = f"closes automatically at {request.auto_close_at.isoformat()}"
    draft.event(ref, "reminder", actor="system", detail=detail)
    draft.notify_clients(ref, "reminder", context={})


def _check_sla(draft: Draft, ref: int, rules: Rules) -> None:
    request = draft.request(ref)
    state = rules.deadlines.sla(
        request.history, request.first_response_at, draft.now, priority=request.priority
    )
    settings = rules.settings
    recipients = [*settings.agent_notify, *settings.escalation_notify]
    for target, breached, due in (
        ("first_response", state.first_response_breached, state.first_response_due_at),
        ("resolution", state.resolution_breached, state.resolution_due_at),
    ):
        if not breached or target in request.breaches:
            continue
        draft.event(ref, "sla_breach", actor="system", detail=target)
        context = {"target": target, "due_at": due}
        draft.notify(ref, recipients, "agent_sla_breach", context=context, agents=True)
    draft.set(ref, sla_check_at=next_sla_check(state, unbreached_only=True))


_TIMERS: dict[Timer, Callable[[Draft, int, Rules], None]] = {
    Timer.AUTO_CLOSE: _auto_close,
    Timer.REMIND: _remind,
    Timer.SLA: _check_sla,
}
