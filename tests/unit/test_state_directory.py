"""Where mailgate keeps its state under systemd's `StateDirectory=` (docs/admin.md,
"Under systemd"): a relative SQLite path and the sent journal of another
database go under `$STATE_DIRECTORY`; outside such a unit, as before."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from mailgate.journal import journal_dir

MINIMAL = {
    "support_address": "support@example.org",
    "imap": {"host": "imap.example.org", "username": "u", "password": "p"},
    "smtp": {"host": "smtp.example.org"},
}
POSTGRES = "postgresql+psycopg://mailgate@db/mailgate"


def database_url(url: str | None, base_dir: Path) -> str:
    data = {**MINIMAL, **({"database": {"url": url}} if url else {})}
    return settings_from_mapping(data, base_dir=base_dir).database_url


@pytest.fixture(autouse=True)
def no_state_variables(monkeypatch):
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.delenv("MAILGATE_STATE_DIR", raising=False)


def test_a_relative_sqlite_path_goes_to_the_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/state:{tmp_path}/other")
    assert database_url(None, Path("/etc/mailgate")) == f"sqlite:///{tmp_path}/state/mailgate.sqlite3"
    assert database_url("sqlite:///db/m.sqlite3", Path("/etc/mailgate")) == (
        f"sqlite:///{tmp_path}/state/db/m.sqlite3"
    )  # fmt: skip


def test_without_a_state_directory_it_is_beside_the_config(tmp_path):
    assert database_url(None, tmp_path) == f"sqlite:///{tmp_path}/mailgate.sqlite3"


def test_absolute_paths_and_other_databases_are_left_alone(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path))
    assert database_url("sqlite:////srv/m.sqlite3", Path("/etc")) == "sqlite:////srv/m.sqlite3"
    assert database_url(POSTGRES, Path("/etc")) == POSTGRES


def test_the_journal_of_another_database_prefers_mailgate_state_dir(monkeypatch, tmp_path):
    home = journal_dir(POSTGRES)
    assert home.parent == Path.home() / ".local/state/mailgate"
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    assert journal_dir(POSTGRES) == tmp_path / "systemd" / home.name
    monkeypatch.setenv("MAILGATE_STATE_DIR", str(tmp_path / "chosen"))
    assert journal_dir(POSTGRES) == tmp_path / "chosen" / home.name


def test_an_sqlite_databases_journal_stays_beside_it(monkeypatch, tmp_path):
    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "systemd"))
    assert journal_dir("sqlite:////srv/m.sqlite3") == Path("/srv/m.sqlite3.sent")
