"""An admin's command on one request (`requests set-status`, `note`, `cc`), or on two
(`requests merge`): read under its lock, decided by the pure rules of
decide/admin.py and decide/merge.py, written and its notices queued in one
transaction, as mail is."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailgate.apply.announce import announce
from mailgate.apply.deliver import DeliveryLedger, deliver
from mailgate.apply.install import Install
from mailgate.decision import RequestSnapshot, Rules
from mailgate.store.database import Store, Tx

if TYPE_CHECKING:  # deciding loads when an admin acts, not with every command
    from mailgate.decide.admin import AdminDecision
    from mailgate.decision import Decision
    from mailgate.workflow import Refusal

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
            _write(tx, install, request, verdict.decision, now=now)
    return Acted(request=request, verdict=verdict)


@dataclass(frozen=True, slots=True, kw_only=True)
class Merged:
    source: RequestSnapshot
    refusal: Refusal | None  # None: merged


def act_merge(
    store: Store, install: Install, source: int, target: int, *, by: str, now: dt.datetime
) -> Merged | None:
    """Merge request `source` into `target` (decide/merge.py); None when there is no
    request `source`. Both are locked in the order of `Tx.lock_for_merge`."""
    from mailgate.decide.merge import decide_merge

    with store.transaction() as tx:
        tx.lock_for_merge(source, target)
        with_history = install.primary.rules.deadlines.has_sla
        request = tx.snapshot(source, with_history=with_history)
        if request is None:
            return None
        into = tx.snapshot(target, with_history=with_history) if target != source else request
        mailbox = install.of(request.mailbox)
        draft, refusal = decide_merge(request, into, by=by, rules=mailbox.rules, now=now)
        if draft is not None:
            _write(tx, install, request, draft.decision(request=source), now=now)
    return Merged(source=request, refusal=refusal)


def _write(tx: Tx, install: Install, request: RequestSnapshot, decision: Decision, *,
           now: dt.datetime) -> None:  # fmt: skip
    """Write an admin's decision on `request` (as it was read), queue its notices and
    its hook calls, in the caller's transaction."""
    mailbox = install.of(request.mailbox)
    written = tx.write(decision, received=None, mailbox=mailbox.name,
                       tag_prefix=mailbox.settings.tag_prefix, now=now)  # fmt: skip
    deliver(tx, DeliveryLedger(tx, install.settings), mailbox, decision, written,
            received=None, raw=b"", now=now)  # fmt: skip
    announce(tx, install, decision, written, request=request, message=None, now=now)
