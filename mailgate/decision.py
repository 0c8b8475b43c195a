"""The plain data that deciding reads and returns, and the writer writes. Standard
library only: the store (below deciding) imports it, deciding (above the store) too.

A `RequestSnapshot` is what the store knows of one request when a message or a
timer is about to change it; a `Decision` is what should happen, as effects
for the store's writer to turn into rows and outbox entries in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mailgate.domain import Attachment, MessageKind, Status, StatusChange

if TYPE_CHECKING:  # not imported at run time: `requests list` needs none of it
    from mailgate.config import Settings
    from mailgate.deadlines import Deadlines

# The request a decision opens has no number yet; effects on it name this one.
OPENED = 0
RequestRef = int  # a request number, or OPENED


@dataclass(frozen=True, slots=True, kw_only=True)
class Rules:
    """What deciding needs besides the message, the snapshot and the time."""

    settings: Settings
    deadlines: Deadlines


@dataclass(frozen=True, slots=True, kw_only=True)
class Participant:
    id: int | None  # None: added by the decision being made
    address: str
    role: str  # requester | cc | agent
    notify: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestSnapshot:
    """One request as stored; `history` and `breaches` are read only with an SLA."""

    number: RequestRef
    subject: str
    status: Status
    requester: str
    owner: str | None
    language: str
    participants: tuple[Participant, ...]
    created_at: dt.datetime
    updated_at: dt.datetime
    status_since: dt.datetime
    closed_at: dt.datetime | None = None
    auto_close_at: dt.datetime | None = None
    remind_at: dt.datetime | None = None
    sla_check_at: dt.datetime | None = None
    first_response_at: dt.datetime | None = None
    linked_request: int | None = None
    history: tuple[StatusChange, ...] = ()
    breaches: frozenset[str] = frozenset()  # SLA targets whose breach is recorded
    mailbox: str = "default"  # the [[mailbox]] whose rules and templates serve it
    priority: str = "normal"  # low | normal | high | urgent (SPEC §16)
    labels: tuple[str, ...] = ()  # sorted, lower case
    rating_asked_at: dt.datetime | None = None  # the `closed` notice offered the rating buttons
    rating: str | None = None  # good | bad
    rating_comment: str | None = None
    rated_at: dt.datetime | None = None

    def participant(self, address: str) -> Participant | None:
        return next((p for p in self.participants if p.address == address), None)


# Columns of a request that a decision may change, in `RequestUpdate.changes`.
REQUEST_FIELDS = (
    "status",
    "status_since",
    "updated_at",
    "closed_at",
    "auto_close_at",
    "remind_at",
    "sla_check_at",
    "first_response_at",
    "owner",
    "priority",
    "rating_asked_at",
    "rating",
    "rating_comment",
    "rated_at",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class StoreMessage:
    """File the inbound message under `request` (None: under no request)."""

    request: RequestRef | None
    kind: MessageKind
    from_address: str
    # Kept as the message it forwards (an agent's `#fwd`, SPEC §15): its text is the
    # forwarded text, the agent's own lines being a note in the history.
    as_forwarded: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestUpdate:
    """New values for a request's columns, written only if its status is still
    `expected_status` (compare-and-set: a concurrent change makes the write fail)."""

    request: RequestRef
    expected_status: Status
    changes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One entry of a request's history. `caused` links it to the stored inbound
    message; `mentions_opened` appends the tag of the request this decision opens."""

    request: RequestRef
    kind: str
    actor: str
    from_status: Status | None = None
    to_status: Status | None = None
    detail: str = ""
    caused: bool = False
    mentions_opened: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SetNotify:
    request: RequestRef
    address: str
    notify: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLabel:
    """Put `label` on the request (`present`), or take it off."""

    request: RequestRef
    label: str
    present: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class SetBouncing:
    address: str
    since: dt.datetime | None  # None: the address receives mail again


@dataclass(frozen=True, slots=True, kw_only=True)
class RelayedFile:
    """One file of a notice: attached, or only listed with why ("blocked", "too_large")."""

    file: Attachment
    left_out: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class FileRelay:
    """The files of the message being applied, as a notice carries them (decide/relay.py).

    The writer reads the attached ones' bytes from that message's raw bytes."""

    files: tuple[RelayedFile, ...]  # every file of the message, in the order it came
    limit: int  # max_relay_bytes, for the notice to say

    @property
    def attached(self) -> tuple[Attachment, ...]:
        return tuple(item.file for item in self.files if not item.left_out)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentAnswer:
    """Who wrote a relayed answer and its formatting, for the renderer (SPEC §13).

    `html` is the HTML of the answer with the quote, signature and command lines
    cut as in its text, and only the relayed files' `cid:` images; not yet
    sanitised (mailgate/sanitize.py does that when it is rendered). `hidden`
    are the addresses the client must not see in it (the agent's): the renderer
    puts the support address in their place.
    """

    agent: str  # the display name of the agent's mail, else its local part; never an address
    html: str | None = None  # None: the answer came as plain text, and goes as plain text
    hidden: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One notification to one recipient, before rendering."""

    template: str
    recipient: str
    language: str
    context: dict[str, Any] = field(default_factory=dict)
    relay: bool = False  # an agent's answer passed on: not marked auto-generated
    reply_to: str | None = None  # a reply-token address; None: the support address
    files: FileRelay | None = None  # the files of the applied message it relays
    answer: AgentAnswer | None = None  # a relayed agent answer: its From name and its HTML


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify:
    request: RequestRef | None  # None: about no request (a `#fwd` refused, nothing opened)
    subject: str  # the request's subject without its tag, as the notice shows it
    notice: Notice


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """Everything one message or one timer does, in the order it is to be written."""

    opens: RequestSnapshot | None = None  # a request to create, numbered OPENED here
    stores: StoreMessage | None = None
    updates: tuple[RequestUpdate, ...] = ()
    events: tuple[Event, ...] = ()
    notify_flags: tuple[SetNotify, ...] = ()
    labels: tuple[SetLabel, ...] = ()
    bouncing: tuple[SetBouncing, ...] = ()
    notices: tuple[Notify, ...] = ()
    request: RequestRef | None = None  # the request the message was filed under, for logs
    # Set: the message is held whole, with this reason (SPEC §14): nothing else of
    # the decision is written, nothing is sent; `mailgate held release` applies it.
    holds: str | None = None
