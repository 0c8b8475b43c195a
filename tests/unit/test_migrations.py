"""The Alembic revisions build exactly the schema the tables describe.

A column added to `store/tables.py` without a revision (or the other way
round) would pass every test on a fresh database made from the tables, and
break every upgraded one.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from mailgate.store.engine import make_engine, upgrade_schema
from mailgate.store.tables import METADATA


def test_migrations_match_the_tables(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.sqlite3'}")
    upgrade_schema(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, METADATA)
    engine.dispose()
    assert differences == []


def test_upgrading_twice_changes_nothing(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'again.sqlite3'}")
    upgrade_schema(engine)
    upgrade_schema(engine)
    with engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    engine.dispose()
    assert revision is not None and revision >= "0004"
