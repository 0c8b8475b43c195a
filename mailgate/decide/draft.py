"""`Draft`: the effects of one decision, gathered over working copies of the snapshots.

Deciding reads a request's state after each step it takes (a notice carries
the status it was sent in, a status change recomputes the timers), so a draft
keeps a working copy per request, and turns the difference from the stored
state into a frozen `Decision` at the end. Pure: nothing is written here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TypedDict, Unpack

from mailgate.deadlines import next_sla_check
from mailgate.decision import (
    OPENED,
    REQUEST_FIELDS,
    AgentAnswer,
    Decision,
    Event,
    FileRelay,
    Notice,
    Notify,
    Participant,
    ParticipantChange,
    RequestRef,
    RequestSnapshot,
    RequestUpdate,
    Rules,
    SetBouncing,
    SetLabel,
    SetNotify,
    StoreMessage,
)
from mailgate.domain import MessageKind, Status, StatusChange
from mailgate.tags import strip_tag
from mailgate.workflow import AUTO_CLOSING, Step


class RequestChanges(TypedDict, total=False):
    """The fields of a request's working copy that deciding changes (`Draft.set`)."""

    status: Status
    status_since: dt.datetime
    updated_at: dt.datetime
    closed_at: dt.datetime | None
    auto_close_at: dt.datetime | None
    remind_at: dt.datetime | None
    sla_check_at: dt.datetime | None
    first_response_at: dt.datetime | None
    owner: str | None
    merged_into: int | None
    priority: str
    labels: tuple[str, ...]
    rating_asked_at: dt.datetime | None
    rating: str | None
    rating_comment: str | None
    rated_at: dt.datetime | None
    participants: tuple[Participant, ...]
    history: tuple[StatusChange, ...]


class EventDetail(TypedDict, total=False):
    """What a history event may say besides its request, kind, actor and cause."""

    from_status: Status | None
    to_status: Status | None
    detail: str
    mentions_opened: bool


