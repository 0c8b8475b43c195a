"""The scenarios run in-process: `gate` and `make_gate` here are `InProcessGate`s.

They keep the names of the server-backed fixtures of tests/harness.py, which
they override in this directory, so a scenario is written the same way in
both places; only the edges (real IMAP folders, the SMTP conversation, the
CLI as a subprocess, PostgreSQL) need tests/integration/.
"""

from __future__ import annotations

import pytest

from tests.inprocess import InProcessGate


@pytest.fixture
def make_gate(tmp_path):
    """Build a gate with extra top-level settings, its schema created."""

    def build(**top) -> InProcessGate:
        return InProcessGate.create(tmp_path, **top)

    return build


@pytest.fixture
def gate(make_gate) -> InProcessGate:
    return make_gate()
