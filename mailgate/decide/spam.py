"""Whether a message is held as spam (SPEC §14), and why. Pure.

Three kinds of evidence, looked at before anything else of the message (a
forged bounce with a spam verdict is held too):

- a spam verdict in a header: `X-Spam-Flag: YES`, `X-Spam-Status: Yes, …`, or
  one of `[trust] spam_headers` ("X-Rspamd-Action: reject": a header of that
  name whose value starts with that text, any case);
- the sender is in `[trust] blocked_senders` (the address, or `@` its domain);
- our own MX says `dmarc=fail` for the From domain (parse/authresults.py reads
  only the topmost Authentication-Results of `[trust] authserv_id`).

Any header of those names counts, wherever it stands: a sender who writes
`X-Spam-Flag: YES` into their own mail only gets it held. A verdict never
frees a message: `X-Spam-Flag: NO` above a `YES` is still spam, and no header
is read as a pass.

An admin frees held mail with `mailgate held release`, which waives the one
check that held it (`Check`, named by how its reason begins) and no other:
a message that another check holds too is held again, with that reason and
the releases so far, which the next release waives as well.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING

from mailgate.parse.authresults import Verdict, read_authentication

if TYPE_CHECKING:
    from mailgate.config import TrustSettings
    from mailgate.domain import InboundMessage

# The verdicts of SpamAssassin and most filters that copy it, always looked for.
_BUILT_IN = (("x-spam-flag", re.compile(r"\s*yes\b", re.I)),
             ("x-spam-status", re.compile(r"\s*yes\b", re.I)))  # fmt: skip
_SHOWN = 60  # characters of a header's value shown in the reason


class Check(StrEnum):
    """The trust checks that hold a message whole; each hold's reason begins with one."""

    SPAM_VERDICT = "spam:"
    BLOCKED_SENDER = "blocked sender:"
    DMARC_FAIL = "dmarc=fail"
    AGENT_PROOF = "agent address without proof:"  # a new mail in an agent's name (message.py)


RELEASE_NOTE = "released by admin"  # how the note `held release` leaves begins
_HELD_FOR = "; held for: "


def release_note(reason: str) -> str:
    """What `held release` records of a message held for `reason` (the history's entry)."""
    return f"{RELEASE_NOTE}{_HELD_FOR}{reason}"


def held_again(reason: str, note: str) -> str:
    """The reason of a released message that another check holds: the releases before
    stay in it, so that the next release waives them too."""
    return f"{reason} ({note})"


def waived_checks(note: str) -> frozenset[Check]:
    """The checks an admin's releases waive: each one that held the message, named in
    `note` (one "held for:" per release); every one when the note names none (the
    admin vouched for it all)."""
    if not note:
        return frozenset()
    reasons = note.split(_HELD_FOR)[1:]
    named = frozenset(c for reason in reasons for c in Check if reason.startswith(c.value))
    return named or frozenset(Check)


def spam_reason(
    message: InboundMessage, trust: TrustSettings, *, waived: frozenset[Check] = frozenset()
) -> str:
    """Why the message is held as spam; "" when it is not (or only for `waived` checks)."""
    verdict = _header_verdict(message.headers, trust.spam_headers)
    if verdict and Check.SPAM_VERDICT not in waived:
        return f"{Check.SPAM_VERDICT} {verdict}"
    sender = message.sender.address if message.sender else ""
    if not sender:
        return ""  # no single sender: nothing to block or authenticate (held elsewhere)
    rule = "" if Check.BLOCKED_SENDER in waived else blocked_by(sender, trust.blocked_senders)
    if rule:
        return f"{Check.BLOCKED_SENDER} {sender} ({rule} in [trust] blocked_senders)"
    if Check.DMARC_FAIL in waived:
        return ""
    found = read_authentication(message.headers, from_domain=sender.rpartition("@")[2],
                                authserv_id=trust.authserv_id)  # fmt: skip
    if found.verdict is Verdict.FAIL:
        return found.detail  # "dmarc=fail header.from=example.com"
    return ""


def blocked_by(address: str, blocked: tuple[str, ...]) -> str:
    """The entry of `blocked_senders` that names `address` (itself or "@its.domain")."""
    address = address.lower()
    domain = "@" + address.rpartition("@")[2]
    return next((entry for entry in blocked if entry in (address, domain)), "")


def _header_verdict(
    headers: tuple[tuple[str, str], ...], extra: tuple[tuple[str, str], ...]
) -> str:
    """The first header that says spam, as "Name: value"; "" when none does."""
    for name, value in headers:
        for wanted, pattern in _BUILT_IN:
            if name == wanted and pattern.match(value):
                return _shown(name, value)
        for wanted, prefix in extra:
            if name == wanted and value.strip().lower().startswith(prefix):
                return _shown(name, value)
    return ""


def _shown(name: str, value: str) -> str:
    """A header as the reason shows it: its name capitalised, its value on one short line."""
    value = " ".join(value.split())
    if len(value) > _SHOWN:
        value = value[: _SHOWN - 1] + "…"
    return f"{'-'.join(part.capitalize() for part in name.split('-'))}: {value}"
