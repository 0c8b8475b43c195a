"""The states of the two queues, as stored in their `state` columns."""

from __future__ import annotations

from enum import StrEnum


class InboundState(StrEnum):
    """A raw message taken from the inbox (table `inbound`)."""

    PENDING = "pending"  # stored, not applied yet
    APPLIED = "applied"  # applied once; the inbox copy may move to the processed folder
    FAILED = "failed"  # quarantined with its reason: `mailgate failed retry` applies it
    HELD = "held"  # held by the trust rules with its reason (SPEC §14): `mailgate held release`
    # Released by an admin (`mailgate held release`): waiting to be applied like a
    # pending message, with the holds of the trust rules waived; then applied.
    RELEASED = "released"
    # Its sender (or someone it names) was erased (`mailgate people erase`) before it was
    # applied: its bytes are gone, nothing is left to apply or release.
    ERASED = "erased"


# The states of a message waiting to be applied.
WAITING = (InboundState.PENDING, InboundState.RELEASED)


class OutboundState(StrEnum):
    """A rendered notification (table `outbound`, the outbox)."""

    PENDING = "pending"  # waiting, or claimed by a worker sending it
    SENT = "sent"
    FAILED = "failed"  # refused for good, or out of attempts: `mailgate outbox retry`
