"""Due timers (automatic close, reminders, SLA checks) decided and written, each in
a transaction of its own, with the rules of the request's mailbox."""

from __future__ import annotations

import datetime as dt
import logging

from mailgate.apply.announce import announce
from mailgate.apply.deliver import DeliveryLedger, deliver
from mailgate.apply.install import Install
from mailgate.decide.timers import Timer, decide_timer
from mailgate.decision import Decision
from mailgate.store.database import MailboxScope, Store

log = logging.getLogger(__name__)


def run_timers(
    store: Store, install: Install, *, now: dt.datetime, scope: MailboxScope | None = None
) -> int:
    """Fire every due timer (of the requests of `scope`, else of all). Returns how
    many fired.

    Each re-reads the request under its lock before deciding: a reply or another
    worker may have changed it since it was found due.
    """
    fired = 0
    with_history = install.primary.rules.deadlines.has_sla
    for timer in Timer:
        with store.transaction() as tx:
            due = tx.due_requests(timer.value, now, scope)
        for number in due:
            with store.transaction() as tx:
                request = tx.snapshot(number, with_history=with_history)
                if request is None:
                    continue
                mailbox = install.of(request.mailbox)
                decision = decide_timer(timer, request, mailbox.rules, now=now)
                if decision is None:
                    continue
                written = tx.write(decision, received=None, mailbox=mailbox.name,
                                   tag_prefix=mailbox.settings.tag_prefix, now=now)  # fmt: skip
                deliver(tx, DeliveryLedger(tx, install.settings), mailbox, decision, written,
                        received=None, raw=b"", now=now)  # fmt: skip
                announce(tx, install, decision, written, request=request, message=None, now=now)
            if decision.events:
                fired += 1
                _log_timer(timer, decision)
    return fired


def _log_timer(timer: Timer, decision: Decision) -> None:
    if timer is Timer.AUTO_CLOSE:
        log.info("request closed automatically", extra={"request": decision.request})
    elif timer is Timer.SLA:
        for event in decision.events:
            if event.kind == "sla_breach":
                log.warning("SLA breached", extra={"request": decision.request,
                                                   "target": event.detail})  # fmt: skip
