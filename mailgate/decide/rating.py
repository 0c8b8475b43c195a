"""Satisfaction ratings (SPEC §16). Pure.

Asking: the `closed` notice after a client's approval ("Resolve this issue" or an
approval phrase) or an agent's close carries two `mailto:` buttons, good and bad,
whose address is a rating address of the request (reply_tokens.py: a MAC over the
request and the value). The request remembers that it asked (`rating_asked_at`).
A request closed by the timer or by a cancel asks nothing.

Answering: mail to a rating address of its own request, from a client participant
of a request that asked, records the rating and its comment (the new text of the
reply); a later rating replaces the earlier one. It changes no status, reopens
nothing and sends the client nothing (the `closed` notice thanked them already;
a rating that answered back would be one more mail anyone could make mailgate
send); the agents get one notice. A rating of a request that never asked records
nothing and the mail is an ordinary reply to a closed request; so is mail to a
rating address that is not mailgate's or names another request (the history says
why). The same rating again (value and comment) changes nothing and tells nobody.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailgate.decide.draft import Draft
from mailgate.decision import RequestRef
from mailgate.domain import Status

MAX_COMMENT = 2000  # characters of a rating's comment kept; the whole text is in the message


@dataclass(frozen=True, slots=True, kw_only=True)
class Rating:
    """What the address a message was sent to says of a rating, for deciding."""

    value: str  # good | bad; "" when the address counts for nothing
    doubt: str = ""  # why it counts for nothing


def ask_for_rating(draft: Draft, ref: RequestRef) -> dict[str, object]:
    """The `closed` notice's context that asks for a rating, remembered on the request."""
    draft.set(ref, rating_asked_at=draft.now)
    return {"ask_rating": True}


def agent_status_context(draft: Draft, ref: RequestRef, target: Status) -> dict[str, object]:
    """The client notice's context of an agent's status change (`#status`, `requests
    set-status`): a close asks for a rating."""
    context: dict[str, object] = {"by_client": False}
    if target is Status.CLOSED:
        context |= ask_for_rating(draft, ref)
    return context


def record_rating(draft: Draft, ref: RequestRef, rating: Rating, *, text: str, actor: str) -> bool:
    """Record a client's rating; False when it counts for nothing (the caller handles
    the mail as an ordinary reply), the reason in the history."""
    request = draft.request(ref)
    if rating.doubt:
        draft.event(ref, "rating_ignored", actor=actor, detail=rating.doubt, caused=True)
        return False
    if request.status is not Status.CLOSED or request.rating_asked_at is None:
        detail = "no rating was asked for this request (closed by the timer or by a cancel)"
        draft.event(ref, "rating_ignored", actor=actor, detail=detail, caused=True)
        return False
    comment = text.strip()[:MAX_COMMENT]
    if (request.rating, request.rating_comment) == (rating.value, comment):
        draft.event(ref, "rating", actor=actor, detail="the same rating again", caused=True)
        return True
    replaced = request.rating
    draft.set(ref, rating=rating.value, rating_comment=comment, rated_at=draft.now)
    detail = rating.value + (f" (was {replaced})" if replaced else "")
    draft.event(ref, "rating", actor=actor, detail=f"{detail}: {comment[:200]}".rstrip(": "),
                caused=True)  # fmt: skip
    context = {"value": rating.value, "comment": comment, "from": actor, "replaced": replaced}
    draft.notify_agents(ref, "agent_rating", context=context)
    return True
