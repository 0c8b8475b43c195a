"""An install of one mailbox upgrades in place: its requests belong to `default`."""

from __future__ import annotations

import datetime as dt

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from mailgate.store.engine import MIGRATIONS, make_engine, upgrade_schema

AT = dt.datetime(2026, 11, 26, 7, 0, tzinfo=dt.UTC).isoformat()


def migrate(engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def test_requests_and_pending_mail_of_an_old_database_belong_to_default(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'old.sqlite3'}")
    migrate(engine, "0005")  # the schema before several mailboxes
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO requests (id, subject, status, requester, language, created_at,"
                " updated_at, status_since) VALUES (7, 'Printer', 'new', 'ann@corp.example',"
                " 'en', :at, :at, :at)"
            ),
            {"at": AT},
        )
        connection.execute(
            text(
                "INSERT INTO inbound (key, raw, state, error, attempts, received_at)"
                " VALUES ('m1@corp', x'00', 'pending', '', 0, :at)"
            ),
            {"at": AT},
        )
    upgrade_schema(engine)  # what `mailgate init` does
    with engine.connect() as connection:
        requests = connection.execute(text("SELECT id, mailbox FROM requests")).all()
        inbound = connection.execute(text("SELECT key, mailbox FROM inbound")).all()
    engine.dispose()
    assert [tuple(r) for r in requests] == [(7, "default")]
    assert [tuple(r) for r in inbound] == [("m1@corp", "default")]
