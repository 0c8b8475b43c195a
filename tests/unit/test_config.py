"""Config validation: every error names the key and never shows a secret."""

import tomllib
from pathlib import Path

import pytest

from mailgate.config import load_settings, settings_from_mapping, verify_secrets
from mailgate.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

MINIMAL = {
    "support_address": "support@example.org",
    "imap": {"host": "imap.example.org", "username": "support", "password": "hunter2"},
    "smtp": {"host": "smtp.example.org"},
}


def with_changes(**changes):
    data = {
        key: (dict(value) if isinstance(value, dict) else value) for key, value in MINIMAL.items()
    }
    for dotted, value in changes.items():
        table, _, key = dotted.rpartition("__")
        target = data.setdefault(table, {}) if table else data
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    return data


def error_for(data) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(data, base_dir=Path("/nonexistent"))
    return caught.value


def test_example_config_is_valid(monkeypatch):
    monkeypatch.setenv("MAILGATE_IMAP_PASSWORD", "x")
    monkeypatch.setenv("MAILGATE_SMTP_PASSWORD", "y")
    settings = load_settings(ROOT / "config.example.toml")
    assert settings.tag_prefix == "REQ"
    assert settings.imap.credentials.secret.reveal() == "x"
    assert settings.smtp.credentials.secret.reveal() == "y"
    assert settings.is_agent("bob@support.example.org")
    assert settings.is_agent("Alice@Example.org")
    assert not settings.is_agent("client@example.org")
    assert settings.business_hours.timezone == "Europe/Moscow"


def test_example_config_documents_every_key_of_the_spec():
    text = (ROOT / "config.example.toml").read_text()
    data = tomllib.loads(text)
    spec_keys = {
        "tag_prefix", "support_address", "support_name", "agents", "agent_notify",
        "escalation_notify", "closed_reply_policy", "max_per_hour",
        "auto_close_business_days", "language",
    }  # fmt: skip
    assert spec_keys <= set(data)
    assert {"host", "port", "security", "username", "password_env", "folder",
            "processed_folder", "failed_folder", "poll_interval"} <= set(data["imap"])  # fmt: skip
    assert {"host", "port", "security", "username", "password_env", "from_address",
            "from_name"} <= set(data["smtp"])  # fmt: skip
    assert {"timezone", "workdays", "holidays_country", "holidays"} <= set(data["business_hours"])


def test_sla_settings():
    data = with_changes(sla__first_response_hours=4, sla__business_hours=False)
    settings = settings_from_mapping(data, base_dir=Path("/srv"))
    assert settings.sla.first_response_hours == 4
    assert settings.sla.resolution_hours is None
    assert settings.sla.business_hours is False
    assert settings.sla.pausing_statuses == ("waiting_for_client",)


