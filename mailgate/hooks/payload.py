"""The events a written decision (or a failed delivery) reports to hooks, as the JSON
bodies they are sent with (SPEC §16; docs/hooks.md, docs/hook-event.schema.json).

Pure: plain data in, plain data out; the unit of work hands the calls to the
store in the transaction of the change (mailgate/apply/announce.py). Every
event has an id of its own; each hook's call of it has a delivery key made
from that id and the hook's name, stored with the call, so it is the same on
every attempt and after a restart (the receiver's idempotency key).

Everything here may come from a stranger's mail (subjects, texts, addresses,
file names): it is only ever JSON-encoded, and every field is cut (texts to
`TEXT_LIMIT` characters, at most 100 files listed) so that one message costs
each hook a bounded body.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailgate.decision import OPENED, Decision, RequestRef, RequestSnapshot
from mailgate.domain import InboundMessage, Status
from mailgate.store.rows import QueuedHookCall
from mailgate.tags import format_tag, strip_tag

if TYPE_CHECKING:
    from mailgate.config import HookSettings

VERSION = 1  # of the body's shape; a change that breaks a reader raises it
TEXT_LIMIT = 4000  # characters of a message's text, a subject or a detail in a body
DETAIL_LIMIT = 1000
REQUEST_CREATED = "request.created"
STATUS_CHANGED = "request.status_changed"
MESSAGE_RECEIVED = "message.received"
ESCALATION_ACCEPTED = "escalation.accepted"
SLA_BREACHED = "sla.breached"
DELIVERY_FAILED = "delivery.failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class HookEvent:
    """One event: its kind, the request it is about, and its JSON body."""

    event: str
    request: int | None
    body: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Occasion:
    """What every event of one change shares: when, in which mailbox, the tag prefixes
    of the install's mailboxes (by name; the first for a name no longer configured)."""

    now: dt.datetime
    tag_prefixes: Mapping[str, str]
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex

    def tag(self, request: RequestSnapshot, number: int) -> str:
        prefix = self.tag_prefixes.get(request.mailbox) or next(iter(self.tag_prefixes.values()))
        return format_tag(prefix, number)

    def event(self, kind: str, number: int | None, request: dict[str, Any] | None,
              mailbox: str, data: dict[str, Any]) -> HookEvent:  # fmt: skip
        body = {"version": VERSION, "id": self.new_id(), "event": kind,
                "occurred_at": _utc(self.now), "mailbox": mailbox, "request": request,
                "data": data}  # fmt: skip
        return HookEvent(event=kind, request=number, body=body)


def request_json(request: RequestSnapshot, number: int, occasion: Occasion) -> dict[str, Any]:
    """The request as the body shows it, in the state the change left it in."""
    tag = occasion.tag(request, number)
    prefix = tag.rpartition("-")[0]
    return {
        "number": number,
        "tag": tag,
        "subject": _cut(strip_tag(request.subject, prefix), TEXT_LIMIT),
        "status": str(request.status),
        "priority": request.priority,
        "requester": request.requester,
        "owner": request.owner,
        "created_at": _utc(request.created_at),
    }


def after(request: RequestSnapshot, decision: Decision) -> RequestSnapshot:
    """A request as it is once `decision` is written (its updates applied)."""
    changes: dict[str, Any] = {}
    for update in decision.updates:
        if update.request == request.number:
            changes.update(update.changes)
    return dataclasses.replace(request, **changes) if changes else request


