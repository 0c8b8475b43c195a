"""Did the receiving server authenticate the From domain? (RFC 8601, RFC 7489)

Only an `Authentication-Results` header added by our own receiving server
(its authserv-id) is trusted: anyone can put such a header into a message.
Parsed with `authres`, not by hand.
"""

from __future__ import annotations

from collections.abc import Iterable

import authres


def is_sender_authenticated(
    headers: Iterable[tuple[str, str]], *, from_domain: str, authserv_id: str
) -> bool:
    """True when DMARC passed, or DKIM passed for a domain aligned with From.

    Looks at the topmost header from `authserv_id` only: the one our server
    added last, above anything the sender brought along.
    """
    for name, value in headers:
        if name != "authentication-results":
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # authres raises several types on malformed headers
            continue
        if parsed.authserv_id.lower() != authserv_id.lower():
            continue
        return _passes(parsed.results, from_domain.lower())
    return False


def _passes(results: Iterable[authres.core.AuthenticationResult], from_domain: str) -> bool:
    for result in results:
        method, verdict = result.method.lower(), (result.result or "").lower()
        if method == "dmarc" and verdict == "pass":
            return True
        if method == "dkim" and verdict == "pass":
            signer = _property(result, "header", "d") or _property(result, "header", "i") or ""
            if _aligned(signer.lstrip("@").lower(), from_domain):
                return True
    return False


def _property(result: authres.core.AuthenticationResult, kind: str, name: str) -> str | None:
    for prop in result.properties:
        if prop.type == kind and prop.name == name:
            value: str = prop.value  # authres is untyped: a property's value is a str
            return value
    return None


def _aligned(signer: str, from_domain: str) -> bool:
    """Relaxed alignment: the same domain, or one a subdomain of the other."""
    if not signer:
        return False
    return (
        signer == from_domain
        or from_domain.endswith("." + signer)
        or signer.endswith("." + from_domain)
    )
