"""The scenarios run in-process: `gate` and `make_gate` here are `InProcessGate`s.

They keep the names of the server-backed fixtures of tests/harness.py, which
they override in this directory, so a scenario is written the same way in
both places; only the edges (real IMAP folders, the SMTP conversation, the
CLI as a subprocess, PostgreSQL) need tests/integration/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.inprocess import InProcessGate, create_schema


@pytest.fixture(scope="session")
def empty_database(tmp_path_factory) -> Path:
    """Migrated once per session; every gate starts from a copy of it."""
    return create_schema(tmp_path_factory.mktemp("schema") / "mailgate.sqlite3")


@pytest.fixture
def make_gate(tmp_path, empty_database) -> Iterator[Callable[..., InProcessGate]]:
    """Build a gate with extra top-level settings, its schema created; closed after the test."""
    gates: list[InProcessGate] = []

    def build(**top) -> InProcessGate:
        directory = tmp_path / f"gate-{len(gates) + 1}"  # two gates in a test share nothing
        directory.mkdir()
        gates.append(InProcessGate.create(directory, schema=empty_database, **top))
        return gates[-1]

    yield build
    for gate in gates:
        gate.close()


@pytest.fixture
def gate(make_gate) -> InProcessGate:
    return make_gate()
