"""Running mailgate as an admin does, against the real Dovecot and SMTP sink, on
SQLite: JSON logs, the metrics endpoint scraped over HTTP while `run` runs,
the progress bar under a pseudo-terminal (and none without one), and a
message quarantined for its size retried from the IMAP failed folder.
"""

from __future__ import annotations

import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.harness import Gate, write_config
from tests.mails import make_mail
from tests.sandbox import find_free_port

CLIENT = "client@corp.example"
NOW = "2026-11-26T10:00:00+03:00"


@pytest.fixture
def sqlite_gate(tmp_path, dovecot, smtp_sink):
    def build(**top) -> Gate:
        config = tmp_path / "mailgate.toml"
        url = f"sqlite:///{tmp_path / 'mailgate.sqlite3'}"
        write_config(config, imap=dovecot, smtp=smtp_sink, database_url=url, **top)
        gate = Gate(config=config, imap=dovecot, smtp=smtp_sink, database_url=url)
        gate.read("init")
        return gate

    return build


def mails(count: int, *, body: str = "The printer jams.") -> list[bytes]:
    return [
        make_mail(sender=CLIENT, subject=f"Printer {n}", body=body, message_id=f"op{n}@corp")
        for n in range(count)
    ]


def command(gate: Gate, *args: str) -> list[str]:
    return [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config), *args]


def test_json_log_has_one_object_per_line_and_one_line_per_applied_message(sqlite_gate):
    gate = sqlite_gate()
    gate.deliver(*mails(2, body="SECRET-BODY-TEXT"))
    result = gate.cli("--log-level", "INFO", "run", "--once", "--now", NOW, "--log-format", "json")
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    applied = [line for line in lines if line["message"] == "message applied"]
    assert [(a["request"], a["actor"], a["kind"], a.get("opened")) for a in applied] == [
        (1, CLIENT, "client", True), (2, CLIENT, "client", True)]  # fmt: skip
    assert all(a["notices"] == 2 for a in applied)
    assert "SECRET-BODY-TEXT" not in result.stderr
    assert "never-used" not in result.stderr and gate.imap.password not in result.stderr


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def metric(text: str, name: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} not in the scrape")


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_metrics_and_healthz_are_served_during_run(sqlite_gate):
    port = find_free_port()
    gate = sqlite_gate(metrics={"listen": f"127.0.0.1:{port}"})
    gate.deliver(*mails(3))
    worker = subprocess.Popen(command(gate, "run"), stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: _quietly(lambda: get(base + "/healthz")[0] == 200))
        # The queue gauges are read at the end of a round, the counters as they go.
        scrape = wait_for(lambda: _applied_and_counted(get(base + "/metrics")[1], 3))
        assert metric(scrape, "mailgate_notifications_sent_total") >= 1
        assert metric(scrape, 'mailgate_outbox{mailbox="default",state="sent"}') >= 1
        assert "mailgate_imap_waiting" in scrape and "mailgate_round_duration_seconds" in scrape
        assert 'mailgate_oldest_pending_age_seconds{mailbox="default",queue="inbound"}' in scrape
        assert get(base + "/nowhere")[0] == 404
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr


def _applied_and_counted(scrape: str, count: int) -> str | None:
    applied = metric(scrape, "mailgate_messages_applied_total") >= count
    return (
        scrape if applied and 'mailgate_outbox{mailbox="default",state="sent"}' in scrape else None
    )


def _quietly(check):
    try:
        return check()
    except OSError:  # not listening yet
        return False


def test_progress_bar_on_a_terminal_and_none_otherwise(sqlite_gate):
    gate = sqlite_gate()
    gate.deliver(*mails(60))
    primary, secondary = pty.openpty()
    process = subprocess.Popen(command(gate, "run", "--once", "--now", NOW),
                               stdin=secondary, stdout=secondary, stderr=secondary)  # fmt: skip
    os.close(secondary)
    seen = b""
    while True:
        ready, _, _ = select.select([primary], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(primary, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    assert process.wait(timeout=60) == 0
    assert b"applying" in seen and b"60/60" in seen, seen[-500:]

    gate.deliver(*mails(60, body="second batch"))  # the same keys: duplicates, still a backlog
    plain = gate.cli("run", "--once", "--now", NOW)
    assert "applying" not in plain.stderr and "\r" not in plain.stderr
    assert plain.stdout.startswith("fetched 60")


def test_a_message_refused_for_its_size_is_retried_from_the_failed_folder(sqlite_gate, tmp_path):
    gate = sqlite_gate(max_message_bytes=2048)
    big = make_mail(sender=CLIENT, subject="Logs", body="x" * 4000, message_id="big@corp")
    gate.deliver(big)
    gate.run_once(NOW)
    [row] = json.loads(gate.read("failed", "list", "--json"))
    assert row["header_only"] and row["subject"] == "Logs"
    shown = subprocess.run(command(gate, "failed", "show", "big@corp", "--raw"),
                           capture_output=True, check=True)  # fmt: skip
    assert shown.stdout == big  # whole, from the IMAP failed folder
    still = gate.cli("failed", "retry", "big@corp", check=False)
    assert still.returncode == 1 and "still too large" in still.stdout
    raised = gate.config.read_text().replace(
        "max_message_bytes = 2048", "max_message_bytes = 65536"
    )
    gate.config.write_text(raised)
    done = json.loads(gate.read("failed", "retry", "big@corp", "--json"))
    assert done[0]["outcome"] == "applied" and done[0]["request"] == "REQ-1"
    assert gate.query("select length(raw) from inbound") == [(len(big),)]
    again = json.loads(gate.read("failed", "retry", "big@corp", "--json"))
    assert again[0]["outcome"] == "nothing_done"
