"""Which notices of a decision go out, and how they thread. Pure.

The one place that says who must not get mail (our own addresses, bouncing
addresses but staff's, anyone past `max_per_hour`), which Message-IDs a notice
threads under, and which reply-token address it offers: every notice to staff
the agents' reply address of its request (SPEC §14), a client's notice its
participant's token with `[trust] reply_tokens`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailgate.config import Settings
from mailgate.decision import Notice
from mailgate.reply_tokens import agent_token_address, rating_address, token_address

ThreadMessage = tuple[dt.datetime, str, str]  # (at, Message-ID, kind or recipient)


@dataclass(frozen=True, slots=True)
class Thread:
    """What a request's notices thread under."""

    messages: Sequence[ThreadMessage]  # (at, Message-ID, kind) received, oldest first
    sent: Sequence[ThreadMessage]  # (at, Message-ID, recipient) of notifications

    def ids_for(self, recipient: str, *, staff: bool, limit: int = 20) -> list[str]:
        """Message-IDs to thread a notice under: the first and the latest ones.

        Only what the recipient has seen: the notifications sent to that
        address and, for a client, the client side's own mail; for staff, all
        mail received. Agents' notes and notices never reach a client's References.
        """
        seen = [(at, mid) for at, mid, kind in self.messages if staff or kind == "client"]
        seen += [(at, mid) for at, mid, to in self.sent if to == recipient]
        ids = [message_id for _, message_id in sorted(seen, key=lambda row: row[0])]
        return ids if len(ids) <= limit else [ids[0], *ids[-(limit - 1) :]]


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliveryFacts:
    """What the store knows about the recipients of one request's notices."""

    bouncing: frozenset[str]
    sent_last_hour: Mapping[str, int]
    thread: Thread
    participant_ids: Mapping[str, int]  # address -> participant id, for reply tokens
    token_secret: str  # signs the reply-token addresses


@dataclass(frozen=True, slots=True, kw_only=True)
class Outgoing:
    notice: Notice
    thread_ids: list[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Dropped:
    notice: Notice
    why: str


def plan_deliveries(
    notices: Sequence[Notice], facts: DeliveryFacts, settings: Settings, *, request: int | None
) -> list[Outgoing | Dropped]:
    """Each notice to send, with its threading and Reply-To, or why it is dropped.

    Notices to our own addresses vanish without a trace: mailgate never writes
    to itself. A notice about no request (`request` None) offers the support
    address: there is no request for a token to name.
    """
    secret = facts.token_secret
    sent = dict(facts.sent_last_hour)
    planned: list[Outgoing | Dropped] = []
    for notice in notices:
        recipient = notice.recipient
        if recipient in settings.own_addresses:
            continue
        staff = settings.is_staff(recipient)
        if recipient in facts.bouncing and not staff:  # staff are never silenced (SPEC §14)
            planned.append(Dropped(notice=notice, why="address is bouncing"))
            continue
        if not staff and sent.get(recipient, 0) >= settings.max_per_hour:
            planned.append(Dropped(notice=notice, why="rate limit reached"))
            continue
        sent[recipient] = sent.get(recipient, 0) + 1
        participant = facts.participant_ids.get(recipient)
        if staff and request is not None:
            address = agent_token_address(settings.support_address, secret, request=request)
            notice = dataclasses.replace(notice, reply_to=address)
        elif settings.trust.reply_tokens and participant is not None and request is not None:
            address = token_address(
                settings.support_address, secret, request=request, participant=participant
            )
            notice = dataclasses.replace(notice, reply_to=address)
        if notice.context.get("ask_rating") and not staff and request is not None:  # SPEC §16
            notice = _with_rating_addresses(notice, settings.support_address, secret, request)
        thread_ids = facts.thread.ids_for(recipient, staff=staff)
        planned.append(Outgoing(notice=notice, thread_ids=thread_ids))
    return planned


def _with_rating_addresses(notice: Notice, support: str, secret: str, request: int) -> Notice:
    addresses = {value: rating_address(support, secret, request=request, value=value)
                 for value in ("good", "bad")}  # fmt: skip
    return dataclasses.replace(notice, context={**notice.context, "rating_addresses": addresses})


def rate_limited(recipients: Sequence[str], settings: Settings) -> list[str]:
    """The recipients that `max_per_hour` applies to: everyone but staff and ourselves."""
    return [r for r in recipients if r not in settings.own_addresses and not settings.is_staff(r)]
