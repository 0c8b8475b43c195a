"""Reply tokens: a per-participant Reply-To address that proves whose thread a
reply belongs to, even when the client writes from another address.

`support+<number>.<participant>.<mac>@domain`, where the MAC is an HMAC of the
request and participant numbers under a secret only mailgate knows. Pure.
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


def _mac(secret: str, request: int, participant: int) -> str:
    message = f"{request}.{participant}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:16]
