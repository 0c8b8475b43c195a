"""docs/mailgate.service under a real systemd: a container booted with systemd-nspawn
(systemd as its PID 1), mailgate installed as docs/admin.md says, the unit copied
as shipped. Heavy (about a minute, most of it pip) and only where it can run:
as root, with systemd-nspawn and a system Python 3.11 or newer. The container
shares the host's network, so the test's Dovecot and SMTP sink serve it.

What it shows: init then run start and mail is sent; the database and the sent
journal are in /var/lib/mailgate, 0600 and the service user's; `systemctl reload`
applies a good config and keeps the old one over a bad one (an error line at
journal priority 3); a killed worker is restarted; a bad config at start fails
the unit without restarts; with IMAP refusing from the start, the outbox still
sends, and the metrics show failed rounds and no success.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import AGENT, TEAM, write_config
from tests.integration.test_mailbox_metrics import scraped
from tests.integration.test_operating import get, wait_for
from tests.integration.test_wheel import BUILD_INPUTS, ROOT
from tests.mails import make_mail
from tests.reliability.workers import wait_until
from tests.sandbox import find_free_port

NSPAWN = shutil.which("systemd-nspawn")
SYSTEM_PYTHON = Path("/usr/bin/python3")
UNIT = ROOT / "docs" / "mailgate.service"
CONFIG = "/etc/mailgate/mailgate.toml"

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(os.geteuid() != 0, reason="booting a container needs root"),
    pytest.mark.skipif(NSPAWN is None, reason="systemd-nspawn is not installed"),
    pytest.mark.skipif(not SYSTEM_PYTHON.exists(), reason="no /usr/bin/python3"),
]


class Container:
    """A directory tree of the host's /usr (read-only) and a copy of its /etc, booted."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.process: subprocess.Popen | None = None
        self.leader = 0

    def build(self) -> None:
        tree = self.tree
        for name in ("usr/lib", "dev", "proc", "sys", "run", "tmp", "var/lib", "var/log",
                     "var/tmp", "root", "home", "opt", "src"):  # fmt: skip
            (tree / name).mkdir(parents=True, exist_ok=True)
        for name in ("bin", "lib", "lib64", "sbin"):
            if Path("/", name).is_symlink():
                (tree / name).symlink_to(os.readlink(Path("/", name)))
        subprocess.run(["cp", "-a", "/etc", str(tree / "etc")], check=True, timeout=60)
        shutil.copy2("/usr/lib/os-release", tree / "usr/lib/os-release")  # nspawn looks first
        for link in (tree / "etc/systemd/system").glob("*.wants/*"):  # the host's services
            link.unlink()  # stay off: the container shares the host's network
        # An id of its own (journals apart from the host's); not none, which would be a
        # first boot, and systemd would enable every installed service by its presets.
        (tree / "etc/machine-id").write_text(uuid.uuid4().hex + "\n")
        for name in BUILD_INPUTS:  # the source to install, as a wheel would carry it
            source = ROOT / name
            if source.is_dir():
                skip = shutil.ignore_patterns("__pycache__", "*.egg-info")
                shutil.copytree(source, tree / "src" / name, ignore=skip)
            else:
                shutil.copy2(source, tree / "src" / name)

    def boot(self, log: Path) -> None:
        with log.open("wb") as output:
            self.process = subprocess.Popen(
                [NSPAWN, "-D", str(self.tree), "--register=no", "--keep-unit",
                 "--console=passive", "-M", self.tree.name[:60], "--bind-ro=/usr",
                 "-b", "--", "systemd.unit=multi-user.target"],
                stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            children = subprocess.run(["pgrep", "-P", str(self.process.pid)],
                                      capture_output=True, text=True).stdout.split()  # fmt: skip
            if children:
                self.leader = int(children[0])
                # Any state will do (dbus may never start in here): systemd answers.
                state = self.run("systemctl", "is-system-running", check=False).stdout.strip()
                if state in ("starting", "running", "degraded"):
                    return
            time.sleep(0.5)
        pytest.skip(f"the container did not boot here: {log.read_text()[-500:]}")

    def run(self, *command: str, check: bool = True, timeout: float = 120):
        result = subprocess.run(["nsenter", "-t", str(self.leader), "-a", *command],
                                capture_output=True, text=True, timeout=timeout)  # fmt: skip
        if check and result.returncode != 0:
            raise AssertionError(f"{command} exited {result.returncode}: {result.stderr[-2000:]}")
        return result

    def unit(self, *properties: str) -> dict[str, str]:
        shown = self.run("systemctl", "show", "mailgate", *(f"-p{p}" for p in properties))
        return dict(line.split("=", 1) for line in shown.stdout.splitlines())

    def journal(self) -> list[dict]:
        out = self.run("journalctl", "-u", "mailgate", "-o", "json", "--no-pager").stdout
        return [json.loads(line) for line in out.splitlines()]

    def stop(self) -> None:
        if self.process is None:
            return
        if self.leader:  # shown if the test failed
            print(self.run("journalctl", "-u", "mailgate", "--no-pager", "-n", "60",
                           check=False).stdout)  # fmt: skip
            self.run("systemctl", "poweroff", check=False)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def container() -> Iterator[Container]:
    tree = Path(tempfile.mkdtemp(prefix="mailgate-nspawn-"))
    tree.chmod(0o755)  # the container's /: every user must get through it
    box = Container(tree)
    try:
        box.build()
        box.boot(tree.with_suffix(".log"))
        yield box
    finally:
        box.stop()
        shutil.rmtree(tree, ignore_errors=True)
        tree.with_suffix(".log").unlink(missing_ok=True)


def install_as_the_docs_say(box: Container, config_text: str, imap_password: str) -> None:
    """docs/admin.md, Install and Under systemd, with the checkout's source for the wheel."""
    box.run(str(SYSTEM_PYTHON), "-m", "venv", "/opt/mailgate")
    box.run("/opt/mailgate/bin/pip", "install", "-q", "--disable-pip-version-check", "/src",
            timeout=600)  # fmt: skip
    box.run("useradd", "--system", "--home-dir", "/var/lib/mailgate", "--shell",
            "/usr/sbin/nologin", "mailgate")  # fmt: skip
    etc = box.tree / "etc/mailgate"
    etc.mkdir(mode=0o755)
    (etc / "mailgate.toml").write_text(config_text)
    box.run("chgrp", "mailgate", CONFIG)
    (etc / "mailgate.toml").chmod(0o640)
    secrets = etc / "secrets.env"
    secrets.touch(mode=0o600)
    secrets.write_text(f"MAILGATE_IMAP_PASSWORD={imap_password}\n")
    shutil.copy2(UNIT, box.tree / "etc/systemd/system/mailgate.service")


def config_for(imap, smtp, metrics_port: int, *, team: str = TEAM) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "mailgate.toml"
        write_config(path, imap=imap, smtp=smtp, database_url="sqlite:///mailgate.sqlite3",
                     metrics={"listen": f"127.0.0.1:{metrics_port}"})  # fmt: skip
        text = path.read_text()
    # The secret from the unit's EnvironmentFile=, not the file; the default database URL.
    text = text.replace(f'password = "{imap.password}"', 'password_env = "MAILGATE_IMAP_PASSWORD"')
    text = text.replace('[database]\nurl = "sqlite:///mailgate.sqlite3"\n', "")
    return text.replace(TEAM, team)


def test_the_shipped_unit_under_systemd(container, dovecot, smtp_sink):
    box = container
    port = find_free_port()
    metrics = f"http://127.0.0.1:{port}/metrics"
    install_as_the_docs_say(box, config_for(dovecot, smtp_sink, port), dovecot.password)
    dovecot.append(make_mail(sender="a@corp.example", subject="One", body="1", message_id="s1@x"))
    box.run("systemctl", "daemon-reload")
    box.run("systemctl", "enable", "--now", "mailgate")
    smtp_sink.wait_for(2, timeout=60)

    state = box.tree / "var/lib/mailgate"
    made = {path.name: path for path in state.iterdir()}
    assert {"mailgate.sqlite3", "mailgate.sqlite3.sent"} <= set(made)
    assert all(p.stat().st_mode & 0o077 == 0 for p in made.values()), made
    uid = int(box.run("id", "-u", "mailgate").stdout)
    assert {p.stat().st_uid for p in made.values()} == {uid}
    assert sorted(p.name for p in (box.tree / "etc/mailgate").iterdir()) == [
        "mailgate.toml", "secrets.env"]  # fmt: skip

    # Reload: a new team from the next round; then a file that is not TOML, refused.
    config = box.tree / "etc/mailgate/mailgate.toml"
    config.write_text(config.read_text().replace(TEAM, "new@team.example"))
    box.run("systemctl", "reload", "mailgate")
    dovecot.append(make_mail(sender="b@corp.example", subject="Two", body="2", message_id="s2@x"))
    smtp_sink.wait_for(4, timeout=60)
    assert "new@team.example" in smtp_sink.messages[-1].rcpt_tos + smtp_sink.messages[-2].rcpt_tos
    good = config.read_text()
    config.write_text(good + "agents = [\n")
    box.run("systemctl", "reload", "mailgate")
    wait_until(lambda: any("config not reloaded" in e.get("MESSAGE", "") for e in box.journal()),
               30, "the refusal")  # fmt: skip
    refused = [e for e in box.journal() if "config not reloaded" in e.get("MESSAGE", "")]
    assert refused[0]["PRIORITY"] == "3" and refused[0]["SYSLOG_IDENTIFIER"] == "mailgate"
    assert box.unit("ActiveState")["ActiveState"] == "active"
    config.write_text(good)

    # Killed: back after RestartSec.
    first = box.unit("MainPID")["MainPID"]
    box.run("systemctl", "kill", "-s", "KILL", "mailgate")
    restarted = box.unit  # NRestarts counts automatic restarts only
    wait_until(lambda: restarted("NRestarts", "MainPID")["NRestarts"] == "1", 40, "the restart")
    assert restarted("MainPID")["MainPID"] not in ("0", first)

    # A bad config at start: the unit fails with status 2 and is not restarted.
    config.write_text(good.replace("[imap]", 'max_per_hour = "many"\n[imap]', 1))
    box.run("systemctl", "restart", "mailgate", check=False)
    wait_until(lambda: box.unit("ActiveState")["ActiveState"] == "failed", 40, "the failure")
    time.sleep(12)  # past RestartSec=10
    shown = box.unit("ActiveState", "ExecMainStatus", "NRestarts")
    assert shown == {"ActiveState": "failed", "ExecMainStatus": "2", "NRestarts": "0"}

    # IMAP refusing from the start: the outbox sends, the metrics show the outage.
    config.write_text(good.replace(f"port = {dovecot.port}\n", f"port = {find_free_port()}\n"))
    box.run("systemctl", "reset-failed", "mailgate")
    box.run("systemctl", "start", "mailgate")
    box.run("runuser", "-u", "mailgate", "--", "env", f"MAILGATE_CONFIG={CONFIG}",
            "STATE_DIRECTORY=/var/lib/mailgate", f"MAILGATE_IMAP_PASSWORD={dovecot.password}",
            "/opt/mailgate/bin/mailgate", "requests", "set-status", "REQ-1",
            "awaiting_confirmation", "--by", AGENT)  # fmt: skip
    smtp_sink.wait_for(5, timeout=60)

    def outage_shown():
        with contextlib.suppress(OSError):
            samples = scraped(get(metrics)[1])
            failed = samples.get('mailgate_rounds_failed_total{mailbox="default"}', 0)
            return samples if failed >= 1 else None
        return None

    samples = wait_for(outage_shown, timeout=30)
    assert samples['mailgate_last_round_success_timestamp_seconds{mailbox="default"}'] == 0
