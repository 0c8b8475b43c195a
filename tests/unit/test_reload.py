"""What SIGHUP may change (mailgate/commands/run.py): everything but what the
running process holds open. The reload itself, with a real signal:
tests/integration/test_service_unit.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.commands.run import _check_reloadable
from mailgate.config import settings_from_mapping
from mailgate.errors import ConfigError

BASE = {
    "support_address": "support@example.org",
    "agents": ["alice@example.org"],
    "imap": {"host": "imap.example.org", "username": "u", "password": "p"},
    "smtp": {"host": "smtp.example.org"},
    "database": {"url": "sqlite:////srv/m.sqlite3"},
    "metrics": {"listen": "127.0.0.1:9464"},
}
BILLING = {"name": "billing", "support_address": "billing@example.org", "tag_prefix": "BILL",
           "imap": {"username": "billing@example.org", "password": "q"}}


def settings(**changes):
    return settings_from_mapping({**BASE, **changes}, base_dir=Path("/etc/mailgate"))


def test_rules_servers_and_templates_may_change():
    moved = {**BASE["imap"], "host": "new.example.org"}
    _check_reloadable(settings(), settings(agents=["bob@example.org"], max_per_hour=5, imap=moved))


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"database": {"url": "sqlite:////srv/other.sqlite3"}}, "database.url"),
        ({"metrics": {"listen": "127.0.0.1:9465"}}, "metrics.listen"),
        ({"mailbox": [{"name": "support"}, BILLING]}, "mailbox"),
    ],
)
def test_what_the_process_holds_open_needs_a_restart(changes, key):
    with pytest.raises(ConfigError) as refused:
        _check_reloadable(settings(), settings(**changes))
    assert refused.value.key == key
    assert "restart mailgate" in str(refused.value)
