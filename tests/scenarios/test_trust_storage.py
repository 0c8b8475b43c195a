"""SPEC §14, files and storage: the SQLite file is its owner's only (docs/trust.md).

`mailgate init` on a new path, in-process, under the usual umask 022 (which
would make a file SQLite creates 0644): the database and its WAL companions are
0600; an existing file keeps the mode its admin gave it; `check` warns of one
that others can read.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailgate.store.engine import make_engine
from tests.harness import run_cli, write_config
from tests.inprocess import Nowhere


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def config(tmp_path) -> Path:
    path = tmp_path / "mailgate.toml"
    database = tmp_path / "data" / "mailgate.sqlite3"
    database.parent.mkdir()
    write_config(path, imap=Nowhere(), smtp=Nowhere(), database_url=f"sqlite:///{database}")
    return path


def test_init_creates_the_database_readable_by_its_owner_only(config) -> None:
    database = config.parent / "data" / "mailgate.sqlite3"
    with umask(0o022):
        result = run_cli(config, "init")
        assert result.returncode == 0, result.stderr
        assert mode(database) == 0o600
        engine = make_engine(f"sqlite:///{database}")  # the worker's WAL files, while open
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE scratch (a INTEGER)")
                companions = [Path(f"{database}{suffix}") for suffix in ("-wal", "-shm")]
                assert [mode(path) for path in companions] == [0o600, 0o600]
        finally:
            engine.dispose()
    assert sorted(p.name for p in database.parent.iterdir() if mode(p) & 0o077) == []
    assert "warning" not in run_cli(config, "check").stderr


def test_an_existing_file_keeps_its_mode_and_check_warns(config) -> None:
    database = config.parent / "data" / "mailgate.sqlite3"
    database.touch()
    database.chmod(0o640)  # the admin's choice: a group that backs it up
    assert run_cli(config, "init").returncode == 0
    assert mode(database) == 0o640
    warnings = [line for line in run_cli(config, "check").stderr.splitlines()
                if line.startswith("warning:")]  # fmt: skip
    assert warnings == [
        f"warning: the database file {database} is open to others (mode 0640): "
        f"chmod 600 {database}, and its -wal and -shm files"
    ]
