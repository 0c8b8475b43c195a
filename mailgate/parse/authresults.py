"""What our own receiving server says of a message's From domain (RFC 8601, RFC 7489).

Anyone can put an `Authentication-Results` header into a message; only the
one our server added counts, and our server adds its own above everything the
message brought along. So only the topmost header whose authserv-id is ours
is read (`[trust] authserv_id`), and never a lower one: if that topmost one
cannot be parsed, the answer is "unverified", not the next header down, which
an attacker may have written. Parsed with `authres`, not by hand.

A pass counts for the From domain only when it names it: DMARC with
`header.from` equal to the From domain, or DKIM with `header.d` equal to it
(SPEC §14). A DMARC pass for another domain proves nothing about this From.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

import authres

_COMMENT = re.compile(r"\([^()]*\)")


class Verdict(StrEnum):
    PASS = "pass"  # DMARC or DKIM passed for exactly the From domain
    FAIL = "fail"  # DMARC failed for the From domain
    UNVERIFIED = "unverified"  # no header of ours, nothing about this domain, or unreadable


@dataclass(frozen=True, slots=True, kw_only=True)
class Authentication:
    verdict: Verdict
    detail: str  # why, for the history: "dmarc=pass header.from=example.org", ...


def read_authentication(
    headers: Iterable[tuple[str, str]], *, from_domain: str, authserv_id: str
) -> Authentication:
    """Our server's verdict on `from_domain`, from the topmost header it wrote.

    `headers` are (lower-case name, value) pairs, topmost first, as parsed.
    """
    if not authserv_id:
        return Authentication(verdict=Verdict.UNVERIFIED, detail="no [trust] authserv_id set")
    domain = from_domain.lower()
    for name, value in headers:
        if name != "authentication-results" or _authserv_id(value) != authserv_id.lower():
            continue
        try:
            parsed = authres.AuthenticationResultsHeader.parse(f"Authentication-Results: {value}")
        except Exception:  # authres raises several types on malformed headers
            return Authentication(
                verdict=Verdict.UNVERIFIED,
                detail=f"the Authentication-Results of {authserv_id} cannot be parsed",
            )
        return _judge(parsed.results, domain, authserv_id)
    return Authentication(
        verdict=Verdict.UNVERIFIED, detail=f"no Authentication-Results of {authserv_id}"
    )


def is_sender_authenticated(
    headers: Iterable[tuple[str, str]], *, from_domain: str, authserv_id: str
) -> bool:
    """True when our server's DMARC or DKIM pass names the From domain."""
    found = read_authentication(headers, from_domain=from_domain, authserv_id=authserv_id)
    return found.verdict is Verdict.PASS


def _authserv_id(value: str) -> str:
    """The authserv-id a header names: its first word, comments removed (read
    without parsing, so that a header of ours that `authres` rejects is found)."""
    head = _COMMENT.sub(" ", value.partition(";")[0]).split()
    return head[0].lower() if head else ""


def _judge(
    results: Iterable[authres.core.AuthenticationResult], domain: str, authserv_id: str
) -> Authentication:
    failed = ""
    for result in results:
        method, verdict = result.method.lower(), (result.result or "").lower()
        if method == "dmarc":
            named = (_property(result, "header", "from") or "").lower()
            if verdict == "pass" and named == domain:
                detail = f"dmarc=pass header.from={named}"
                return Authentication(verdict=Verdict.PASS, detail=detail)
            if verdict == "fail" and named in ("", domain):
                failed = f"dmarc=fail header.from={named or domain}"
        elif method == "dkim" and verdict == "pass":
            signer = (_property(result, "header", "d") or "").lower()
            if signer == domain:
                return Authentication(verdict=Verdict.PASS, detail=f"dkim=pass header.d={signer}")
    if failed:
        return Authentication(verdict=Verdict.FAIL, detail=failed)
    return Authentication(
        verdict=Verdict.UNVERIFIED, detail=f"no DMARC or DKIM pass for {domain} from {authserv_id}"
    )


def _property(result: authres.core.AuthenticationResult, kind: str, name: str) -> str | None:
    for prop in result.properties:
        if prop.type == kind and prop.name == name:
            return str(prop.value)
    return None
