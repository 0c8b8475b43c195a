"""What an admin sees when something is wrong: one line, the key or the step, non-zero."""

from __future__ import annotations

import subprocess
import sys

from tests.harness import write_config


def mailgate(config, *args):
    return subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    return lines[0]


def test_missing_key(tmp_path):
    config = tmp_path / "m.toml"
    config.write_text('support_address = "support@example.org"\n[smtp]\nhost = "x"\n')
    result = mailgate(config, "check")
    assert result.returncode == 2
    assert one_line(result.stderr) == "mailgate: config error: imap: missing: add a [imap] table"


def test_wrong_type(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///x.sqlite3")
    config.write_text(config.read_text().replace("poll_interval = 1", 'poll_interval = "soon"'))
    result = mailgate(config, "run", "--once")
    assert result.returncode == 2
    assert "imap.poll_interval: must be a number" in one_line(result.stderr)


def test_unreadable_password_file(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///x.sqlite3")
    text = config.read_text().replace(f'password = "{dovecot.password}"', 'password_file = "nope"')
    config.write_text(text)
    assert mailgate(config, "init").returncode == 0  # it never logs in: needs no password
    result = mailgate(config, "run", "--once")
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "imap.password_file: cannot read" in line
    assert dovecot.password not in result.stderr


def test_wrong_imap_password(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///x.sqlite3")
    config.write_text(config.read_text().replace(dovecot.password, "wrong-password"))
    assert mailgate(config, "init").returncode == 0
    for args, code in ((["check"], 14), (["run", "--once"], 3)):  # check: its login step
        result = mailgate(config, *args)
        assert result.returncode == code, args
        line = one_line(result.stderr)
        assert "login failed" in line and dovecot.user in line
        assert "wrong-password" not in result.stderr


def test_check_says_which_step_failed(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///x.sqlite3")
    assert mailgate(config, "init").returncode == 0
    ok = mailgate(config, "check")
    assert ok.returncode == 0, ok.stderr
    assert "imap: folders ok" in ok.stdout and "smtp: login not asked for" in ok.stdout
    smtp_sink.stop()
    down = mailgate(config, "check")
    assert down.returncode == 22  # SMTP's TCP step
    assert "imap: folders ok" in down.stdout
    assert one_line(down.stderr) == (
        f"mailgate: smtp: tcp {smtp_sink.host}:{smtp_sink.port} refused: is the port right?"
    )


def test_config_from_environment(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///x.sqlite3")
    result = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "init"],
        capture_output=True,
        text=True,
        timeout=60,
        env={"MAILGATE_CONFIG": str(config), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "x.sqlite3").exists()


def test_smtp_auth_and_a_wrong_smtp_password(tmp_path, dovecot, smtp_sink_with_auth):
    user, password = smtp_sink_with_auth.auth
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink_with_auth, database_url="sqlite:///x.sqlite3")
    text = config.read_text().replace(
        'security = "none"\ntimeout = 10\n[business_hours]',
        f'security = "none"\ntimeout = 10\nusername = "{user}"\npassword = "{password}"\n'
        "[business_hours]",
    )
    config.write_text(text)
    assert mailgate(config, "init").returncode == 0
    ok = mailgate(config, "check")
    assert ok.returncode == 0, ok.stderr
    config.write_text(text.replace(f'password = "{password}"', 'password = "nope-nope"'))
    bad = mailgate(config, "check")
    assert bad.returncode == 24  # SMTP's login step
    line = one_line(bad.stderr)
    assert line == f"mailgate: smtp: login failed for {user} (wrong password?)"
    assert "nope-nope" not in bad.stdout + bad.stderr
