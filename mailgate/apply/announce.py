"""The hook calls a change makes (SPEC §16), queued in its transaction: nothing is
written when no `[[hook]]` wants the change's events, and a change that rolls
back takes its calls with it.

The events and their bodies are built by mailgate/hooks/payload.py (pure);
here they are read what they need and handed to the store.
"""

from __future__ import annotations

import datetime as dt

from mailgate.apply.install import Install
from mailgate.decision import OPENED, Decision, RequestRef, RequestSnapshot
from mailgate.domain import InboundMessage
from mailgate.hooks.payload import DELIVERY_FAILED, Occasion, decision_events, delivery_failed
from mailgate.hooks.payload import hook_calls as calls_of
from mailgate.store.database import Tx
from mailgate.store.rows import Written


def announce(
    tx: Tx,
    install: Install,
    decision: Decision,
    written: Written,
    *,
    request: RequestSnapshot | None,
    message: InboundMessage | None,
    now: dt.datetime,
) -> None:
    """Queue the calls of a written decision; `request` is the request it was decided
    on, as read before (None: it opens one, or files the message under none)."""
    hooks = install.settings.hooks
    if not hooks:
        return
    known: dict[RequestRef, RequestSnapshot] = {request.number: request} if request else {}
    for ref in _touched(decision):
        if ref not in known and ref != OPENED:
            found = tx.snapshot(ref, with_history=False)
            if found is not None:
                known[ref] = found
    occasion = Occasion(now=now, tag_prefixes=install.settings.tag_prefixes)
    events = decision_events(decision, number_of=written.number, requests=known,
                             message=message, occasion=occasion)  # fmt: skip
    calls = calls_of(events, hooks)
    if calls:
        tx.queue_hook_calls(calls, now=now)


def announce_delivery_failure(
    tx: Tx, install: Install, outbound_id: int, *, error: str, attempts: int, now: dt.datetime
) -> None:
    """Queue the `delivery.failed` calls of a notification the outbox gave up on."""
    hooks = [hook for hook in install.settings.hooks if DELIVERY_FAILED in hook.events]
    facts = tx.notification_facts(outbound_id) if hooks else None
    if facts is None:
        return
    number, template, recipient = facts
    request = tx.snapshot(number, with_history=False) if number is not None else None
    occasion = Occasion(now=now, tag_prefixes=install.settings.tag_prefixes)
    event = delivery_failed(request=request, notification=outbound_id, template=template,
                            recipient=recipient, error=error, attempts=attempts,
                            occasion=occasion)  # fmt: skip
    tx.queue_hook_calls(calls_of([event], hooks), now=now)


def _touched(decision: Decision) -> list[RequestRef]:
    """The requests whose events a decision may report."""
    refs = [event.request for event in decision.events]
    if decision.stores is not None and decision.stores.request is not None:
        refs.append(decision.stores.request)
    if decision.request is not None:
        refs.append(decision.request)
    return list(dict.fromkeys(refs))
