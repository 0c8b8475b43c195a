"""`mailgate run`, the long-running worker: IDLE, clean stop, outages survived."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

from tests.harness import write_config
from tests.mails import make_mail


def initialised_config(tmp_path, imap, smtp, *, smtp_extra: str = ""):
    """A config on SQLite for `imap` and `smtp` (plus `smtp_extra` keys), after `init`."""
    config = tmp_path / "m.toml"
    write_config(config, imap=imap, smtp=smtp, database_url="sqlite:///m.sqlite3")
    config.write_text(config.read_text().replace("[smtp]\n", f"[smtp]\n{smtp_extra}"))
    subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(config), "init"], check=True
    )
    return config


def start_worker(config):
    return subprocess.Popen(
        [sys.executable, "-m", "mailgate.cli", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_until(condition, timeout: float = 30.0) -> None:
    """Poll for something the worker does over the network (not for business time)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the worker")
        time.sleep(0.1)


def requests(config) -> list[dict]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "mailgate.cli",
            "--config",
            str(config),
            "requests",
            "list",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return json.loads(done.stdout) if done.returncode == 0 else []


def test_worker_picks_up_new_mail_and_stops_cleanly(tmp_path, dovecot, smtp_sink):
    config = initialised_config(tmp_path, dovecot, smtp_sink)
    worker = start_worker(config)
    try:
        dovecot.append(
            make_mail(sender="a@corp.example", subject="One", body="1", message_id="1@x")
        )
        smtp_sink.wait_for(2, timeout=30)  # the acknowledgement and the agents' notice
        dovecot.append(
            make_mail(sender="b@corp.example", subject="Two", body="2", message_id="2@x")
        )
        smtp_sink.wait_for(4, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert "worker stopped" in stderr
    assert [r["subject"] for r in requests(config)] == ["One", "Two"]


def test_worker_survives_imap_and_smtp_outages(tmp_path, private_dovecot, smtp_sink):
    account = private_dovecot.account
    config = initialised_config(tmp_path, account, smtp_sink, smtp_extra="retry_seconds = 1\n")
    worker = start_worker(config)
    try:
        private_dovecot.stop()
        smtp_sink.stop()
        time.sleep(3)  # the worker meets both servers down, and must keep running
        assert worker.poll() is None
        private_dovecot.start()
        account.append(
            make_mail(sender="c@corp.example", subject="Back", body="3", message_id="3@x")
        )
        wait_until(lambda: [r["subject"] for r in requests(config)] == ["Back"], timeout=60)
        assert smtp_sink.messages == []  # SMTP is still down: the mail waits in the outbox
        smtp_sink.start()
        smtp_sink.wait_for(2, timeout=60)  # retried with backoff (retry_seconds = 1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert "worker round failed; retrying" in stderr or "IMAP" in stderr


def test_a_changed_uidvalidity_while_idle_loses_and_doubles_nothing(
    tmp_path, private_dovecot, smtp_sink
):
    """The inbox's UIDVALIDITY changes under an idle `run` (a restored or rebuilt
    mailbox): mail before and after is applied once. mailgate keeps no UIDs
    between rounds, so the new UIDs are simply the ones it fetches next."""
    account = private_dovecot.account
    config = initialised_config(tmp_path, account, smtp_sink)
    worker = start_worker(config)
    try:
        account.append(
            make_mail(sender="a@corp.example", subject="Before", body="1", message_id="b@x")
        )
        smtp_sink.wait_for(2, timeout=30)
        before = _uidvalidity(private_dovecot)
        subprocess.run(
            ["doveadm", "-c", str(private_dovecot.config_path), "mailbox", "update",
             "-u", account.user, "--uid-validity", str(before + 1000), "INBOX"],
            check=True, capture_output=True,
        )  # fmt: skip
        assert _uidvalidity(private_dovecot) == before + 1000
        account.append(
            make_mail(sender="b@corp.example", subject="After", body="2", message_id="a@x")
        )
        smtp_sink.wait_for(4, timeout=60)
        wait_until(lambda: len(requests(config)) == 2, timeout=30)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert sorted(r["subject"] for r in requests(config)) == ["After", "Before"]
    assert len(smtp_sink.messages) == 4
    assert account.list_folder("INBOX") == []


def _uidvalidity(server) -> int:
    done = subprocess.run(
        ["doveadm", "-c", str(server.config_path), "mailbox", "status",
         "-u", server.account.user, "uidvalidity", "INBOX"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return int(done.stdout.split("uidvalidity=")[1])
