"""The bodies of hook calls, from decisions (mailgate/hooks/payload.py): pure, so
tested without a database; every body is checked against the published schema."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json

from mailgate.config import HookSettings
from mailgate.decision import (
    OPENED,
    Decision,
    Event,
    RequestSnapshot,
    RequestUpdate,
    SetBouncing,
    StoreMessage,
)
from mailgate.domain import InboundMessage, MessageKind, Status
from mailgate.hooks.payload import (
    Occasion,
    decision_events,
    delivery_failed,
    encode,
    hook_calls,
    signature,
)
from tests.hook_receiver import validate

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))
OCCASION = Occasion(now=NOW, tag_prefixes={"support": "REQ", "billing": "BIL"},
                    new_id=lambda: "0" * 32)  # fmt: skip
CLIENT = "client@corp.example"


def snapshot(number: int = 7, *, mailbox: str = "support", status: Status = Status.NEW):
    return RequestSnapshot(number=number, subject="[REQ-7] Invoice", status=status,
                           requester=CLIENT, owner=None, language="en", participants=(),
                           created_at=NOW, updated_at=NOW, status_since=NOW,
                           mailbox=mailbox)  # fmt: skip


def events_of(decision: Decision, request: RequestSnapshot | None = None, message=None):
    known = {request.number: request} if request else {}
    found = decision_events(decision, number_of=lambda ref: 8 if ref == OPENED else ref,
                            requests=known, message=message, occasion=OCCASION)  # fmt: skip
    for event in found:
        validate(event.body)
    return found


def test_a_cancel_is_two_status_changes_and_the_request_is_shown_after_it():
    request = snapshot(status=Status.IN_PROGRESS)
    decision = Decision(
        updates=(RequestUpdate(request=7, expected_status=Status.IN_PROGRESS,
                               changes=(("status", Status.CLOSED),)),),
        events=(Event(request=7, kind="status", actor=CLIENT, from_status=Status.IN_PROGRESS,
                      to_status=Status.CANCELLED, detail="Cancel request"),
                Event(request=7, kind="status", actor=CLIENT, from_status=Status.CANCELLED,
                      to_status=Status.CLOSED, detail="Cancel request"),
                Event(request=7, kind="note", actor=CLIENT, detail="not told")),
        request=7,
    )  # fmt: skip
    first, second = events_of(decision, request)
    assert [e.event for e in (first, second)] == ["request.status_changed"] * 2
    assert [(e.body["data"]["from"], e.body["data"]["to"]) for e in (first, second)] == [
        ("in_progress", "cancelled"), ("cancelled", "closed")]  # fmt: skip
    assert first.body["request"]["status"] == "closed"  # as the whole change left it
    assert first.body["request"]["subject"] == "Invoice"  # without its tag
    assert first.body["occurred_at"] == "2026-11-24T09:00:00+00:00"


def test_the_tag_is_of_the_requests_own_mailbox():
    [event] = events_of(Decision(events=(Event(request=7, kind="sla_breach", actor="system",
                                                detail="resolution"),), request=7),
                        snapshot(mailbox="billing"))  # fmt: skip
    assert event.body["request"]["tag"] == "BIL-7" and event.body["mailbox"] == "billing"
    [gone] = events_of(Decision(events=(Event(request=7, kind="sla_breach", actor="system",
                                               detail="resolution"),), request=7),
                       snapshot(mailbox="removed"))  # fmt: skip
    assert gone.body["request"]["tag"] == "REQ-7"  # a mailbox no longer configured: the first's


def test_an_opened_request_and_its_message():
    opened = snapshot(number=0)
    message = InboundMessage(message_id="m1@corp", subject="Invoice", sender=None,
                             sender_count=1, new_text="Where is it?")  # fmt: skip
    decision = Decision(opens=opened, stores=StoreMessage(request=OPENED, kind=MessageKind.CLIENT,
                                                          from_address=CLIENT),
                        events=(Event(request=OPENED, kind="created", actor=CLIENT,
                                      to_status=Status.NEW),),
                        request=OPENED)  # fmt: skip
    created, received = events_of(decision, message=message)
    assert (created.event, created.request, created.body["request"]["tag"]) == (
        "request.created", 8, "REQ-8")  # fmt: skip
    assert received.body["data"]["text"] == "Where is it?" and received.request == 8


def test_a_message_filed_under_no_request_tells_nothing():
    message = InboundMessage(message_id="m", subject="", sender=None, sender_count=0)
    orphan = Decision(stores=StoreMessage(request=None, kind=MessageKind.AUTO, from_address="x"))
    assert events_of(orphan, message=message) == []


def test_a_proven_bounce_is_a_delivery_failure_and_the_outbox_gives_up_one_too():
    decision = Decision(bouncing=(SetBouncing(address=CLIENT, since=NOW),
                                  SetBouncing(address="back@corp.example", since=None)),
                        request=7)  # fmt: skip
    [bounce] = events_of(decision, snapshot())
    assert bounce.body["data"]["stage"] == "bounce" and bounce.body["data"]["recipient"] == CLIENT
    failed = delivery_failed(request=None, notification=3, template="created", recipient=CLIENT,
                             error="550 5.1.1 no such user", attempts=1, occasion=OCCASION)
    validate(failed.body)
    assert failed.body["request"] is None and failed.body["mailbox"] == "support"


def test_calls_go_to_the_hooks_that_want_them_with_a_key_per_hook_and_a_signature():
    hooks = [HookSettings(name="a", command=("x",), events=frozenset({"sla.breached"})),
             HookSettings(name="b", command=("x",), events=frozenset({"request.created"})),
             HookSettings(name="c", command=("x",), events=frozenset({"sla.breached"}))]
    [event] = events_of(Decision(events=(Event(request=7, kind="sla_breach", actor="system",
                                                detail="first_response"),), request=7),
                        snapshot())  # fmt: skip
    calls = hook_calls([event], hooks)
    assert [(c.hook, c.delivery) for c in calls] == [("a", f"{'0' * 32}.a"),
                                                      ("c", f"{'0' * 32}.c")]  # fmt: skip
    assert calls[0].payload == encode(event.body) == calls[1].payload
    assert json.loads(calls[0].payload) == event.body
    body = calls[0].payload.encode()
    assert signature("k" * 16, body) == "sha256=" + hmac.new(b"k" * 16, body,
                                                             hashlib.sha256).hexdigest()


def test_backoff_doubles_up_to_an_hour_with_jitter():
    from mailgate.hooks.pump import backoff

    assert [backoff(n, jitter=1.0).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30, 60, 120, 3600, 3600]  # fmt: skip
    waits = {backoff(1).total_seconds() for _ in range(50)}
    assert len(waits) > 1 and all(24 <= wait <= 36 for wait in waits)


def test_the_published_schema_is_a_valid_json_schema_and_refuses_a_bad_body():
    import jsonschema
    import pytest

    from tests.hook_receiver import SCHEMA

    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    [event] = events_of(Decision(events=(Event(request=7, kind="sla_breach", actor="system",
                                                detail="resolution"),), request=7), snapshot())
    with pytest.raises(jsonschema.ValidationError):
        validate({**event.body, "data": {"target": "lunch"}})
