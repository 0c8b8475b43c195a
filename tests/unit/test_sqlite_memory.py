"""SQLite keeps no large value bound to a statement once it ran (store/engine.py)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import text

from mailgate.store.engine import make_engine

BLOB = 40 * 1024 * 1024  # above glibc's largest mmap threshold: freed memory goes back at once


def _anonymous_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssAnon:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssAnon in /proc/self/status")


def test_a_large_value_inserted_is_not_held_once_the_transaction_ends(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'memory.sqlite3'}")
    try:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE blobs (raw BLOB)"))
        before = _anonymous_mib()
        value = os.urandom(BLOB)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO blobs (raw) VALUES (:raw)"), {"raw": value})
        del value
        # A cached statement would still hold its bound copy: 40 MiB more than before.
        assert _anonymous_mib() - before < 10
    finally:
        engine.dispose()