class Draft:
    def __init__(self, rules: Rules, now: dt.datetime) -> None:
        self.rules = rules
        self.settings = rules.settings
        self.now = now
        self._stored: dict[RequestRef, RequestSnapshot] = {}
        self._working: dict[RequestRef, RequestSnapshot] = {}
        self._stores: StoreMessage | None = None
        self._events: list[Event] = []
        self._notify_flags: list[SetNotify] = []
        self._participants: list[ParticipantChange] = []
        self._bouncing: list[SetBouncing] = []
        self._notices: list[Notify] = []

    # -- requests ---------------------------------------------------------------

    def track(self, snapshot: RequestSnapshot) -> RequestRef:
        self._stored.setdefault(snapshot.number, snapshot)
        self._working.setdefault(snapshot.number, snapshot)
        return snapshot.number

    def open(self, snapshot: RequestSnapshot) -> RequestRef:
        """A new request; written as its final state, whatever steps follow."""
        self._working[OPENED] = dataclasses.replace(snapshot, number=OPENED)
        return OPENED

    def request(self, ref: RequestRef) -> RequestSnapshot:
        return self._working[ref]

    def set(self, ref: RequestRef, **changes: Unpack[RequestChanges]) -> None:
        self._working[ref] = dataclasses.replace(self._working[ref], **changes)

    # -- effects ------------------------------------------------------------------

    def store(
        self,
        ref: RequestRef | None,
        kind: MessageKind,
        from_address: str,
        *,
        as_forwarded: bool = False,
    ) -> None:
        self._stores = StoreMessage(request=ref, kind=kind, from_address=from_address,
                                    as_forwarded=as_forwarded)  # fmt: skip
        if ref is not None:
            self.set(ref, updated_at=self.now)

    def event(
        self,
        ref: RequestRef,
        kind: str,
        *,
        actor: str,
        caused: bool = False,
        **fields: Unpack[EventDetail],
    ) -> None:
        self._events.append(Event(request=ref, kind=kind, actor=actor, caused=caused, **fields))

    def set_notify(self, ref: RequestRef, address: str, notify: bool) -> None:
        request = self.request(ref)
        participants = tuple(
            dataclasses.replace(p, notify=notify) if p.address == address else p
            for p in request.participants
        )
        self.set(ref, participants=participants)
        if ref != OPENED:
            self._notify_flags.append(SetNotify(request=ref, address=address, notify=notify))

    def add_participant(self, ref: RequestRef, address: str, role: str = "cc") -> None:
        request = self.request(ref)
        self.set(ref, participants=(*request.participants, new_participant(address, role)))
        if ref != OPENED:
            self._participants.append(ParticipantChange(request=ref, address=address, role=role))

    def remove_participant(self, ref: RequestRef, address: str) -> None:
        request = self.request(ref)
        kept = tuple(p for p in request.participants if p.address != address)
        self.set(ref, participants=kept)
        if ref != OPENED:
            self._participants.append(ParticipantChange(request=ref, address=address,
                                                        added=False))  # fmt: skip

    def set_bouncing(self, address: str, since: dt.datetime | None) -> None:
        self._bouncing.append(SetBouncing(address=address, since=since))

    def move(
        self, ref: RequestRef, steps: Iterable[Step], *, actor: str, detail: str, caused: bool
    ) -> None:
        """Apply decided steps: status, its timers, and one history event per step."""
        deadlines, now = self.rules.deadlines, self.now
        changed = False
        for step in steps:
            changed = True
            auto_close_at = remind_at = None
            if step.to_status in AUTO_CLOSING:
                auto_close_at = deadlines.auto_close_at(now)
                remind_at = deadlines.remind_at(now, auto_close_at)
            request = self.request(ref)
            self.set(
                ref,
                status=step.to_status,
                status_since=now,
                updated_at=now,
                auto_close_at=auto_close_at,
                remind_at=remind_at,
                closed_at=now if step.to_status is Status.CLOSED else request.closed_at,
                history=(*request.history, StatusChange(at=now, status=step.to_status)),
            )
            self.event(ref, "status", actor=actor, from_status=step.from_status,
                       to_status=step.to_status, detail=detail, caused=caused)  # fmt: skip
        if changed:
            self.refresh_sla(ref)

    def refresh_sla(self, ref: RequestRef) -> None:
        """Recompute when the SLA timer must next look at this request."""
        deadlines = self.rules.deadlines
        if not deadlines.has_sla:
            return
        request = self.request(ref)
        state = deadlines.sla(
            request.history, request.first_response_at, self.now, priority=request.priority
        )
        self.set(ref, sla_check_at=next_sla_check(state))

    # -- notices -------------------------------------------------------------------

    def notify(
        self,
        ref: RequestRef,
        recipients: Iterable[str],
        template: str,
        *,
        context: Mapping[str, object],
        relay: bool = False,
        agents: bool = False,
        files: FileRelay | None = None,
        answer: AgentAnswer | None = None,
        language: str = "",
    ) -> None:
        """Queue one notice per distinct recipient, with the request as it is now, in
        `language` (default: English for agents, else the request's)."""
        request = self.request(ref)
        full = {**context, "status": request.status, "request": request_context(request)}
        subject = strip_tag(request.subject, self.settings.tag_prefix)
        language = language or ("en" if agents else request.language)
        for recipient in dict.fromkeys(recipients):
            notice = Notice(template=template, recipient=recipient, language=language,
                            context=full, relay=relay, files=files, answer=answer)  # fmt: skip
            self._notices.append(Notify(request=ref, subject=subject, notice=notice))

    def notify_clients(
        self,
        ref: RequestRef,
        template: str,
        *,
        context: Mapping[str, object],
        relay: bool = False,
        files: FileRelay | None = None,
        answer: AgentAnswer | None = None,
    ) -> None:
        self.notify(ref, client_recipients(self.request(ref)), template,
                    context=context, relay=relay, files=files, answer=answer)  # fmt: skip

    def notify_agents(
        self,
        ref: RequestRef,
        template: str,
        *,
        context: Mapping[str, object],
        besides: str = "",
        files: FileRelay | None = None,
        also: Iterable[str] = (),
    ) -> None:
        """agent_notify, the owner and `also`, except the agent whose mail caused it."""
        recipients = [*also, *self.settings.agent_notify]
        owner = self.request(ref).owner
        if owner and owner not in recipients:
            recipients.append(owner)
        recipients = [r for r in recipients if r != besides]
        self.notify(ref, recipients, template, context=context, agents=True, files=files)

    def notify_unfiled(
        self, recipients: Iterable[str], template: str, *, context: Mapping[str, object],
        subject: str,
    ) -> None:
        """Queue an agents' notice about no request (`subject` is the mail's it answers)."""
        for recipient in dict.fromkeys(recipients):
            notice = Notice(template=template, recipient=recipient, language="en",
                            context=dict(context))  # fmt: skip
            self._notices.append(Notify(request=None, subject=subject, notice=notice))

    # -- the result --------------------------------------------------------------------

    def decision(self, *, request: RequestRef | None) -> Decision:
        updates, labels = [], []
        for ref, stored in self._stored.items():
            working = self._working[ref]
            labels += [SetLabel(request=ref, label=label, present=label in working.labels)
                       for label in sorted(set(stored.labels) ^ set(working.labels))]  # fmt: skip
            changes = tuple(
                (name, getattr(working, name))
                for name in REQUEST_FIELDS
                if getattr(working, name) != getattr(stored, name)
            )
            if changes:
                updates.append(
                    RequestUpdate(request=ref, expected_status=stored.status, changes=changes)
                )
        return Decision(
            opens=self._working.get(OPENED),
            stores=self._stores,
            updates=tuple(updates),
            events=tuple(self._events),
            notify_flags=tuple(self._notify_flags),
            participants=tuple(self._participants),
            labels=tuple(labels),
            bouncing=tuple(self._bouncing),
            notices=tuple(self._notices),
            request=request,
        )


def client_recipients(request: RequestSnapshot) -> list[str]:
    """The requester and CC participants who still want mail about this request."""
    return [p.address for p in request.participants if p.role in ("requester", "cc") and p.notify]


def request_context(request: RequestSnapshot) -> dict[str, object]:
    """What every notice may show of its request; `participants` are the clients
    (requester and CC), for the "Also in this request" line of client notices."""
    return {
        "status": request.status,
        "requester": request.requester,
        "auto_close_at": request.auto_close_at,
        "owner": request.owner,
        "participants": [p.address for p in request.participants if p.role in ("requester", "cc")],
        "priority": request.priority,
        "labels": list(request.labels),
    }


def new_participant(address: str, role: str) -> Participant:
    return Participant(id=None, address=address, role=role)
