"""Who takes part in a request after it opened (SPEC §15). Pure.

Two ways in: an agent's `#cc add ADDRESS` / `#cc remove ADDRESS` (in mail, or
`mailgate requests cc`), and a client's later reply that names new addresses
in To or Cc (`cc_policy = "add"`). Both keep to the same fence, `refusal_to_add`:
one well-formed address, never staff (agents, `agent_notify`,
`escalation_notify`) nor any of the install's own addresses (`support+…`
reply addresses included), never a `[trust] blocked_senders` address, and at
most `[trust] max_cc_participants` CC participants in all, however they came.
Agents themselves are never participants: they get the agents' notices.
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailgate.decide.draft import Draft
from mailgate.decide.spam import blocked_by
from mailgate.decision import RequestRef, RequestSnapshot
from mailgate.domain import Status
from mailgate.workflow import Refusal

if TYPE_CHECKING:
    from mailgate.config import Settings

_ADDRESS = re.compile(r"^[^\s<>@\"(),;:\\\[\]]+@[^\s<>@\"(),;:\\\[\]]+\.[^\s<>@\"(),;:\\\[\]]+$")
_ADD_WORDS = frozenset({"add", "+", "добавить"})
_REMOVE_WORDS = frozenset({"remove", "del", "delete", "-", "удалить", "убрать"})
MAX_CC_LINES = 10  # `#cc` lines of one mail that are applied; the rest are refused
MAX_JOINED_NAMED = 20  # addresses a reply left out that the agents' notice names


def read_cc(argument: str) -> tuple[bool, str] | None:
    """("add ADDRESS" | "remove ADDRESS") -> (True for add, the address, lower case);
    None when it is not one verb and one address (`Name <a@b>` and `mailto:` allowed)."""
    verb, _, rest = argument.strip().partition(" ")
    verb = verb.lower()
    if verb not in _ADD_WORDS and verb not in _REMOVE_WORDS:
        return None
    address = clean_address(rest.strip().removeprefix("mailto:"))
    return (verb in _ADD_WORDS, address) if address else None


def clean_address(text: str) -> str:
    """The one address `text` names, lower case; "" when it names none or several."""
    if not text or len(text) > 400 or any(c in text for c in ",;") or not text.isprintable():
        return ""
    _, address = email.utils.parseaddr(text)
    address = address.strip().lower()
    return address if len(address) <= 320 and _ADDRESS.match(address) else ""


def cc_count(request: RequestSnapshot) -> int:
    return sum(1 for p in request.participants if p.role == "cc")


def refusal_to_add(address: str, request: RequestSnapshot, settings: Settings) -> Refusal | None:
    """Why `address` may not become a CC participant of `request` (None: it may)."""
    if not _ADDRESS.match(address):
        return Refusal.INVALID_ADDRESS
    if settings.is_staff(address) or is_own(address, settings):
        return Refusal.STAFF_ADDRESS
    if blocked_by(address, settings.trust.blocked_senders):
        return Refusal.BLOCKED_ADDRESS
    if request.participant(address) is not None:
        return Refusal.ALREADY_PARTICIPANT
    if cc_count(request) >= settings.trust.max_cc_participants:
        return Refusal.TOO_MANY_PARTICIPANTS
    return None


def refusal_to_remove(address: str, request: RequestSnapshot) -> Refusal | None:
    participant = request.participant(address)
    if participant is None or participant.role == "agent":
        return Refusal.NOT_A_PARTICIPANT
    if participant.role == "requester":
        return Refusal.REQUESTER
    return None


def is_own(address: str, settings: Settings) -> bool:
    """One of the install's addresses, or one of them with a `+tag` (the reply
    addresses of notices: `support+…@domain`)."""
    local, _, domain = address.partition("@")
    base = f"{local.partition('+')[0]}@{domain}"
    return address in settings.own_addresses or base in settings.own_addresses


def apply_cc(
    draft: Draft, ref: RequestRef, argument: str, *, actor: str, settings: Settings
) -> Refusal | None:
    """An agent's `#cc add|remove ADDRESS`: the participant added or removed, with
    its history event; else why not (nothing changed)."""
    request = draft.request(ref)
    if request.status is Status.CLOSED:
        return Refusal.CLOSED
    read = read_cc(argument)
    if read is None:
        return Refusal.INVALID_ADDRESS
    adding, address = read
    if adding:
        refusal = refusal_to_add(address, request, settings)
        if refusal is None:
            draft.add_participant(ref, address)
            draft.event(ref, "participant_added", actor=actor, detail=address, caused=True)
        return refusal
    refusal = refusal_to_remove(address, request)
    if refusal is None:
        draft.remove_participant(ref, address)
        draft.event(ref, "participant_removed", actor=actor, detail=address, caused=True)
    return refusal


def changes_since(draft: Draft, ref: RequestRef, before: set[str]) -> dict[str, list[str]]:
    """Who `#cc` lines added and removed (`before`: the participants' addresses
    before them), for the agents' notice of that mail; {} when nothing changed."""
    after = {p.address for p in draft.request(ref).participants}
    if before == after:
        return {}
    return {"added": sorted(after - before), "removed": sorted(before - after)}


