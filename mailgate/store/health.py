"""Whether the database can be used, said in one line an admin can act on.

Every command but `init` meets the database through `require_schema` first: it
is reachable, initialised, and its schema is the revision this code was written
for (older: run `mailgate init`; newer: this mailgate is older than the
database). An SQLite file that is not there is reported, never created: only
`init` creates one. `database_errors` turns what the driver raises later into
the same kind of line. The URL is always shown with its password masked.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, NoSuchModuleError

from mailgate.errors import DatabaseError
from mailgate.store.database import StoreUnavailable
from mailgate.store.engine import MIGRATIONS, sqlite_file
from mailgate.urls import masked_url

_REVISION_FILE = re.compile(r"^(\d{4})_\w+\.py$")  # versions/0011_forwarded_text.py: "0011"
DRIVER_MISSING = (
    "the PostgreSQL driver is not installed: pip install 'mailgate[postgresql]' "
    "(psycopg) into mailgate's environment"
)


def head_revision() -> str:
    """The newest schema revision this code has; the revision files are named after
    their revision ids (tests/unit/test_database_health.py holds them to it), so no
    Alembic import is needed to know it."""
    found = [m.group(1) for p in (MIGRATIONS / "versions").iterdir()
             if (m := _REVISION_FILE.match(p.name))]  # fmt: skip
    return max(found)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at; None when it was never initialised."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    return str(revision) if revision is not None else None


def require_schema(engine: Engine, url: str) -> str:
    """The database's revision when it is this code's; else `DatabaseError`."""
    path = sqlite_file(url)
    if path is not None and not Path(path).exists():
        raise DatabaseError(f"database {masked_url(url)}: not initialised ({path} does not exist): "
                            "run `mailgate init`")  # fmt: skip
    with database_errors(url):
        current = current_revision(engine)
    head = head_revision()
    if current is None:
        raise DatabaseError(f"database {masked_url(url)}: not initialised: run `mailgate init`")
    if current < head:
        raise DatabaseError(f"database {masked_url(url)}: schema at {current}, this mailgate needs "
                            f"{head}: run `mailgate init` to upgrade it")  # fmt: skip
    if current > head:
        raise DatabaseError(
            f"database {masked_url(url)}: schema at {current} is newer than this mailgate's "
            f"({head}): install the mailgate that upgraded it, or restore a backup made by "
            "this version"
        )
    return current


@contextlib.contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Whatever the driver raises inside becomes one `DatabaseError` line."""
    try:
        yield
    except DBAPIError as exc:
        raise DatabaseError(f"database {masked_url(url)}: {_reason(exc, url)}") from None
    except (ModuleNotFoundError, NoSuchModuleError) as exc:
        if "psycopg" not in str(exc) and "postgres" not in str(exc):
            raise
        raise DatabaseError(f"database {masked_url(url)}: {DRIVER_MISSING}") from None
    except StoreUnavailable as exc:  # the store's own wrapping of the driver's error
        cause = exc.__cause__
        reason = _reason(cause, url) if isinstance(cause, DBAPIError) else str(exc)
        reason = reason.removeprefix("database: ")
        raise DatabaseError(f"database {masked_url(url)}: {reason}") from None


def _reason(exc: DBAPIError, url: str) -> str:
    """What went wrong and what to do, from the driver's message."""
    message = str(exc.orig) if exc.orig is not None else str(exc)
    lowered = message.lower()
    if "connection refused" in lowered:
        return "connection refused (start it, or fix [database] url)"
    if "failed to resolve host" in lowered or "could not translate host" in lowered:
        return "host name does not resolve (fix [database] url)"
    if "timeout" in lowered or "timed out" in lowered:
        return "no answer (is it up and reachable? fix [database] url)"
    if match := re.search(r'database "([^"]+)" does not exist', message):
        return f"database {match.group(1)} does not exist (create it, or fix [database] url)"
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return "login refused (fix the user or password in [database] url)"
    if "unable to open database file" in lowered:
        path = sqlite_file(url) or "the file"
        return (f"cannot open {path} (its directory must exist and be writable by user "
                f"{_user()}; fix [database] url)")  # fmt: skip
    if "readonly database" in lowered or "read-only" in lowered:
        return "read-only: give this user write access to the file and its directory"
    if "no such table" in lowered or "does not exist" in lowered:
        return "not initialised: run `mailgate init`"
    if "database is locked" in lowered:
        return "locked by another process for too long: try again"
    first = message.strip().splitlines()[0] if message.strip() else type(exc.orig).__name__
    return first.removeprefix("connection failed: ")


def _user() -> str:
    try:
        import pwd

        return pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError):
        return str(os.geteuid())
