"""A message whose apply keeps failing is retried across rounds, then quarantined.

The failure is real, not a mock of our code: a trigger on the test's own
database refuses to store that one message, as a bug or a corrupt row
would. The count of failed applies lives in the database (`inbound.attempts`),
so it survives the end of each `run --once` process; at the third failure
the message is quarantined with its raw bytes and the reason, and moved to
the Failed folder. The rest of the backlog is applied in the first round.
Once the cause is gone, `mailgate failed retry` applies it, and only once.
"""

from __future__ import annotations

import json

from sqlalchemy import create_engine, text

from bench.corpus import make_corpus
from tests.reliability.audit import NOTIFICATIONS_PER_NEW_REQUEST, message_id_of

ATTEMPTS = 3
REASON = "poisoned by the test"

SQLITE_TRIGGER = [
    f"""CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.message_id = :key
        BEGIN SELECT RAISE(ABORT, '{REASON}'); END"""
]
POSTGRES_TRIGGER = [
    f"""CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF NEW.message_id = current_setting('poison.key') THEN
            RAISE EXCEPTION '{REASON}';
          END IF;
          RETURN NEW;
        END $$""",
    "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION poison()",
]


def poison(database_url: str, key: str) -> None:
    """Make every insert of a stored message with this Message-ID fail."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                # A trigger body takes no parameters: the key goes in as a literal.
                connection.execute(text(SQLITE_TRIGGER[0].replace(":key", f"'{key}'")))
            else:
                database = engine.url.database
                connection.execute(text(f"ALTER DATABASE \"{database}\" SET poison.key = '{key}'"))
                for statement in POSTGRES_TRIGGER:
                    connection.execute(text(statement))
    finally:
        engine.dispose()


def cure(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            on_table = "" if connection.dialect.name == "sqlite" else " ON messages"
            connection.execute(text(f"DROP TRIGGER poison{on_table}"))
    finally:
        engine.dispose()


def test_a_message_that_cannot_be_applied_is_quarantined_after_three_rounds(
    install, dovecot, ledger, database_url
):
    corpus = make_corpus(20)
    bad = corpus[10]
    key = message_id_of(bad)
    gate = install(dovecot)
    poison(database_url, key)
    dovecot.append_many(corpus)

    def state() -> tuple[str, int]:
        [(status, attempts)] = gate.query(
            f"SELECT state, attempts FROM inbound WHERE key = '{key}'"
        )
        return status, attempts

    for attempt in range(1, ATTEMPTS):
        gate.run_once()
        assert state() == ("pending", attempt)
        assert [message_id_of(raw) for raw in dovecot.list_folder("INBOX")] == [key]
        assert len(gate.requests()) == len(corpus) - 1  # the rest is applied at once

    gate.run_once()
    assert state() == ("failed", ATTEMPTS)
    [(raw, error)] = gate.query(f"SELECT raw, error FROM inbound WHERE key = '{key}'")
    assert bytes(raw) == bad
    assert REASON in error
    assert dovecot.list_folder("INBOX") == []
    assert dovecot.list_folder("Failed") == [bad]

    [listed] = json.loads(gate.read("failed", "list", "--json"))
    assert (listed["key"], listed["attempts"]) == (key, ATTEMPTS)
    assert REASON in listed["reason"]
    assert gate.read("failed", "show", key, "--raw").encode("utf-8", "surrogateescape") == bad

    delivered = ledger.count()
    gate.run_once()  # quarantined means left alone: no fourth attempt
    assert state() == ("failed", ATTEMPTS)
    assert ledger.count() == delivered

    cure(database_url)  # the cause is fixed: the admin applies it again, once
    [retried] = json.loads(gate.read("failed", "retry", key, "--json"))
    assert retried["outcome"] == "applied"
    [again] = json.loads(gate.read("failed", "retry", key, "--json"))
    assert again["outcome"] == "nothing_done"
    gate.run_once()
    assert len(gate.requests()) == len(corpus)
    everyone = NOTIFICATIONS_PER_NEW_REQUEST * len(corpus)
    assert sorted(ledger.per_message_id().values()) == [1] * everyone