def decision_events(
    decision: Decision,
    *,
    number_of: Callable[[RequestRef], int],
    requests: Mapping[RequestRef, RequestSnapshot],
    message: InboundMessage | None,
    occasion: Occasion,
) -> list[HookEvent]:
    """The events a written decision reports, in the order they happened.

    `requests` are the requests the decision touches, as they were read before it
    (the one it opens is `decision.opens`); `number_of` gives the number a
    reference was written under.
    """
    shown: dict[RequestRef, tuple[int, dict[str, Any], str]] = {}

    def about(ref: RequestRef) -> tuple[int, dict[str, Any], str] | None:
        if ref not in shown:
            request = decision.opens if ref == OPENED else requests.get(ref)
            if request is None:
                return None
            request = after(request, decision)
            number = number_of(ref)
            shown[ref] = (number, request_json(request, number, occasion), request.mailbox)
        return shown[ref]

    def event(kind: str, ref: RequestRef, data: dict[str, Any]) -> None:
        found = about(ref)
        if found is not None:
            number, request, mailbox = found
            events.append(occasion.event(kind, number, request, mailbox, data))

    events: list[HookEvent] = []
    if decision.opens is not None:
        created = next((e for e in decision.events if e.kind == "created"), None)
        event(REQUEST_CREATED, OPENED, {"actor": created.actor if created else "system"})
    stores = decision.stores
    if stores is not None and stores.request is not None and message is not None:
        event(MESSAGE_RECEIVED, stores.request, _message_json(message, stores.kind,
                                                              stores.from_address))  # fmt: skip
    for change in decision.events:
        detail = _cut(change.detail, DETAIL_LIMIT)
        if change.kind == "status" and change.to_status is not None:
            event(STATUS_CHANGED, change.request, {
                "from": str(change.from_status) if change.from_status else None,
                "to": str(change.to_status), "actor": change.actor, "detail": detail,
            })  # fmt: skip
            if change.to_status is Status.ESCALATED:
                event(ESCALATION_ACCEPTED, change.request, {"actor": change.actor,
                                                            "reason": detail})  # fmt: skip
        elif change.kind == "sla_breach":
            event(SLA_BREACHED, change.request, {"target": change.detail})
    for bouncing in decision.bouncing:
        if bouncing.since is not None and decision.request is not None:
            event(DELIVERY_FAILED, decision.request, {
                "stage": "bounce", "recipient": bouncing.address, "notification": None,
                "template": None, "attempts": None,
                "error": "a delivery-status report proved that mail to this address bounced",
            })  # fmt: skip
    return events


def delivery_failed(
    *,
    request: RequestSnapshot | None,
    notification: int,
    template: str,
    recipient: str,
    error: str,
    attempts: int,
    occasion: Occasion,
) -> HookEvent:
    """A notification the outbox gave up on: refused for good, or out of attempts."""
    shown = request_json(request, request.number, occasion) if request is not None else None
    data = {"stage": "smtp", "recipient": recipient, "notification": notification,
            "template": template, "attempts": attempts, "error": _cut(error, DETAIL_LIMIT)}
    mailbox = request.mailbox if request is not None else next(iter(occasion.tag_prefixes))
    number = request.number if request is not None else None
    return occasion.event(DELIVERY_FAILED, number, shown, mailbox, data)


def hook_calls(
    events: Sequence[HookEvent], hooks: Sequence[HookSettings]
) -> list[QueuedHookCall]:
    """One call per event and hook that wants it."""
    calls = []
    for event in events:
        wanting = [hook for hook in hooks if event.event in hook.events]
        if not wanting:
            continue
        body = encode(event.body)
        calls += [QueuedHookCall(hook=hook.name, event=event.event, request=event.request,
                                 delivery=f"{event.body['id']}.{hook.name}", payload=body)
                  for hook in wanting]  # fmt: skip
    return calls


def encode(body: Mapping[str, Any]) -> str:
    """The body as sent: compact JSON, keys sorted, non-ASCII as it is (UTF-8)."""
    return json.dumps(body, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def signature(secret: str, body: bytes) -> str:
    """`X-Mailgate-Signature`: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _message_json(message: InboundMessage, kind: str, sender: str) -> dict[str, Any]:
    text = message.new_text
    return {
        "message_id": _cut(message.message_id, DETAIL_LIMIT),
        "kind": str(kind),
        "from": sender,
        "subject": _cut(message.subject, TEXT_LIMIT),
        "text": _cut(text, TEXT_LIMIT),
        "text_cut": message.text_cut or len(text) > TEXT_LIMIT,
        "attachments": [{"filename": _cut(f.filename, 255),
                         "content_type": _cut(f.content_type, 255), "size": f.size}
                        for f in message.attachments[:100]],
    }  # fmt: skip


def _utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]
