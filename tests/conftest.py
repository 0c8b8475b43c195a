"""Shared fixtures: real servers (tests/servers.py) and the fixture loader."""

from pathlib import Path

import pytest

pytest_plugins = ["tests.servers", "tests.harness"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture
def fixture_bytes():
    """Load a fixture message by its path below tests/fixtures/."""

    def load(name: str) -> bytes:
        return (FIXTURES / name).read_bytes()

    return load