def tell_agents(
    draft: Draft, ref: RequestRef, changes: dict[str, list[str]], *, by: str
) -> None:
    """One notice to the other agents of what `changes_since` found (none if nothing)."""
    if changes:
        draft.notify_agents(ref, "agent_participants", context={"by": by, **changes},
                            besides=by)  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class Joined:
    """Who a client's reply made participants, and whom it named in vain, and why."""

    added: tuple[str, ...] = ()
    left_out: tuple[str, ...] = ()  # the first MAX_JOINED_NAMED of them
    why: str = ""  # why `left_out` were not added

    def context(self) -> dict[str, object]:
        """For the agents' notice of that reply (agent_client_reply)."""
        return {"joined": list(self.added), "left_out": list(self.left_out),
                "left_out_why": self.why}  # fmt: skip


def join_from_reply(
    draft: Draft,
    ref: RequestRef,
    addresses: Iterable[str],
    *,
    actor: str,
    settings: Settings,
    proven: bool,
) -> Joined:
    """A client's reply names `addresses` (its To and Cc): with `cc_policy = "add"`,
    those that may join become CC participants, in the order written, until the cap
    (none once the request is closed: nobody joins a finished conversation).

    Only a reply that proves its sender (`proven`: decide/message.py) adds anyone:
    else a forged From would let a stranger join and read the answers. Addresses
    that are no client's (staff, ours, blocked) or are participants already are
    not named. One history event says who joined, another who was left out, and why."""
    if settings.cc_policy != "add" or draft.request(ref).status is Status.CLOSED:
        return Joined()
    request = draft.request(ref)
    candidates = [a for a in dict.fromkeys(a.lower() for a in addresses)
                  if refusal_to_add(a, request, settings) in (None, Refusal.TOO_MANY_PARTICIPANTS)]
    if not candidates:
        return Joined()
    joined: list[str] = []
    left_out: list[str] = []
    why = "the reply does not prove its sender (not a reply to a notice sent to them, no " \
        "DMARC or DKIM pass)"  # fmt: skip
    if proven:
        why = f"past [trust] max_cc_participants = {settings.trust.max_cc_participants}"
        for address in candidates:
            if refusal_to_add(address, draft.request(ref), settings) is None:
                draft.add_participant(ref, address)
                joined.append(address)
            else:
                left_out.append(address)
    else:
        left_out = candidates
    if joined:
        draft.event(ref, "participant_added", actor=actor, caused=True,
                    detail=f"{', '.join(joined)} (in To or Cc of a client's reply)")  # fmt: skip
    if left_out:
        named = ", ".join(left_out[:MAX_JOINED_NAMED])
        over = len(left_out) - MAX_JOINED_NAMED
        more = f" and {over} more" if over > 0 else ""
        draft.event(ref, "participant_not_added", actor=actor, caused=True,
                    detail=f"{named}{more}: {why}")  # fmt: skip
    return Joined(added=tuple(joined), left_out=tuple(left_out[:MAX_JOINED_NAMED]),
                  why=why if left_out else "")  # fmt: skip
