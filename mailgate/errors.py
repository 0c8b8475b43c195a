"""One base error with a few branches; each edge catches only what it can handle."""

from __future__ import annotations


class MailgateError(Exception):
    """Base of every error mailgate raises on purpose."""


class ConfigError(MailgateError):
    """The configuration is wrong. `str()` is one line that names the key and the fix."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


class TransportError(MailgateError):
    """A mail server could not be reached or refused us."""

    def __init__(self, message: str, *, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary


class DatabaseError(MailgateError):
    """The database cannot be used: unreachable, not initialised, or its schema is not
    the one this code needs. `str()` is one line naming the database (password
    masked) and the fix."""
