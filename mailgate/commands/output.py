"""What every operations command prints: one JSON document with --json, else
short lines; and the exit codes beside those of `mailgate.cli`."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from mailgate import exits

EXIT_FAILED = exits.FAILED
EXIT_NOT_FOUND = exits.NOT_FOUND
EXIT_REFUSED = exits.REFUSED


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
