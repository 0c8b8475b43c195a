"""Business days and business time: pure functions over a `BusinessCalendar`.

No clock reads, no I/O, no configuration files: the calendar is built from
plain values (`build_calendar`) and every moment is passed in. All datetimes
must be timezone-aware; the calendar's time zone decides which local date and
wall time a moment falls on. The rules are written down in
`docs/business-time.md`; in short:

- A day is a business day when it is listed in `extra_workdays`; otherwise not
  when it is in `holidays` or is a public holiday of `holidays_country`;
  otherwise when the country's own calendar makes it a working weekend day
  (a transferred working Saturday); otherwise when its weekday is a workday.
- `add_business_days(cal, t, n)` keeps `t`'s local wall time and moves its
  local date to the n-th business day after it. A moment on a day that is not
  a business day counts as `day_start` of the next business day.
- A wall time that does not exist on the target day (spring forward) is moved
  later by the length of the gap; one that exists twice (fall back) is the
  first of the two.
- Business time is the real elapsed time inside `day_start`..`day_end` of
  business days.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessCalendar",
    "CalendarConfigError",
    "add_business_days",
    "add_business_time",
    "build_calendar",
    "business_time_between",
    "is_business_day",
    "subtract_business_days",
]

_WEEKDAYS: dict[str, int] = {
    "mon": 0,
    "tue": 1,
    "wed": 2,
    "thu": 3,
    "fri": 4,
    "sat": 5,
    "sun": 6,
    "monday": 0,
    "tuesday": 1,
    "wednesday": 2,
    "thursday": 3,
    "friday": 4,
    "saturday": 5,
    "sunday": 6,
}
_WEEKDAY_HINT = "use mon, tue, wed, thu, fri, sat, sun"
_CLOCK_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_COUNTRY = re.compile(r"([A-Za-z]{2,3})(?:-([A-Za-z0-9]{1,5}))?")

# However odd the configuration, a week always has a workday and a country
# never takes ten years off: past this many days the search is a bug.
_MAX_SCAN_DAYS = 3660

_UTC = dt.UTC


class CalendarConfigError(ValueError):
    """A `[business_hours]` value is wrong. `key` names the value, e.g. "workdays"."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessCalendar:
    """Which days are worked and which hours of them, in one time zone.

    Build it with `build_calendar` from configuration values; direct
    construction is for callers that already hold parsed values.
    """

    timezone: ZoneInfo
    workdays: frozenset[int]  # date.weekday() numbers, 0 is Monday
    holidays_country: str | None = None  # "RU", or "DE-BE" for a subdivision
    holidays: frozenset[dt.date] = frozenset()  # extra days off
    extra_workdays: frozenset[dt.date] = frozenset()  # worked even on a weekend or holiday
    day_start: dt.time = dt.time(9, 0)
    day_end: dt.time = dt.time(18, 0)

    def __post_init__(self) -> None:
        if not self.workdays:
            raise CalendarConfigError("workdays", "workdays is empty; name at least one weekday")
        if not self.workdays <= frozenset(range(7)):
            raise CalendarConfigError("workdays", "workdays must be weekday numbers 0..6")
        if self.day_start.tzinfo is not None or self.day_end.tzinfo is not None:
            raise CalendarConfigError("day_start", "day_start and day_end are local wall times")
        if self.day_start >= self.day_end:
            raise CalendarConfigError(
                "day_end",
                f"day_end ({self.day_end:%H:%M}) must be later than day_start "
                f"({self.day_start:%H:%M})",
            )
        both = self.holidays & self.extra_workdays
        if both:
            listed = ", ".join(sorted(day.isoformat() for day in both))
            raise CalendarConfigError(
                "extra_workdays", f"{listed} is both in holidays and in extra_workdays"
            )
        if self.holidays_country is not None:
            _check_country(self.holidays_country)


