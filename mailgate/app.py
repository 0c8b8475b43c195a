"""Assemble the parts from settings: engine, renderer, calendar, worker."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailgate.apply import Install, Mailbox
from mailgate.business_time import (
    BusinessCalendar,
    CalendarConfigError,
    build_calendar,
)
from mailgate.config import Settings, SlaSettings
from mailgate.deadlines import Deadlines
from mailgate.decision import Rules
from mailgate.domain import Status
from mailgate.errors import ConfigError
from mailgate.notify import Rendered, Renderer, Sender
from mailgate.sla import SlaPolicy
from mailgate.store.database import Store
from mailgate.worker import Clock, Worker


@dataclass(frozen=True, slots=True, kw_only=True)
class App:
    settings: Settings
    store: Store
    install: Install

    @property
    def engine(self):
        return self.store.engine

    def worker(self, clock: Clock) -> Worker:
        return Worker(self.install, self.store, clock=clock)


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


def build_app(settings: Settings, *, store: Store | None = None) -> App:
    """One `Mailbox` per configured mailbox (its rules, templates and From), sharing
    the calendar and the deadlines, which are the install's; on `store` if given (a
    config reloaded by `run` keeps its database)."""
    calendar = business_calendar(settings)
    deadlines = Deadlines(
        calendar=calendar,
        auto_close_days=settings.auto_close_business_days,
        sla_policy=sla_policy(settings.sla),
        priority_policies=priority_policies(settings.sla),
    )

    def mailbox_of(settings: Settings) -> Mailbox:
        renderer = LazyRenderer(
            lambda: Renderer(
                settings.templates_dir,
                sender=Sender(address=settings.support_address, name=settings.smtp.from_name),
                tag_prefix=settings.tag_prefix,
                timezone=calendar.timezone,
                agent_from=settings.agent_from,
            )
        )
        return Mailbox(rules=Rules(settings=settings, deadlines=deadlines), renderer=renderer)

    return App(
        settings=settings,
        store=store or Store(settings.database_url, mailboxes=len(settings.mailboxes)),
        install=Install(tuple(mailbox_of(mailbox) for mailbox in settings.mailboxes)),
    )


class LazyRenderer:
    """A mailbox's `Renderer`, built (Jinja2 loaded, templates compiled) the first
    time a notice is rendered: a round with nothing to send never pays for it.
    `check_templates` renders with it at start when `templates_dir` is the admin's."""

    def __init__(self, build: Callable[[], Renderer]) -> None:
        self._build = build
        self._renderer: Renderer | None = None

    @property
    def built(self) -> bool:
        return self._renderer is not None

    def render(self, *args: Any, **kwargs: Any) -> Rendered:
        if self._renderer is None:
            self._renderer = self._build()
        return self._renderer.render(*args, **kwargs)


def sla_policy(settings: SlaSettings) -> SlaPolicy:
    return SlaPolicy(
        first_response=_hours(settings.first_response_hours),
        resolution=_hours(settings.resolution_hours),
        business_hours=settings.business_hours,
        pausing_statuses=frozenset(Status(name) for name in settings.pausing_statuses),
    )


def priority_policies(settings: SlaSettings) -> dict[str, SlaPolicy]:
    """The policy of each priority that `[sla.priority.NAME]` names (SPEC §16)."""
    common = sla_policy(settings)
    return {name: dataclasses.replace(common, first_response=_hours(first),
                                      resolution=_hours(resolution))
            for name, first, resolution in settings.by_priority}  # fmt: skip


def _hours(value: float | None) -> dt.timedelta | None:
    return dt.timedelta(hours=value) if value else None
