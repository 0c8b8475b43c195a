"""Logging setup: constant messages, details as fields from `extra`.

Two formats: `text`, a line of key=value fields for a terminal or journald,
and `json`, one object per line for a log shipper. Both print only the
fields a call site names: never bodies, passwords or tokens.

When stderr is the journal (systemd sets `$JOURNAL_STREAM` to its device and
inode), each line starts with its syslog priority, `<3>` for an error to `<7>`
for debug (sd-daemon(3)): journald files the line at that priority and strips
the prefix, so `journalctl -p warning` and `-o cat` work as usual.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
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


class JournalPriority(logging.Formatter):
    """Another formatter's lines, each prefixed with the record's sd-daemon priority."""

    def __init__(self, inner: logging.Formatter) -> None:
        super().__init__()
        self.inner = inner

    def format(self, record: logging.LogRecord) -> str:
        prefix = f"<{_priority(record.levelno)}>"
        return "\n".join(prefix + line for line in self.inner.format(record).split("\n"))


def _priority(level: int) -> int:
    """syslog's: 2 crit, 3 err, 4 warning, 6 info, 7 debug."""
    for threshold, priority in ((logging.CRITICAL, 2), (logging.ERROR, 3),
                                (logging.WARNING, 4), (logging.INFO, 6)):  # fmt: skip
        if level >= threshold:
            return priority
    return 7


def stderr_is_journal() -> bool:
    """Whether stderr is the stream systemd connected to the journal, not merely a
    process that inherited `$JOURNAL_STREAM` and was redirected elsewhere."""
    device, _, inode = os.environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        status = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError, AttributeError):  # no real stderr (closed, or replaced)
        return False
    return f"{status.st_dev}:{status.st_ino}" == f"{device}:{inode}"


def _clean(value: object) -> str:
    text = "".join(ch if ch.isprintable() else " " for ch in str(value))
    return repr(text) if " " in text else text


def setup_logging(level: str, log_format: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter: logging.Formatter = (
        JsonFormatter() if log_format == "json"
        else KeyValueFormatter("%(asctime)s %(levelname)s %(name)s %(message)s",
                               "%Y-%m-%dT%H:%M:%S")
    )  # fmt: skip
    handler.setFormatter(JournalPriority(formatter) if stderr_is_journal() else formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
