"""Assemble the parts from settings: engine, renderer, calendar, worker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailgate.business_time import (
    BusinessCalendar,
    CalendarConfigError,
    add_business_days,
    build_calendar,
)
from mailgate.config import Settings
from mailgate.errors import ConfigError
from mailgate.notify import Renderer, Sender
from mailgate.pipeline import Services
from mailgate.store.engine import make_engine, make_sessions
from mailgate.worker import Clock, Worker


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    services: Services

    def worker(self, clock: Clock) -> Worker:
        return Worker(self.services, self.sessions, clock=clock)


def business_calendar(settings: Settings) -> BusinessCalendar:
    hours = settings.business_hours
    try:
        return build_calendar(
            timezone=hours.timezone,
            workdays=hours.workdays,
            holidays_country=hours.holidays_country,
            holidays=hours.holidays,
            extra_workdays=hours.extra_workdays,
            day_start=hours.day_start,
            day_end=hours.day_end,
        )
    except CalendarConfigError as exc:
        raise ConfigError(f"business_hours.{exc.key}", str(exc)) from None


def build_app(settings: Settings) -> App:
    calendar = business_calendar(settings)
    renderer = Renderer(
        settings.templates_dir,
        sender=Sender(address=settings.support_address, name=settings.support_name),
        tag_prefix=settings.tag_prefix,
        timezone=calendar.timezone,
    )
    engine = make_engine(settings.database_url)
    services = Services(
        settings=settings,
        renderer=renderer,
        auto_close_at=partial(_auto_close_at, calendar, settings.auto_close_business_days),
    )
    return App(settings=settings, engine=engine, sessions=make_sessions(engine), services=services)


def _auto_close_at(calendar: BusinessCalendar, days: int, moment: dt.datetime) -> dt.datetime:
    return add_business_days(calendar, moment, days)
