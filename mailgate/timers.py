"""Timers derived from stored state and the current time, never scheduled.

A worker that was stopped catches up on its first round: whatever is overdue
as of `now` is done now.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy.orm import Session, sessionmaker

from mailgate.domain import Status
from mailgate.notify import Notice
from mailgate.pipeline import Services, client_recipients, enqueue_notices, request_context
from mailgate.store import repository as repo
from mailgate.workflow import Action, Actor, decide

log = logging.getLogger(__name__)


def run_timers(sessions: sessionmaker[Session], services: Services, *, now: dt.datetime) -> int:
    """Close requests whose automatic close is due. Returns how many timers fired."""
    with sessions() as session:
        due = repo.due_auto_close(session, now)
    fired = 0
    for number in due:
        with sessions.begin() as session:
            if _auto_close(session, services, number, now):
                fired += 1
    return fired


def _auto_close(session: Session, services: Services, number: int, now: dt.datetime) -> bool:
    request = repo.lock_request(session, number)
    if request is None or request.auto_close_at is None or request.auto_close_at > now:
        return False  # changed since it was listed (a reply came in, another worker did it)
    decision = decide(Status(request.status), Action.TIMEOUT, actor=Actor.SYSTEM)
    if not decision.allowed:
        request.auto_close_at = None
        return False
    days = services.settings.auto_close_business_days
    for step in decision.steps:
        repo.add_event(
            session,
            request_id=request.id,
            at=now,
            actor="system",
            kind="status",
            from_status=step.from_status,
            to_status=step.to_status,
            detail=f"no reply from the client within {days} business days",
        )
        request.status = step.to_status
    request.status_since = request.closed_at = request.updated_at = now
    request.auto_close_at = None
    notices = [
        Notice(
            template="closed",
            recipient=recipient,
            language=request.language,
            context={
                "by_client": False,
                "status": request.status,
                "request": request_context(request),
            },
        )
        for recipient in client_recipients(session, request)
    ]
    enqueue_notices(session, services, request, notices, now=now)
    log.info("request closed automatically", extra={"request": request.id})
    return True
