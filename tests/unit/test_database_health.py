"""What `require_schema` compares: the code's head revision, read from the file names."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from mailgate.store.engine import MIGRATIONS
from mailgate.store.health import head_revision
from mailgate.urls import masked_url


def test_the_head_read_from_the_file_names_is_alembic_s():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_heads() == [head_revision()]
    for revision in script.walk_revisions():  # each file is named after its revision id
        assert revision.path.rpartition("/")[2].startswith(f"{revision.revision}_")


def test_a_password_never_shows():
    assert masked_url("postgresql+psycopg://mg:pa:ss@db/x") == "postgresql+psycopg://mg:***@db/x"
    assert (
        masked_url("postgresql+psycopg://mg:p@ss@db:5432/x")
        == "postgresql+psycopg://mg:***@db:5432/x"
    )  # an unquoted @ in it: masked whole
    assert (
        masked_url("postgresql+psycopg://db/x?user=mg&password=s3&sslpassword=k")
        == "postgresql+psycopg://db/x?user=mg&password=***&sslpassword=***"
    )
    assert masked_url("postgresql+psycopg://mg@db/x") == "postgresql+psycopg://mg@db/x"
    path = "sqlite:////var/lib/mailgate/db.sqlite3"
    assert masked_url(path) == path
