"""Hooks end to end on real servers (Dovecot, the SMTP sink) and a real `mailgate run`:
the worker makes the calls from its own thread while it serves mail, and counts
them in its metrics. (A call that failed made by the next worker, and by the next
process after a kill: tests/scenarios/test_hooks.py, test_hooks_queue.py.)"""

from __future__ import annotations

import signal
import subprocess

import pytest

from tests.hook_receiver import SECRET, hook_toml, receivers, validate
from tests.integration.test_operating import (
    command,
    get,
    mails,
    metric,
    sqlite_gate,  # noqa: F401 - the fixture
    wait_for,
)
from tests.sandbox import find_free_port


def with_hook(gate, url: str, **keys) -> None:
    gate.config.write_text(gate.config.read_text() + hook_toml("crm", url=url, **keys))


@pytest.fixture
def receiver():
    yield from receivers()


def test_run_calls_the_hooks_while_it_serves_mail(sqlite_gate, receiver):  # noqa: F811
    port = find_free_port()
    gate = sqlite_gate(metrics={"listen": f"127.0.0.1:{port}"})
    with_hook(gate, receiver.url)
    gate.deliver(*mails(2))
    worker = subprocess.Popen(command(gate, "run"), stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(receiver.taken) == 4)

        def counted() -> bool:  # at the end of the round that recorded them
            scrape = get(f"http://127.0.0.1:{port}/metrics")[1]
            return metric(scrape, "mailgate_hook_calls_sent_total") == 4

        wait_for(counted)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert all(call.signed_with(SECRET) for call in receiver.taken)
    for call in receiver.taken:
        validate(call.event)
    assert len(gate.smtp.messages) == 4  # the mail went out as usual