def test_defaults():
    settings = settings_from_mapping(MINIMAL, base_dir=Path("/srv"))
    assert settings.database_url == "sqlite:////srv/mailgate.sqlite3"
    assert settings.closed_reply_policy == "reject"
    assert settings.max_per_hour == 20
    assert settings.auto_close_business_days == 3
    assert settings.imap.port == 993 and settings.imap.security == "tls"
    assert settings.smtp.port == 587 and settings.smtp.security == "starttls"
    assert settings.smtp.from_address == "support@example.org"
    assert settings.smtp.credentials.username is None


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"support_address": None}, "support_address", "missing"),
        ({"support_address": "nobody"}, "support_address", "not an e-mail address"),
        ({"imap__host": None}, "imap.host", "missing"),
        ({"imap__port": "993"}, "imap.port", "port number"),
        ({"imap__port": 70000}, "imap.port", "port number"),
        ({"imap__security": "ssl"}, "imap.security", "'tls', 'starttls', 'none'"),
        ({"imap__poll_interval": 0}, "imap.poll_interval", "at least"),
        ({"imap__password": None}, "imap.password_env", "missing"),
        ({"imap__password_env": "X"}, "imap.password_env", "give only one"),
        ({"imap__pasword": "typo"}, "imap.pasword", "unknown key"),
        ({"smtp__security": 1}, "smtp.security", "must be a string"),
        ({"imap__security": "none"}, "imap.security", "clear text over the network"),
        ({"smtp__security": "none"}, "smtp.security", 'use "tls" or "starttls"'),
        ({"smtp__security": "none", "smtp__host": "127.0.0.1.example.org"}, "smtp.security",
         "loopback only"),
        ({"imap__security": "none", "imap__host": "10.0.0.1"}, "imap.security", "10.0.0.1"),
        ({"imap__security": "none", "imap__host": "localhost.localdomain"}, "imap.security",
         "clear text"),
        ({"closed_reply_policy": "reopen"}, "closed_reply_policy", "'reject', 'new_request'"),
        ({"max_per_hour": 0}, "max_per_hour", "at least 1"),
        ({"max_per_hour": True}, "max_per_hour", "must be a number"),
        ({"language": "de"}, "language", "'en', 'ru', 'auto'"),
        ({"agents": ["nobody"]}, "agents", "or @domain"),
        ({"agent_notify": ["@domain.org"]}, "agent_notify", "not an e-mail address"),
        ({"tag_prefix": "R Q"}, "tag_prefix", "does not have the form"),
        ({"business_hours__timezone": "Mars/Olympus"}, "business_hours.timezone", "unknown"),
        ({"business_hours__workdays": ["monday"]}, "business_hours.workdays", "'monday'"),
        ({"business_hours__holidays": ["31.12.2026"]}, "business_hours.holidays", "not a date"),
        ({"database__url": "mysql://x"}, "database.url", "sqlite:///"),
        ({"imap": "imap.example.org"}, "imap", "must be a table"),
        ({"smtp": None}, "smtp", "missing"),
        ({"sla__pausing_statuses": ["closed"]}, "sla.pausing_statuses", "not an open status"),
        ({"sla__resolution_hours": -1}, "sla.resolution_hours", "at least 0"),
        ({"sla__first_response": 4}, "sla.first_response", "unknown key"),
        ({"trust__require_authenticated_sender": True}, "trust.authserv_id", "missing"),
        ({"max_message_bytes": 10}, "max_message_bytes", "at least 1024"),
        ({"trust__token_secret": "short"}, "trust.token_secret", "16"),
        ({"trust__agents": "anyone"}, "trust.agents", "must be one of"),
        ({"trust__spam_headers": ["X-Spam"]}, "trust.spam_headers", "Header-Name: value"),
        ({"trust__blocked_senders": ["evil"]}, "trust.blocked_senders", "not an e-mail"),
        ({"require_authenticated_sender": True}, "require_authenticated_sender",
         "moved: write it as [trust] require_authenticated_sender"),
        ({"reply_token_secret_env": "X"}, "reply_token_secret_env", "[trust] token_secret_env"),
        ({"authserv_id": "mx"}, "authserv_id", "[trust] authserv_id"),
        ({"max_text_bytes": 1000}, "max_text_bytes", "at least 65536"),
        ({"max_text_bytes": "2M"}, "max_text_bytes", "must be a number"),
    ],
)
def test_bad_values_name_the_key(changes, key, words):
    error = error_for(with_changes(**changes))
    assert error.key == key
    assert words in str(error)
    assert str(error).startswith(f"{key}: ")
    assert "\n" not in str(error)
    assert "hunter2" not in str(error)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LocalHost.", "::ffff:127.0.0.1"],
)
def test_clear_text_is_accepted_for_a_server_on_loopback(host):
    settings = settings_from_mapping(
        with_changes(imap__host=host, imap__security="none", smtp__host=host,
                     smtp__security="none"),
        base_dir=Path("/nonexistent"),
    )  # fmt: skip
    assert (settings.imap.security, settings.smtp.security) == ("none", "none")


def secret_error(data, base_dir=Path("/nonexistent")) -> ConfigError:
    """The error of reading the secrets, which loading the file leaves alone."""
    settings = settings_from_mapping(data, base_dir=base_dir)
    with pytest.raises(ConfigError) as caught:
        verify_secrets(settings)
    return caught.value


def test_password_env_must_exist(monkeypatch):
    monkeypatch.delenv("MG_TEST_UNSET", raising=False)
    error = secret_error(with_changes(imap__password=None, imap__password_env="MG_TEST_UNSET"))
    assert error.key == "imap.password_env"
    assert "MG_TEST_UNSET is not set" in str(error)


def test_unreadable_password_file(tmp_path):
    error = secret_error(with_changes(imap__password=None, imap__password_file="missing.txt"),
                         tmp_path)  # fmt: skip
    assert error.key == "imap.password_file"
    assert "cannot read" in str(error)


