"""[[mailbox]] tables (SPEC §12): what a mailbox leaves out comes from the top level."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from mailgate.errors import ConfigError

TOP = {
    "support_address": "support@example.org",
    "agents": ["@support.example.org"],
    "agent_notify": ["team@example.org"],
    "imap": {"host": "imap.example.org", "username": "support@example.org", "password": "x"},
    "smtp": {"host": "smtp.example.org", "from_address": "support@example.org"},
}
BILLING = {
    "name": "billing",
    "support_address": "billing@example.org",
    "support_name": "Billing",
    "tag_prefix": "BILL",
    "agent_notify": ["billing-team@example.org"],
    "imap": {"username": "billing@example.org"},
}


def load(**data):
    return settings_from_mapping({**TOP, **data}, base_dir=Path("/nonexistent"))


def error_for(**data) -> str:
    with pytest.raises(ConfigError) as caught:
        load(**data)
    return str(caught.value)


def test_a_file_without_mailbox_tables_is_the_one_mailbox_default():
    settings = load()
    assert [m.mailbox for m in settings.mailboxes] == ["default"]
    assert settings.tag_prefixes == {"default": "REQ"}


def test_a_mailbox_takes_what_it_leaves_out_from_the_top_level():
    support, billing = load(mailbox=[{"name": "support"}, BILLING]).mailboxes
    assert (support.mailbox, support.tag_prefix, support.support_address) == (
        "support", "REQ", "support@example.org")  # fmt: skip
    assert (billing.tag_prefix, billing.support_address, billing.agent_notify) == (
        "BILL", "billing@example.org", ("billing-team@example.org",))  # fmt: skip
    assert billing.agents == support.agents  # from the top level
    assert billing.imap.host == "imap.example.org"  # [mailbox.imap] over [imap], key by key
    assert billing.imap.credentials.username == "billing@example.org"
    # Its own address and name are its From, not the top level's [smtp] from_address.
    assert (billing.smtp.from_address, billing.smtp.from_name) == ("billing@example.org", "Billing")
    assert billing.smtp.host == "smtp.example.org"


def test_every_address_of_the_install_is_its_own():
    support, billing = load(mailbox=[{"name": "support"}, BILLING]).mailboxes
    assert "billing@example.org" in support.own_addresses
    assert "support@example.org" in billing.own_addresses


def test_a_clash_of_tag_prefixes_names_both_mailboxes():
    line = error_for(mailbox=[{"name": "support"}, {**BILLING, "tag_prefix": "req"}])
    assert line.startswith("mailbox.billing.tag_prefix:")
    assert "'support'" in line


@pytest.mark.parametrize(
    ("mailboxes", "start"),
    [
        ([{"name": "a"}, {"name": "a", "tag_prefix": "B"}], "mailbox.a.name:"),
        ([{"name": "a"}, {"name": "b", "tag_prefix": "B"}], "mailbox.b.imap:"),  # same folder
        ([{"name": "bad name"}], "mailbox[0].name:"),
        ([{"name": "a", "max_per_hour": 3}], "mailbox.a.max_per_hour: not a mailbox key"),
        ([{"name": "a", "imap": {"port": "x"}}], "mailbox.a.imap.port:"),
        ([{"name": "a", "agents": ["nobody"]}], "mailbox.a.agents:"),
        ([], "mailbox:"),
        ([{"name": "a", "imap": {"security": "none"}}], "mailbox.a.imap.security: \"none\""),
        ([{"name": "a", "smtp": {"host": "127.0.0.1", "security": "none"}},
          {**BILLING, "smtp": {"security": "none"}}], "mailbox.billing.smtp.security:"),
    ],
)
def test_bad_mailboxes_name_the_key(mailboxes, start):
    assert error_for(mailbox=mailboxes).startswith(start)


def test_a_bad_top_level_key_is_named_as_such():
    assert error_for(max_per_hour=0, mailbox=[{"name": "a"}]).startswith("max_per_hour:")


def test_a_mailbox_without_any_imap_names_its_own_table():
    data = {key: value for key, value in TOP.items() if key != "imap"}
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping({**data, "mailbox": [{"name": "a"}]}, base_dir=Path("/"))
    assert str(caught.value).startswith("mailbox.a.imap:")
