"""The SLA clock of one request, derived from its history and the current time.

Pure: nothing is scheduled and nothing is stored here. The worker calls
`compute_sla` at every loop with the request's status changes, the time of
the first public agent answer and `now`, and acts on the result (notify once
and record a breach whose moment has passed). The rules are in
`docs/business-time.md`:

- First response: from creation until the first public agent answer; it is not
  paused. Closing the request unanswered stops it.
- Resolution: from creation until the request is closed, except while it is in
  a pausing status (`waiting_for_client` by default).
- Both count business time (working hours of the calendar) or wall-clock time,
  as the policy says.
- A target is breached when its clock reaches the target before it stops;
  `*_due_at` is the moment the clock reaches (or will reach) the target.
- Only changes at or before `now` count, so the same history gives the state
  as of any moment.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from mailgate.business_time import BusinessCalendar, add_business_time, business_time_between
from mailgate.domain import Status, StatusChange

__all__ = ["SlaClock", "SlaPolicy", "SlaState", "StatusChange", "compute_sla"]

_ZERO = dt.timedelta(0)
_SECOND = dt.timedelta(seconds=1)


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaPolicy:
    """Targets (None: no target) and how to count time towards them."""

    first_response: dt.timedelta | None = None
    resolution: dt.timedelta | None = None
    business_hours: bool = True  # False: wall-clock time
    pausing_statuses: frozenset[Status] = frozenset({Status.WAITING_FOR_CLIENT})

    def __post_init__(self) -> None:
        for name, target in (
            ("first_response", self.first_response),
            ("resolution", self.resolution),
        ):
            if target is not None and target <= _ZERO:
                raise ValueError(f"the {name} target must be positive, got {target}")
        if Status.CLOSED in self.pausing_statuses:
            raise ValueError("closed cannot be a pausing status: it stops the clock")


class SlaClock(StrEnum):
    """Whether a clock is counting now."""

    RUNNING = "running"
    PAUSED = "paused"  # resolution only: the request is in a pausing status
    STOPPED = "stopped"  # answered (first response) or closed


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaState:
    """The SLA of one request as of one moment. Datetimes are in the calendar's zone.

    `*_due_at` is when the target was or will be reached: set while the clock
    can still breach and when it did breach, None when it stopped in time,
    when there is no target, and while the resolution clock is paused.
    """

    business_hours: bool
    first_response_target: dt.timedelta | None
    first_response_elapsed: dt.timedelta
    first_response_at: dt.datetime | None
    first_response_clock: SlaClock
    first_response_due_at: dt.datetime | None
    first_response_breached: bool
    resolution_target: dt.timedelta | None
    resolution_elapsed: dt.timedelta
    paused_time: dt.timedelta
    resolution_clock: SlaClock
    resolution_due_at: dt.datetime | None
    resolution_breached: bool
    closed_at: dt.datetime | None

    def to_json(self) -> dict[str, object]:
        """The `sla` object of `requests show --json`: ISO 8601 times with offset,
        durations in whole seconds (rounded down)."""
        return {
            "business_hours": self.business_hours,
            "first_response": {
                "target": _seconds(self.first_response_target),
                "elapsed": _seconds(self.first_response_elapsed),
                "clock": self.first_response_clock.value,
                "answered_at": _iso(self.first_response_at),
                "due_at": _iso(self.first_response_due_at),
                "breached": self.first_response_breached,
            },
            "resolution": {
                "target": _seconds(self.resolution_target),
                "elapsed": _seconds(self.resolution_elapsed),
                "paused": _seconds(self.paused_time),
                "clock": self.resolution_clock.value,
                "due_at": _iso(self.resolution_due_at),
                "breached": self.resolution_breached,
            },
        }


def compute_sla(
    *,
    history: Sequence[StatusChange],
    first_response_at: dt.datetime | None,
    now: dt.datetime,
    policy: SlaPolicy,
    calendar: BusinessCalendar,
) -> SlaState:
    """The SLA state of a request as of `now`.

    `history` is the request's status changes in time order, creation first.
    Changes and an answer later than `now` are not known yet and are ignored;
    a `now` before the creation counts as the creation.
    """
    _check_history(history)
    _require_aware(now, "now")
    created = history[0].at
    now = max(now, created, key=_instant)
    zone = calendar.timezone

    measure: Callable[[dt.datetime, dt.datetime], dt.timedelta]
    advance: Callable[[dt.datetime, dt.timedelta], dt.datetime]
    if policy.business_hours:

        def measure(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
            return business_time_between(calendar, a, b)

        def advance(start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
            return add_business_time(calendar, start, duration)
    else:

        def measure(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
            return max(_instant(b) - _instant(a), _ZERO)

        def advance(start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
            return (_instant(start) + duration).astimezone(zone)

    # Segments of constant status up to the close or now; end None: still current.
    known = [change for change in history if _instant(change.at) <= _instant(now)]
    segments: list[tuple[dt.datetime, dt.datetime | None, Status]] = []
    closed_at: dt.datetime | None = None
    for index, change in enumerate(known):
        if change.status == Status.CLOSED:
            closed_at = change.at
            break
        end = known[index + 1].at if index + 1 < len(known) else None
        segments.append((change.at, end, change.status))

    # Resolution clock.
    elapsed = paused = _ZERO
    resolution_due: dt.datetime | None = None
    for start, end, status in segments:
        span = measure(start, now if end is None else end)
        if status in policy.pausing_statuses:
            paused += span
            continue
        if resolution_due is None and policy.resolution is not None:
            remaining = policy.resolution - elapsed
            if end is None or span >= remaining:
                resolution_due = advance(start, remaining)
        elapsed += span
    if closed_at is not None:
        resolution_clock = SlaClock.STOPPED
    elif segments[-1][2] in policy.pausing_statuses:
        resolution_clock = SlaClock.PAUSED
    else:
        resolution_clock = SlaClock.RUNNING
    resolution_breached = _is_breached(resolution_due, closed_at or now)
    if resolution_clock is not SlaClock.RUNNING and not resolution_breached:
        resolution_due = None

    # First response clock.
    answered_at = None
    if first_response_at is not None:
        _require_aware(first_response_at, "first_response_at")
        if _instant(first_response_at) <= _instant(now):
            answered_at = max(first_response_at, created, key=_instant)
    stops = [moment for moment in (answered_at, closed_at) if moment is not None]
    first_stop = min(stops, key=_instant) if stops else now
    first_clock = SlaClock.STOPPED if stops else SlaClock.RUNNING
    first_due = None if policy.first_response is None else advance(created, policy.first_response)
    first_breached = _is_breached(first_due, first_stop)
    if first_clock is SlaClock.STOPPED and not first_breached:
        first_due = None

    return SlaState(
        business_hours=policy.business_hours,
        first_response_target=policy.first_response,
        first_response_elapsed=measure(created, first_stop),
        first_response_at=_local(answered_at, calendar),
        first_response_clock=first_clock,
        first_response_due_at=_local(first_due, calendar),
        first_response_breached=first_breached,
        resolution_target=policy.resolution,
        resolution_elapsed=elapsed,
        paused_time=paused,
        resolution_clock=resolution_clock,
        resolution_due_at=_local(resolution_due, calendar),
        resolution_breached=resolution_breached,
        closed_at=_local(closed_at, calendar),
    )


def _is_breached(due: dt.datetime | None, stop: dt.datetime) -> bool:
    """Reaching the target at the very moment the clock stops is still in time."""
    return due is not None and _instant(due) < _instant(stop)


def _check_history(history: Sequence[StatusChange]) -> None:
    if not history:
        raise ValueError("history is empty: it must start with the creation of the request")
    previous = None
    for change in history:
        _require_aware(change.at, "a status change time")
        if previous is not None and _instant(change.at) < _instant(previous):
            raise ValueError(
                f"history is not in time order: {change.at.isoformat()} "
                f"comes after {previous.isoformat()}"
            )
        previous = change.at


def _instant(moment: dt.datetime) -> dt.datetime:
    """A moment in UTC: comparing or subtracting datetimes that share a tzinfo
    otherwise uses their wall times, which is wrong across a DST change."""
    return moment.astimezone(dt.UTC)


def _require_aware(moment: dt.datetime, name: str) -> None:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def _local(moment: dt.datetime | None, calendar: BusinessCalendar) -> dt.datetime | None:
    return None if moment is None else moment.astimezone(calendar.timezone)


def _seconds(duration: dt.timedelta | None) -> int | None:
    return None if duration is None else duration // _SECOND


def _iso(moment: dt.datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()
