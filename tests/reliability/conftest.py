"""Fixtures of the reliability tests: a sink that keeps the round of each delivery,
and an installation on it whose config a test may tune."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import Gate, write_config
from tests.reliability.ledger import DeliveryLedger
from tests.sandbox import ImapAccount


@pytest.fixture
def ledger() -> Iterator[DeliveryLedger]:
    with DeliveryLedger() as ledger:
        yield ledger


def set_keys(config: Path, section: str, keys: dict[str, object]) -> None:
    """Add `keys` at the top of `[section]` of a config that `write_config` wrote."""
    lines = "".join(f"{key} = {_toml(value)}\n" for key, value in keys.items())
    text = config.read_text()
    assert f"[{section}]\n" in text, section
    config.write_text(text.replace(f"[{section}]\n", f"[{section}]\n{lines}", 1))


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return str(value)


@pytest.fixture
def install(tmp_path, database_url, ledger):
    """An initialised mailgate on `imap`, the ledger's sink and the test's database.

    `imap` and `smtp` hold keys for those tables of the config (e.g. batch_size).
    """

    def build(imap: ImapAccount, *, imap_keys=None, smtp_keys=None) -> Gate:
        config = tmp_path / "mailgate.toml"
        # Backlogs of up to 1,500 new requests, each acknowledged: no hourly limit on that.
        write_config(config, imap=imap, smtp=ledger.sink, database_url=database_url,
                     max_acknowledgements_per_hour=1_000_000)  # fmt: skip
        set_keys(config, "imap", imap_keys or {})
        set_keys(config, "smtp", smtp_keys or {})
        gate = Gate(config=config, imap=imap, smtp=ledger.sink, database_url=database_url)
        gate.read("init")
        return gate

    return build
