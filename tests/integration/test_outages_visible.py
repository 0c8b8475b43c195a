"""An outage shows, and the rest of the work goes on (issue 22).

With IMAP down, `mailgate run` still applies what is stored, runs the timers and
sends the outbox; every round that could not reach IMAP counts in
`mailgate_rounds_failed_total`, `mailgate_last_round_success_timestamp_seconds`
stays 0 from the start, and the shipped alert rules (docs/alerts.yml) fire on
what the worker really serves. The rules and the Grafana dashboard use no metric
that `run` does not serve. (SMTP down while fetching goes on:
tests/integration/test_worker_loop.py, test_worker_survives_imap_and_smtp_outages.)
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import yaml

from mailgate.app import build_app
from mailgate.config import load_settings
from mailgate.metrics import Metrics
from tests.harness import AGENT, Gate, write_config
from tests.integration.test_mailbox_metrics import scraped
from tests.integration.test_operating import get, wait_for
from tests.mails import make_mail
from tests.sandbox import find_free_port

DOCS = Path(__file__).resolve().parents[2] / "docs"
ALERTS = DOCS / "alerts.yml"
DASHBOARD = DOCS / "grafana-dashboard.json"
PROMTOOL = shutil.which("promtool")
CLIENT = "client@corp.example"
MADE_BY_PROMETHEUS = {"up"}  # series the scraper adds, not mailgate
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset"}  # fmt: skip


def served_names(samples: dict[str, float]) -> set[str]:
    return {name.split("{", 1)[0] for name in samples}


def metric_names(expression: str) -> set[str]:
    """The series names a PromQL expression reads: what is left once strings,
    label matchers, ranges, grouping clauses, functions and keywords are gone."""
    text = re.sub(r'"[^"]*"', "", expression)
    text = re.sub(r"\{[^}]*\}|\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", " ", text)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        follows = text[match.end():].lstrip()[:1]
        if follows != "(" and match.group() not in PROMQL_WORDS:
            names.add(match.group())
    return names


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_metric_names_are_read_from_promql():
    """The reader above can fail: it finds names, and not functions or labels."""
    expression = ('histogram_quantile(0.95, sum by (le, mailbox) '
                  '(rate(mailgate_round_duration_seconds_bucket{mailbox=~"$mailbox"}[5m]))) '
                  '+ time() - mailgate_x > 600 and on (mailbox) up == 0')  # fmt: skip
    assert metric_names(expression) == {"mailgate_round_duration_seconds_bucket", "mailgate_x",
                                        "up"}  # fmt: skip


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt: prometheus)")
def test_the_alert_rules_pass_promtool():
    result = subprocess.run([PROMTOOL, "check", "rules", str(ALERTS)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def start_run(config: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "mailgate.cli", "--config", str(config), "run", *args],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(worker: subprocess.Popen) -> str:
    worker.send_signal(signal.SIGTERM)
    _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    return stderr


def scrape_when(base: str, ready) -> dict[str, float]:
    def attempt():
        try:
            samples = scraped(get(base + "/metrics")[1])
        except OSError:  # not listening yet
            return None
        return samples if ready(samples) else None

    return wait_for(attempt, timeout=30)


FAILED = 'mailgate_rounds_failed_total{mailbox="default"}'
LAST_SUCCESS = 'mailgate_last_round_success_timestamp_seconds{mailbox="default"}'


def test_the_rules_and_the_dashboard_use_only_metrics_that_run_serves(tmp_path, smtp_sink):
    """Scraped from a real `run` whose IMAP refuses connections: every series the
    rules and the dashboard name is there, before any round has succeeded."""
    port = find_free_port()
    config = tmp_path / "mailgate.toml"
    nobody = type("Closed", (), {"host": "127.0.0.1", "port": find_free_port(), "user": "u",
                                 "password": "p"})()  # fmt: skip
    write_config(config, imap=nobody, smtp=smtp_sink, database_url="sqlite:///m.sqlite3",
                 metrics={"listen": f"127.0.0.1:{port}"})  # fmt: skip
    subprocess.run([sys.executable, "-m", "mailgate.cli", "--config", str(config), "init"],
                   check=True, capture_output=True)  # fmt: skip
    worker = start_run(config)
    try:
        # A second failed round: the first has ended, so its queue gauges are published
        # (the failure is counted before them, and a scrape between saw them missing).
        samples = scrape_when(f"http://127.0.0.1:{port}", lambda s: s.get(FAILED, 0) >= 2)
    finally:
        stop(worker)
    served = served_names(samples)
    used = set()
    for expression in [rule["expr"] for rule in alert_rules()] + dashboard_expressions():
        used |= metric_names(expression)
    assert used - MADE_BY_PROMETHEUS - served == set()
    assert {"mailgate_build_info", "process_resident_memory_bytes",
            "process_cpu_seconds_total"} <= served  # fmt: skip
    build = next(name for name in samples if name.startswith("mailgate_build_info{"))
    assert 'version="' in build and f'python="{sys.version_info.major}.' in build
    assert samples[LAST_SUCCESS] == 0


def test_with_imap_down_timers_and_outbox_run_and_the_outage_alert_fires(
    tmp_path, private_dovecot, smtp_sink
):
    account = private_dovecot.account
    port = find_free_port()
    config = tmp_path / "mailgate.toml"
    url = f"sqlite:///{tmp_path / 'mailgate.sqlite3'}"
    write_config(config, imap=account, smtp=smtp_sink, database_url=url,
                 metrics={"listen": f"127.0.0.1:{port}"})  # fmt: skip
    gate = Gate(config=config, imap=account, smtp=smtp_sink, database_url=url)
    gate.read("init")
    gate.deliver(make_mail(sender=CLIENT, subject="Printer", body="It jams.", message_id="p@corp"))
    gate.run_once()
    smtp_sink.wait_for(2)  # the acknowledgement and the agents' notice
    gate.read("requests", "set-status", "REQ-1", "awaiting_confirmation", "--by", AGENT)
    private_dovecot.stop()  # IMAP refuses connections from now on

    later = (dt.datetime.now(dt.UTC) + dt.timedelta(days=20)).isoformat()  # auto-close is due
    worker = start_run(config, "--now", later)
    try:
        smtp_sink.wait_for(4, timeout=30)  # the status notice queued above, and the closing
        wait_for(lambda: gate.show("REQ-1")["status"] == "closed")  # the timer ran without IMAP
        first = scrape_when(f"http://127.0.0.1:{port}", lambda s: s.get(FAILED, 0) >= 1)
        second = scrape_when(f"http://127.0.0.1:{port}",
                             lambda s: s.get(FAILED, 0) > first[FAILED])  # fmt: skip
        health = get(f"http://127.0.0.1:{port}/healthz")
    finally:
        stderr = stop(worker)
    assert all(CLIENT in m.rcpt_tos for m in smtp_sink.messages[2:])
    assert second[LAST_SUCCESS] == 0
    assert health[0] == 503
    assert stderr.count("servers unavailable") == 1, stderr  # one line per outage
    if PROMTOOL is not None:
        firing = alerts_firing(tmp_path, first, second)
        assert {"MailgateNoSuccessfulRound", "MailgateRoundsFailing"} <= firing, firing
        assert "MailgateOutboxBacklog" not in firing


def alerts_firing(tmp_path: Path, first: dict[str, float], second: dict[str, float]) -> set[str]:
    """The shipped rules evaluated by promtool on the scraped values: each series as a
    job `mailgate` target would store it, a minute apart, then going on as it went
    (counters growing by what grew between the scrapes), checked after 20 minutes.
    promtool's clock starts at 0 there, so time() is 1200: a success timestamp of the
    real clock would read as in the future, one of 0 as 20 minutes old."""
    series = []
    for name, before in first.items():
        after = second.get(name, before)
        labels = name[name.index("{") + 1:-1] + "," if "{" in name else ""
        metric = name.split("{", 1)[0]
        series.append({"series": f'{metric}{{{labels}job="mailgate",instance="mg:9464"}}',
                       "values": f"{before:g}+{after - before:g}x30"})  # fmt: skip
    expect_none = [{"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": []}
                   for rule in alert_rules()]  # fmt: skip
    unit = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [{"interval": "1m", "input_series": series, "alert_rule_test": expect_none}],
    }
    path = tmp_path / "alerts-test.yml"
    path.write_text(yaml.safe_dump(unit))
    result = subprocess.run([PROMTOOL, "test", "rules", str(path)], capture_output=True,
                            text=True, timeout=60)  # fmt: skip
    # Every test expects no alert: the failures name the alerts that fired.
    return set(re.findall(r"alertname: (\w+)", result.stdout + result.stderr))


def test_a_refused_log_in_counts_as_a_failed_round(tmp_path, dovecot, smtp_sink):
    """In-process: Dovecot answers but refuses the password."""
    config = tmp_path / "mailgate.toml"
    wrong = type("Wrong", (), {"host": dovecot.host, "port": dovecot.port,
                               "user": dovecot.user, "password": "not-it"})()  # fmt: skip
    write_config(config, imap=wrong, smtp=smtp_sink,
                 database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}")  # fmt: skip
    app = build_app(load_settings(config))
    app.store.upgrade()
    metrics = Metrics(app.store, ["default"])
    worker = app.worker(lambda: dt.datetime.now(dt.UTC))
    worker.monitor = metrics.for_mailbox("default")
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        wait_for(lambda: metrics.registry.get_sample_value(
            "mailgate_rounds_failed_total", {"mailbox": "default"}), timeout=20)  # fmt: skip
    finally:
        worker.stop_requested.set()
        thread.join(timeout=30)
        app.store.close()
    assert metrics.registry.get_sample_value(
        "mailgate_last_round_success_timestamp_seconds", {"mailbox": "default"}) == 0
    assert metrics.unhealthy_mailboxes() == ["default"]
