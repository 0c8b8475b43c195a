"""An admin's command on one request (`requests set-status`, `requests note`): read
under its lock, decided by the pure rules of decide/admin.py, written and its
notices queued in one transaction, as mail is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailgate.apply.announce import announce
from mailgate.apply.deliver import DeliveryLedger, deliver
from mailgate.apply.install import Install
from mailgate.decision import RequestSnapshot, Rules
from mailgate.store.database import Store

if TYPE_CHECKING:  # deciding loads when an admin acts, not with every command
    from mailgate.decide.admin import AdminDecision

    AdminRule = Callable[[RequestSnapshot, Rules, dt.datetime], AdminDecision]


@dataclass(frozen=True, slots=True, kw_only=True)
class Acted:
    request: RequestSnapshot
    verdict: AdminDecision


def act(
    store: Store, install: Install, number: int, rule: AdminRule, *, now: dt.datetime
) -> Acted | None:
    """Apply `rule` to request `number`; None when there is no such request."""
    with store.transaction() as tx:
        request = tx.snapshot(number, with_history=install.primary.rules.deadlines.has_sla)
        if request is None:
            return None
        mailbox = install.of(request.mailbox)
        verdict = rule(request, mailbox.rules, now)
        if verdict.decision is not None:
            decision = verdict.decision
            written = tx.write(decision, received=None, mailbox=mailbox.name,
                               tag_prefix=mailbox.settings.tag_prefix, now=now)  # fmt: skip
            deliver(tx, DeliveryLedger(tx, install.settings), mailbox, decision, written,
                    received=None, raw=b"", now=now)  # fmt: skip
            announce(tx, install, decision, written, request=request, message=None, now=now)
    return Acted(request=request, verdict=verdict)
