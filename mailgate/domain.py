"""The vocabulary of mailgate: statuses, commands, parsed messages.

Standard library only. Everything here is a plain value: the parser produces
these, the workflow decides over them, the store persists them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class Status(StrEnum):
    """A request's status; the value is exactly what the database stores."""

    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING_FOR_CLIENT = "waiting_for_client"
    ON_HOLD = "on_hold"
    ESCALATED = "escalated"
    UNDER_ANALYSIS = "under_analysis"
    CANCELLED = "cancelled"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        return self is not Status.CLOSED


class CommandName(StrEnum):
    """What a line of mail can ask for. Client commands first, then agent ones."""

    ESCALATE = "escalate"
    RESOLVE = "resolve"
    CANCEL = "cancel"
    DONT_NOTIFY = "dont_notify"
    NOTIFY = "notify"
    APPROVAL = "approval"
    STATUS = "status"
    NOTE = "note"
    ASSIGN = "assign"
    FORWARD = "forward"  # `#fwd`: the forwarded message opens its sender's request (SPEC §15)
    PRIORITY = "priority"
    LABEL = "label"

    @property
    def is_agent_only(self) -> bool:
        return self in (CommandName.STATUS, CommandName.NOTE, CommandName.ASSIGN,
                        CommandName.PRIORITY, CommandName.LABEL,
                        CommandName.FORWARD)  # fmt: skip


# A request's priorities, lowest first (SPEC §16); new requests are "normal".
PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULT_PRIORITY = "normal"


class Role(StrEnum):
    """Who a sender is with respect to one request."""

    CLIENT = "client"  # the requester or a CC participant
    AGENT = "agent"
    OUTSIDER = "outsider"  # anyone else: stored as held, applies nothing


class MessageKind(StrEnum):
    """How a stored message is shown; the values are the JSON `kind` of SPEC §8."""

    CLIENT = "client"
    AGENT = "agent"
    NOTE = "note"
    AUTO = "auto"
    BOUNCE = "bounce"
    HELD = "held"
    NOTIFICATION = "notification"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChange:
    """The request entered `status` at `at`. The first one is the creation (`new`)."""

    at: dt.datetime
    status: Status


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """One command found in a message.

    `line` is the text that matched, as the sender wrote it, so that admins can
    see why a mail did what it did.
    """

    name: CommandName
    argument: str | None = None
    line: str


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectedCandidate:
    """A line that looked like a command but does not count, and why.

    `reason` is one of: "quoted", "negated", "question", "conditional",
    "other_request", "contradicted", "duplicate", "role".
    """

    name: CommandName
    line: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Bounce:
    """What a delivery-status report says about the mail that bounced."""

    recipients: tuple[str, ...]
    original_message_id: str | None
    permanent: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Address:
    address: str  # the addr-spec, lower-cased
    name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """One file of a message (SPEC §10): what it is, and where its bytes lie.

    Metadata only. The bytes stay in the raw message, stored once; they are
    read from it again when a notification relays them or an admin asks
    (`mailgate.parse.mimetree.read_attachment`).
    """

    filename: str  # a safe base name: no directories, no control characters; never ""
    content_type: str  # lower-case type/subtype, as the sender labelled it
    size: int  # bytes of the file itself, transfer encoding undone
    sha256: str  # hex digest of those bytes
    inline: bool  # an inline image of HTML mail (a Content-ID, not "attachment")
    content_id: str = ""  # without angle brackets
    start: int = 0  # the encoded body: raw[start:end] of the message as the parser reads it
    end: int = 0
    encoding: str = ""  # its Content-Transfer-Encoding
    packed: int = -1  # a file unpacked from the winmail.dat at start:end: its index there

    def to_json(self) -> dict[str, str | int | bool]:
        """As `parse --json` and `requests show --json` list it."""
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size,
                "sha256": self.sha256, "inline": self.inline}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardedMessage:
    """A message the sender forwarded: inline under a forward separator, or attached
    (`message/rfc822`). Shown to agents, stored, never read for commands (SPEC §2).

    The fields are as the forward's header block (or the attached message's
    headers) gives them, decoded; "" when it gives none.
    """

    sender: str = ""  # "Provider NOC <noc@provider.example>"
    date: str = ""  # as written: "Mon, Dec 7, 2026 at 9:12 AM"
    subject: str = ""
    text: str = ""  # the forwarded message's text, as forwarded (its own quotes kept)

    def to_json(self) -> dict[str, str]:
        """As `parse --json` shows it."""
        return {"sender": self.sender, "date": self.date, "subject": self.subject,
                "text": self.text}  # fmt: skip

    def as_text(self) -> str:
        """The header lines that are known, a blank line, the text: as stored and shown."""
        fields = (("From", self.sender), ("Date", self.date), ("Subject", self.subject))
        lines = [f"{label}: {value}" for label, value in fields if value]
        if self.text:
            lines += ["", self.text] if lines else [self.text]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True, kw_only=True)
class InboundMessage:
    """Everything mailgate reads from one raw message. Built by `mailgate.parse`."""

    message_id: str  # without angle brackets; a hash of the raw bytes when absent
    subject: str  # decoded, control characters removed
    sender: Address | None  # None when From is missing or holds more than one mailbox
    sender_count: int  # how many mailboxes From named
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    in_reply_to: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    date: dt.datetime | None = None
    text: str = ""  # the whole body as text (HTML converted), quotes included
    new_text: str = ""  # only what the sender wrote in this message
    quoted_text: str = ""  # what was removed from `text` to get `new_text`
    html: str | None = None  # the HTML body as it came (inline parts joined); None: plain text
    tag_number: int | None = None  # the request number in the subject tag
    subject_after_tag: str = ""  # subject text after the tag, where commands may stand
    auto: str | None = None  # why this is machine mail, or None for a person's
    bounce: Bounce | None = None
    headers: tuple[tuple[str, str], ...] = field(default=())
    attachments: tuple[Attachment, ...] = ()  # files and inline images, in document order
    # The text parts held more than `max_text_bytes`: the text fields hold the first
    # `max_text_bytes` of it, the raw message all of it (SPEC §14, "Bounded cost").
    text_cut: bool = False
    # What the sender forwarded (an inline forward, else an attached message): never
    # part of `new_text`, never read for commands.
    forwarded: ForwardedMessage | None = None
