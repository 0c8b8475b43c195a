"""What every operations command prints: one JSON document with --json, else
short lines; and the exit codes beside those of `mailgate.cli`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

EXIT_FAILED = 1  # the command could not do what was asked (the line says why)
EXIT_NOT_FOUND = 4  # as `mailgate.cli`: no such request, message or notification
EXIT_REFUSED = 5  # the rules of mail refuse it (not an agent, the request is closed)


def print_json(document: Any) -> None:
    print(json.dumps(document, ensure_ascii=False, indent=2, default=_jsonable))


def _jsonable(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def complain(text: str) -> None:
    print(f"mailgate: {text}", file=sys.stderr)
