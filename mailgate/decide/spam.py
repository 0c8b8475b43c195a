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
is read as a pass. An admin frees held mail with `mailgate held release`.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mailgate.parse.authresults import Verdict, read_authentication

if TYPE_CHECKING:
    from mailgate.config import TrustSettings
    from mailgate.domain import InboundMessage

# The verdicts of SpamAssassin and most filters that copy it, always looked for.
_BUILT_IN = (("x-spam-flag", re.compile(r"\s*yes\b", re.I)),
             ("x-spam-status", re.compile(r"\s*yes\b", re.I)))  # fmt: skip
_SHOWN = 60  # characters of a header's value shown in the reason


def spam_reason(message: InboundMessage, trust: TrustSettings) -> str:
    """Why the message is held as spam; "" when it is not."""
    verdict = _header_verdict(message.headers, trust.spam_headers)
    if verdict:
        return f"spam: {verdict}"
    sender = message.sender.address if message.sender else ""
    if not sender:
        return ""  # no single sender: nothing to block or authenticate (held elsewhere)
    if rule := blocked_by(sender, trust.blocked_senders):
        return f"blocked sender: {sender} ({rule} in [trust] blocked_senders)"
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
