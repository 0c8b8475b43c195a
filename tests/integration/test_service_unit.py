"""docs/mailgate.service: it passes `systemd-analyze verify` (on machines that have
it), and mailgate runs and sends as the unit runs it.

There is no systemd (PID 1) in the test machines, so the unit's execution
environment is reproduced for a subprocess: `UMask=`, `WorkingDirectory=`,
`StateDirectory=` (`$STATE_DIRECTORY`, 0700), `Environment=`, `ProtectSystem=strict`
(the config's directory is read-only: mode 0555, and the test checks that nothing
was written there, since root would write anyway) and `ProtectHome=` (`$HOME` is
/dev/null, where nothing can be made, root or not). `User=` is not: the venv's
interpreter lives under /root here, which another user cannot run. SIGHUP, the
unit's `ExecReload=`, is sent to a real `mailgate run`.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.harness import TEAM, write_config
from tests.mails import make_mail
from tests.reliability.workers import start_watched_worker, stop_worker, wait_until
from tests.sandbox import find_free_port

UNIT = Path(__file__).resolve().parents[2] / "docs" / "mailgate.service"
INSTALLED = "/opt/mailgate/bin/mailgate"  # where the unit expects mailgate (docs/admin.md)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
HERE = Path(sys.executable).with_name("mailgate")
SHELL = "/bin/sh"


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_the_service_unit_verifies_cleanly(tmp_path):
    """The unit as shipped, except that ExecStart names this venv's `mailgate`
    instead of /opt/mailgate/bin/mailgate (nothing is installed at /opt here). verify
    checks that the program, /bin/sh, is executable; the test that `init` and `run`
    are what it runs. Any complaint (stderr) fails the test, warnings included."""
    text = UNIT.read_text(encoding="utf-8")
    assert the_units_command() == [SHELL, "-c", f"{HERE} init && exec {HERE} run --log-format json"]
    assert HERE.is_file(), "the venv has no mailgate script: pip install -e ."
    copy = tmp_path / "mailgate.service"
    copy.write_text(text.replace(INSTALLED, str(HERE)), encoding="utf-8")
    result = subprocess.run(  # --man=no: the man page is installed with the package, not here
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_unit_creates_files_for_the_service_user_alone():
    """SPEC §14: the database holds every client's mail and the token secret."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    assert "UMask=0077" in lines


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_verify_would_catch_a_broken_unit(tmp_path):
    """The check above can fail: a unit whose binary is missing does not verify."""
    copy = tmp_path / "mailgate.service"
    missing = tmp_path / "nowhere" / "sh"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(f"={SHELL} ", f"={missing} "))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)], capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert result.returncode != 0 and "is not executable" in result.stderr


def unit_settings() -> dict[str, list[str]]:
    """The unit's `Key=value` lines, every value of each key."""
    found: dict[str, list[str]] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key, []).append(value)
    return found


def test_the_unit_restarts_on_anything_but_a_bad_configuration():
    """SIGHUP reloads (`ExecReload=`); every exit but a config error (2) or a usage
    error (64) is restarted, a crash or a kill included (`Restart=always`)."""
    unit = unit_settings()
    assert unit["Restart"] == ["always"] and unit["RestartPreventExitStatus"] == ["2 64"]
    assert unit["ExecReload"] == ["/bin/kill -HUP $MAINPID"]
    assert unit["Documentation"] == ["man:mailgate(1)"]
    assert unit["SyslogIdentifier"] == ["mailgate"]  # not `sh`, ExecStart's first program
    assert unit["StateDirectory"] == ["mailgate"] and unit["StateDirectoryMode"] == ["0700"]


def the_units_command() -> list[str]:
    """`ExecStart=` as systemd splits it (shell-like quoting), with the venv's
    mailgate for /opt's."""
    [line] = unit_settings()["ExecStart"]
    return shlex.split(line.replace(INSTALLED, str(HERE)))


