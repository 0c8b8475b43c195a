"""Reply tokens: addresses at the support domain that only mailgate can make.

- A client's: `support+<number>.<participant>.<mac>@domain`, a per-participant
  Reply-To that proves whose thread a reply belongs to, even when the client
  writes from another address (`[trust] reply_tokens`).
- The agents': `support+a.<number>.<mac>@domain`, the Reply-To of every notice to
  agents about request `number`. Mail to it from an agent address is that agent's
  (SPEC §14): a stranger who forges an agent's From does not know it.
- A notification's return path (VERP): `support+b.<outbound id>.<mac>@domain`, the
  SMTP envelope sender of outbound row `id`. A delivery-status report sent back to
  it names the notification that bounced, and so its recipient (SPEC §14): only the
  servers that carried that one notification saw the address.
- A rating (SPEC §16): `support+r.<number>.<g|b>.<mac>@domain`, the address of the
  good / bad button of the `closed` notice of request `number`. Mail to it is that
  rating; the MAC says mailgate offered it.

The MAC is an HMAC-SHA256 under a secret only mailgate knows, cut to 64 bits. Pure.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(
    r"^(?P<local>[^+@]+)\+(?P<number>\d{1,12})\.(?P<participant>\d{1,12})\.(?P<mac>[0-9a-f]{16})@(?P<domain>.+)$"
)


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyToken:
    request: int
    participant: int


def token_address(support_address: str, secret: str, *, request: int, participant: int) -> str:
    local, _, domain = support_address.partition("@")
    return f"{local}+{request}.{participant}.{_mac(secret, request, participant)}@{domain}"


def find_token(addresses: Iterable[str], *, support_address: str, secret: str) -> ReplyToken | None:
    """The first valid token among the addresses a message was sent to."""
    local, _, domain = support_address.lower().partition("@")
    for address in addresses:
        match = _TOKEN.match(address.lower())
        if match is None or match["local"] != local or match["domain"] != domain:
            continue
        request, participant = int(match["number"]), int(match["participant"])
        if hmac.compare_digest(match["mac"], _mac(secret, request, participant)):
            return ReplyToken(request=request, participant=participant)
    return None


_AGENT_TOKEN = re.compile(
    r"^(?P<local>[^+@]+)\+a\.(?P<number>\d{1,12})\.(?P<mac>[0-9a-f]{16})@(?P<domain>.+)$"
)


def agent_token_address(support_address: str, secret: str, *, request: int) -> str:
    """The agents' reply address of request `request`."""
    local, _, domain = support_address.partition("@")
    return f"{local}+a.{request}.{_sign(secret, f'agent.{request}')}@{domain}"


def find_agent_tokens(
    addresses: Iterable[str], *, support_address: str, secret: str
) -> frozenset[int]:
    """The requests whose valid agents' reply address is among `addresses`."""
    local, _, domain = support_address.lower().partition("@")
    found = set()
    for address in addresses:
        match = _AGENT_TOKEN.match(address.strip().lower())
        if match is None or match["local"] != local or match["domain"] != domain:
            continue
        request = int(match["number"])
        if hmac.compare_digest(match["mac"], _sign(secret, f"agent.{request}")):
            found.add(request)
    return frozenset(found)


_BOUNCE_TOKEN = re.compile(
    r"^(?P<local>[^+@]+)\+b\.(?P<number>\d{1,18})\.(?P<mac>[0-9a-f]{16})@(?P<domain>.+)$"
)
# Something shaped like a return path whose MAC may be wrong: said in the history.
_BOUNCE_SHAPE = re.compile(r"^[^+@]+\+b\.(?P<number>\d{1,18})\.[^@]*@")


@dataclass(frozen=True, slots=True, kw_only=True)
class BounceToken:
    """A return path found among the addresses a message was sent to."""

    outbound: int  # the id of the outbound row it names
    address: str  # as found, lower-cased
    valid: bool  # its MAC is mailgate's: only then does it prove anything


def bounce_address(sender: str, secret: str, *, outbound: int) -> str:
    """The envelope sender (MAIL FROM) of notification `outbound`, at `sender`'s domain."""
    local, _, domain = sender.partition("@")
    return f"{local}+b.{outbound}.{_sign(secret, f'bounce.{outbound}')}@{domain}"


def find_bounce_token(
    addresses: Iterable[str], *, support_addresses: Iterable[str], secret: str
) -> BounceToken | None:
    """The first valid return path among `addresses` at one of `support_addresses`;
    failing that, the first one with a wrong MAC (for the history), else None."""
    ours = {tuple(a.lower().partition("@")[::2]) for a in support_addresses}
    forged = None
    for address in addresses:
        address = address.strip().strip("<>").lower()
        match = _BOUNCE_TOKEN.match(address)
        if match is not None and (match["local"], match["domain"]) in ours:
            number = int(match["number"])
            if hmac.compare_digest(match["mac"], _sign(secret, f"bounce.{number}")):
                return BounceToken(outbound=number, address=address, valid=True)
        if forged is None and (shape := _BOUNCE_SHAPE.match(address)) is not None:
            local, _, domain = address.partition("@")
            if (local.partition("+")[0], domain) in ours:
                forged = BounceToken(outbound=int(shape["number"]), address=address, valid=False)
    return forged


_RATING_TOKEN = re.compile(
    r"^(?P<local>[^+@]+)\+r\.(?P<number>\d{1,12})\.(?P<value>[gb])\.(?P<mac>[0-9a-f]{16})@(?P<domain>.+)$"
)
# Something shaped like a rating address whose MAC may be wrong: said in the history.
_RATING_SHAPE = re.compile(r"^[^+@]+\+r\.[^@]*@")
RATINGS = {"g": "good", "b": "bad"}


@dataclass(frozen=True, slots=True, kw_only=True)
class RatingToken:
    """A rating address found among the addresses a message was sent to."""

    request: int
    value: str  # good | bad
    address: str  # as found, lower-cased
    valid: bool  # its MAC is mailgate's: only then is it a rating


def rating_address(support_address: str, secret: str, *, request: int, value: str) -> str:
    """The address of the `value` ("good" or "bad") button of request `request`."""
    local, _, domain = support_address.partition("@")
    letter = value[0]
    return f"{local}+r.{request}.{letter}.{_sign(secret, f'rating.{request}.{letter}')}@{domain}"


def find_rating_token(
    addresses: Iterable[str], *, support_addresses: Iterable[str], secret: str
) -> RatingToken | None:
    """The first valid rating address among `addresses` at one of `support_addresses`;
    failing that, the first one shaped like one but not mailgate's, else None."""
    ours = {tuple(a.lower().partition("@")[::2]) for a in support_addresses}
    forged = None
    for address in addresses:
        address = address.strip().strip("<>").lower()
        match = _RATING_TOKEN.match(address)
        if match is not None and (match["local"], match["domain"]) in ours:
            number, letter = int(match["number"]), match["value"]
            valid = hmac.compare_digest(match["mac"], _sign(secret, f"rating.{number}.{letter}"))
            found = RatingToken(request=number, value=RATINGS[letter], address=address,
                                valid=valid)  # fmt: skip
            if valid:
                return found
            forged = forged or found
        elif forged is None and _RATING_SHAPE.match(address):
            local, _, domain = address.partition("@")
            if (local.partition("+")[0], domain) in ours:
                forged = RatingToken(request=0, value="", address=address, valid=False)
    return forged


def _mac(secret: str, request: int, participant: int) -> str:
    return _sign(secret, f"{request}.{participant}")


def _sign(secret: str, message: str) -> str:
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()[:16]