def build_calendar(
    *,
    timezone: str,
    workdays: Sequence[str],
    holidays_country: str | None = None,
    holidays: Iterable[dt.date | str] = (),
    extra_workdays: Iterable[dt.date | str] = (),
    day_start: str | dt.time = "09:00",
    day_end: str | dt.time = "18:00",
) -> BusinessCalendar:
    """Build a calendar from `[business_hours]` values.

    Raises `CalendarConfigError` (a `ValueError`) whose `key` names the bad
    value and whose message says what is wrong and how to fix it.
    """
    country = (holidays_country or "").strip().upper() or None
    return BusinessCalendar(
        timezone=_parse_zone(timezone),
        workdays=_parse_workdays(workdays),
        holidays_country=country,
        holidays=_parse_dates("holidays", holidays),
        extra_workdays=_parse_dates("extra_workdays", extra_workdays),
        day_start=_parse_clock_time("day_start", day_start),
        day_end=_parse_clock_time("day_end", day_end),
    )


def is_business_day(cal: BusinessCalendar, day: dt.date) -> bool:
    """Whether `day` (a local date in the calendar's zone) is a working day."""
    if isinstance(day, dt.datetime):
        raise TypeError("is_business_day takes a date; use moment.astimezone(zone).date()")
    return _is_business_day(cal, day)


def add_business_days(cal: BusinessCalendar, start: dt.datetime, n: int) -> dt.datetime:
    """The moment `n` business days after `start`, in the calendar's zone.

    Same local wall time as `start`, on the n-th business day after its local
    date. When `start` falls on a day that is not a business day, it counts as
    `day_start` of the next business day (so n=0 gives that moment).
    """
    _require_aware(start, "start")
    _require_count(n)
    local = start.astimezone(cal.timezone)
    if n == 0 and _is_business_day(cal, local.date()):
        return local
    day, wall = _anchor(cal, local)
    for _ in range(n):
        day = _step(cal, day, 1)
    return _localize(cal, day, wall)


def subtract_business_days(cal: BusinessCalendar, end: dt.datetime, n: int) -> dt.datetime:
    """The moment `n` business days before `end`, in the calendar's zone.

    The mirror of `add_business_days`, with the same anchoring of a moment on
    a day that is not a business day (`day_start` of the next business day),
    so that `add_business_days(cal, subtract_business_days(cal, t, n), n)`
    is `t` whenever `t` is on a business day.
    """
    _require_aware(end, "end")
    _require_count(n)
    local = end.astimezone(cal.timezone)
    if n == 0 and _is_business_day(cal, local.date()):
        return local
    day, wall = _anchor(cal, local)
    for _ in range(n):
        day = _step(cal, day, -1)
    return _localize(cal, day, wall)


