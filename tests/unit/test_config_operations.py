"""[metrics] and [retention]: defaults, values, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from tests.unit.test_config import error_for, with_changes


def test_defaults_serve_nothing_and_keep_everything():
    settings = settings_from_mapping(with_changes(), base_dir=Path("/srv"))
    assert settings.metrics_listen is None and settings.retention_days is None


def test_values():
    data = with_changes(metrics__listen="127.0.0.1:9464", retention__purge_raw_after_days=90)
    settings = settings_from_mapping(data, base_dir=Path("/srv"))
    assert settings.metrics_listen == ("127.0.0.1", 9464)
    assert settings.retention_days == 90


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"metrics__listen": "9464"}, "metrics.listen: '9464' is not HOST:PORT"),
        ({"metrics__listen": "localhost:99999"}, "metrics.listen:"),
        ({"metrics__port": 1}, "metrics.port: unknown key"),
        ({"retention__purge_raw_after_days": -1}, "retention.purge_raw_after_days: must be at"),
        ({"retention__purge_raw_after_days": 1.5}, "retention.purge_raw_after_days: must be whole"),
        ({"retention__days": 3}, "retention.days: unknown key"),
    ],
)
def test_errors_name_the_key(changes, key):
    assert str(error_for(with_changes(**changes))).startswith(key)
