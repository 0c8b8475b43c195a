"""`#merge REQ-12` on REQ-5, or `mailgate requests merge REQ-5 --into REQ-12`
(SPEC §15). Pure.

What a merge does, in one decision over both requests:
- REQ-5 closes (a status event "merged into REQ-12", whatever status it had),
  its `merged_into` is set, and its timers stop: it is closed, nothing of it
  is due any more.
- REQ-12 keeps its own status and its own clock (auto-close, reminders, SLA):
  the work goes on where it was. The time REQ-5 was open stays in REQ-5's
  history.
- REQ-5's client participants (its requester included) become CC participants
  of REQ-12, within `[trust] max_cc_participants`; whoever is left out past the
  cap is named in REQ-12's history.
- REQ-5's messages stay filed under REQ-5; REQ-12's history gets an event that
  names REQ-5, where they are. Later mail tagged REQ-5, or replying to its
  notices, is filed under REQ-12 (apply/locate.py follows `merged_into`).
- REQ-5's clients who want mail are told once, with the `merged` notice in
  REQ-12's thread, so that their next reply lands there.

Refused, nothing changed: a merge into itself, into a closed request, into a
request that was itself merged (the refusal names where it went: merging there
is the agent's call), of a closed request, across mailboxes, into an unknown
request, and by anyone not an agent.
"""

from __future__ import annotations

import datetime as dt

from mailgate.decide.draft import Draft, client_recipients
from mailgate.decide.participants import refusal_to_add
from mailgate.decision import RequestSnapshot, Rules
from mailgate.domain import Status
from mailgate.tags import format_tag
from mailgate.workflow import Action, Actor, Refusal, decide


def merge_refusal(source: RequestSnapshot, target: RequestSnapshot | None) -> Refusal | None:
    """Why `source` may not be merged into `target` (None: it may)."""
    if target is None:
        return Refusal.UNKNOWN_REQUEST
    if target.number == source.number:
        return Refusal.INTO_ITSELF
    if target.merged_into is not None:
        return Refusal.MERGED
    if target.status is Status.CLOSED or source.status is Status.CLOSED:
        return Refusal.CLOSED
    if target.mailbox != source.mailbox:
        return Refusal.OTHER_MAILBOX
    return None


def merge(
    draft: Draft, source: RequestSnapshot, target: RequestSnapshot, *, actor: str, caused: bool
) -> None:
    """Merge `source` into `target`, both tracked by `draft`; `merge_refusal` said yes.
    `caused`: the history events link the message being applied (an agent's mail)."""
    prefix = draft.settings.tag_prefix
    into, merged = format_tag(prefix, target.number), format_tag(prefix, source.number)
    verdict = decide(source.status, Action.SET_STATUS, actor=Actor.AGENT, target=Status.CLOSED)
    draft.move(source.number, verdict.steps, actor=actor, detail=f"merged into {into}",
               caused=caused)  # fmt: skip
    draft.set(source.number, merged_into=target.number, auto_close_at=None, remind_at=None,
              sla_check_at=None)  # fmt: skip
    draft.event(source.number, "merged", actor=actor, detail=f"merged into {into}", caused=caused)
    moved, left_out = [], []
    for participant in draft.request(source.number).participants:
        if participant.role not in ("requester", "cc"):
            continue
        address = participant.address
        refusal = refusal_to_add(address, draft.request(target.number), draft.settings)
        if refusal is None:
            draft.add_participant(target.number, address)
            moved.append(address)
        elif refusal is Refusal.TOO_MANY_PARTICIPANTS:
            left_out.append(address)
    detail = f"{merged} merged into this request; its messages stay under {merged}"
    if moved:
        detail += f"; participants added: {', '.join(moved)}"
    if left_out:
        detail += f"; not added, past [trust] max_cc_participants: {', '.join(left_out)}"
    draft.event(target.number, "merged", actor=actor, detail=detail, caused=caused)
    draft.set(target.number, updated_at=draft.now)
    told = client_recipients(draft.request(source.number))
    context = {"merged_tag": merged, "merged_subject": source.subject}
    # In the language the merged request's clients were written to.
    draft.notify(target.number, told, "merged", context=context, language=source.language)


def decide_merge(
    source: RequestSnapshot,
    target: RequestSnapshot | None,
    *,
    by: str,
    rules: Rules,
    now: dt.datetime,
) -> tuple[Draft | None, Refusal | None]:
    """An admin's merge (`mailgate requests merge`): the draft of it, or why not."""
    if not rules.settings.is_agent(by):
        return None, Refusal.NOT_AN_AGENT
    refusal = merge_refusal(source, target)
    if refusal is not None or target is None:
        return None, refusal
    draft = Draft(rules, now)
    draft.track(source)
    draft.track(target)
    merge(draft, source, target, actor=by, caused=False)
    return draft, None