def business_time_between(cal: BusinessCalendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Working time between `a` and `b`: real elapsed time inside the working
    hours of business days. Zero when `b` is not after `a`."""
    _require_aware(a, "a")
    _require_aware(b, "b")
    lo, hi = a.astimezone(_UTC), b.astimezone(_UTC)
    total = dt.timedelta(0)
    if hi <= lo:
        return total
    day = lo.astimezone(cal.timezone).date()
    last = hi.astimezone(cal.timezone).date()
    while day <= last:
        if _is_business_day(cal, day):
            opens, closes = _window(cal, day)
            begin, finish = max(opens, lo), min(closes, hi)
            if finish > begin:
                total += finish - begin
        day += dt.timedelta(days=1)
    return total


def add_business_time(
    cal: BusinessCalendar, start: dt.datetime, duration: dt.timedelta
) -> dt.datetime:
    """The earliest moment at which `duration` of business time has passed
    since `start`, in the calendar's zone.

    `business_time_between(cal, start, result) == duration`. A duration that
    ends exactly at `day_end` gives that `day_end`, not the next `day_start`.
    """
    _require_aware(start, "start")
    if duration < dt.timedelta(0):
        raise ValueError(f"duration must not be negative, got {duration}")
    if not duration:
        return start.astimezone(cal.timezone)
    moment = start.astimezone(_UTC)
    remaining = duration
    day = moment.astimezone(cal.timezone).date()
    idle_days = 0
    while idle_days < _MAX_SCAN_DAYS:
        idle_days += 1
        if _is_business_day(cal, day):
            opens, closes = _window(cal, day)
            begin = max(opens, moment)
            if closes > begin:
                idle_days = 0
                available = closes - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(cal.timezone)
                remaining -= available
        day += dt.timedelta(days=1)
    raise ValueError(f"no business time within ten years of {day}; check the calendar")


# --- internals ---------------------------------------------------------------


def _is_business_day(cal: BusinessCalendar, day: dt.date) -> bool:
    if day in cal.extra_workdays:
        return True
    if day in cal.holidays:
        return False
    if cal.holidays_country is not None:
        days_off, weekend_workdays = _country_year(cal.holidays_country, day.year)
        if day in days_off:
            return False
        if day in weekend_workdays:
            return True
    return day.weekday() in cal.workdays


@functools.lru_cache(maxsize=1024)
def _country_year(country: str, year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """A country's public holidays and working weekend days in one year.

    Cached: the `holidays` package takes a fraction of a millisecond per year,
    and timers ask about the same few years for thousands of requests.
    """
    import holidays as holidays_package  # with the first holiday looked up or checked

    code, subdivision = _split_country(country)
    table = holidays_package.country_holidays(code, subdiv=subdivision, years=year)
    days_off = frozenset(table)
    weekend_workdays = frozenset(getattr(table, "weekend_workdays", ()))
    return days_off, weekend_workdays


def _split_country(country: str) -> tuple[str, str | None]:
    match = _COUNTRY.fullmatch(country)
    if match is None:
        raise CalendarConfigError(
            "holidays_country",
            f"holidays_country {country!r} is not a country code; "
            'use an ISO 3166 code such as "RU", or "DE-BE" for a subdivision',
        )
    return match.group(1).upper(), match.group(2).upper() if match.group(2) else None


def _check_country(country: str) -> None:
    """A country is looked up in the package's registry: building its calendar, even
    for no year, imports every country the package has (about a tenth of a second
    of each start). A subdivision needs the country's own list, so that builds it."""
    code, subdivision = _split_country(country)
    try:
        if code not in _country_codes():
            raise NotImplementedError(f"Country {code} not available")
        if subdivision is not None:
            import holidays as holidays_package

            holidays_package.country_holidays(code, subdiv=subdivision, years=())
    except NotImplementedError as exc:
        what = "country" if subdivision is None else "country or subdivision"
        raise CalendarConfigError(
            "holidays_country",
            f"unknown holidays_country {country!r}: the holidays package has no such {what} "
            f'({exc}); use an ISO 3166 code such as "RU", or leave it empty',
        ) from None


@functools.cache
def _country_codes() -> frozenset[str]:
    """The ISO 3166 alpha-2 and alpha-3 codes (and other names) `country_holidays` takes.

    Read from the source of the package's registry when it is where it has been:
    importing `holidays` costs a start a twentieth of a second (its Hebrew
    calendar's tables alone), reading the table a few milliseconds.
    """
    try:
        countries = _registry_table()
    except (OSError, SyntaxError, ValueError, TypeError, LookupError):
        from holidays.registry import COUNTRIES as countries
    return frozenset(name for names in countries.values() for name in names)


def _registry_table() -> dict[str, tuple[str, ...]]:
    """`holidays.registry.COUNTRIES`, read as a literal without importing the package."""
    import ast
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("holidays")
    if spec is None or not spec.submodule_search_locations:
        raise LookupError("holidays is not a package here")
    source = (Path(spec.submodule_search_locations[0]) / "registry.py").read_text("utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.AnnAssign | ast.Assign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(target, ast.Name) and target.id == "COUNTRIES" for target in targets):
                table = ast.literal_eval(node.value)
                if isinstance(table, dict) and table:
                    return table
    raise LookupError("no COUNTRIES table in holidays/registry.py")


def _anchor(cal: BusinessCalendar, local: dt.datetime) -> tuple[dt.date, dt.time]:
    """The business day and wall time a moment counts from."""
    day = local.date()
    if _is_business_day(cal, day):
        return day, local.time()
    return _step(cal, day, 1), cal.day_start


def _step(cal: BusinessCalendar, day: dt.date, direction: int) -> dt.date:
    """The next (direction 1) or previous (-1) business day, never `day` itself."""
    one = dt.timedelta(days=direction)
    for _ in range(_MAX_SCAN_DAYS):
        day += one
        if _is_business_day(cal, day):
            return day
    raise ValueError(f"no business day within ten years of {day}; check the calendar")


def _localize(cal: BusinessCalendar, day: dt.date, wall: dt.time) -> dt.datetime:
    """Wall time on a local date as a moment in the calendar's zone.

    fold=0: a skipped wall time is read with the offset in force before the
    change, which moves it later by the length of the gap (02:30 -> 03:30 on a
    spring-forward night); a repeated wall time is its first occurrence.
    Normalising through UTC turns the result into a real wall time.
    """
    return _utc_wall_time(cal.timezone, day, wall).astimezone(cal.timezone)


def _window(cal: BusinessCalendar, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """Working hours of a local date, as UTC moments (so subtraction is real time)."""
    return _utc_window(cal.timezone, cal.day_start, cal.day_end, day)


@functools.lru_cache(maxsize=8192)
def _utc_window(
    zone: ZoneInfo, start: dt.time, end: dt.time, day: dt.date
) -> tuple[dt.datetime, dt.datetime]:
    # Cached: SLA clocks of many requests walk the same recent days.
    return (_utc_wall_time(zone, day, start), _utc_wall_time(zone, day, end))


def _utc_wall_time(zone: ZoneInfo, day: dt.date, wall: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, wall.replace(fold=0), tzinfo=zone).astimezone(_UTC)


def _require_aware(moment: dt.datetime, name: str) -> None:
    if not isinstance(moment, dt.datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {moment.isoformat()}")


def _require_count(n: int) -> None:
    if n < 0:
        raise ValueError(f"n must not be negative, got {n}")


def _parse_zone(name: str) -> ZoneInfo:
    hint = 'use an IANA name such as "Europe/Moscow" or "UTC"'
    if not isinstance(name, str) or not name.strip():
        raise CalendarConfigError("timezone", f"timezone is empty; {hint}")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarConfigError("timezone", f"unknown timezone {name!r}; {hint}") from None


def _parse_workdays(names: Sequence[str]) -> frozenset[int]:
    if isinstance(names, str):
        raise CalendarConfigError(
            "workdays", f'workdays must be a list such as ["mon", "tue"], got {names!r}'
        )
    numbers = set()
    for name in names:
        key = name.strip().lower() if isinstance(name, str) else None
        if key not in _WEEKDAYS:
            raise CalendarConfigError(
                "workdays", f"unknown weekday {name!r} in workdays; {_WEEKDAY_HINT}"
            )
        numbers.add(_WEEKDAYS[key])
    if not numbers:
        raise CalendarConfigError("workdays", f"workdays is empty; {_WEEKDAY_HINT}")
    return frozenset(numbers)


def _parse_dates(key: str, values: Iterable[dt.date | str]) -> frozenset[dt.date]:
    if isinstance(values, str):
        raise CalendarConfigError(
            key, f'{key} must be a list of dates such as ["2026-12-31"], got {values!r}'
        )
    days = set()
    for value in values:
        if isinstance(value, dt.datetime):
            raise CalendarConfigError(key, f"{key} holds a date and time {value}; give a date")
        if isinstance(value, dt.date):
            days.add(value)
            continue
        try:
            days.add(dt.date.fromisoformat(value.strip()))
        except (AttributeError, TypeError, ValueError):
            raise CalendarConfigError(
                key, f"{key} holds {value!r}, not a date; write it as YYYY-MM-DD"
            ) from None
    return frozenset(days)


def _parse_clock_time(key: str, value: str | dt.time) -> dt.time:
    if isinstance(value, dt.time):
        if value.tzinfo is not None:
            raise CalendarConfigError(key, f"{key} is a local wall time; drop the offset")
        return value
    match = _CLOCK_TIME.fullmatch(value.strip()) if isinstance(value, str) else None
    hours, minutes = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
    if hours > 23 or minutes > 59:
        raise CalendarConfigError(key, f'{key} is {value!r}; write a time such as "09:00"')
    return dt.time(hours, minutes)
