"""A database URL as every message and `config show` print it: its password masked."""

from __future__ import annotations

import re

MASK = "***"
# The password of a ?password= or &sslpassword= parameter.
_PARAMETER = re.compile(r"(?i)(?P<head>[?&](?:ssl)?password=)[^&#]*")


def masked_url(url: str) -> str:
    """`postgresql+psycopg://mailgate:***@db/mailgate`; a URL without a password as it
    is. The user part ends at the last `@` before the query, so that a password with
    an unquoted `@` in it is masked whole too."""
    scheme, separator, rest = url.partition("://")
    address, question, query = rest.partition("?")
    userinfo, at, host = address.rpartition("@")
    if separator and at and ":" in userinfo:
        address = f"{userinfo.partition(':')[0]}:{MASK}@{host}"
    url = f"{scheme}{separator}{address}{question}{query}"
    return _PARAMETER.sub(lambda m: m["head"] + MASK, url)
