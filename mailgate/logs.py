"""Logging setup: constant messages, details as fields from `extra`.

Two formats: `text`, a line of key=value fields for a terminal or journald,
and `json`, one object per line for a log shipper. Both print only the
fields a call site names: never bodies, passwords or tokens.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}
FORMATS = ("text", "json")


def _fields(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD}


class KeyValueFormatter(logging.Formatter):
    """`2026-11-26T10:00:00 INFO mailgate.worker message key=value ...`"""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = _fields(record)
        if fields:
            line += " " + " ".join(f"{k}={_clean(v)}" for k, v in fields.items())
        return line


class JsonFormatter(logging.Formatter):
    """`{"time": "...", "level": "INFO", "logger": "...", "message": "...", field: value}`"""

    def format(self, record: logging.LogRecord) -> str:
        moment = dt.datetime.fromtimestamp(record.created, dt.UTC)
        document: dict[str, object] = {
            "time": moment.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in _fields(record).items():
            document.setdefault(key, value)
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def _clean(value: object) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return repr(text) if " " in text else text


def setup_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
