"""`decide_message`: what one parsed message does to the request it was routed to. Pure.

The caller has found the request (SPEC §3: a reply token, the subject tag, then
In-Reply-To / References) and passes its snapshot, with the few facts about
addresses that deciding needs (`Routed`: what was sent to whom lately, too).
Guards come first (spam, bounces, machine mail, mail without one sender), then
the sender's role picks the path: a new request, a client's reply or command,
an agent's answer or command, held mail.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Unpack

from mailgate.decide.conversation import (
    AgentsNotice,
    claim_if_unowned,
    first_answer_due,
    keeps_waiting,
)
from mailgate.decide.draft import Draft, EventDetail, client_recipients, new_participant
from mailgate.decide.forward import (
    Forward,
    ForwardRefused,
    agent_commands,
    forward_command,
    read_forward,
)
from mailgate.decide.merge import merge, merge_refusal
from mailgate.decide.participants import (
    MAX_CC_LINES,
    apply_cc,
    changes_since,
    join_from_reply,
    tell_agents,
)
from mailgate.decide.rating import Rating, agent_status_context, ask_for_rating, record_rating
from mailgate.decide.relay import plan_relay
from mailgate.decide.spam import Check, held_again, spam_reason, waived_checks
from mailgate.decide.triage import AGENT_TRIAGE, client_priority
from mailgate.decision import (
    AgentAnswer,
    Decision,
    Event,
    RequestRef,
    RequestSnapshot,
    Rules,
)
from mailgate.domain import (
    DEFAULT_PRIORITY,
    Command,
    CommandName,
    InboundMessage,
    MessageKind,
    Role,
    Status,
    StatusChange,
)
from mailgate.parse.authresults import Authentication, Verdict, read_authentication
from mailgate.parse.commands import find_commands, normalize, status_from_words
from mailgate.parse.escalation import judge_escalation_reason
from mailgate.tags import format_tag, parse_tag, strip_tag
from mailgate.workflow import Action, Actor, Refusal, decide, notice_for, set_status_notice

if TYPE_CHECKING:
    from mailgate.config import Settings

_CYRILLIC = re.compile(r"[а-яё]", re.I)
_MAX_NAME = 80  # characters of an agent's name in a From header
_CLIENT_STATUS_COMMANDS = (CommandName.ESCALATE, CommandName.RESOLVE, CommandName.CANCEL,
                           CommandName.APPROVAL)  # fmt: skip
CLOSED_REPLY_EVERY = dt.timedelta(days=1)  # one closed_reply per address and request (SPEC §14)
CC_SHOWN = 200  # CC addresses left out of the participants that the agents' notice names


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceProof:
    """A recipient whose bounce a delivery-status report proves (SPEC §14): the
    report names a notification that mailgate sent to that address."""

    recipient: str
    request: int | None  # the notification's
    by: str  # what names the notification, for the history: "its return path (…)", …


@dataclass(frozen=True, slots=True, kw_only=True)
class Routed:
    """Where the message goes, as the store found it."""

    request: RequestSnapshot | None
    via_token: str | None = None  # the participant whose valid reply token it was sent to
    bouncing: frozenset[str] = frozenset()  # of the sender and a bounce's recipients
    agent_tokens: frozenset[int] = frozenset()  # requests whose agents' reply address it went to
    bounce_proofs: tuple[BounceProof, ...] = ()  # the recipients a bounce proves bounced
    bounce_doubt: str = ""  # why the return path a bounce was sent to proves nothing
    # Set by `mailgate held release` (decide/spam.py `release_note`): the admin vouches
    # for this held message, so the check that held it is waived for it; the text is
    # what the history records.
    released: str = ""
    # Read for a message that may open a request: `created` notices queued in the
    # last hour, to each of its would-be recipients, and to anyone at all.
    acknowledgements: Mapping[str, int] = field(default_factory=dict)
    acknowledgements_in_all: int = 0
    # Read for a reply to a closed request: when `closed_reply` last went to each
    # of its sender's addresses about it.
    closed_replies: Mapping[str, dt.datetime] = field(default_factory=dict)
    # The request a `#merge` line names, read under its lock (None: none named, or unknown).
    merge_target: RequestSnapshot | None = None
    # Read for mail that names others in To or Cc: it replies to a notification mailgate
    # sent to its sender about this request (a random Message-ID: proof it was read).
    answers_notice: bool = False
    # Sent to a rating address (SPEC §16, decide/rating.py): its value, or why not.
    rating: Rating | None = None


def decide_message(
    message: InboundMessage, routed: Routed, rules: Rules, *, now: dt.datetime
) -> Decision:
    return _Deciding(message, routed, rules, now).run()


class _Deciding:
    """One message's decision; the steps share the message, the draft and the sender."""

    def __init__(
        self, message: InboundMessage, routed: Routed, rules: Rules, now: dt.datetime
    ) -> None:
        self.message = message
        self.routed = routed
        self.settings = rules.settings
        self.draft = Draft(rules, now)
        self.now = now
        self.sender = message.sender.address if message.sender else ""
        self.held_because = ""  # why an agent address's mail does not count as the agent's
        self.agent_refusals: list[dict[str, object]] = []  # an agent's commands refused
        self.waived = waived_checks(routed.released)  # by an admin's release
        # The message's files, for the notices that relay them: None when it has none.
        self.files = plan_relay(message.attachments, rules.settings.attachments)

    def run(self) -> Decision:
        released = self.routed.released
        if why := spam_reason(self.message, self.settings.trust, waived=self.waived):
            decision = Decision(holds=why)  # no request, no reply, no command (SPEC §14)
        else:
            decision = self._decide()
        if not released:
            return decision
        if decision.holds is not None:  # another check holds it: the next release waives both
            return Decision(holds=held_again(decision.holds, released))
        if decision.request is None:
            return decision
        event = Event(request=decision.request, kind="released", actor="admin", detail=released,
                      caused=True)  # fmt: skip
        return replace(decision, events=(event, *decision.events))

    def _decide(self) -> Decision:
        routed, message = self.routed, self.message
        ref = self.draft.track(routed.request) if routed.request is not None else None
        if message.bounce is not None:
            return self._bounce(ref)
        if message.auto is not None or not self.sender:
            kind = MessageKind.AUTO if message.auto else MessageKind.HELD
            self.draft.store(ref, kind, self._from_address())
            return self.draft.decision(request=ref)
        if self.sender in routed.bouncing:  # it writes: it receives again
            self.draft.set_bouncing(self.sender, None)
        if ref is None:
            if self.settings.is_agent(self.sender) and (why := self._unproven_agent(None)):
                return Decision(holds=why)  # a stranger in an agent's name opens nothing
            if self.settings.is_agent(self.sender) and forward_command(agent_commands(message)):
                return self._forward(linked_to=None)
            return self.draft.decision(request=self._open_request())
        role = self._role_on(ref)
        if role is Role.OUTSIDER:
            self._hold(ref)
        elif role is Role.AGENT and forward_command(agent_commands(message)):
            return self._forward(linked_to=ref)  # a new request all the same (docs/agents.md)
        elif role is Role.AGENT:
            self._agent(ref)
        elif self.routed.rating is not None and record_rating(
            self.draft, ref, self.routed.rating, text=self.message.new_text, actor=self.sender
        ):
            self.draft.store(ref, MessageKind.CLIENT, self.sender)
        elif self.draft.request(ref).status is Status.CLOSED:
            return self.draft.decision(request=self._reply_to_closed(ref))
        else:
            self._client(ref)
        return self.draft.decision(request=ref)

    # -- who is writing ------------------------------------------------------------

    def _role_on(self, ref: RequestRef) -> Role:
        if not self._is_authenticated():
            return Role.OUTSIDER
        via = self.routed.via_token
        if via and via != self.sender:
            # Sent to a participant's reply token from another address: it is that
            # participant's reply (a client writing from a second mailbox).
            self._event(ref, "reply_token", detail=f"{self.sender} writes as {via}", caused=False)
            self.sender = via
            return Role.CLIENT
        if self.settings.is_agent(self.sender):
            self.held_because = self._unproven_agent(ref)
            return Role.OUTSIDER if self.held_because else Role.AGENT
        known = self.draft.request(ref).participant(self.sender) is not None
        return Role.CLIENT if known else Role.OUTSIDER

    def _unproven_agent(self, ref: RequestRef | None) -> str:
        """Why mail from an agent address is not proven to be the agent's ("" when it
        is): it must be sent to the agents' reply address of its request, or pass
        DMARC/DKIM for its From domain at our MX, unless `[trust] agents = "from"`."""
        trust = self.settings.trust
        if trust.agents == "from" or Check.AGENT_PROOF in self.waived:  # the admin vouches
            return ""
        tokens = self.routed.agent_tokens
        number = self.draft.request(ref).number if ref is not None else None
        if number is not None and number in tokens:
            return ""
        if self._authentication().verdict is Verdict.PASS:
            return ""
        if tokens:
            named = ", ".join(self._tag(n) for n in sorted(tokens))
            where = f"the agents' reply address of {named}, not of this request"
        else:
            where = "no agents' reply address of this request"
        return f"{Check.AGENT_PROOF} {where}; {self._authentication().detail}"

    def _is_authenticated(self) -> bool:
        """With `require_authenticated_sender`, only mail whose From passed DMARC/DKIM counts."""
        if not self.settings.trust.require_authenticated_sender:
            return True
        if self.waived & {Check.DMARC_FAIL, Check.AGENT_PROOF}:  # the admin vouched for the From
            return True
        return self._authentication().verdict is Verdict.PASS

    def _authentication(self) -> Authentication:
        """Our MX's verdict on the From domain (parse/authresults.py)."""
        return read_authentication(
            self.message.headers,
            from_domain=self.sender.rpartition("@")[2],
            authserv_id=self.settings.trust.authserv_id,
        )

    # -- new requests -----------------------------------------------------------------

    def _open_request(
        self, *, linked_to: RequestRef | None = None, forward: Forward | None = None
    ) -> RequestRef:
        """A new request from the message; with `forward` (an agent's `#fwd`), from the
        message it forwards: its sender the requester, its subject and text the
        request's, the forwarding agent the owner. Then no CC joins and no command is
        read from the forwarded text (it is not new text, SPEC §2)."""
        message, settings, now = self.message, self.settings, self.now
        requester = forward.requester if forward else self.sender
        text = forward.text if forward else message.new_text
        subject = (forward.subject if forward else message.subject.strip()) or "(no subject)"
        if linked_to is not None:
            subject = strip_tag(subject, settings.tag_prefix)
        participants = [new_participant(requester, "requester")]
        cc, left_out = first_cc(message, settings, requester=requester) if not forward else ([], [])
        for address in cc:
            role = "agent" if settings.is_agent(address) else "cc"
            participants.append(new_participant(address, role))
        ref = self.draft.open(
            RequestSnapshot(
                number=0,
                subject=subject,
                status=Status.NEW,
                requester=requester,
                owner=self.sender if forward else None,
                language=self._language(f"{subject}\n{text}"),
                participants=tuple(participants),
                created_at=now,
                updated_at=now,
                status_since=now,
                linked_request=linked_to,
                history=(StatusChange(at=now, status=Status.NEW),),
                priority=self._asked_priority(),
            )
        )
        self.draft.store(ref, MessageKind.CLIENT, requester, as_forwarded=forward is not None)
        detail = f"linked to {self._tag(linked_to)}" if linked_to else message.subject
        self._event(ref, "created", to_status=Status.NEW, detail=detail)
        if (priority := self.draft.request(ref).priority) != DEFAULT_PRIORITY:
            self._event(ref, "priority", detail=f"{DEFAULT_PRIORITY} -> {priority} (its headers)")
        self.draft.refresh_sla(ref)
        if left_out:
            self._event(ref, "cc_capped", caused=False, detail=f"{len(left_out)} CC addresses "
                        f"not made participants ([trust] max_cc_participants = "
                        f"{settings.trust.max_cc_participants})")  # fmt: skip
        if forward is not None:
            self._forwarded(ref, forward)
        else:  # a new request has nothing to approve: only its notify commands count
            self._notify_commands(ref, self._commands(Role.CLIENT, ref, approvals=False))
        context = {"text": text}
        acknowledged, unacknowledged = self._acknowledgements(ref)
        due = first_answer_due(self.draft, ref)  # SPEC §15: by when, not "soon"
        self.draft.notify(ref, acknowledged, "created", context={**context, "answer_due": due})
        agents = {
            **context,
            "not_acknowledged": unacknowledged,
            "cc_left_out": left_out[:CC_SHOWN],
            "cc_left_out_count": len(left_out),
        }
        if forward is not None:
            agents |= {"forwarded_by": self.sender, "note": self._forward_note()}
        self.draft.notify_agents(ref, "agent_new_request",
                                 context=self._for_agents(agents, forwarded=not forward),
                                 besides=self.sender, files=self.files)  # fmt: skip
        if forward is not None:
            confirmation = {**agents, "acknowledged": bool(acknowledged)}
            self.draft.notify(ref, [self.sender], "agent_forward_opened",
                              context=self._for_agents(confirmation, forwarded=False),
                              agents=True)  # fmt: skip
        return ref

    def _acknowledgements(self, ref: RequestRef) -> tuple[list[str], list[str]]:
        """Who gets the `created` acknowledgement, and who not (SPEC §14): at most
        `max_new_requests_per_sender` an hour to one address, and
        `max_acknowledgements_per_hour` in all. Past them the request still opens;
        the history says which were not sent, and why."""
        settings, routed = self.settings, self.routed
        per_address, in_all = settings.max_new_requests_per_sender, routed.acknowledgements_in_all
        sent: list[str] = []
        withheld: dict[str, list[str]] = {}
        for address in client_recipients(self.draft.request(ref)):
            count = routed.acknowledgements.get(address, 0)
            if in_all >= settings.max_acknowledgements_per_hour:
                why = (f"{in_all} sent in the last hour (max_acknowledgements_per_hour = "
                       f"{settings.max_acknowledgements_per_hour})")  # fmt: skip
            elif count >= per_address:
                why = (f"{count} sent to this address in the last hour "
                       f"(max_new_requests_per_sender = {per_address})")  # fmt: skip
            else:
                sent.append(address)
                in_all += 1
                continue
            withheld.setdefault(why, []).append(address)
        for why, addresses in withheld.items():
            detail = f"acknowledgement not sent to {', '.join(addresses)}: {why}"
            self._event(ref, "not_sent", caused=False, detail=detail)
        return sent, [address for addresses in withheld.values() for address in addresses]

    def _asked_priority(self) -> str:
        """The priority a first message's headers ask for, read only with
        `client_priority = "read"` (SPEC §16)."""
        if self.settings.client_priority != "read":
            return DEFAULT_PRIORITY
        return client_priority(self.message.headers)

    def _language(self, sample: str) -> str:
        """The request's language: the configured one, or with "auto" the one of
        `sample` (its subject and first text)."""
        language = self.settings.language
        if language != "auto":
            return language
        return "ru" if _CYRILLIC.search(sample) else "en"

    # -- clients ------------------------------------------------------------------------

    def _client(self, ref: RequestRef) -> None:
        self.draft.store(ref, MessageKind.CLIENT, self.sender)
        commands = self._commands(Role.CLIENT, ref)
        self._notify_commands(ref, commands)
        status_commands = [c for c in commands if c.name in _CLIENT_STATUS_COMMANDS]
        agents = AgentsNotice()
        if status_commands:
            agents = self._client_command(ref, status_commands[0])
        elif (
            (words := _without_command_lines(self.message.new_text, commands))
            or self.files
            or self.message.forwarded is not None
        ):
            status = self._status(ref)
            if keeps_waiting(self.message, status, text=words):
                self._event(ref, "thanks", detail=f"only thanks: {status} and its automatic "
                            "close kept")  # fmt: skip
                agents.context["thanks_only"] = True
            else:
                verdict = decide(status, Action.REPLY, actor=Actor.CLIENT)
                self.draft.move(ref, verdict.steps, actor=self.sender, detail="client reply",
                                caused=True)  # fmt: skip
        named = [a.address for a in (*self.message.to, *self.message.cc)]
        joined = join_from_reply(self.draft, ref, named, actor=self.sender,
                                 settings=self.settings, proven=self._proves_sender())  # fmt: skip
        # One notice to the agents per message (SPEC §15), whatever it did.
        context = self._for_agents({**agents.context, "text": self.message.new_text,
                                    "from": self.sender, **joined.context()})  # fmt: skip
        self.draft.notify_agents(ref, agents.template, context=context, besides=self.sender,
                                 files=self.files, also=agents.also)  # fmt: skip

    def _proves_sender(self) -> bool:
        """May this client's reply add participants? Only when it proves its From (a
        forged From must not let a stranger join and read the answers): sent to the
        sender's reply token, a reply to a notification sent to the sender, or a
        DMARC/DKIM pass for its domain at our MX."""
        routed = self.routed
        if routed.via_token or routed.answers_notice or Check.DMARC_FAIL in self.waived:
            return True
        return self._authentication().verdict is Verdict.PASS

    def _client_command(self, ref: RequestRef, command: Command) -> AgentsNotice:
        """Apply a client's status command; the agents' notice of the message."""
        if command.name is CommandName.ESCALATE:
            return self._escalate(ref, command)
        action = Action.CANCEL if command.name is CommandName.CANCEL else Action.RESOLVE
        verdict = decide(self._status(ref), action, actor=Actor.CLIENT)
        if not verdict.allowed:
            self._refuse(ref, command, verdict.refusal)
            return AgentsNotice()
        self.draft.move(ref, verdict.steps, actor=self.sender, detail=command.line, caused=True)
        template = notice_for(Actor.CLIENT, action)
        context: dict[str, object] = {"by_client": True}
        if action is Action.RESOLVE:  # not after a cancel (SPEC §16)
            context |= ask_for_rating(self.draft, ref)
        self.draft.notify_clients(ref, template, context=context)
        return AgentsNotice(template="agent_status_changed", context={"command": command.line})

    def _escalate(self, ref: RequestRef, command: Command) -> AgentsNotice:
        # "Escalate" alone (e.g. from the subject of a mailto: link): the text is the reason.
        reason = command.argument or _without_command_lines(self.message.new_text, [command])
        judged = judge_escalation_reason(reason, language=self.draft.request(ref).language)
        context = {"reason": reason, "category": judged.category}
        if not judged.accepted:
            detail = f"{judged.category}: {judged.evidence}".strip(": ")
            self._event(ref, "escalation_refused", detail=detail)
            self.draft.notify(ref, [self.sender], "escalation_refused", context=context)
            return AgentsNotice()
        verdict = decide(self._status(ref), Action.ESCALATE, actor=Actor.CLIENT)
        if not verdict.allowed:
            self._refuse(ref, command, verdict.refusal)
            return AgentsNotice()
        self.draft.move(ref, verdict.steps, actor=self.sender, detail=reason, caused=True)
        self.draft.notify_clients(ref, notice_for(Actor.CLIENT, Action.ESCALATE), context=context)
        return AgentsNotice(template="agent_escalated", context={"reason": reason},
                            also=self.settings.escalation_notify)  # fmt: skip

    def _reply_to_closed(self, ref: RequestRef) -> RequestRef:
        if self.settings.closed_reply_policy == "new_request":
            opened = self._open_request(linked_to=ref)
            self.draft.event(ref, "closed_reply", actor=self.sender, detail="opened",
                             mentions_opened=True)  # fmt: skip
            return opened
        self.draft.store(ref, MessageKind.CLIENT, self.sender)
        last = self.routed.closed_replies.get(self.sender)
        if last is not None and self.now - last < CLOSED_REPLY_EVERY:  # once a day (SPEC §14)
            detail = "request is closed; closed_reply not sent: sent within the last day"
            self._event(ref, "closed_reply", detail=detail)
            return ref
        self._event(ref, "closed_reply", detail="request is closed; sender told")
        self.draft.notify(ref, [self.sender], "closed_reply", context={})
        return ref

    def _hold(self, ref: RequestRef) -> None:
        self.draft.store(ref, MessageKind.HELD, self.sender)
        why = self.held_because or (
            "not a participant" if self._is_authenticated() else "sender not authenticated"
        )
        self._event(ref, "held", detail=f"from {self.sender}: {why}")
        context = self._for_agents({"text": self.message.new_text, "from": self.sender})
        self.draft.notify_agents(ref, "agent_held", context=context, besides=self.sender,
                                 files=self.files)  # fmt: skip

    # -- forwards (#fwd, decide/forward.py) ----------------------------------------------

    def _forward(self, *, linked_to: RequestRef | None) -> Decision:
        """A proven agent's `#fwd`: the forwarded message opens its sender's request,
        or the agent is told why not and nothing opens. In mail about a request
        (`linked_to`), the new request is linked to it."""
        found = read_forward(self.message, agent_commands(self.message), self.settings)
        if isinstance(found, ForwardRefused):
            self._refuse_forward(found, linked_to)
            return self.draft.decision(request=linked_to)
        ref = self._open_request(linked_to=linked_to, forward=found)
        if linked_to is not None:
            self._event(linked_to, "forwarded", caused=False, mentions_opened=True,
                        detail=f"a forward of {found.requester}'s mail opened")  # fmt: skip
        return self.draft.decision(request=ref)

    def _forwarded(self, ref: RequestRef, forward: Forward) -> None:
        """The history of a request a `#fwd` opened: whose mail it is, the owner, the
        agent's note; then the agent's `#assign`, the one other command that counts."""
        forwarded = forward.forwarded
        sent = ", ".join(part for part in (forwarded.sender, forwarded.date) if part)
        self._event(ref, "forwarded", detail=f"requester {forward.requester}: from the "
                    f"forwarded message ({sent})")  # fmt: skip
        self._event(ref, "assign", detail=self.sender)
        if note := self._forward_note():
            self._event(ref, "note", detail=note[:500])
        for command in forward.commands:
            if command.name is CommandName.ASSIGN:
                self._assign(ref, command)
        self._tell_agent_refusals(ref)

    def _forward_note(self) -> str:
        """The agent's own lines above `#fwd`: an internal note, never sent to the client."""
        return _without_command_lines(self.message.new_text, agent_commands(self.message))

    def _refuse_forward(self, refused: ForwardRefused, request: RequestRef | None) -> None:
        """Tell the agent why their `#fwd` opened nothing. In mail about a request, the
        mail is kept there as a note (never relayed); else under no request."""
        context = {"command": refused.command.line, "why": refused.reason,
                   "forwarded": self.message.forwarded.to_json()
                   if self.message.forwarded is not None else None}  # fmt: skip
        if request is None:
            self.draft.store(None, MessageKind.AGENT, self.sender)
            self.draft.notify_unfiled([self.sender], "agent_forward_refused", context=context,
                                      subject=self.message.subject)  # fmt: skip
            return
        self.draft.store(request, MessageKind.NOTE, self.sender)
        self._event(request, "refused", detail=f"{refused.command.line}: {refused.reason}")
        self.draft.notify(request, [self.sender], "agent_forward_refused", context=context,
                          agents=True)  # fmt: skip

    # -- agents ---------------------------------------------------------------------------

    def _agent(self, ref: RequestRef) -> None:
        commands = self._commands(Role.AGENT, ref)
        is_note = any(c.name is CommandName.NOTE for c in commands)
        self.draft.store(ref, MessageKind.NOTE if is_note else MessageKind.AGENT, self.sender)
        for command in commands:
            if command.name is CommandName.ASSIGN:
                self._assign(ref, command)
            elif (triage := AGENT_TRIAGE.get(command.name)) and (
                refusal := triage(self.draft, ref, command, actor=self.sender)
            ):
                self._refuse(ref, command, refusal)
        before = {p.address for p in self.draft.request(ref).participants}
        self._cc(ref, [c for c in commands if c.name is CommandName.CC])
        changes = changes_since(self.draft, ref, before)
        answer = _without_command_lines(self.message.new_text, commands)
        public = bool(answer or self.files) and not is_note
        if public:
            if self.draft.request(ref).first_response_at is None:
                self.draft.set(ref, first_response_at=self.now)
                self.draft.refresh_sla(ref)
            claim_if_unowned(self.draft, ref, self.sender)
            verdict = decide(self._status(ref), Action.REPLY, actor=Actor.AGENT)
            self.draft.move(ref, verdict.steps, actor=self.sender, detail="agent answer",
                            caused=True)  # fmt: skip
            self._event(ref, "answer", detail=answer[:500])
        elif is_note:  # one notice to agents per message: the note names the changes
            self._event(ref, "note", detail=answer[:500])
            context = self._with_files({"text": answer, "from": self.sender, **changes})
            self.draft.notify_agents(ref, "agent_note", context=context, besides=self.sender,
                                     files=self.files)  # fmt: skip
        if not is_note:
            tell_agents(self.draft, ref, changes, by=self.sender)
        news = None  # the status the message's `#status` lines left, if any took
        for command in commands:
            if command.name is CommandName.STATUS:
                news = self._set_status(ref, command) or news
        # One mail per client (SPEC §15): the answer carries the status news.
        if public:
            # `status_news`: the status notice the answer stands for (its paragraphs follow it).
            status_news = set_status_notice(news) if news is not None else None
            told = agent_status_context(self.draft, ref, news) if news is not None else {}
            context = self._with_files({**told, "answer": answer, "status_news": status_news})
            self.draft.notify_clients(ref, notice_for(Actor.AGENT, Action.REPLY), context=context,
                                      relay=True, files=self.files,
                                      answer=self._relayed_answer(commands))  # fmt: skip
        elif news is not None:
            context = agent_status_context(self.draft, ref, news)
            self.draft.notify_clients(ref, set_status_notice(news), context=context)
        for command in commands:  # after the answer, which goes to this request's clients
            if command.name is CommandName.MERGE:
                self._merge(ref, command)
        self._tell_agent_refusals(ref)

    def _tell_agent_refusals(self, ref: RequestRef) -> None:
        """One notice to the agent for every refused command of the mail (`#assign`
        and `#status`, say): agents get one notice per message (SPEC §15)."""
        if not self.agent_refusals:
            return
        first, *more = self.agent_refusals
        self.agent_refusals = []
        self.draft.notify(ref, [self.sender], "agent_command_refused",
                          context={**first, "more_refused": more}, agents=True)  # fmt: skip

    def _relayed_answer(self, commands: list[Command]) -> AgentAnswer:
        """The agent's name for the From (SPEC §13) and, for HTML mail, the answer's HTML."""
        html = None
        if self.message.html is not None:
            from mailgate.parse.newtext import new_html  # here: only an HTML answer needs it

            relayed = self.files.attached if self.files else ()
            images = {file.content_id for file in relayed if file.inline and file.content_id}
            drop = {normalize(command.line) for command in commands}
            html = new_html(self.message.html, drop=drop, images=images)
        sender = self.message.sender
        return AgentAnswer(agent=agent_name(sender.name if sender else "", self.sender),
                           html=html, hidden=(self.sender,))  # fmt: skip

    def _set_status(self, ref: RequestRef, command: Command) -> Status | None:
        """Apply one `#status`; the status set, or None when refused. The caller tells
        the clients, once for the whole message."""
        target = status_from_words(command.argument or "")
        verdict = decide(self._status(ref), Action.SET_STATUS, actor=Actor.AGENT, target=target)
        if not verdict.allowed:
            self._refuse(ref, command, verdict.refusal)
            return None
        self.draft.move(ref, verdict.steps, actor=self.sender, detail=command.line, caused=True)
        return target

    def _cc(self, ref: RequestRef, commands: list[Command]) -> None:
        """`#cc add|remove ADDRESS` lines, before the answer (an added participant gets
        it; decide/participants.py)."""
        for command in commands[:MAX_CC_LINES]:
            refusal = apply_cc(self.draft, ref, command.argument or "", actor=self.sender,
                               settings=self.settings)  # fmt: skip
            if refusal is not None:
                self._refuse(ref, command, refusal)
        if len(commands) > MAX_CC_LINES:
            self._event(ref, "refused", detail=f"cc: {len(commands) - MAX_CC_LINES} lines past "
                        f"the first {MAX_CC_LINES} of one mail, not read")  # fmt: skip

    def _merge(self, ref: RequestRef, command: Command) -> None:
        target = self.routed.merge_target
        named = parse_tag(command.argument or "", [self.settings.tag_prefix])
        source = self.draft.request(ref)
        if target is not None and named is not None and target.number != named:
            target = None  # another mailbox's prefix on the number: not this one
        if named == source.number:
            target = source
        refusal = merge_refusal(source, target)
        if refusal is not None or target is None:
            self._refuse(ref, command, refusal)
            return
        self.draft.track(target)
        merge(self.draft, source, target, actor=self.sender, caused=True)

    def _assign(self, ref: RequestRef, command: Command) -> None:
        argument = (command.argument or "").strip().lower()
        owner = self.sender if argument in ("", "me") else argument
        if "@" not in owner or not self.settings.is_agent(owner):
            self._refuse(ref, command, Refusal.NOT_AN_AGENT)  # only an agent owns a request
            return
        self.draft.set(ref, owner=owner)
        self._event(ref, "assign", detail=owner)

    # -- bounces --------------------------------------------------------------------------

    def _bounce(self, ref: RequestRef | None) -> Decision:
        """Store the report; mark as bouncing only the recipients it proves (SPEC §14:
        it names a notification sent to that address) that are not staff, and say in
        the request's history, address by address, why each was marked or not."""
        bounce = self.message.bounce
        assert bounce is not None
        self.draft.store(ref, MessageKind.BOUNCE, self._from_address())
        verdicts, newly_bouncing = self._bounce_verdicts(bounce.permanent)
        if ref is not None:
            self._event(ref, "bounce", detail="; ".join(verdicts))
            if newly_bouncing:  # agents are told once, not at every bounce
                context = {"addresses": newly_bouncing, "text": self.message.new_text,
                           "hold_days": self.settings.trust.bounce_hold_days}  # fmt: skip
                self.draft.notify_agents(ref, "agent_bounce", context=context, besides=self.sender)
        return self.draft.decision(request=ref)

    def _bounce_verdicts(self, permanent: bool) -> tuple[list[str], list[str]]:
        """What the report does to each address it names or proves, as history lines,
        and the addresses it newly marks as bouncing."""
        bounce, routed = self.message.bounce, self.routed
        assert bounce is not None
        proofs = {proof.recipient: proof for proof in routed.bounce_proofs}
        verdicts = [routed.bounce_doubt] if routed.bounce_doubt else []
        marked, unproven = [], []
        hold = self.settings.trust.bounce_hold_days
        for address in dict.fromkeys([*proofs, *bounce.recipients]):
            proof = proofs.get(address)
            if proof is None:
                unproven.append(address)
            elif self.settings.is_staff(address):
                verdicts.append(f"{address}: staff address, never silenced; not marked")
            elif not permanent:
                verdicts.append(f"{address}: temporary failure; not marked")
            elif address in routed.bouncing:
                verdicts.append(f"{address}: already bouncing")
            else:
                self.draft.set_bouncing(address, self.now)
                marked.append(address)
                verdicts.append(f"{address}: marked as bouncing for {hold} days, "
                                f"proven by {proof.by}")  # fmt: skip
        if unproven:
            named = ", ".join(unproven[:10]) + (f" and {len(unproven) - 10} more"
                                                if len(unproven) > 10 else "")  # fmt: skip
            verdicts.append(f"bounce names no notification sent to {named}; not marked")
        return verdicts or ["bounce names no recipient; nothing marked"], marked

    # -- shared steps ---------------------------------------------------------------------

    def _commands(self, role: Role, ref: RequestRef, *, approvals: bool = True) -> list[Command]:
        """The commands of the sender's role; approval phrases only where they may
        count (`approvals`; never in an agent's mail)."""
        subject_after_tag = self.message.subject_after_tag
        request_subject = strip_tag(self.draft.request(ref).subject, self.settings.tag_prefix)
        if normalize(subject_after_tag) == normalize(request_subject):
            subject_after_tag = ""  # the request's own subject, not a command
        agent_role = role is Role.AGENT
        found = find_commands(
            new_text=self.message.new_text,
            subject_after_tag=subject_after_tag,
            approvals=approvals and not agent_role,
        )
        return [c for c in found if c.name.is_agent_only is agent_role]

    def _notify_commands(self, ref: RequestRef, commands: Iterable[Command]) -> None:
        for command in commands:
            if command.name not in (CommandName.DONT_NOTIFY, CommandName.NOTIFY):
                continue
            wanted = command.name is CommandName.NOTIFY
            participant = self.draft.request(ref).participant(self.sender)
            if participant is not None and participant.notify != wanted:
                self.draft.set_notify(ref, self.sender, wanted)
                self._event(ref, "notify", detail="on" if wanted else "off", caused=False)

    def _refuse(self, ref: RequestRef, command: Command, refusal: Refusal | None) -> None:
        reason = (refusal or Refusal.NOT_ALLOWED).value
        self._event(ref, "refused", detail=f"{command.name.value}: {reason}")
        context: dict[str, object] = {"command": command.line, "refusal": reason,
                                      "status": self._status(ref)}  # fmt: skip
        if self.settings.is_agent(self.sender):
            self.agent_refusals.append(context)  # told once, at the end of the message
        else:
            self.draft.notify(ref, [self.sender], "command_refused", context=context)

    def _event(
        self, ref: RequestRef, kind: str, *, caused: bool = True, **fields: Unpack[EventDetail]
    ) -> None:
        """An event by the sender, linked to the stored message unless `caused` is False."""
        self.draft.event(ref, kind, actor=self.sender or "system", caused=caused, **fields)

    def _with_files(self, context: Mapping[str, object]) -> Mapping[str, object]:
        """A notice's context, saying when only files came (SPEC §10): no words, and
        nothing forwarded."""
        if self.files is None:
            return context
        words = str(context.get("text", context.get("answer", "")))
        return {**context, "only_files": not words.strip() and "forwarded" not in context}

    def _for_agents(
        self, context: Mapping[str, object], *, forwarded: bool = True
    ) -> dict[str, object]:
        """The context of an agents' notice that shows the client's text: with the
        files (`_with_files`), `text_cut` when the message's text was longer than
        `max_text_bytes` (SPEC §14: the notice says the text was cut), and what the
        client forwarded (`forwarded`: sender, date, subject, text), if anything,
        unless `forwarded` is False (a `#fwd`, whose text is the forwarded text)."""
        full: dict[str, object] = dict(context)
        if forwarded and self.message.forwarded is not None:
            full["forwarded"] = self.message.forwarded.to_json()
        return {**self._with_files(full), "text_cut": self.message.text_cut}

    def _status(self, ref: RequestRef) -> Status:
        return self.draft.request(ref).status

    def _from_address(self) -> str:
        """The sender, or the From header as written when there is no single one."""
        if self.sender:
            return self.sender
        raw = next((value for name, value in self.message.headers if name == "from"), "")
        return raw[:320]

    def _tag(self, number: int) -> str:
        return format_tag(self.settings.tag_prefix, number)


