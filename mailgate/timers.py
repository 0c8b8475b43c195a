"""Timers derived from stored state and the current time, never scheduled.

Each request carries the moments its timers are next due (`auto_close_at`,
`remind_at`, `sla_check_at`), derived from its history whenever it changes. A
round fires whatever is due as of `now`, so a worker that was stopped catches
up on its first round; each timer re-checks under the row lock and leaves a
history event, so none fires twice, across restarts and workers alike.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from mailgate.deadlines import next_sla_check
from mailgate.domain import Status
from mailgate.notify import Notice
from mailgate.pipeline import (
    Services,
    change_status,
    client_recipients,
    enqueue_notices,
    request_context,
)
from mailgate.store import repository as repo
from mailgate.store.models import Request
from mailgate.workflow import AUTO_CLOSING, Action, Actor, decide

log = logging.getLogger(__name__)


def run_timers(sessions: sessionmaker[Session], services: Services, *, now: dt.datetime) -> int:
    """Fire every due timer. Returns how many fired."""
    fired = 0
    for column, timer in (
        ("auto_close_at", _auto_close),  # first: an overdue close needs no reminder
        ("remind_at", _remind),
        ("sla_check_at", _check_sla),
    ):
        with sessions() as session:
            due = repo.due_requests(session, column, now)
        for number in due:
            with sessions.begin() as session:
                request = repo.lock_request(session, number)
                moment = getattr(request, column) if request else None
                # Re-read under the lock: a reply or another worker may have changed it.
                if request is not None and moment is not None and moment <= now:
                    fired += timer(session, services, request, now)
    return fired


def _auto_close(session: Session, services: Services, request: Request, now: dt.datetime) -> bool:
    decision = decide(Status(request.status), Action.TIMEOUT, actor=Actor.SYSTEM)
    if not decision.allowed:
        request.auto_close_at = request.remind_at = None
        return False
    days = services.settings.auto_close_business_days
    detail = f"no reply from the client within {days} business days"
    change_status(
        session, services, request, decision.steps, actor="system", now=now, detail=detail
    )
    _notify_clients(session, services, request, "closed", now, by_client=False, by_timeout=True)
    log.info("request closed automatically", extra={"request": request.id})
    return True


def _remind(session: Session, services: Services, request: Request, now: dt.datetime) -> bool:
    request.remind_at = None  # one reminder per stay in the status, whatever happens next
    if request.status not in AUTO_CLOSING or request.auto_close_at is None:
        return False
    repo.add_event(
        session,
        request_id=request.id,
        at=now,
        actor="system",
        kind="reminder",
        detail=f"closes automatically at {request.auto_close_at.isoformat()}",
    )
    _notify_clients(session, services, request, "reminder", now)
    return True


def _check_sla(session: Session, services: Services, request: Request, now: dt.datetime) -> bool:
    deadlines = services.deadlines
    history = repo.status_history(session, request.id)
    state = deadlines.sla(history, request.first_response_at, now)
    fired = False
    for target, breached, due in (
        ("first_response", state.first_response_breached, state.first_response_due_at),
        ("resolution", state.resolution_breached, state.resolution_due_at),
    ):
        if not breached or repo.has_event(session, request.id, "sla_breach", target):
            continue
        repo.add_event(session, request_id=request.id, at=now, actor="system",
                       kind="sla_breach", detail=target)  # fmt: skip
        settings = services.settings
        recipients = dict.fromkeys([*settings.agent_notify, *settings.escalation_notify])
        notices = [
            Notice(
                template="agent_sla_breach",
                recipient=recipient,
                language="en",
                context={
                    "target": target,
                    "due_at": due,
                    "status": request.status,
                    "request": request_context(request),
                },
            )
            for recipient in recipients
        ]
        enqueue_notices(session, services, request, notices, now=now)
        log.warning("SLA breached", extra={"request": request.id, "target": target})
        fired = True
    request.sla_check_at = next_sla_check(state, unbreached_only=True)
    return fired


def _notify_clients(
    session: Session,
    services: Services,
    request: Request,
    template: str,
    now: dt.datetime,
    **context: object,
) -> None:
    notices = [
        Notice(
            template=template,
            recipient=recipient,
            language=request.language,
            context={**context, "status": request.status, "request": request_context(request)},
        )
        for recipient in client_recipients(session, request)
    ]
    enqueue_notices(session, services, request, notices, now=now)