def test_a_bad_configuration_is_the_main_process_exit_status(tmp_path):
    """What `RestartPreventExitStatus=2` sees: `init` finds the bad key, the shell
    exits with its status and `run` never starts."""
    config = tmp_path / "mailgate.toml"
    config.write_text("[database]\n")  # no [imap] table
    result = subprocess.run(the_units_command(), env={**os.environ, "MAILGATE_CONFIG": str(config)},
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "mailgate: config error: imap: missing: add a [imap] table\n"


@pytest.fixture
def service_dirs():
    """/etc/mailgate and /var/lib/mailgate of the test."""
    base = Path(tempfile.mkdtemp(prefix="mailgate-unit-"))
    base.chmod(0o755)
    etc, state = base / "etc", base / "state"
    etc.mkdir(mode=0o755)
    state.mkdir(mode=0o700)
    yield etc, state
    etc.chmod(0o755)
    shutil.rmtree(base, ignore_errors=True)


def as_the_unit_runs(command: list[str], config: Path, state: Path) -> subprocess.CompletedProcess:
    unit = unit_settings()
    [environment] = unit["Environment"]
    name, _, value = environment.partition("=")
    assert (name, value) == ("MAILGATE_CONFIG", "/etc/mailgate/mailgate.toml")
    env = {"PATH": os.environ["PATH"], "LANG": "C.UTF-8", "HOME": "/dev/null",
           name: str(config), "STATE_DIRECTORY": str(state)}  # fmt: skip
    [umask] = unit["UMask"]
    return subprocess.run(command, env=env, cwd=state, umask=int(umask, 8), capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_init_and_run_as_the_unit_runs_them(service_dirs, database_url, dovecot, smtp_sink):
    """As docs/admin.md installs it: the default relative SQLite URL lands in
    $STATE_DIRECTORY, 0600; on PostgreSQL the sent journal does (it would have gone
    to ~/.local/state, which the unit hides). The unit's `ExecStart=`, `init` then
    `run` with `--once` added, sends the mail and prints its summary as JSON."""
    etc, state = service_dirs
    relative = database_url.startswith("sqlite")
    config = etc / "mailgate.toml"
    url = "sqlite:///mailgate.sqlite3" if relative else database_url
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url=url)
    config.chmod(0o444)
    etc.chmod(0o555)
    dovecot.append(make_mail(sender="a@corp.example", subject="Printer", body="It jams.",
                             message_id="unit@corp"))  # fmt: skip

    [shell, option, script] = the_units_command()
    run = as_the_unit_runs([shell, option, script + " --once"], config, state)
    assert run.returncode == 0, run.stderr
    init_said, summary_line = run.stdout.splitlines()
    assert init_said.startswith("database")
    summary = json.loads(summary_line)
    assert (summary["applied"], summary["sent"], summary["errors"]) == (1, 2, [])
    assert len(smtp_sink.wait_for(2)) == 2
    assert sorted(p.name for p in etc.iterdir()) == ["mailgate.toml"]  # nothing written there
    made = {p.name: p for p in state.iterdir()}
    journals = [name for name in made if name.endswith(".sent")]
    assert len(journals) == 1, made
    if relative:
        database = made["mailgate.sqlite3"]
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
        assert journals == ["mailgate.sqlite3.sent"]
    for path in made.values():
        assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, path  # UMask=0077


def test_sighup_reloads_the_config_between_rounds(tmp_path, dovecot, smtp_sink):
    """A good new config is used from the next round; a bad one, or one that changes
    the database, is logged and the old one kept; the worker never stops."""
    config = tmp_path / "mailgate.toml"
    url = f"sqlite:///{tmp_path / 'mailgate.sqlite3'}"

    def configure(team: str, database: str = url) -> None:
        write_config(config, imap=dovecot, smtp=smtp_sink, database_url=database)
        config.write_text(config.read_text().replace(TEAM, team))

    def mail(number: int) -> None:
        dovecot.append(make_mail(sender=f"c{number}@corp.example", subject=f"Case {number}",
                                 body="Help.", message_id=f"hup{number}@corp"))  # fmt: skip

    def agent_notices() -> list[str]:
        return [r for m in smtp_sink.messages for r in m.rcpt_tos if r.endswith("team.example")]

    configure("old@team.example")
    subprocess.run([str(HERE), "--config", str(config), "init"], check=True, capture_output=True)
    worker, log = start_watched_worker(config, "run")
    try:
        mail(1)
        wait_until(lambda: agent_notices() == ["old@team.example"], 30, "the first notice")

        configure("new@team.example")
        worker.send_signal(signal.SIGHUP)
        wait_until(lambda: "config reloaded" in log.text, 30, "the reload")
        mail(2)
        wait_until(lambda: agent_notices()[1:] == ["new@team.example"], 30, "the new team")

        config.write_text("agents = [\n")  # not TOML
        worker.send_signal(signal.SIGHUP)
        wait_until(lambda: "not valid TOML" in log.text, 30, "the refusal")
        configure("new@team.example", database=f"sqlite:///{tmp_path / 'other.sqlite3'}")
        worker.send_signal(signal.SIGHUP)
        wait_until(lambda: "database.url: changed" in log.text, 30, "the second refusal")
        mail(3)
        wait_until(lambda: len(agent_notices()) == 3, 30, "the third notice")
        time.sleep(0.5)
        assert worker.poll() is None
    finally:
        status = stop_worker(worker)
        log.join()
    assert status == 0, log.text
    assert agent_notices() == ["old@team.example", "new@team.example", "new@team.example"]
    assert log.text.count("config not reloaded; running on with the old one") == 2
    assert not (tmp_path / "other.sqlite3").exists()


def config_with_imap_refusing(tmp_path: Path, smtp_sink) -> Path:
    """An initialised config whose IMAP port has nothing listening."""
    closed = type("Closed", (), {"host": "127.0.0.1", "port": find_free_port(), "user": "u",
                                 "password": "p"})()  # fmt: skip
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=closed, smtp=smtp_sink,
                 database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}")  # fmt: skip
    subprocess.run([str(HERE), "--config", str(config), "init"], check=True, capture_output=True)
    return config


