"""`process_inbound`: guards, parse, route, decide, and write the change with its
notifications in one transaction. The only module that wires the pure core to
the store.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from mailgate.config import Settings
from mailgate.deadlines import Deadlines, next_sla_check
from mailgate.domain import Command, CommandName, InboundMessage, MessageKind, Role, Status
from mailgate.notify import Notice, Renderer
from mailgate.parse import parse_message
from mailgate.parse.authresults import is_sender_authenticated
from mailgate.parse.commands import normalize, scan_commands, status_from_words
from mailgate.parse.escalation import judge_escalation_reason
from mailgate.reply_tokens import ReplyToken, find_token, token_address
from mailgate.store import repository as repo
from mailgate.store.models import Inbound, Outbound, Request, StoredMessage
from mailgate.workflow import AUTO_CLOSING, Action, Actor, Refusal, Step, decide

log = logging.getLogger(__name__)

_CYRILLIC = re.compile(r"[а-яё]", re.I)


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    """What processing needs besides the session and the clock."""

    settings: Settings
    renderer: Renderer
    deadlines: Deadlines


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    state: str  # applied | failed
    request_number: int | None = None
    detail: str = ""


def process_inbound(
    session: Session, row: Inbound, services: Services, *, now: dt.datetime
) -> Outcome:
    """Apply one stored raw message. The caller commits."""
    settings = services.settings
    try:
        message = parse_message(
            row.raw, tag_prefix=settings.tag_prefix, own_addresses=settings.own_addresses
        )
    except Exception as exc:  # quarantined with the raw bytes kept, never lost
        row.state, row.error, row.processed_at = "failed", f"parse: {exc!r}"[:2000], now
        return Outcome(state="failed", detail=row.error)
    run = _Run(session=session, services=services, message=message, inbound=row, now=now)
    number = run.apply()
    run.send_notices()
    row.state, row.processed_at = "applied", now
    return Outcome(state="applied", request_number=number)


class _Run:
    """Applying one parsed message; holds what the steps share."""

    def __init__(
        self,
        *,
        session: Session,
        services: Services,
        message: InboundMessage,
        inbound: Inbound,
        now: dt.datetime,
    ) -> None:
        self.session = session
        self.services = services
        self.settings = services.settings
        self.message = message
        self.inbound = inbound
        self.now = now
        self.sender = message.sender.address if message.sender else ""
        self.notices: dict[int, tuple[Request, list[Notice]]] = {}
        self.via_token: str | None = None  # the participant a valid reply token names

    # -- routing --------------------------------------------------------------

    def apply(self) -> int | None:
        request = self._route()
        if self.message.bounce is not None:
            return self._apply_bounce(request)
        if self.message.auto is not None or not self.sender:
            kind = MessageKind.AUTO if self.message.auto else MessageKind.HELD
            self._store(request, kind)
            return request.id if request else None
        if repo.is_bouncing(self.session, self.sender):
            repo.set_bouncing(self.session, self.sender, None)  # it writes: it receives again
        if request is None:
            return self._open_request().id
        role = self._role_on(request)
        if role is Role.OUTSIDER:
            return self._hold(request)
        if role is Role.AGENT:
            self._apply_agent(request)
        elif request.status == Status.CLOSED:
            return self._reply_to_closed(request)
        else:
            self._apply_client(request)
        return request.id

    def _route(self) -> Request | None:
        """A reply token, then SPEC §3: the subject tag, then In-Reply-To / References."""
        if (token := self._reply_token()) is not None:
            request = repo.lock_request(self.session, token.request)
            participant = repo.participant(self.session, token.request, token.participant)
            if request is not None and participant is not None and participant.role != "agent":
                self.via_token = participant.address
                return request
        number = self.message.tag_number
        if number is not None and (request := repo.lock_request(self.session, number)):
            return request
        refs = [*self.message.in_reply_to, *reversed(self.message.references)]
        number = repo.request_of_message_ids(self.session, refs)
        return repo.lock_request(self.session, number) if number is not None else None

    def _reply_token(self) -> ReplyToken | None:
        secret = self.settings.reply_token_secret
        if secret is None:
            return None
        addresses = [a.address for a in (*self.message.to, *self.message.cc)]
        return find_token(
            addresses, support_address=self.settings.support_address, secret=secret.reveal()
        )

    def _role_on(self, request: Request) -> Role:
        if not self._is_authenticated():
            return Role.OUTSIDER
        if self.via_token and self.via_token != self.sender:
            # Sent to a participant's reply token from another address: it is that
            # participant's reply (a client writing from a second mailbox).
            self._event(request, "reply_token", detail=f"{self.sender} writes as {self.via_token}")
            self.sender = self.via_token
            return Role.CLIENT
        if self.settings.is_agent(self.sender):
            return Role.AGENT
        known = {p.address for p in repo.participants(self.session, request.id)}
        return Role.CLIENT if self.sender in known else Role.OUTSIDER

    def _is_authenticated(self) -> bool:
        """With `require_authenticated_sender`, only mail whose From passed DMARC/DKIM counts."""
        if not self.settings.require_authenticated_sender:
            return True
        return is_sender_authenticated(
            self.message.headers,
            from_domain=self.sender.rpartition("@")[2],
            authserv_id=self.settings.authserv_id,
        )

    # -- new requests -----------------------------------------------------------

    def _open_request(self, *, linked_to: Request | None = None) -> Request:
        message = self.message
        request = Request(
            subject=message.subject.strip() or "(no subject)",
            status=Status.NEW,
            requester=self.sender,
            owner=None,
            language=self._language(),
            created_at=self.now,
            updated_at=self.now,
            status_since=self.now,
            linked_request_id=linked_to.id if linked_to else None,
        )
        if linked_to is not None:
            request.subject = _strip_tag(request.subject, self.settings.tag_prefix)
        self.session.add(request)
        self.session.flush()
        repo.add_participant(self.session, request.id, self.sender, "requester")
        own = self.settings.own_addresses
        seen = {self.sender}
        for cc in message.cc:
            if cc.address not in seen and cc.address not in own:
                seen.add(cc.address)
                role = "agent" if self.settings.is_agent(cc.address) else "cc"
                repo.add_participant(self.session, request.id, cc.address, role)
        self.session.flush()
        stored = self._store(request, MessageKind.CLIENT)
        detail = f"linked to {self._tag(linked_to.id)}" if linked_to else message.subject
        self._event(request, "created", to_status=Status.NEW, detail=detail, stored=stored)
        refresh_sla_check(self.session, self.services, request, now=self.now)
        self._apply_notify_commands(request, self._commands(Role.CLIENT, request))
        self._notify_clients(request, "created", context={"text": message.new_text})
        self._notify_agents(request, "agent_new_request", context={"text": message.new_text})
        return request

    def _language(self) -> str:
        language = self.settings.language
        if language != "auto":
            return language
        sample = f"{self.message.subject}\n{self.message.new_text}"
        return "ru" if _CYRILLIC.search(sample) else "en"

    # -- clients ------------------------------------------------------------------

    def _apply_client(self, request: Request) -> None:
        stored = self._store(request, MessageKind.CLIENT)
        commands = self._commands(Role.CLIENT, request)
        self._apply_notify_commands(request, commands)
        status_commands = [c for c in commands if c.name in _CLIENT_STATUS_COMMANDS]
        if status_commands:
            self._apply_client_command(request, status_commands[0], stored)
        elif self._has_text_besides(commands):
            decision = decide(Status(request.status), Action.REPLY, actor=Actor.CLIENT)
            self._move(
                request, decision.steps, actor=self.sender, stored=stored, detail="client reply"
            )
        self._notify_agents(
            request,
            "agent_client_reply",
            context={"text": self.message.new_text, "from": self.sender},
        )

    def _apply_client_command(
        self, request: Request, command: Command, stored: StoredMessage
    ) -> None:
        status = Status(request.status)
        if command.name is CommandName.ESCALATE:
            self._escalate(request, command, stored)
            return
        action = Action.CANCEL if command.name is CommandName.CANCEL else Action.RESOLVE
        decision = decide(status, action, actor=Actor.CLIENT)
        if not decision.allowed:
            self._refuse(request, command, decision.refusal, stored)
            return
        self._move(request, decision.steps, actor=self.sender, stored=stored, detail=command.line)
        template = "cancelled" if action is Action.CANCEL else "closed"
        self._notify_clients(request, template, context={"by_client": True})
        self._notify_agents(request, "agent_status_changed", context=self._change_context(command))

    def _escalate(self, request: Request, command: Command, stored: StoredMessage) -> None:
        # "Escalate" alone (e.g. from the subject of a mailto: link): the text is the reason.
        reason = command.argument or _without_command_lines(self.message.new_text, [command])
        verdict = judge_escalation_reason(reason, language=request.language)
        context = {"reason": reason, "category": verdict.category}
        if not verdict.accepted:
            detail = f"{verdict.category}: {verdict.evidence}".strip(": ")
            self._event(request, "escalation_refused", detail=detail, stored=stored)
            self._notify(request, [self.sender], "escalation_refused", context=context)
            return
        decision = decide(Status(request.status), Action.ESCALATE, actor=Actor.CLIENT)
        if not decision.allowed:
            self._refuse(request, command, decision.refusal, stored)
            return
        self._move(request, decision.steps, actor=self.sender, stored=stored, detail=reason)
        self._notify_clients(request, "escalation_accepted", context=context)
        recipients = [*self.settings.escalation_notify, *self.settings.agent_notify]
        self._notify(request, recipients, "agent_escalated", context=context, agents=True)

    def _reply_to_closed(self, request: Request) -> int:
        if self.settings.closed_reply_policy == "new_request":
            new = self._open_request(linked_to=request)
            self._event(request, "closed_reply", detail=f"opened {self._tag(new.id)}")
            return new.id
        stored = self._store(request, MessageKind.CLIENT)
        self._event(request, "closed_reply", detail="request is closed; sender told", stored=stored)
        self._notify(request, [self.sender], "closed_reply", context={})
        return request.id

    def _hold(self, request: Request) -> int:
        stored = self._store(request, MessageKind.HELD)
        why = "not a participant" if self._is_authenticated() else "sender not authenticated"
        self._event(request, "held", detail=f"from {self.sender}: {why}", stored=stored)
        context = {"text": self.message.new_text, "from": self.sender}
        self._notify_agents(request, "agent_held", context=context)
        return request.id

    # -- agents --------------------------------------------------------------------

    def _apply_agent(self, request: Request) -> None:
        commands = self._commands(Role.AGENT, request)
        is_note = any(c.name is CommandName.NOTE for c in commands)
        stored = self._store(request, MessageKind.NOTE if is_note else MessageKind.AGENT)
        for command in commands:
            if command.name is CommandName.ASSIGN:
                self._assign(request, command, stored)
        answer = _without_command_lines(self.message.new_text, commands)
        if answer and not is_note:
            if request.first_response_at is None:
                request.first_response_at = self.now
                refresh_sla_check(self.session, self.services, request, now=self.now)
            decision = decide(Status(request.status), Action.REPLY, actor=Actor.AGENT)
            self._move(
                request, decision.steps, actor=self.sender, stored=stored, detail="agent answer"
            )
            self._event(request, "answer", detail=answer[:500], stored=stored)
            self._notify_clients(request, "agent_answer", context={"answer": answer}, relay=True)
        elif is_note:
            self._event(request, "note", detail=answer[:500], stored=stored)
            self._notify_agents(
                request, "agent_note", context={"text": answer, "from": self.sender}
            )
        for command in commands:
            if command.name is CommandName.STATUS:
                self._agent_set_status(request, command, stored)

    def _agent_set_status(self, request: Request, command: Command, stored: StoredMessage) -> None:
        target = status_from_words(command.argument or "")
        decision = decide(
            Status(request.status), Action.SET_STATUS, actor=Actor.AGENT, target=target
        )
        if not decision.allowed:
            self._refuse(request, command, decision.refusal, stored)
            return
        self._move(request, decision.steps, actor=self.sender, stored=stored, detail=command.line)
        template = {
            Status.AWAITING_CONFIRMATION: "awaiting_confirmation",
            Status.CLOSED: "closed",
        }.get(target, "status_changed")
        self._notify_clients(request, template, context={"by_client": False})

    def _assign(self, request: Request, command: Command, stored: StoredMessage) -> None:
        argument = (command.argument or "").strip().lower()
        owner = self.sender if argument in ("", "me") else argument
        if "@" not in owner:
            self._refuse(request, command, Refusal.NOT_ALLOWED, stored)
            return
        request.owner = owner
        self._event(request, "assign", detail=owner, stored=stored)

    # -- bounces -------------------------------------------------------------------

    def _apply_bounce(self, request: Request | None) -> int | None:
        bounce = self.message.bounce
        assert bounce is not None
        if bounce.original_message_id:
            number = repo.request_of_message_ids(self.session, [bounce.original_message_id])
            if number is not None:
                request = repo.lock_request(self.session, number)
        stored = self._store(request, MessageKind.BOUNCE)
        newly_bouncing = []
        if bounce.permanent:
            for address in bounce.recipients:
                if not repo.is_bouncing(self.session, address):
                    repo.set_bouncing(self.session, address, self.now)
                    newly_bouncing.append(address)
        if request is not None:
            detail = ", ".join(bounce.recipients) or "unknown recipient"
            self._event(request, "bounce", detail=detail, stored=stored)
            if newly_bouncing:  # agents are told once, not at every bounce
                context = {"addresses": newly_bouncing, "text": self.message.new_text}
                self._notify_agents(request, "agent_bounce", context=context)
        return request.id if request else None

    # -- shared steps -----------------------------------------------------------------

    def _commands(self, role: Role, request: Request) -> list[Command]:
        subject_after_tag = self.message.subject_after_tag
        if normalize(subject_after_tag) == normalize(
            _strip_tag(request.subject, self.settings.tag_prefix)
        ):
            subject_after_tag = ""  # the request's own subject, not a command
        scan = scan_commands(
            new_text=self.message.new_text,
            quoted_text=self.message.quoted_text,
            subject_after_tag=subject_after_tag,
        )
        if role is Role.AGENT:
            return [c for c in scan.commands if c.name.is_agent_only]
        return [c for c in scan.commands if not c.name.is_agent_only]

    def _apply_notify_commands(self, request: Request, commands: Iterable[Command]) -> None:
        for command in commands:
            if command.name not in (CommandName.DONT_NOTIFY, CommandName.NOTIFY):
                continue
            wanted = command.name is CommandName.NOTIFY
            for participant in repo.participants(self.session, request.id):
                if participant.address == self.sender and participant.notify != wanted:
                    participant.notify = wanted
                    self._event(request, "notify", detail="on" if wanted else "off")

    def _has_text_besides(self, commands: list[Command]) -> bool:
        return bool(_without_command_lines(self.message.new_text, commands))

    def _move(
        self,
        request: Request,
        steps: Iterable[Step],
        *,
        actor: str,
        stored: StoredMessage | None,
        detail: str,
    ) -> None:
        change_status(
            self.session,
            self.services,
            request,
            steps,
            actor=actor,
            now=self.now,
            detail=detail,
            message_row_id=stored.id if stored else None,
        )

    def _refuse(
        self, request: Request, command: Command, refusal: Refusal | None, stored: StoredMessage
    ) -> None:
        reason = (refusal or Refusal.NOT_ALLOWED).value
        self._event(request, "refused", detail=f"{command.name.value}: {reason}", stored=stored)
        context = {"command": command.line, "refusal": reason, "status": request.status}
        if self.settings.is_agent(self.sender):
            self._notify(
                request, [self.sender], "agent_command_refused", context=context, agents=True
            )
        else:
            self._notify(request, [self.sender], "command_refused", context=context)

    def _change_context(self, command: Command) -> dict[str, str]:
        return {"command": command.line, "from": self.sender}

    def _store(self, request: Request | None, kind: MessageKind) -> StoredMessage:
        message = self.message
        stored = StoredMessage(
            request_id=request.id if request else None,
            message_id=message.message_id,
            direction="in",
            kind=kind,
            from_address=self.sender or _raw_from(message),
            subject=message.subject,
            new_text=message.new_text,
            at=self.now,
            inbound_id=self.inbound.id,
        )
        self.session.add(stored)
        if request is not None:
            request.updated_at = self.now
        self.session.flush()
        return stored

    def _event(
        self,
        request: Request,
        kind: str,
        *,
        actor: str | None = None,
        from_status: Status | None = None,
        to_status: Status | None = None,
        detail: str = "",
        stored: StoredMessage | None = None,
    ) -> None:
        repo.add_event(
            self.session,
            request_id=request.id,
            at=self.now,
            actor=actor or self.sender or "system",
            kind=kind,
            from_status=from_status,
            to_status=to_status,
            detail=detail,
            message_id=stored.id if stored else None,
        )

    # -- notifications -------------------------------------------------------------

    def _notify_clients(
        self, request: Request, template: str, *, context: dict, relay: bool = False
    ) -> None:
        recipients = client_recipients(self.session, request)
        self._notify(request, recipients, template, context=context, relay=relay)

    def _notify_agents(self, request: Request, template: str, *, context: dict) -> None:
        recipients = list(self.settings.agent_notify)
        if request.owner and request.owner not in recipients:
            recipients.append(request.owner)
        recipients = [r for r in recipients if r != self.sender]
        self._notify(request, recipients, template, context=context, agents=True)

    def _notify(
        self,
        request: Request,
        recipients: Iterable[str],
        template: str,
        *,
        context: dict,
        relay: bool = False,
        agents: bool = False,
    ) -> None:
        queued = self.notices.setdefault(request.id, (request, []))[1]
        queued.extend(
            Notice(
                template=template,
                recipient=recipient,
                language="en" if agents else request.language,
                context={**context, "status": request.status, "request": request_context(request)},
                relay=relay,
            )
            for recipient in dict.fromkeys(recipients)
        )

    def send_notices(self) -> None:
        """Queue what this message caused, all at once: one look-up of bounces,
        rate limits and threads per request instead of one per notice."""
        for request, notices in self.notices.values():
            enqueue_notices(self.session, self.services, request, notices, now=self.now)
        self.notices.clear()

    def _tag(self, number: int) -> str:
        return f"{self.settings.tag_prefix}-{number}"


_CLIENT_STATUS_COMMANDS = (CommandName.ESCALATE, CommandName.RESOLVE, CommandName.CANCEL,
                           CommandName.APPROVAL)  # fmt: skip


def change_status(
    session: Session,
    services: Services,
    request: Request,
    steps: Iterable[Step],
    *,
    actor: str,
    now: dt.datetime,
    detail: str,
    message_row_id: int | None = None,
) -> None:
    """Apply decided steps: status, its timers, and one history event per step."""
    deadlines = services.deadlines
    changed = False
    for step in steps:
        changed = True
        request.status = step.to_status
        request.status_since = request.updated_at = now
        request.auto_close_at = request.remind_at = None
        if step.to_status in AUTO_CLOSING:
            request.auto_close_at = deadlines.auto_close_at(now)
            request.remind_at = deadlines.remind_at(now, request.auto_close_at)
        if step.to_status is Status.CLOSED:
            request.closed_at = now
        repo.add_event(
            session,
            request_id=request.id,
            at=now,
            actor=actor,
            kind="status",
            from_status=step.from_status,
            to_status=step.to_status,
            detail=detail,
            message_id=message_row_id,
        )
    if changed:
        refresh_sla_check(session, services, request, now=now)


def refresh_sla_check(
    session: Session, services: Services, request: Request, *, now: dt.datetime
) -> None:
    """Recompute when the SLA timer must next look at this request."""
    if not services.deadlines.has_sla:
        return
    session.flush()
    state = services.deadlines.sla(
        repo.status_history(session, request.id), request.first_response_at, now
    )
    request.sla_check_at = next_sla_check(state)


def enqueue_notices(
    session: Session,
    services: Services,
    request: Request,
    notices: list[Notice],
    *,
    now: dt.datetime,
) -> None:
    """Render and queue notices in the caller's transaction, skipping who must not get mail."""
    settings = services.settings
    if not notices:
        return
    recipients = [n.recipient for n in notices if n.recipient not in settings.own_addresses]
    bouncing = repo.bouncing_among(session, recipients)
    thread = repo.thread(session, request.id)
    tokens = _reply_tokens(session, settings, request)
    limited = [r for r in recipients if not settings.is_staff(r)]
    sent = repo.sent_counts_since(session, limited, now - dt.timedelta(hours=1))
    for notice in notices:
        recipient = notice.recipient
        if recipient in settings.own_addresses:
            continue
        if recipient in bouncing:
            _skipped(session, request, notice, "address is bouncing", now)
            continue
        staff = settings.is_staff(recipient)
        if not staff and sent.get(recipient, 0) >= settings.max_per_hour:
            _skipped(session, request, notice, "rate limit reached", now)
            continue
        sent[recipient] = sent.get(recipient, 0) + 1
        thread_ids = thread.ids_for(recipient, staff=staff)
        if tokens is not None and not staff and recipient in tokens:
            notice = replace(notice, reply_to=tokens[recipient])
        rendered = services.renderer.render(
            notice,
            request_number=request.id,
            request_subject=_strip_tag(request.subject, settings.tag_prefix),
            thread_ids=thread_ids,
            now=now,
        )
        session.add(
            Outbound(
                request_id=request.id,
                message_id=rendered.message_id,
                template=notice.template,
                recipient=recipient,
                raw=rendered.raw,
                state="pending",
                attempts=0,
                next_attempt_at=now,
                last_error="",
                created_at=now,
            )
        )
        session.add(
            StoredMessage(
                request_id=request.id,
                message_id=rendered.message_id,
                direction="out",
                kind=MessageKind.NOTIFICATION,
                from_address=settings.support_address,
                subject=f"{notice.template} to {recipient}",
                new_text=rendered.text,
                at=now,
            )
        )


