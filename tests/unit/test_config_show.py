"""`mailgate config show`: every key with its effective value, no secret, and a valid
config itself (the same settings when read back)."""

from __future__ import annotations

import json
import tomllib

from mailgate import exits
from tests.harness import run_cli

CONFIG = """\
support_address = "support@example.org"
agents = ["alice@example.org"]
[database]
url = "postgresql://mailgate:db-s3cret@db.example.org/mailgate"
[imap]
host = "imap.example.org"
username = "support@example.org"
password = "imap-s3cret"
[smtp]
host = "smtp.example.org"
username = "support@example.org"
password_env = "MG_SHOW_SMTP"
[trust]
token_secret = "a-token-secret-of-length"
"""


def show(tmp_path, text=CONFIG, *args):
    path = tmp_path / "mailgate.toml"
    path.write_text(text)
    return path, run_cli(path, "config", "show", *args)


def test_defaults_filled_in_and_secrets_masked(tmp_path, monkeypatch):
    monkeypatch.delenv("MG_SHOW_SMTP", raising=False)  # not needed to show the config
    _, result = show(tmp_path, CONFIG, "--json")
    assert result.returncode == 0, result.stderr
    shown = json.loads(result.stdout)
    assert "s3cret" not in result.stdout and "a-token-secret" not in result.stdout
    assert shown["database"]["url"] == "postgresql+psycopg://mailgate:***@db.example.org/mailgate"
    assert shown["imap"]["password"] == "***" and shown["imap"]["port"] == 993
    assert shown["smtp"]["password_env"] == "MG_SHOW_SMTP"
    assert shown["trust"]["token_secret"] == "***"
    assert shown["max_per_hour"] == 20 and shown["business_hours"]["timezone"] == "UTC"


def test_the_text_is_toml_that_reads_back_to_the_same(tmp_path):
    _, result = show(tmp_path)
    assert result.returncode == 0, result.stderr
    again = tmp_path / "again"
    again.mkdir()
    text = result.stdout.replace("***", "x" * 20)  # the masked secrets, as values again
    _, reread = show(again, text)
    assert reread.returncode == 0, reread.stderr
    assert reread.stdout == result.stdout


def test_several_mailboxes_each_with_its_own_keys(tmp_path):
    text = (
        CONFIG
        + """
[[mailbox]]
name = "first"
[[mailbox]]
name = "sales"
support_address = "sales@example.org"
tag_prefix = "SAL"
[mailbox.imap]
username = "sales@example.org"
"""
    )
    _, result = show(tmp_path, text, "--json")
    assert result.returncode == 0, result.stderr
    boxes = json.loads(result.stdout)["mailbox"]
    assert [(b["name"], b["tag_prefix"], b["imap"]["username"]) for b in boxes] == [
        ("first", "REQ", "support@example.org"),
        ("sales", "SAL", "sales@example.org"),
    ]
    assert (
        tomllib.loads(show(tmp_path, text)[1].stdout)["mailbox"][1]["smtp"]["from_address"]
        == "sales@example.org"
    )


def test_a_misspelt_key_is_a_config_error_with_a_hint(tmp_path):
    _, result = show(tmp_path, CONFIG.replace("agents =", "agnets ="))
    assert result.returncode == exits.CONFIG
    assert result.stderr == "mailgate: config error: agnets: unknown key: did you mean `agents`?\n"


def test_priority_settings_are_shown_and_read_back(tmp_path):
    text = 'client_priority = "read"\n' + CONFIG
    text += "[sla]\nfirst_response_hours = 8\n[sla.priority.urgent]\nfirst_response_hours = 1\n"
    _, result = show(tmp_path, text)
    assert result.returncode == 0, result.stderr
    shown = tomllib.loads(result.stdout)
    assert shown["client_priority"] == "read"
    urgent = {"first_response_hours": 1, "resolution_hours": 0}  # 0: none, as [sla] has none
    assert shown["sla"]["priority"] == {"urgent": urgent}
    again = tmp_path / "again"
    again.mkdir()
    _, reread = show(again, result.stdout.replace("***", "x" * 20))
    assert reread.stdout == result.stdout
