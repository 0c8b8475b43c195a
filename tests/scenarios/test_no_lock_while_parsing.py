"""Mail is parsed before the write transaction opens (SPEC §14, "Bounded cost"):
on SQLite a write transaction holds the database's one write lock, and the CLI,
the sender and other workers would wait for as long as a large mail takes to read.
"""

from __future__ import annotations

import sqlite3

import mailgate.parse
from tests.mails import make_mail

NOW = "2026-11-24T10:00:00+03:00"


def test_no_write_lock_is_held_while_mail_is_parsed(make_gate, monkeypatch):
    gate = make_gate()
    gate.cli("requests", "list")  # the schema is there; nothing yet
    database = gate.database_url.removeprefix("sqlite:///")
    parse = mailgate.parse.parse_message
    while_parsing: list[str] = []

    def parse_and_write_meanwhile(raw, **kwargs):
        """Take SQLite's write lock from another connection, as the CLI or the sender
        would, while mailgate reads the mail: it must be free."""
        other = sqlite3.connect(database, timeout=0.2, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
            while_parsing.append("write lock free")
        except sqlite3.OperationalError as exc:
            while_parsing.append(str(exc))
        finally:
            other.close()
        listed = gate.cli("requests", "list", "--json", check=False)
        while_parsing.append(f"requests list exit {listed.returncode}")
        return parse(raw, **kwargs)

    monkeypatch.setattr(mailgate.parse, "parse_message", parse_and_write_meanwhile)
    gate.deliver(
        make_mail(sender="a@corp.example", subject="Fax", body="Down.", message_id="a@corp"),
        make_mail(sender="b@corp.example", subject="Printer", body="Jammed.", message_id="b@corp"),
    )
    gate.run_once(now=NOW)

    assert while_parsing == ["write lock free", "requests list exit 0"] * 2
    assert [row[0] for row in gate.query("select requester from requests order by id")] == [
        "a@corp.example",
        "b@corp.example",
    ]