def test_run_once_in_json_prints_nothing_but_json(tmp_path, smtp_sink):
    """The summary and the errors of a failed `run --once`, for a JSON log pipeline."""
    config = config_with_imap_refusing(tmp_path, smtp_sink)
    result = subprocess.run([str(HERE), "--config", str(config), "--log-level", "INFO", "run",
                             "--once", "--log-format", "json"], capture_output=True, text=True,
                            timeout=60)  # fmt: skip
    assert result.returncode == 3
    [summary] = [json.loads(line) for line in result.stdout.splitlines()]
    assert summary["fetched"] == 0 and summary["sent"] == 0
    [error] = summary["errors"]
    assert error.startswith("IMAP 127.0.0.1:") and "cannot connect" in error
    assert all(json.loads(line) for line in result.stderr.splitlines())


def test_log_lines_carry_their_priority_when_stderr_is_the_journal(tmp_path, smtp_sink):
    """systemd sets $JOURNAL_STREAM to the device and inode of the stream it gave as
    stderr: each line then starts with `<N>`, which journald takes as its priority."""
    config = config_with_imap_refusing(tmp_path, smtp_sink)
    journal = tmp_path / "journal"
    with journal.open("wb") as stream:
        status = os.fstat(stream.fileno())
        env = {**os.environ, "JOURNAL_STREAM": f"{status.st_dev}:{status.st_ino}"}
        worker = subprocess.Popen(
            [str(HERE), "--config", str(config), "--log-level", "INFO", "run", "--log-format",
             "json"], stdout=subprocess.DEVNULL, stderr=stream, env=env,
        )  # fmt: skip
        try:
            wait_until(lambda: b"servers unavailable" in journal.read_bytes(), 30, "the outage")
        finally:
            assert stop_worker(worker) == 0
    lines = journal.read_text().splitlines()
    priorities = {json.loads(line[3:])["message"]: line[:3] for line in lines}
    assert priorities["worker started"] == "<6>"
    assert priorities["servers unavailable; retrying with backoff"] == "<3>"
    assert all(line[:3] in {"<3>", "<4>", "<6>"} for line in lines), lines


def test_no_priority_prefix_when_stderr_is_not_that_stream(tmp_path, monkeypatch):
    from mailgate.logs import stderr_is_journal

    target, other = tmp_path / "a", tmp_path / "b"
    with target.open("w") as stream, other.open("w") as elsewhere:
        status = os.fstat(elsewhere.fileno())
        monkeypatch.setenv("JOURNAL_STREAM", f"{status.st_dev}:{status.st_ino}")
        monkeypatch.setattr(sys, "stderr", stream)
        assert not stderr_is_journal()  # inherited, but stderr was redirected
        monkeypatch.setattr(sys, "stderr", elsewhere)
        assert stderr_is_journal()
        monkeypatch.delenv("JOURNAL_STREAM")
        assert not stderr_is_journal()
