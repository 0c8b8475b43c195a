"""`[[hook]]` tables (SPEC §16): every mistake is one error naming the hook's key;
clear-text HTTP only to loopback; a url hook always signs."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from mailgate.errors import ConfigError
from tests.unit.test_config import MINIMAL

SECRET = "0123456789abcdef-secret"


def hooks_of(*tables: dict, base_dir: Path = Path("/nonexistent")):
    return settings_from_mapping({**MINIMAL, "hook": list(tables)}, base_dir=base_dir).hooks


def error_for(*tables: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        hooks_of(*tables)
    return str(caught.value)


def web(**keys) -> dict:
    return {"name": "crm", "url": "https://crm.example.org/in", "events": ["request.created"],
            "secret": SECRET, **keys}  # fmt: skip


def test_a_url_hook_and_a_command_hook(tmp_path, monkeypatch):
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    (tmp_path / "secret.txt").write_text(SECRET + "\n")
    crm, relay, local = hooks_of(
        web(secret=None, secret_env="HOOK_SECRET", timeout=5, max_attempts=3),
        {"name": "relay", "command": ["/usr/local/bin/relay", "--quiet"],
         "events": ["sla.breached", "delivery.failed"], "pass_env": ["SLACK_URL"]},
        web(name="local", url="http://127.0.0.1:8080/x", secret=None, secret_file="secret.txt"),
        base_dir=tmp_path,
    )  # fmt: skip
    assert (crm.url, crm.timeout, crm.max_attempts) == ("https://crm.example.org/in", 5, 3)
    assert crm.secret.reveal() == SECRET and SECRET not in repr(crm)
    assert relay.command == ("/usr/local/bin/relay", "--quiet") and relay.secret is None
    assert relay.events == {"sla.breached", "delivery.failed"}
    assert relay.pass_env == ("SLACK_URL",) and relay.max_attempts == 24
    assert local.secret.reveal() == SECRET


def test_no_hooks_by_default():
    assert settings_from_mapping(MINIMAL, base_dir=Path("/nonexistent")).hooks == ()


@pytest.mark.parametrize(
    ("table", "names"),
    [
        (web(name=None), "hook[0].name"),
        (web(name="a b"), "hook[0].name"),
        (web(colour="red"), "hook.crm.colour: unknown key"),
        (web(url=None), "hook.crm.url: give either url"),
        (web(command=["/bin/true"]), "hook.crm.url: give either url"),
        (web(url="ftp://crm.example.org/"), "give an https:// URL"),
        (web(url="https://user:pw@crm.example.org/"), "no credentials in the URL"),
        (web(url="http://crm.example.org/in"), "hook.crm.url: http:// would send"),
        (web(url="http://localhost.evil.example/"), "hook.crm.url: http:// would send"),
        (web(url="https://crm.example.org:99999/"), "is not a URL"),
        (web(events=[]), "hook.crm.events: missing"),
        (web(events=["request.deleted"]), "'request.deleted' is not one of"),
        (web(events="request.created"), "hook.crm.events: must be a list"),
        (web(secret=None), "hook.crm.secret_env: missing: a url hook signs"),
        (web(secret="short"), "hook.crm.secret: the secret needs at least 16"),
        (web(secret=None, secret_env="MAILGATE_NO_SUCH_VARIABLE"), "is not set"),
        (web(timeout=600), "hook.crm.timeout: must be at most 120"),
        (web(max_attempts=0), "hook.crm.max_attempts: must be at least 1"),
        (web(pass_env=["PATH"]), "hook.crm.pass_env: only a command hook"),
    ],
)
def test_mistakes_name_the_key(table, names):
    table = {key: value for key, value in table.items() if value is not None}
    assert names in error_for(table)


def test_two_hooks_with_one_name_and_hooks_that_are_not_tables():
    assert "hook.crm.name: two hooks have this name" in error_for(web(), web())
    with pytest.raises(ConfigError, match="must be \\[\\[hook\\]\\] tables"):
        settings_from_mapping({**MINIMAL, "hook": {"name": "x"}}, base_dir=Path("/"))


def test_a_secret_never_shows_in_an_error():
    message = error_for(web(secret=SECRET, events=["nope"]))
    assert SECRET not in message


def test_hooks_are_the_installs_with_several_mailboxes():
    mailboxes = [{"name": "support", "support_address": "support@example.org"},
                 {"name": "billing", "support_address": "billing@example.org", "tag_prefix": "BIL",
                  "imap": {"username": "billing"}}]  # fmt: skip
    settings = settings_from_mapping({**MINIMAL, "mailbox": mailboxes, "hook": [web()]},
                                     base_dir=Path("/nonexistent"))  # fmt: skip
    assert [hook.name for hook in settings.hooks] == ["crm"]
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**MINIMAL, "mailbox": mailboxes, "hook": [web(events=["x"])]},
                              base_dir=Path("/nonexistent"))  # fmt: skip
    assert caught.value.key == "hook.crm.events"


def test_check_warns_of_a_command_that_is_not_there():
    import sys

    from mailgate.commands.check import hook_warnings

    settings = settings_from_mapping({**MINIMAL, "hook": [
        {"name": "here", "command": [sys.executable], "events": ["sla.breached"]},
        {"name": "gone", "command": ["/nonexistent/relay"], "events": ["sla.breached"]},
        web(),
    ]}, base_dir=Path("/nonexistent"))  # fmt: skip
    [warning] = hook_warnings(settings)
    assert warning.startswith("warning: hook gone: /nonexistent/relay is not an executable")


def test_config_show_lists_the_hooks_with_their_secrets_masked(monkeypatch):
    from mailgate.commands.config import effective, to_toml

    monkeypatch.setenv("HOOK_SECRET", SECRET)
    settings = settings_from_mapping({**MINIMAL, "hook": [
        web(secret=None, secret_env="HOOK_SECRET"),
        {"name": "relay", "command": ["/usr/local/bin/relay"], "events": ["sla.breached"]},
    ]}, base_dir=Path("/nonexistent"))  # fmt: skip
    crm, relay = effective(settings)["hook"]
    assert crm == {"name": "crm", "url": "https://crm.example.org/in",
                   "events": ["request.created"], "secret_env": "HOOK_SECRET", "timeout": 10.0,
                   "max_attempts": 24, "pass_env": []}  # fmt: skip
    assert relay["command"] == ["/usr/local/bin/relay"] and "url" not in relay
    text = to_toml(effective(settings))
    assert '[[hook]]\nname = "crm"' in text and SECRET not in text
