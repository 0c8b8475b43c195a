"""What a round of `run --once` with nothing to do loads: the Core tables but not
the ORM, not Alembic, not the PostgreSQL dialect on SQLite, not the parser's
phrase tables nor deciding (they load with the first mail), not Jinja2 and the
templates (they load with the first notice rendered), not the holidays package
(`holidays_country` is checked against its registry's table, read as a literal). Each of these
cost the empty run, which is mostly start-up, hundredths of a second
(bench/README.md).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from types import SimpleNamespace

from mailgate import business_time
from mailgate.app import LazyRenderer, build_app
from mailgate.cli import main
from mailgate.config import load_settings
from mailgate.template_check import sample_notices
from tests.harness import write_config

NOWHERE = SimpleNamespace(host="127.0.0.1", port=1, user="support@example.org", password="unused")
NOT_FOR_AN_EMPTY_ROUND = (
    "sqlalchemy.orm",
    "sqlalchemy.dialects.postgresql",
    "alembic",
    "psycopg",
    "mailgate.store.views",
    "mailgate.parse.newtext",
    "mailgate.parse.phrases",
    "mailgate.decide.message",
    "jinja2",
    "css_inline",
    "mailgate.layout",
    "mailgate.parse.auto",
    "holidays",
)

# `run --once` as `mailgate` runs it (the IMAP server is nowhere: the round reports
# it and goes on to the timers and the outbox), then the modules it loaded.
RUN_ONCE = """\
import contextlib, io, json, sys
from mailgate.cli import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[1:])
print(json.dumps({"code": code, "modules": sorted(sys.modules)}))
"""


def test_an_empty_round_loads_neither_the_orm_nor_the_parser_nor_deciding(tmp_path):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=NOWHERE, smtp=NOWHERE, database_url="sqlite:///mailgate.sqlite3")
    assert main(["--config", str(config), "--log-level", "WARNING", "init"]) == 0
    done = subprocess.run(
        [sys.executable, "-c", RUN_ONCE, "--config", str(config), "run", "--once"],
        capture_output=True, text=True, timeout=60, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert found["code"] == 3  # the round ran and reported the IMAP server down
    assert "mailgate.store.tables" in found["modules"]
    loaded = [m for m in found["modules"] if m.startswith(NOT_FOR_AN_EMPTY_ROUND)]
    assert loaded == []


def test_a_mailbox_renderer_is_built_with_the_first_notice_rendered(tmp_path):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=NOWHERE, smtp=NOWHERE, database_url=f"sqlite:///{tmp_path}/m.sqlite3")
    app = build_app(load_settings(config))
    renderer = app.install.primary.renderer
    assert isinstance(renderer, LazyRenderer) and not renderer.built
    notice = next(sample_notices())
    now = dt.datetime(2026, 12, 7, 7, tzinfo=dt.UTC)
    rendered = renderer.render(
        notice, request_number=7, request_subject="Printer", thread_ids=[], now=now
    )
    assert renderer.built
    assert b"X-Loop: " in rendered.raw and "[REQ-7]" in rendered.raw.decode()


def test_the_registry_read_without_importing_holidays_is_the_one_it_imports():
    from holidays.registry import COUNTRIES

    assert business_time._registry_table() == COUNTRIES
    assert {"RU", "RUS", "DE", "US"} <= business_time._country_codes()
