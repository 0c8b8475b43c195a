"""What the unit of work hands the writer besides a `Decision`: plain data, no logic.

The writer turns these into rows as they are; who gets which mail, and its
bytes, were settled before (mailgate/apply/deliver.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from mailgate.decision import OPENED, RequestRef
from mailgate.domain import InboundMessage
from mailgate.states import InboundState


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetched:
    """A message taken from the inbox, to store before it leaves it (`Tx.save_fetched`)."""

    key: str  # its Message-ID (or, without one, the key of its digest)
    variant: str  # its key when another message (another digest) has `key` already
    digest: str  # of what its sender wrote (mailgate/digest.py)
    raw: bytes  # what is kept: the message, or only its header block when it is too large
    state: InboundState = InboundState.PENDING
    error: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Received:
    """The inbound message a decision is about, as the writer stores it."""

    message: InboundMessage
    inbound_id: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Written:
    """Where a decision went: the number of the request it opened, if any."""

    opened: int | None
    request: int | None  # the request the message was filed under, for the logs

    def number(self, ref: RequestRef) -> int:
        """The number a decision's reference stands for."""
        if ref == OPENED:
            if self.opened is None:
                raise ValueError("the decision opened no request")
            return self.opened
        return ref


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedMail:
    """A rendered notification for the outbox, with the copy kept in the request's
    history (its text, from `sender`)."""

    request: int | None  # None: a notice about no request (a refused `#fwd`)
    message_id: str
    template: str
    recipient: str
    raw: bytes
    text: str
    sender: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DroppedMail:
    """A notification that is not sent, and why: an event in the request's history."""

    request: int | None
    template: str
    recipient: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueuedHookCall:
    """One call of one hook about one event, its JSON body built already
    (mailgate/hooks/payload.py); `delivery` is its idempotency key."""

    hook: str
    event: str
    delivery: str
    request: int | None
    payload: str
