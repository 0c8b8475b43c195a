"""`#fwd`: an agent forwards a client's mail as the client's new request (SPEC §15). Pure.

A client wrote to an agent directly; the agent forwards that mail to the
support address with `#fwd` on a line of its own above it. The request that
opens is the client's: the requester is the sender of the forwarded message,
its subject and text are the forwarded message's, and the agent's own lines
above `#fwd` are an internal note.

Whom the request is for is read from one place only: the header block of the
forward nearest the `#fwd` (the top-most one, `mailgate/parse/forward.py`),
else the first attached `message/rfc822`. Never from the body text: an
address a spammer wrote into the forwarded text must not become the requester
(FreeScout #2813, #4036). The block's From may be forged by whoever wrote the
forwarded mail; that is accepted, as the agent vouches for the forward by
sending it (and only a proven agent's `#fwd` counts, SPEC §14).

Refused, with the reason to the agent and nothing opened: no forwarded
message, one that names no address or an invalid one, or one whose sender is
ours (a support address, an agent, a team address), a machine
(`mailer-daemon@`, `no-reply@`), or in `[trust] blocked_senders`.
"""

from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mailgate.decide.spam import blocked_by
from mailgate.domain import Command, CommandName, ForwardedMessage, InboundMessage
from mailgate.parse.auto import is_machine_sender
from mailgate.parse.commands import find_commands
from mailgate.parse.subject import strip_reply_prefixes

if TYPE_CHECKING:
    from mailgate.config import Settings

# One address, as a requester's must be: no spaces, one "@", a dot in the domain.
_ADDRESS = re.compile(r"^[^\s@<>()\[\],;:\"\\]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?\.[a-z0-9-]{2,}$")
_MAX_ADDRESS = 254
_MAX_SHOWN = 120  # characters of a hostile sender field quoted back in a refusal
_ARGUMENT = "#fwd takes nothing after it: the requester is the forwarded message's sender"
_NOTHING_FORWARDED = (
    "the mail holds no forwarded message: forward the client's mail inline (with its "
    "From:/Date:/Subject: lines) or as an attachment, with #fwd on a line above it"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Forward:
    """A `#fwd` that opens a request: for whom, about what, and what the agent noted."""

    requester: str  # the forwarded message's sender, lower case
    subject: str  # the forwarded message's, without `Fwd:`/`WG:`/`Пересл:` ... prefixes
    text: str  # the forwarded message's text: the request's first message
    commands: tuple[Command, ...]  # the agent's other commands in the mail (`#assign`)
    forwarded: ForwardedMessage  # as parsed, for the history (its sender and date)


@dataclass(frozen=True, slots=True, kw_only=True)
class ForwardRefused:
    """A `#fwd` that opens nothing, and why, as the agent is told."""

    command: Command
    reason: str


def agent_commands(message: InboundMessage) -> tuple[Command, ...]:
    """The agent commands of the message's new text. Only the new text is read: a
    `#fwd` in the forwarded or quoted part is someone else's line (SPEC §2)."""
    found = find_commands(new_text=message.new_text, subject_after_tag="", approvals=False)
    return tuple(c for c in found if c.name.is_agent_only)


def forward_command(commands: tuple[Command, ...]) -> Command | None:
    return next((c for c in commands if c.name is CommandName.FORWARD), None)


def read_forward(
    message: InboundMessage, commands: tuple[Command, ...], settings: Settings
) -> Forward | ForwardRefused:
    """The request that the agent's `#fwd` mail opens, or why it opens none.
    `commands` are its `agent_commands`, `#fwd` among them."""
    command = forward_command(commands)
    assert command is not None
    if command.argument:
        return ForwardRefused(command=command, reason=_ARGUMENT)
    forwarded = message.forwarded
    if forwarded is None:
        return ForwardRefused(command=command, reason=_NOTHING_FORWARDED)
    requester, why = requester_of(forwarded, settings)
    if why:
        return ForwardRefused(command=command, reason=why)
    return Forward(
        requester=requester,
        subject=forward_subject(forwarded.subject or message.subject),
        text=forwarded.text,
        commands=tuple(c for c in commands if c is not command),
        forwarded=forwarded,
    )


def requester_of(forwarded: ForwardedMessage, settings: Settings) -> tuple[str, str]:
    """The address of the forwarded message's sender and "", or "" and why it
    cannot be a requester."""
    shown = _shown(forwarded.sender)
    address = sender_address(forwarded)
    if not forwarded.sender.strip():
        return "", "the forwarded message names no sender (no From: line in its header block)"
    if not address:
        return "", f"the forwarded message's sender {shown} is not one valid e-mail address"
    if _is_ours(address, settings):
        return "", f"{address} is an address of this support desk"
    if settings.is_staff(address):
        return "", f"{address} is an agent's or team address: a request is always a client's"
    if is_machine_sender(address):
        return "", f"{address} is a machine's address (it would never read the answers)"
    if rule := blocked_by(address, settings.trust.blocked_senders):
        return "", f"{address} is blocked ({rule} in [trust] blocked_senders)"
    return address, ""


def sender_address(forwarded: ForwardedMessage) -> str:
    """The one address of the forwarded message's From, lower case; "" when it names
    none, several, or one that is not valid."""
    value = forwarded.sender
    if not value or len(value) > 2 * _MAX_ADDRESS or "\n" in value:
        return ""
    found = [address for _, address in email.utils.getaddresses([value]) if address]
    if len(found) != 1:
        return ""
    address = found[0].strip().lower()
    if len(address) > _MAX_ADDRESS or _ADDRESS.match(address) is None:
        return ""
    return address


def forward_subject(subject: str) -> str:
    """`Fwd: FW: Re: Phones down` -> `Phones down`: the forwarded message's subject
    without the prefixes that forwarding and replying put before it."""
    return strip_reply_prefixes(subject)


def _is_ours(address: str, settings: Settings) -> bool:
    """One of the install's addresses, or a `+` address of one (a reply token)."""
    local, _, domain = address.rpartition("@")
    base = f"{local.partition('+')[0]}@{domain}"
    return address in settings.own_addresses or base in settings.own_addresses


def _shown(value: str) -> str:
    value = " ".join(value.split())
    return f'"{value if len(value) <= _MAX_SHOWN else value[: _MAX_SHOWN - 1] + "…"}"'