def test_the_secrets_are_read_only_when_a_command_needs_them(monkeypatch, tmp_path):
    """status, requests, init, held, outbox never log in: loading the file reads no secret."""
    monkeypatch.delenv("MG_TEST_UNSET", raising=False)
    data = with_changes(imap__password=None, imap__password_env="MG_TEST_UNSET",
                        smtp__username="s", smtp__password_file="missing.txt")  # fmt: skip
    settings = settings_from_mapping(data, base_dir=tmp_path)
    assert settings.imap.credentials.secret.source == ("password_env", "MG_TEST_UNSET")


def test_an_empty_secret_is_refused_with_its_key(monkeypatch, tmp_path):
    monkeypatch.setenv("MG_TEST_EMPTY", "  ")
    error = secret_error(with_changes(imap__password=None, imap__password_env="MG_TEST_EMPTY"))
    assert error.key == "imap.password_env"
    assert error.problem == "environment variable MG_TEST_EMPTY is empty"
    (tmp_path / "empty").write_text("\n")
    error = secret_error(with_changes(smtp__username="s", smtp__password_file="empty"), tmp_path)
    assert (error.key, error.problem) == ("smtp.password_file", f"{tmp_path / 'empty'} is empty")
    assert error_for(with_changes(imap__password="")).key == "imap.password"


@pytest.mark.parametrize("content", ["hunter2\n".encode("utf-16"), b"\x89PNG\r\n\x1a\n\xff"])
def test_a_binary_or_utf16_password_file_is_one_error_naming_it(tmp_path, content):
    (tmp_path / "secret").write_bytes(content)
    error = secret_error(with_changes(imap__password=None, imap__password_file="secret"), tmp_path)
    assert error.key == "imap.password_file"
    assert f"{tmp_path / 'secret'} is not UTF-8 text" in error.problem
    assert "\n" not in str(error) and "hunter2" not in str(error)


def test_a_utf16_config_is_one_error_naming_it(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text('support_address = "support@example.org"\n', encoding="utf-16")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert caught.value.key == "--config"
    assert f"{path} is not UTF-8 text" in caught.value.problem


def test_a_byte_order_mark_is_no_error(tmp_path):
    path = tmp_path / "m.toml"
    text = "".join(f"{k} = {v!r}\n" for k, v in MINIMAL.items() if isinstance(v, str))
    tables = "".join(f"[{name}]\n" + "".join(f'{k} = "{v}"\n' for k, v in table.items())
                     for name, table in MINIMAL.items() if isinstance(table, dict))  # fmt: skip
    path.write_text(text.replace("'", '"') + tables, encoding="utf-8-sig")
    assert load_settings(path).support_address == "support@example.org"


@pytest.mark.parametrize(
    ("changes", "key", "hint"),
    [
        ({"max_per_huor": 3}, "max_per_huor", "did you mean `max_per_hour`?"),
        ({"imap__pasword_env": "X"}, "imap.pasword_env", "did you mean `password_env`?"),
        ({"trust__reply_token": True}, "trust.reply_token", "did you mean `reply_tokens`?"),
        ({"zzz": 1}, "zzz", "remove it or check its spelling"),
    ],
)
def test_an_unknown_key_gets_the_closest_known_one(changes, key, hint):
    error = error_for(with_changes(**changes))
    assert (error.key, error.problem) == (key, f"unknown key: {hint}")


@pytest.mark.parametrize("scheme", ["postgresql", "postgres"])
def test_a_plain_postgresql_url_means_psycopg(scheme):
    url = f"{scheme}://mailgate@db.example.org/mailgate"
    settings = settings_from_mapping(with_changes(database__url=url), base_dir=Path("/"))
    assert settings.database_url == "postgresql+psycopg://mailgate@db.example.org/mailgate"


def test_password_file_is_relative_to_the_config(tmp_path):
    (tmp_path / "imap.secret").write_text("s3cret\n")
    data = with_changes(imap__password=None, imap__password_file="imap.secret")
    settings = settings_from_mapping(data, base_dir=tmp_path)
    assert settings.imap.credentials.secret.reveal() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_token_command_runs_at_each_reveal(tmp_path):
    data = with_changes(imap__password=None, imap__token_command="echo tok-$((1+1))")
    settings = settings_from_mapping(data, base_dir=tmp_path)
    assert settings.imap.credentials.oauth2
    assert settings.imap.credentials.secret.reveal() == "tok-2"


def test_not_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("support_address = \n")
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert "not valid TOML" in str(caught.value)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path / "nope.toml")
    assert caught.value.key == "--config"