def first_cc(
    message: InboundMessage, settings: Settings, *, requester: str
) -> tuple[list[str], list[str]]:
    """The CC addresses of a first message that become participants, and the rest:
    only the first `[trust] max_cc_participants` distinct ones count, besides the
    requester and our own addresses (SPEC §14: one mail with 1,200 addresses in Cc
    must not make mailgate write to 1,200 people)."""
    limit = settings.trust.max_cc_participants
    seen = {requester}
    kept: list[str] = []
    rest: list[str] = []
    for cc in message.cc:
        address = cc.address
        if address in seen or address in settings.own_addresses:
            continue
        seen.add(address)
        (kept if len(kept) < limit else rest).append(address)
    return kept, rest


def agent_name(display_name: str, address: str) -> str:
    """The display name of the agent's mail, else the local part of the address: never
    the address, even when the display name is one (`"alice@example.org" <alice@…>`)."""
    name = " ".join(display_name.split()).strip("'\" ")
    if not name or "@" in name:
        name = address.partition("@")[0]
    return name if len(name) <= _MAX_NAME else name[: _MAX_NAME - 1] + "…"


def _without_command_lines(text: str, commands: Iterable[Command]) -> str:
    command_lines = {normalize(c.line) for c in commands}
    if not command_lines:
        return text.strip()  # what the loop below gives, without a step per line
    kept = [
        line
        for line in text.split("\n")
        if line.isspace() or not line or normalize(line) not in command_lines
    ]
    return "\n".join(kept).strip()
