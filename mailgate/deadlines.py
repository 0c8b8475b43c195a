"""When each timer of a request is due, from its history. Pure.

The automatic close, the reminder one business day before it, and the SLA
breach moments are all computed from stored facts (when a status was entered,
the first answer, the status history) and the business calendar; the worker
compares them with the current time at every loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from mailgate.business_time import BusinessCalendar, add_business_days, subtract_business_days
from mailgate.sla import SlaPolicy, SlaState, StatusChange, compute_sla


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadlines:
    calendar: BusinessCalendar
    auto_close_days: int
    sla_policy: SlaPolicy
    # The targets of the priorities `[sla.priority.NAME]` names; others have `sla_policy`.
    priority_policies: Mapping[str, SlaPolicy] = field(default_factory=dict)

    @property
    def has_sla(self) -> bool:
        return any(
            policy.first_response is not None or policy.resolution is not None
            for policy in (self.sla_policy, *self.priority_policies.values())
        )

    def policy(self, priority: str) -> SlaPolicy:
        return self.priority_policies.get(priority, self.sla_policy)

    def auto_close_at(self, entered: dt.datetime) -> dt.datetime:
        """N business days after the request entered an auto-closing status."""
        return add_business_days(self.calendar, entered, self.auto_close_days)

    def remind_at(self, entered: dt.datetime, close_at: dt.datetime) -> dt.datetime | None:
        """One business day before the close; None when that is not after `entered`."""
        moment = subtract_business_days(self.calendar, close_at, 1)
        return moment if moment > entered else None

    def sla(
        self,
        history: Sequence[StatusChange],
        first_response_at: dt.datetime | None,
        now: dt.datetime,
        *,
        priority: str,
    ) -> SlaState:
        """The SLA as of `now`, with the targets of the request's priority as it is now:
        a priority changed later counts from the creation, as if it had always been."""
        return compute_sla(
            history=history,
            first_response_at=first_response_at,
            now=now,
            policy=self.policy(priority),
            calendar=self.calendar,
        )


def next_sla_check(state: SlaState, *, unbreached_only: bool = False) -> dt.datetime | None:
    """The earliest breach moment to look at next.

    After a change every due moment counts, so that a breach not yet recorded
    is found by the next timer round; the timer itself, having recorded the
    breaches, looks only at targets not yet breached.
    """
    moments = [
        due
        for due, breached in (
            (state.first_response_due_at, state.first_response_breached),
            (state.resolution_due_at, state.resolution_breached),
        )
        if due is not None and not (unbreached_only and breached)
    ]
    return min(moments, default=None)