def _skipped(
    session: Session, request: Request, notice: Notice, why: str, now: dt.datetime
) -> None:
    log.info("notification dropped", extra={"template": notice.template, "why": why})
    repo.add_event(
        session,
        request_id=request.id,
        at=now,
        actor="system",
        kind="notification_dropped",
        detail=f"{notice.template} to {notice.recipient}: {why}",
    )


def _reply_tokens(session: Session, settings: Settings, request: Request) -> dict[str, str] | None:
    """Each participant's reply-token address, when reply tokens are on."""
    if settings.reply_token_secret is None:
        return None
    secret = settings.reply_token_secret.reveal()
    return {
        p.address: token_address(
            settings.support_address, secret, request=request.id, participant=p.id
        )
        for p in repo.participants(session, request.id)
    }


def client_recipients(session: Session, request: Request) -> list[str]:
    """The requester and CC participants who still want mail about this request."""
    return [
        p.address
        for p in repo.participants(session, request.id)
        if p.role in ("requester", "cc") and p.notify
    ]


def request_context(request: Request) -> dict:
    return {
        "status": request.status,
        "requester": request.requester,
        "auto_close_at": request.auto_close_at,
        "owner": request.owner,
    }


def _strip_tag(subject: str, prefix: str) -> str:
    return re.sub(
        rf"\s*\[\s*{re.escape(prefix)}\s*[-#]?\s*\d+\s*\]\s*", " ", subject, flags=re.I
    ).strip()


def _without_command_lines(text: str, commands: Iterable[Command]) -> str:
    command_lines = {normalize(c.line) for c in commands}
    kept = [line for line in text.split("\n") if normalize(line) not in command_lines]
    return "\n".join(kept).strip()


def _raw_from(message: InboundMessage) -> str:
    """The From header as written, for messages without one usable sender."""
    return next((value for name, value in message.headers if name == "from"), "")[:320]
