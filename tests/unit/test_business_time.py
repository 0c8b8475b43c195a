"""Pure tests of the business calendar: days, day counting and business time."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.business_time import (
    BusinessCalendar,
    CalendarConfigError,
    add_business_days,
    add_business_time,
    build_calendar,
    business_time_between,
    is_business_day,
    subtract_business_days,
)

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri"]
EVERY_DAY = [*WEEKDAYS, "sat", "sun"]
H = dt.timedelta(hours=1)


def msk(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=MOSCOW)


def ber(*args: int, fold: int = 0) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN, fold=fold)


def same_moment(a: dt.datetime, b: dt.datetime) -> bool:
    """Equal instants and equal UTC offsets (so also equal local wall time)."""
    return a == b and a.utcoffset() == b.utcoffset()


def real_time(a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """b - a in elapsed time: with one shared tzinfo, `-` subtracts wall times."""
    return b.astimezone(dt.UTC) - a.astimezone(dt.UTC)


@pytest.fixture(scope="module")
def russia() -> BusinessCalendar:
    return build_calendar(
        timezone="Europe/Moscow",
        workdays=WEEKDAYS,
        holidays_country="RU",
        holidays=["2026-12-31"],
    )


@pytest.fixture(scope="module")
def plain() -> BusinessCalendar:
    """Monday to Friday, 09:00-18:00 Moscow time, no holidays at all."""
    return build_calendar(timezone="Europe/Moscow", workdays=WEEKDAYS, holidays_country=None)


@pytest.fixture(scope="module")
def berlin() -> BusinessCalendar:
    return build_calendar(timezone="Europe/Berlin", workdays=WEEKDAYS, holidays_country="DE")


@pytest.fixture(scope="module")
def berlin_always() -> BusinessCalendar:
    """Every day a business day, working hours 00:00-23:00: DST nights are inside them."""
    return build_calendar(
        timezone="Europe/Berlin", workdays=EVERY_DAY, day_start="00:00", day_end="23:00"
    )


# --- build_calendar -----------------------------------------------------------


def test_build_calendar_parses_config_values() -> None:
    cal = build_calendar(
        timezone="Europe/Moscow",
        workdays=["Mon", " tue ", "friday"],
        holidays_country="ru",
        holidays=["2026-12-31", dt.date(2026, 12, 30)],
        extra_workdays=["2026-11-28"],
        day_start="8:30",
        day_end=dt.time(17, 0),
    )
    assert cal == BusinessCalendar(
        timezone=MOSCOW,
        workdays=frozenset({0, 1, 4}),
        holidays_country="RU",
        holidays=frozenset({dt.date(2026, 12, 31), dt.date(2026, 12, 30)}),
        extra_workdays=frozenset({dt.date(2026, 11, 28)}),
        day_start=dt.time(8, 30),
        day_end=dt.time(17, 0),
    )


def test_build_calendar_defaults_to_nine_to_six_without_country() -> None:
    cal = build_calendar(timezone="UTC", workdays=WEEKDAYS, holidays_country="")
    assert cal.holidays_country is None
    assert (cal.day_start, cal.day_end) == (dt.time(9), dt.time(18))


@pytest.mark.parametrize(
    ("values", "key", "fragment"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone", "unknown timezone 'Mars/Olympus'"),
        ({"timezone": ""}, "timezone", "timezone is empty"),
        ({"timezone": "../etc/passwd"}, "timezone", "unknown timezone"),
        ({"workdays": ["mon", "funday"]}, "workdays", "unknown weekday 'funday'"),
        ({"workdays": []}, "workdays", "workdays is empty"),
        ({"workdays": "mon"}, "workdays", "must be a list"),
        ({"holidays_country": "XX"}, "holidays_country", "unknown holidays_country 'XX'"),
        ({"holidays_country": "DE-ZZ"}, "holidays_country", "unknown holidays_country 'DE-ZZ'"),
        ({"holidays_country": "Russia!"}, "holidays_country", "not a country code"),
        ({"holidays": ["2026-13-01"]}, "holidays", "holidays holds '2026-13-01', not a date"),
        ({"holidays": [20261231]}, "holidays", "not a date"),
        ({"holidays": [dt.datetime(2026, 12, 31, 9)]}, "holidays", "give a date"),
        ({"extra_workdays": ["next saturday"]}, "extra_workdays", "not a date"),
        (
            {"holidays": ["2026-11-28"], "extra_workdays": ["2026-11-28"]},
            "extra_workdays",
            "2026-11-28 is both in holidays and in extra_workdays",
        ),
        ({"day_start": "9am"}, "day_start", "day_start is '9am'"),
        ({"day_end": "24:00"}, "day_end", "day_end is '24:00'"),
        ({"day_start": "18:00", "day_end": "09:00"}, "day_end", "must be later than day_start"),
    ],
)
def test_build_calendar_rejects_bad_values_naming_the_key(
    values: dict[str, object], key: str, fragment: str
) -> None:
    arguments: dict[str, object] = {
        "timezone": "Europe/Moscow",
        "workdays": WEEKDAYS,
        "holidays_country": "RU",
        **values,
    }
    with pytest.raises(CalendarConfigError) as caught:
        build_calendar(**arguments)  # type: ignore[arg-type]
    assert caught.value.key == key
    assert fragment in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_subdivision_holidays() -> None:
    berlin_state = build_calendar(
        timezone="Europe/Berlin", workdays=WEEKDAYS, holidays_country="DE-BE"
    )
    germany = build_calendar(timezone="Europe/Berlin", workdays=WEEKDAYS, holidays_country="DE")
    womens_day_2027 = dt.date(2027, 3, 8)  # a Monday, a holiday in Berlin only
    assert not is_business_day(berlin_state, womens_day_2027)
    assert is_business_day(germany, womens_day_2027)


# --- is_business_day ----------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2026, 12, 4), True),  # Friday
        (dt.date(2026, 12, 5), False),  # Saturday
        (dt.date(2026, 12, 6), False),  # Sunday
        (dt.date(2026, 12, 30), True),  # Wednesday
        (dt.date(2026, 12, 31), False),  # extra day off (also a transferred one in RU)
        (dt.date(2027, 1, 1), False),  # New Year break ...
        (dt.date(2027, 1, 7), False),  # ... Orthodox Christmas ...
        (dt.date(2027, 1, 8), False),  # ... to the end of the break
        (dt.date(2027, 1, 11), True),  # first working day after it
        (dt.date(2027, 2, 20), True),  # Saturday made a working day by the RU calendar
        (dt.date(2027, 2, 22), False),  # Monday off in exchange
        (dt.date(2027, 2, 23), False),  # Defender of the Fatherland Day
        (dt.date(2026, 5, 11), False),  # Victory Day observed on Monday
    ],
)
def test_is_business_day_in_russia(russia: BusinessCalendar, day: dt.date, expected: bool) -> None:
    assert is_business_day(russia, day) is expected


def test_extra_workday_beats_weekend_and_holiday() -> None:
    cal = build_calendar(
        timezone="Europe/Moscow",
        workdays=WEEKDAYS,
        holidays_country="RU",
        extra_workdays=["2026-11-28", "2027-01-05"],  # a Saturday, a day of the New Year break
    )
    assert is_business_day(cal, dt.date(2026, 11, 28))
    assert is_business_day(cal, dt.date(2027, 1, 5))
    assert not is_business_day(cal, dt.date(2026, 11, 29))


def test_extra_day_off_beats_a_country_working_saturday() -> None:
    cal = build_calendar(
        timezone="Europe/Moscow", workdays=WEEKDAYS, holidays_country="RU", holidays=["2027-02-20"]
    )
    assert not is_business_day(cal, dt.date(2027, 2, 20))


def test_is_business_day_refuses_a_datetime(russia: BusinessCalendar) -> None:
    with pytest.raises(TypeError):
        is_business_day(russia, msk(2026, 12, 30, 10))


# --- add_business_days ----------------------------------------------------------


def test_awaiting_confirmation_on_december_30_closes_after_the_new_year_break(
    russia: BusinessCalendar,
) -> None:
    set_at = msk(2026, 12, 30, 15)
    closes = add_business_days(russia, set_at, 3)
    assert same_moment(closes, msk(2027, 1, 13, 15))
    # The reminder goes one business day before.
    assert same_moment(subtract_business_days(russia, closes, 1), msk(2027, 1, 12, 15))


def test_result_is_in_the_calendar_zone_whatever_the_input_zone(russia: BusinessCalendar) -> None:
    set_at = dt.datetime(2026, 12, 30, 12, tzinfo=dt.UTC)  # 15:00 in Moscow
    closes = add_business_days(russia, set_at, 3)
    assert closes.tzinfo is MOSCOW
    assert same_moment(closes, msk(2027, 1, 13, 15))


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        ((2026, 12, 2, 10, 30), 1, (2026, 12, 3, 10, 30)),  # Wednesday -> Thursday
        ((2026, 12, 3, 10, 30), 3, (2026, 12, 8, 10, 30)),  # Thursday, over the weekend
        ((2026, 12, 4, 23, 59), 1, (2026, 12, 7, 23, 59)),  # after hours keeps the wall time
        ((2026, 12, 7, 6, 0), 1, (2026, 12, 8, 6, 0)),  # so does before hours
        ((2026, 12, 5, 15, 0), 1, (2026, 12, 8, 9, 0)),  # Saturday counts as Monday 09:00
        ((2026, 12, 6, 23, 0), 3, (2026, 12, 10, 9, 0)),  # Sunday likewise
        ((2026, 12, 2, 10, 30), 10, (2026, 12, 16, 10, 30)),
    ],
)
def test_add_business_days_over_weekends(
    plain: BusinessCalendar,
    start: tuple[int, ...],
    n: int,
    expected: tuple[int, ...],
) -> None:
    assert same_moment(add_business_days(plain, msk(*start), n), msk(*expected))


def test_start_on_a_holiday_counts_from_the_next_business_day(russia: BusinessCalendar) -> None:
    assert same_moment(add_business_days(russia, msk(2027, 1, 3, 20), 1), msk(2027, 1, 12, 9))
    assert same_moment(add_business_days(russia, msk(2027, 1, 3, 20), 3), msk(2027, 1, 14, 9))


def test_n_zero(plain: BusinessCalendar, russia: BusinessCalendar) -> None:
    wednesday = msk(2026, 12, 2, 20, 15, 7)
    assert same_moment(add_business_days(plain, wednesday, 0), wednesday)
    assert same_moment(subtract_business_days(plain, wednesday, 0), wednesday)
    # Off a business day, n=0 is the moment counting starts from.
    assert same_moment(add_business_days(russia, msk(2027, 1, 2, 11), 0), msk(2027, 1, 11, 9))
    assert same_moment(subtract_business_days(russia, msk(2027, 1, 2, 11), 0), msk(2027, 1, 11, 9))


def test_n_zero_on_an_ambiguous_wall_time_keeps_the_moment() -> None:
    cal = build_calendar(timezone="Europe/Berlin", workdays=EVERY_DAY)
    second = ber(2026, 10, 25, 2, 30, fold=1)  # 02:30 CET, after the clocks went back
    assert add_business_days(cal, second, 0).utcoffset() == H


def test_transferred_working_saturday_from_config(plain: BusinessCalendar) -> None:
    cal = build_calendar(timezone="Europe/Moscow", workdays=WEEKDAYS, extra_workdays=["2026-11-28"])
    friday = msk(2026, 11, 27, 16)
    assert same_moment(add_business_days(cal, friday, 1), msk(2026, 11, 28, 16))
    assert same_moment(add_business_days(cal, friday, 2), msk(2026, 11, 30, 16))
    assert same_moment(add_business_days(plain, friday, 1), msk(2026, 11, 30, 16))
    assert same_moment(subtract_business_days(cal, msk(2026, 11, 30, 16), 1), msk(2026, 11, 28, 16))


def test_transferred_working_saturday_from_the_country_calendar(russia: BusinessCalendar) -> None:
    friday = msk(2027, 2, 19, 15)
    assert same_moment(add_business_days(russia, friday, 1), msk(2027, 2, 20, 15))
    # Monday 22nd is the day off given for that Saturday; Tuesday 23rd is a holiday.
    assert same_moment(add_business_days(russia, friday, 2), msk(2027, 2, 24, 15))


def test_timer_spanning_a_year_end_without_holidays(plain: BusinessCalendar) -> None:
    # 2026-12-31 is a Thursday, 2027-01-01 a Friday.
    assert same_moment(add_business_days(plain, msk(2026, 12, 30, 15), 3), msk(2027, 1, 4, 15))
    assert same_moment(subtract_business_days(plain, msk(2027, 1, 4, 15), 3), msk(2026, 12, 30, 15))


def test_timer_spanning_a_year_end_in_germany(berlin: BusinessCalendar) -> None:
    # 25 and 26 December and 1 January are holidays; 31 December is not.
    start = ber(2026, 12, 23, 11)
    assert same_moment(add_business_days(berlin, start, 1), ber(2026, 12, 24, 11))
    assert same_moment(add_business_days(berlin, start, 2), ber(2026, 12, 28, 11))
    assert same_moment(add_business_days(berlin, start, 5), ber(2026, 12, 31, 11))
    assert same_moment(add_business_days(berlin, start, 6), ber(2027, 1, 4, 11))


def test_dst_spring_forward_keeps_the_local_wall_time(berlin: BusinessCalendar) -> None:
    friday = ber(2026, 3, 27, 10)  # CET, +01:00; clocks go forward on Sunday 29 March
    monday = add_business_days(berlin, friday, 1)
    assert (monday.date(), monday.time()) == (dt.date(2026, 3, 30), dt.time(10))
    assert monday.utcoffset() == 2 * H
    assert real_time(friday, monday) == 71 * H  # one hour less than three days
    assert same_moment(subtract_business_days(berlin, monday, 1), friday)


def test_dst_fall_back_keeps_the_local_wall_time(berlin: BusinessCalendar) -> None:
    friday = ber(2026, 10, 23, 10)  # CEST, +02:00; clocks go back on Sunday 25 October
    monday = add_business_days(berlin, friday, 1)
    assert (monday.date(), monday.time()) == (dt.date(2026, 10, 26), dt.time(10))
    assert monday.utcoffset() == H
    assert real_time(friday, monday) == 73 * H
    assert same_moment(subtract_business_days(berlin, monday, 1), friday)


def test_a_skipped_wall_time_moves_later_by_the_gap() -> None:
    cal = build_calendar(timezone="Europe/Berlin", workdays=EVERY_DAY)
    result = add_business_days(cal, ber(2026, 3, 28, 2, 30), 1)  # 02:30 does not exist on the 29th
    assert same_moment(result, ber(2026, 3, 29, 3, 30))
    assert result.utcoffset() == 2 * H


def test_a_repeated_wall_time_is_its_first_occurrence() -> None:
    cal = build_calendar(timezone="Europe/Berlin", workdays=EVERY_DAY)
    result = add_business_days(cal, ber(2026, 10, 24, 2, 30), 1)  # 02:30 happens twice on the 25th
    assert (result.date(), result.time()) == (dt.date(2026, 10, 25), dt.time(2, 30))
    assert result.utcoffset() == 2 * H


def test_naive_datetimes_and_negative_counts_are_refused(russia: BusinessCalendar) -> None:
    naive = dt.datetime(2026, 12, 30, 15)
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_days(russia, naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        subtract_business_days(russia, naive, 1)
    with pytest.raises(ValueError, match="timezone-aware"):
        business_time_between(russia, naive, msk(2026, 12, 30, 16))
    with pytest.raises(ValueError, match="timezone-aware"):
        add_business_time(russia, naive, H)
    with pytest.raises(ValueError, match="negative"):
        add_business_days(russia, msk(2026, 12, 30, 15), -1)
    with pytest.raises(ValueError, match="negative"):
        subtract_business_days(russia, msk(2026, 12, 30, 15), -1)
    with pytest.raises(ValueError, match="negative"):
        add_business_time(russia, msk(2026, 12, 30, 15), -H)


# --- subtract_business_days -----------------------------------------------------


def test_subtract_business_days_from_a_weekend_mirrors_add(plain: BusinessCalendar) -> None:
    saturday = msk(2026, 12, 5, 15)  # counts as Monday 09:00
    assert same_moment(subtract_business_days(plain, saturday, 1), msk(2026, 12, 4, 9))
    assert same_moment(add_business_days(plain, msk(2026, 12, 4, 9), 1), msk(2026, 12, 7, 9))


def test_subtract_over_the_new_year_break(russia: BusinessCalendar) -> None:
    assert same_moment(
        subtract_business_days(russia, msk(2027, 1, 11, 10), 1), msk(2026, 12, 30, 10)
    )


# --- business_time_between ------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "hours"),
    [
        ((2026, 12, 2, 10), (2026, 12, 2, 12), 2),  # inside one day
        ((2026, 12, 2, 7), (2026, 12, 2, 10), 1),  # starts before hours
        ((2026, 12, 2, 17), (2026, 12, 2, 23), 1),  # ends after hours
        ((2026, 12, 2, 19), (2026, 12, 3, 8), 0),  # overnight
        ((2026, 12, 2, 0), (2026, 12, 3, 0), 9),  # a whole day
        ((2026, 12, 2, 17), (2026, 12, 3, 10), 2),  # across a night
        ((2026, 12, 4, 17), (2026, 12, 7, 10), 2),  # across a weekend
        ((2026, 12, 5, 10), (2026, 12, 6, 18), 0),  # only weekend
        ((2026, 12, 1, 9), (2026, 12, 8, 9), 45),  # a full week
    ],
)
def test_business_time_between_partial_days(
    plain: BusinessCalendar, a: tuple[int, ...], b: tuple[int, ...], hours: int
) -> None:
    assert business_time_between(plain, msk(*a), msk(*b)) == hours * H


def test_business_time_between_keeps_minutes_and_seconds(plain: BusinessCalendar) -> None:
    a, b = msk(2026, 12, 2, 17, 45, 30), msk(2026, 12, 3, 9, 10)
    assert business_time_between(plain, a, b) == dt.timedelta(minutes=24, seconds=30)


def test_business_time_between_is_zero_when_b_is_not_after_a(plain: BusinessCalendar) -> None:
    a = msk(2026, 12, 2, 12)
    assert business_time_between(plain, a, a) == dt.timedelta(0)
    assert business_time_between(plain, a, a - H) == dt.timedelta(0)


def test_business_time_between_skips_the_new_year_break(russia: BusinessCalendar) -> None:
    a, b = msk(2026, 12, 30, 15), msk(2027, 1, 13, 15)
    assert business_time_between(russia, a, b) == 27 * H  # 3 + 9 + 9 + 6


def test_business_time_between_mixed_zones(plain: BusinessCalendar) -> None:
    a = dt.datetime(2026, 12, 2, 7, tzinfo=dt.UTC)  # 10:00 Moscow
    b = dt.datetime(2026, 12, 2, 12, tzinfo=dt.timezone(dt.timedelta(hours=5)))  # 10:00 Moscow
    assert business_time_between(plain, a, b) == dt.timedelta(0)
    assert business_time_between(plain, a, b + 3 * H) == 3 * H


def test_business_time_between_across_dst_counts_real_hours(berlin: BusinessCalendar) -> None:
    # Nine working hours a day whatever the offset; the weekend in between
    # (with its DST change) counts for nothing.
    assert business_time_between(berlin, ber(2026, 3, 27, 9), ber(2026, 3, 30, 18)) == 18 * H
    assert business_time_between(berlin, ber(2026, 10, 23, 9), ber(2026, 10, 26, 18)) == 18 * H


def test_business_time_between_when_the_change_is_inside_working_hours(
    berlin_always: BusinessCalendar,
) -> None:
    assert business_time_between(berlin_always, ber(2026, 3, 29), ber(2026, 3, 30)) == 22 * H
    assert business_time_between(berlin_always, ber(2026, 10, 25), ber(2026, 10, 26)) == 24 * H
    assert business_time_between(berlin_always, ber(2026, 3, 28), ber(2026, 3, 29)) == 23 * H


# --- add_business_time ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "duration", "expected"),
    [
        ((2026, 12, 2, 10), 2 * H, (2026, 12, 2, 12)),
        ((2026, 12, 2, 10), 8 * H, (2026, 12, 2, 18)),  # ends at day_end, not next day_start
        ((2026, 12, 2, 10), 9 * H, (2026, 12, 3, 10)),
        ((2026, 12, 2, 20), H, (2026, 12, 3, 10)),  # after hours starts next morning
        ((2026, 12, 4, 16), 4 * H, (2026, 12, 7, 11)),  # over a weekend
        ((2026, 12, 5, 16), dt.timedelta(0), (2026, 12, 5, 16)),
    ],
)
def test_add_business_time(
    plain: BusinessCalendar,
    start: tuple[int, ...],
    duration: dt.timedelta,
    expected: tuple[int, ...],
) -> None:
    assert same_moment(add_business_time(plain, msk(*start), duration), msk(*expected))


def test_add_business_time_over_the_new_year_break(russia: BusinessCalendar) -> None:
    assert same_moment(
        add_business_time(russia, msk(2026, 12, 30, 15), 12 * H), msk(2027, 1, 11, 18)
    )


def test_add_business_time_long_durations(plain: BusinessCalendar) -> None:
    start = msk(2026, 1, 5, 9)  # a Monday
    # 100 weeks of 45 working hours end on the Friday of the hundredth week.
    assert same_moment(add_business_time(plain, start, 4500 * H), msk(2027, 12, 3, 18))


# --- properties -----------------------------------------------------------------

moments_in_berlin = st.datetimes(
    min_value=dt.datetime(2025, 1, 1),
    max_value=dt.datetime(2028, 12, 31),
    timezones=st.just(BERLIN),
    allow_imaginary=False,
).map(lambda moment: moment.astimezone(dt.UTC))  # so that < and - compare real instants
pure = settings(database=None, deadline=None, max_examples=150)
BERLIN_CAL = build_calendar(
    timezone="Europe/Berlin",
    workdays=WEEKDAYS,
    holidays_country="DE",
    holidays=["2026-12-31"],
    extra_workdays=["2026-12-26"],
)


@pure
@given(start=moments_in_berlin, n=st.integers(min_value=1, max_value=40))
def test_add_business_days_lands_on_a_business_day_after_start(start: dt.datetime, n: int) -> None:
    result = add_business_days(BERLIN_CAL, start, n)
    assert is_business_day(BERLIN_CAL, result.date())
    assert result > start
    back = subtract_business_days(BERLIN_CAL, result, n)
    assert same_moment(back, add_business_days(BERLIN_CAL, start, 0))


@pure
@given(start=moments_in_berlin, n=st.integers(min_value=0, max_value=40))
def test_subtract_then_add_is_the_anchor(start: dt.datetime, n: int) -> None:
    earlier = subtract_business_days(BERLIN_CAL, start, n)
    assert is_business_day(BERLIN_CAL, earlier.date())
    assert earlier <= start or not is_business_day(BERLIN_CAL, start.astimezone(BERLIN).date())
    again = add_business_days(BERLIN_CAL, earlier, n)
    assert same_moment(again, add_business_days(BERLIN_CAL, start, 0))


@pure
@given(
    start=moments_in_berlin,
    minutes=st.integers(min_value=0, max_value=60 * 9 * 30),
)
def test_add_business_time_is_the_inverse_of_business_time_between(
    start: dt.datetime, minutes: int
) -> None:
    duration = dt.timedelta(minutes=minutes)
    end = add_business_time(BERLIN_CAL, start, duration)
    assert business_time_between(BERLIN_CAL, start, end) == duration
    # It is the earliest such moment.
    if duration:
        assert business_time_between(BERLIN_CAL, start, end - dt.timedelta(seconds=1)) < duration


@pure
@given(a=moments_in_berlin, b=moments_in_berlin, c=moments_in_berlin)
def test_business_time_between_adds_up(a: dt.datetime, b: dt.datetime, c: dt.datetime) -> None:
    a, b, c = sorted((a, b, c))
    whole = business_time_between(BERLIN_CAL, a, c)
    assert whole == business_time_between(BERLIN_CAL, a, b) + business_time_between(
        BERLIN_CAL, b, c
    )
    assert dt.timedelta(0) <= whole <= c - a
