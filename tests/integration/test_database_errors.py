"""Database trouble is one line and status 6 for every command (issue 22): down,
not there, not initialised, a schema older or newer than the code; `init` says
what it did and two at once both succeed; the commands that never log in need
no mail password; usage errors are 64."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import text

from mailgate import exits
from mailgate.store.engine import MIGRATIONS, make_engine
from mailgate.store.health import head_revision
from tests.harness import run_cli, write_config

NOWHERE = SimpleNamespace(host="127.0.0.1", port=9, user="support@example.org", password="x")
HEAD = head_revision()
# The revisions, by the numbers of their files: not every number is taken (one
# branch's revision may wait for another's, re-chained when they merge).
REVISIONS = sorted(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))
CREATED = f"database created at {HEAD} ({len(REVISIONS)} steps)\n"
# Every command that reads the database, with arguments that would otherwise work.
READERS = [["status"], ["requests", "list"], ["requests", "show", "REQ-1"], ["held", "list"],
           ["outbox", "list"], ["failed", "list"], ["attachments", "list", "REQ-1"],
           ["run", "--once"]]  # fmt: skip


def config_for(tmp_path, url, **top):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=NOWHERE, smtp=NOWHERE, database_url=url, **top)
    return config


def one_line(result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


def migrate_to(url: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    engine = make_engine(url)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)
    engine.dispose()


def set_revision(url: str, revision: str) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
    engine.dispose()


@pytest.mark.parametrize("args", READERS, ids=lambda a: "-".join(a))
def test_postgresql_down_is_one_line_with_the_password_masked(tmp_path, args):
    config = config_for(tmp_path, "postgresql://mailgate:s3cret@127.0.0.1:9/mailgate")
    result = run_cli(config, *args)
    assert result.returncode == exits.DATABASE, result.stderr
    assert one_line(result) == (
        "mailgate: database postgresql+psycopg://mailgate:***@127.0.0.1:9"
        "/mailgate: connection refused (start it, or fix [database] url)"
    )
    assert "s3cret" not in result.stderr + result.stdout


def test_init_on_postgresql_down_and_a_missing_database(tmp_path):
    down = run_cli(config_for(tmp_path, "postgresql://u:pw@127.0.0.1:9/x"), "init")
    assert down.returncode == exits.DATABASE
    assert "connection refused" in one_line(down)
    missing = run_cli(config_for(tmp_path, "postgresql://postgres@127.0.0.1:5432/no_such_db_22"),
                      "init")  # fmt: skip
    assert missing.returncode == exits.DATABASE
    assert one_line(missing).endswith(
        "database no_such_db_22 does not exist (create it, or fix [database] url)"
    )


@pytest.mark.parametrize("args", READERS, ids=lambda a: "-".join(a))
def test_an_uninitialised_sqlite_database_is_named_and_never_created(tmp_path, args):
    path = tmp_path / "mailgate.sqlite3"
    result = run_cli(config_for(tmp_path, f"sqlite:///{path}"), *args)
    assert result.returncode == exits.DATABASE
    assert one_line(result) == (f"mailgate: database sqlite:///{path}: not initialised ({path} "
                                "does not exist): run `mailgate init`")  # fmt: skip
    assert list(tmp_path.iterdir()) == [tmp_path / "mailgate.toml"]


def test_an_sqlite_path_that_cannot_be_created(tmp_path):
    path = tmp_path / "no-such-dir" / "mailgate.sqlite3"
    result = run_cli(config_for(tmp_path, f"sqlite:///{path}"), "init")
    assert result.returncode == exits.DATABASE
    assert one_line(result).startswith(
        f"mailgate: database sqlite:///{path}: cannot open {path} "
        "(its directory must exist and be writable by user "
    )


def test_an_empty_database_is_not_initialised(tmp_path, database_url):
    if database_url.startswith("sqlite"):
        (tmp_path / "mailgate.sqlite3").touch()  # as an admin's `touch`, or a failed copy
    result = run_cli(config_for(tmp_path, database_url), "status")
    assert result.returncode == exits.DATABASE
    assert one_line(result).endswith(": not initialised: run `mailgate init`")


def test_an_older_schema_asks_for_init_which_says_what_it_migrated(tmp_path, database_url):
    config = config_for(tmp_path, database_url)
    migrate_to(database_url, "0009")
    old = run_cli(config, "status")
    assert old.returncode == exits.DATABASE
    assert one_line(old).endswith(
        f": schema at 0009, this mailgate needs {HEAD}: run `mailgate init` to upgrade it"
    )
    steps = len([revision for revision in REVISIONS if revision > "0009"])
    upgraded = run_cli(config, "init")
    assert upgraded.returncode == 0, upgraded.stderr
    assert upgraded.stdout == f"database migrated 0009 → {HEAD} ({steps} steps)\n"
    again = run_cli(config, "init")
    assert again.stdout == f"database is up to date at {HEAD}\n"
    assert run_cli(config, "status").returncode == 0


def test_a_newer_schema_refuses_every_command_but_says_why(tmp_path, database_url):
    config = config_for(tmp_path, database_url)
    assert run_cli(config, "init").stdout == CREATED
    set_revision(database_url, "9999")
    for args in (["status"], ["run", "--once"]):
        result = run_cli(config, *args)
        assert result.returncode == exits.DATABASE
        assert f": schema at 9999 is newer than this mailgate's ({HEAD}): " in one_line(result)


def test_two_inits_at_once_both_succeed(tmp_path, database_url):
    config = config_for(tmp_path, database_url)
    runs = [subprocess.Popen([sys.executable, "-m", "mailgate", "--config", str(config), "init"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)]  # fmt: skip
    results = [(run.wait(timeout=60), *run.communicate()) for run in runs]
    assert [code for code, _, _ in results] == [0, 0], results
    said = sorted(out for _, out, _ in results)
    assert said == [CREATED, f"database is up to date at {HEAD}\n"]


def test_check_reports_the_database_first(tmp_path):
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite3'}")
    missing = run_cli(config, "check")
    assert missing.returncode == exits.DATABASE  # the first failure, before IMAP's
    assert missing.stderr.splitlines()[0].endswith("does not exist): run `mailgate init`")
    assert "imap: " in missing.stderr  # the mail servers are still checked
    assert not (tmp_path / "m.sqlite3").exists()
    run_cli(config, "init")
    checked = run_cli(config, "check")
    assert f"database: ok (sqlite:///{tmp_path / 'm.sqlite3'}, schema at {HEAD})" in checked.stdout


def test_without_the_postgresql_driver_the_line_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if `mailgate[postgresql]` were not
    result = run_cli(config_for(tmp_path, "postgresql://u@127.0.0.1/x"), "status")
    assert result.returncode == exits.DATABASE
    assert "pip install 'mailgate[postgresql]'" in one_line(result)


def test_commands_that_never_log_in_need_no_mail_password(tmp_path, monkeypatch):
    monkeypatch.delenv("MG_NO_SUCH_PASSWORD", raising=False)
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite3'}")
    config.write_text(config.read_text().replace(
        'password = "x"', 'password_env = "MG_NO_SUCH_PASSWORD"', 1
    ).replace('security = "none"\ntimeout', 'security = "none"\nusername = "s"\n'
              'password_file = "missing-file"\ntimeout'))  # fmt: skip
    assert "password_file" in config.read_text()
    for args in (["init"], ["status"], ["requests", "list"], ["held", "list"],
                 ["outbox", "list"], ["failed", "list"], ["config", "show"]):  # fmt: skip
        result = run_cli(config, *args)
        assert result.returncode == 0, (args, result.stderr)
    for args in (["run", "--once"], ["check"]):
        result = run_cli(config, *args)
        assert result.returncode == exits.CONFIG
        assert one_line(result) == ("mailgate: config error: imap.password_env: environment "
                                    "variable MG_NO_SUCH_PASSWORD is not set")  # fmt: skip


@pytest.mark.parametrize("args", [["bogus"], ["requests", "list", "--status", "nope"],
                                  ["requests"], ["run", "--now", "yesterday"]])  # fmt: skip
def test_usage_errors_exit_64_apart_from_config_errors(tmp_path, args):
    config = config_for(tmp_path, "sqlite://")
    result = subprocess.run([sys.executable, "-m", "mailgate", "--config", str(config), *args],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert result.returncode == exits.USAGE == 64
    assert result.stderr.splitlines()[-1].startswith("mailgate")


def test_a_utf16_password_file_stops_run_with_one_line_naming_it(tmp_path):
    config = config_for(tmp_path, f"sqlite:///{tmp_path / 'm.sqlite3'}")
    (tmp_path / "imap.secret").write_text("hunter2\n", encoding="utf-16")
    config.write_text(config.read_text().replace('password = "x"', 'password_file = "imap.secret"',
                                                 1))  # fmt: skip
    assert run_cli(config, "init").returncode == 0
    result = run_cli(config, "run", "--once")
    assert result.returncode == exits.CONFIG
    assert one_line(result) == (
        f"mailgate: config error: imap.password_file: {tmp_path / 'imap.secret'} is not UTF-8 "
        "text (binary, or saved as UTF-16?): write the secret alone in it as UTF-8"
    )
