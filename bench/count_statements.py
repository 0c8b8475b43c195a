"""Run a mailgate command and count the SQL it sends: statements, rows, commits.

Run by path with the measured interpreter (it may not see this checkout):

    python bench/count_statements.py COUNTS.json -m mailgate.cli --config … run --once

A listener on every SQLAlchemy engine counts each cursor execution once (an
`executemany` of 100 rows is one statement, one round trip on PostgreSQL with
insertmanyvalues), by its first word and table, and each commit. Written as
JSON to COUNTS.json when the command ends. Not part of the timed runs: the
listener costs a little per statement.
"""

from __future__ import annotations

import atexit
import json
import re
import runpy
import sys
from collections import Counter

_WORDS = re.compile(r"\s*(\w+)(?:.*?\b(?:FROM|INTO|UPDATE)\s+\"?(\w+))?", re.DOTALL | re.I)


def main() -> None:
    counts_path, flag, module, *argv = sys.argv[1:]
    if flag != "-m":
        raise SystemExit("usage: count_statements.py COUNTS.json -m MODULE [ARG ...]")
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    statements: Counter[str] = Counter()
    totals = Counter()

    @event.listens_for(Engine, "before_cursor_execute")
    def _count(conn, cursor, statement, parameters, context, executemany) -> None:
        found = _WORDS.match(statement)
        verb = found.group(1).upper() if found else "?"
        table = (found.group(2) or "") if found else ""
        if verb in ("BEGIN", "PRAGMA"):
            totals["begin" if verb == "BEGIN" else "pragma"] += 1
            return
        statements[f"{verb} {table}".strip()] += 1
        totals["statements"] += 1
        totals["executemany"] += bool(executemany)

    @event.listens_for(Engine, "commit")
    def _commit(conn) -> None:
        totals["commits"] += 1

    def _write() -> None:
        with open(counts_path, "w", encoding="utf-8") as out:
            json.dump({"totals": totals, "statements": statements}, out, indent=1)

    atexit.register(_write)
    sys.argv = [module, *argv]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
