"""Pure tests of the SLA clock: pauses, stops, breaches and their moments."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.business_time import BusinessCalendar, build_calendar, business_time_between
from mailgate.domain import Status
from mailgate.sla import SlaClock, SlaPolicy, SlaState, StatusChange, compute_sla

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
H = dt.timedelta(hours=1)
ZERO = dt.timedelta(0)

# Monday to Friday, 09:00-18:00 Moscow time, no holidays. 2026-12-07 is a Monday.
CAL = build_calendar(timezone="Europe/Moscow", workdays=WEEKDAYS)
BUSINESS = SlaPolicy(first_response=2 * H, resolution=8 * H, business_hours=True)
WALL = SlaPolicy(first_response=2 * H, resolution=8 * H, business_hours=False)


def msk(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MOSCOW)


def history(*changes: tuple[dt.datetime, Status]) -> list[StatusChange]:
    return [StatusChange(at=at, status=status) for at, status in changes]


def sla(
    changes: list[StatusChange],
    *,
    now: dt.datetime,
    policy: SlaPolicy = BUSINESS,
    answered: dt.datetime | None = None,
    calendar: BusinessCalendar = CAL,
) -> SlaState:
    return compute_sla(
        history=changes, first_response_at=answered, now=now, policy=policy, calendar=calendar
    )


# Created Monday 10:00; answered 11:00; waiting for the client from 12:00
# until the client's reply on Tuesday 12:00.
PAUSED_ONCE = history(
    (msk(2026, 12, 7, 10), Status.NEW),
    (msk(2026, 12, 7, 11), Status.IN_PROGRESS),
    (msk(2026, 12, 7, 12), Status.WAITING_FOR_CLIENT),
    (msk(2026, 12, 8, 12), Status.IN_PROGRESS),
)


# --- resolution clock -------------------------------------------------------------


def test_time_waiting_for_the_client_is_not_counted_in_business_hours() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 8, 14), answered=msk(2026, 12, 7, 11))
    assert state.resolution_elapsed == 4 * H  # 10-12 on Monday, 12-14 on Tuesday
    assert state.paused_time == 9 * H  # 12-18 on Monday, 09-12 on Tuesday
    assert state.resolution_clock is SlaClock.RUNNING
    # 4 hours left from Tuesday 14:00: Tuesday 18:00.
    assert state.resolution_due_at == msk(2026, 12, 8, 18)
    assert not state.resolution_breached


def test_time_waiting_for_the_client_is_not_counted_in_wall_clock_time() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 8, 14), policy=WALL)
    assert state.resolution_elapsed == 4 * H
    assert state.paused_time == 24 * H
    assert state.resolution_due_at == msk(2026, 12, 8, 18)


def test_while_paused_there_is_no_due_moment() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 7, 16))
    assert state.resolution_clock is SlaClock.PAUSED
    assert state.resolution_elapsed == 2 * H
    assert state.paused_time == 4 * H
    assert state.resolution_due_at is None
    assert not state.resolution_breached


def test_the_pausing_statuses_are_configurable() -> None:
    changes = history(
        (msk(2026, 12, 7, 10), Status.NEW),
        (msk(2026, 12, 7, 11), Status.ON_HOLD),
        (msk(2026, 12, 7, 13), Status.WAITING_FOR_CLIENT),
        (msk(2026, 12, 7, 14), Status.IN_PROGRESS),
    )
    default = sla(changes, now=msk(2026, 12, 7, 15))
    assert (default.resolution_elapsed, default.paused_time) == (4 * H, H)
    on_hold_only = SlaPolicy(resolution=8 * H, pausing_statuses=frozenset({Status.ON_HOLD}))
    custom = sla(changes, now=msk(2026, 12, 7, 15), policy=on_hold_only)
    assert (custom.resolution_elapsed, custom.paused_time) == (3 * H, 2 * H)
    nothing = SlaPolicy(resolution=8 * H, pausing_statuses=frozenset())
    assert sla(changes, now=msk(2026, 12, 7, 15), policy=nothing).paused_time == ZERO


def test_closing_stops_the_clock() -> None:
    changes = [*PAUSED_ONCE, StatusChange(at=msk(2026, 12, 8, 15), status=Status.CLOSED)]
    state = sla(changes, now=msk(2026, 12, 21, 12), answered=msk(2026, 12, 7, 11))
    assert state.resolution_elapsed == 5 * H
    assert state.paused_time == 9 * H
    assert state.resolution_clock is SlaClock.STOPPED
    assert state.closed_at == msk(2026, 12, 8, 15)
    assert state.resolution_due_at is None  # closed in time: no breach will happen
    assert not state.resolution_breached


def test_cancel_then_close_at_once_stops_the_clock() -> None:
    changes = history(
        (msk(2026, 12, 7, 10), Status.NEW),
        (msk(2026, 12, 7, 10, 30), Status.CANCELLED),
        (msk(2026, 12, 7, 10, 30), Status.CLOSED),
    )
    state = sla(changes, now=msk(2026, 12, 9, 10))
    assert state.resolution_elapsed == H / 2
    assert state.first_response_elapsed == H / 2
    assert state.first_response_clock is SlaClock.STOPPED
    assert not state.first_response_breached
    assert state.first_response_due_at is None


def test_a_breach_before_a_pause_stays_a_breach() -> None:
    changes = history(
        (msk(2026, 12, 7, 10), Status.NEW),
        (msk(2026, 12, 7, 11), Status.IN_PROGRESS),
        (msk(2026, 12, 9, 11), Status.WAITING_FOR_CLIENT),
    )
    state = sla(changes, now=msk(2026, 12, 10, 12))
    assert state.resolution_clock is SlaClock.PAUSED
    assert state.resolution_elapsed == 19 * H  # 8 + 9 + 2
    assert state.resolution_breached
    assert state.resolution_due_at == msk(2026, 12, 7, 18)  # 8 hours from Monday 10:00


def test_a_breach_is_when_the_target_was_reached_not_when_it_was_seen() -> None:
    changes = [*PAUSED_ONCE, StatusChange(at=msk(2026, 12, 10, 10), status=Status.CLOSED)]
    state = sla(changes, now=msk(2026, 12, 14, 10))
    # 2 hours on Monday, then 6 more from Tuesday 12:00: Tuesday 18:00.
    assert state.resolution_breached
    assert state.resolution_due_at == msk(2026, 12, 8, 18)
    assert state.resolution_clock is SlaClock.STOPPED


def test_reaching_the_target_at_day_end_breaches_only_after_it() -> None:
    changes = history((msk(2026, 12, 7, 10), Status.NEW))
    at_due = sla(changes, now=msk(2026, 12, 7, 18))
    assert at_due.resolution_elapsed == 8 * H
    assert at_due.resolution_due_at == msk(2026, 12, 7, 18)
    assert not at_due.resolution_breached
    evening = sla(changes, now=msk(2026, 12, 7, 20))
    assert evening.resolution_elapsed == 8 * H  # the business clock did not move
    assert evening.resolution_breached
    assert evening.resolution_due_at == msk(2026, 12, 7, 18)


def test_closing_exactly_at_the_due_moment_is_in_time() -> None:
    changes = history(
        (msk(2026, 12, 7, 10), Status.NEW),
        (msk(2026, 12, 7, 18), Status.CLOSED),
    )
    state = sla(changes, now=msk(2026, 12, 8, 10))
    assert not state.resolution_breached
    assert state.resolution_due_at is None


def test_business_hours_and_wall_clock_targets_differ() -> None:
    changes = history((msk(2026, 12, 4, 16), Status.NEW))  # a Friday
    now = msk(2026, 12, 7, 11)  # Monday
    business = sla(changes, now=now)
    assert business.resolution_elapsed == 4 * H
    assert business.resolution_due_at == msk(2026, 12, 7, 15)
    assert not business.resolution_breached
    wall = sla(changes, now=now, policy=WALL)
    assert wall.resolution_elapsed == 67 * H
    assert wall.resolution_due_at == msk(2026, 12, 5, 0)
    assert wall.resolution_breached


def test_wall_clock_targets_count_real_time_across_dst() -> None:
    calendar = build_calendar(timezone="Europe/Berlin", workdays=WEEKDAYS, holidays_country="DE")
    policy = SlaPolicy(first_response=24 * H, business_hours=False)
    created = dt.datetime(2026, 3, 28, 12, tzinfo=BERLIN)  # CET; clocks go forward that night
    state = sla(
        history((created, Status.NEW)),
        now=dt.datetime(2026, 3, 29, 12, 30, tzinfo=BERLIN),
        policy=policy,
        calendar=calendar,
    )
    assert state.first_response_due_at == dt.datetime(2026, 3, 29, 13, tzinfo=BERLIN)
    assert state.first_response_due_at.utcoffset() == 2 * H
    assert state.first_response_elapsed == 23.5 * H
    assert not state.first_response_breached


# --- first response clock --------------------------------------------------------


def test_first_response_in_time() -> None:
    changes = history((msk(2026, 12, 4, 17), Status.NEW))  # Friday, one working hour left
    state = sla(changes, now=msk(2026, 12, 7, 12), answered=msk(2026, 12, 7, 9, 45))
    assert state.first_response_elapsed == 1.75 * H
    assert state.first_response_at == msk(2026, 12, 7, 9, 45)
    assert state.first_response_clock is SlaClock.STOPPED
    assert not state.first_response_breached
    assert state.first_response_due_at is None


def test_first_response_due_and_breach_in_business_hours() -> None:
    changes = history((msk(2026, 12, 4, 17), Status.NEW))
    waiting = sla(changes, now=msk(2026, 12, 7, 9, 30))
    assert waiting.first_response_elapsed == 1.5 * H
    assert waiting.first_response_due_at == msk(2026, 12, 7, 10)
    assert waiting.first_response_clock is SlaClock.RUNNING
    assert not waiting.first_response_breached
    late = sla(changes, now=msk(2026, 12, 7, 10, 30))
    assert late.first_response_breached
    assert late.first_response_due_at == msk(2026, 12, 7, 10)
    answered_late = sla(changes, now=msk(2026, 12, 8, 10), answered=msk(2026, 12, 7, 11))
    assert answered_late.first_response_breached
    assert answered_late.first_response_elapsed == 3 * H
    assert answered_late.first_response_due_at == msk(2026, 12, 7, 10)


def test_first_response_breach_in_wall_clock_time() -> None:
    changes = history((msk(2026, 12, 4, 17), Status.NEW))
    state = sla(changes, now=msk(2026, 12, 4, 19, 1), policy=WALL)
    assert state.first_response_due_at == msk(2026, 12, 4, 19)
    assert state.first_response_breached


def test_first_response_is_not_paused() -> None:
    changes = history(
        (msk(2026, 12, 7, 10), Status.NEW),
        (msk(2026, 12, 7, 10, 30), Status.WAITING_FOR_CLIENT),
    )
    state = sla(changes, now=msk(2026, 12, 7, 12, 30))
    assert state.first_response_elapsed == 2.5 * H
    assert state.first_response_breached
    assert state.resolution_elapsed == H / 2


def test_no_targets_means_no_due_moments_and_no_breaches() -> None:
    changes = history((msk(2026, 12, 1, 10), Status.NEW))
    state = sla(changes, now=msk(2026, 12, 30, 10), policy=SlaPolicy())
    assert state.first_response_target is None and state.resolution_target is None
    assert state.first_response_due_at is None and state.resolution_due_at is None
    assert not state.first_response_breached and not state.resolution_breached
    # 8 hours on the 1st, 20 full working days, 1 hour on the 30th.
    assert state.resolution_elapsed == 8 * H + 20 * 9 * H + H


# --- as of `now` ----------------------------------------------------------------------


def test_changes_and_answers_after_now_are_not_known_yet() -> None:
    changes = [*PAUSED_ONCE, StatusChange(at=msk(2026, 12, 8, 15), status=Status.CLOSED)]
    state = sla(changes, now=msk(2026, 12, 7, 10, 30), answered=msk(2026, 12, 7, 11))
    assert state.resolution_clock is SlaClock.RUNNING
    assert state.closed_at is None
    assert state.first_response_at is None
    assert state.first_response_clock is SlaClock.RUNNING
    assert state.first_response_elapsed == H / 2
    assert state.resolution_elapsed == H / 2


def test_now_before_creation_counts_as_the_creation() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 1, 10))
    assert state.resolution_elapsed == ZERO
    assert state.first_response_elapsed == ZERO
    assert state.resolution_due_at == msk(2026, 12, 7, 18)
    assert not state.resolution_breached


def test_an_answer_stamped_before_creation_counts_as_instant() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 7, 12), answered=msk(2026, 12, 7, 9))
    assert state.first_response_elapsed == ZERO
    assert state.first_response_at == msk(2026, 12, 7, 10)


def test_times_in_other_zones_are_reported_in_the_calendar_zone() -> None:
    created = dt.datetime(2026, 12, 7, 7, tzinfo=dt.UTC)  # 10:00 Moscow
    state = sla(history((created, Status.NEW)), now=dt.datetime(2026, 12, 7, 8, tzinfo=dt.UTC))
    assert state.resolution_elapsed == H
    assert state.resolution_due_at is not None
    assert state.resolution_due_at.tzinfo is MOSCOW
    assert state.resolution_due_at == msk(2026, 12, 7, 18)


# --- validation -----------------------------------------------------------------------


def test_bad_history_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        sla([], now=msk(2026, 12, 7, 10))
    backwards = history((msk(2026, 12, 7, 10), Status.NEW), (msk(2026, 12, 7, 9), Status.CLOSED))
    with pytest.raises(ValueError, match="time order"):
        sla(backwards, now=msk(2026, 12, 7, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        sla(history((dt.datetime(2026, 12, 7, 10), Status.NEW)), now=msk(2026, 12, 7, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        sla(PAUSED_ONCE, now=dt.datetime(2026, 12, 7, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        sla(PAUSED_ONCE, now=msk(2026, 12, 7, 12), answered=dt.datetime(2026, 12, 7, 11))


@pytest.mark.parametrize(
    "arguments",
    [
        {"first_response": ZERO},
        {"resolution": -H},
        {"pausing_statuses": frozenset({Status.CLOSED})},
    ],
)
def test_bad_policies_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        SlaPolicy(**arguments)  # type: ignore[arg-type]


# --- JSON -----------------------------------------------------------------------------


def test_to_json_is_the_sla_object_of_requests_show() -> None:
    state = sla(PAUSED_ONCE, now=msk(2026, 12, 8, 14, 0, 30), answered=msk(2026, 12, 7, 11))
    data = state.to_json()
    assert data == {
        "business_hours": True,
        "first_response": {
            "target": 7200,
            "elapsed": 3600,
            "clock": "stopped",
            "answered_at": "2026-12-07T11:00:00+03:00",
            "due_at": None,
            "breached": False,
        },
        "resolution": {
            "target": 28800,
            "elapsed": 14430,
            "paused": 32400,
            "clock": "running",
            "due_at": "2026-12-08T18:00:00+03:00",
            "breached": False,
        },
    }
    assert json.loads(json.dumps(data)) == data


def test_to_json_rounds_durations_down_to_whole_seconds() -> None:
    changes = history((msk(2026, 12, 7, 10), Status.NEW))
    state = sla(changes, now=msk(2026, 12, 7, 10, 0, 1, 999_999), policy=SlaPolicy())
    data = state.to_json()
    assert data["resolution"] == {
        "target": None,
        "elapsed": 1,
        "paused": 0,
        "clock": "running",
        "due_at": None,
        "breached": False,
    }


# --- properties -------------------------------------------------------------------------

statuses = st.sampled_from([s for s in Status if s is not Status.CLOSED])
offsets = st.integers(min_value=0, max_value=60 * 24 * 20)  # minutes, up to 20 days


@settings(database=None, deadline=None, max_examples=100)
@given(
    steps=st.lists(st.tuples(offsets, statuses), max_size=6),
    now_offset=offsets,
    business_hours=st.booleans(),
    closes=st.booleans(),
)
def test_elapsed_and_paused_add_up_to_the_whole_time(
    steps: list[tuple[int, Status]], now_offset: int, business_hours: bool, closes: bool
) -> None:
    created = msk(2026, 12, 4, 15)
    changes = [StatusChange(at=created, status=Status.NEW)]
    for minutes, status in sorted(steps, key=lambda step: step[0]):
        changes.append(StatusChange(at=created + dt.timedelta(minutes=minutes), status=status))
    if closes:
        changes.append(StatusChange(at=changes[-1].at + H, status=Status.CLOSED))
    now = created + dt.timedelta(minutes=now_offset)
    policy = SlaPolicy(resolution=10 * H, first_response=H, business_hours=business_hours)
    state = sla(changes, now=now, policy=policy)

    stop = state.closed_at or now
    whole = business_time_between(CAL, created, stop) if business_hours else stop - created
    assert state.resolution_elapsed + state.paused_time == whole
    if state.resolution_elapsed > policy.resolution:
        assert state.resolution_breached
    if state.resolution_elapsed < policy.resolution:
        assert not state.resolution_breached
    if state.resolution_due_at is not None and not state.resolution_breached:
        assert state.resolution_due_at >= now
