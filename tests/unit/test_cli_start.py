"""What each command loads: `--help` and `parse` start fast because they never
import the database layer, the templates or the worker; the test servers and
the demo are in no command's import graph. Each case runs in a fresh
interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailgate.cli import main
from tests.harness import write_config

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "e2e" / "applemail_quotes_approval.eml"
DATABASE_LAYER = {"sqlalchemy", "alembic", "psycopg"}
NOT_FOR_PARSE = DATABASE_LAYER | {"jinja2", "mailgate.app", "mailgate.worker", "mailgate.notify"}
NOT_FOR_LISTING = {"mailgate.app", "mailgate.worker", "mailgate.ingest", "mailgate.send"}
TEST_ONLY = {"tests", "aiosmtpd"}  # the test servers and the demo live in tests.sandbox
NOWHERE = SimpleNamespace(host="127.0.0.1", port=1, user="support@example.org", password="unused")

# Run the command as `mailgate` would, then print the modules it loaded.
RUN_COMMAND = """\
import contextlib, io, json, sys
from mailgate.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)))
"""

# Import every module of the package, as the commands together may.
IMPORT_ALL = """\
import importlib, json, pkgutil, sys
import mailgate
for module in pkgutil.walk_packages(mailgate.__path__, "mailgate."):
    importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def modules_loaded_by(script: str, *args: str) -> list[str]:
    """Every module a fresh interpreter loaded."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def loaded_by(script: str, *args: str) -> set[str]:
    """Top-level packages and mailgate modules a fresh interpreter loaded."""
    modules = modules_loaded_by(script, *args)
    return {name.split(".")[0] for name in modules} | {
        name for name in modules if name.startswith("mailgate.")
    }


@pytest.mark.parametrize(
    "argv",
    [["--help"], ["--version"], ["parse", str(FIXTURE)], ["parse", str(FIXTURE), "--json"]],
    ids=["help", "version", "parse", "parse-json"],
)
def test_help_and_parse_load_no_database_layer_templates_or_worker(argv):
    assert loaded_by(RUN_COMMAND, *argv) & (NOT_FOR_PARSE | TEST_ONLY) == set()


def test_requests_list_loads_the_database_but_not_the_worker(tmp_path):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=NOWHERE, smtp=NOWHERE, database_url="sqlite:///mailgate.sqlite3")
    assert main(["--config", str(config), "--log-level", "WARNING", "init"]) == 0
    loaded = loaded_by(RUN_COMMAND, "--config", str(config), "requests", "list")
    assert "sqlalchemy" in loaded
    assert loaded & (NOT_FOR_LISTING | TEST_ONLY) == set()


def test_no_runtime_module_imports_the_test_servers_or_the_demo():
    assert loaded_by(IMPORT_ALL) & TEST_ONLY == set()


def test_no_runtime_module_loads_the_orm():
    """`store/` is SQLAlchemy Core only: the ORM's import cost every command 0.1 s."""
    orm = [name for name in modules_loaded_by(IMPORT_ALL) if name.startswith("sqlalchemy.orm")]
    assert orm == []
