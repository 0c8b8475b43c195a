"""Reading `#cc` and `#merge` lines, and the fence around participants (decide/participants.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from mailgate.decide.participants import clean_address, is_own, read_cc
from mailgate.domain import CommandName
from mailgate.parse.commands import find_commands
from tests.unit.test_config import MINIMAL, error_for, with_changes


@pytest.mark.parametrize(
    ("argument", "read"),
    [
        ("add olga@corp.example", (True, "olga@corp.example")),
        ("ADD Olga <Olga@Corp.Example>", (True, "olga@corp.example")),
        ("add mailto:olga@corp.example", (True, "olga@corp.example")),
        ("+ olga@corp.example", (True, "olga@corp.example")),
        ("добавить olga@corp.example", (True, "olga@corp.example")),
        ("remove olga@corp.example", (False, "olga@corp.example")),
        ("удалить olga@corp.example", (False, "olga@corp.example")),
        ("add", None),
        ("add olga", None),
        ("invite olga@corp.example", None),
        ("add a@corp.example, b@corp.example", None),
        ("add a@corp.example; b@corp.example", None),
        ("add <a@b@corp.example>", None),
        ("add " + "x" * 400 + "@corp.example", None),
    ],
)
def test_cc_argument(argument, read):
    assert read_cc(argument) == read


def test_clean_address_refuses_header_tricks():
    assert clean_address("olga@corp.example\r\nBcc: all@corp.example") == ""
    assert clean_address('"Olga" <olga@corp.example>') == "olga@corp.example"


def test_own_addresses_with_a_plus_tag_are_ours():
    settings = settings_from_mapping(MINIMAL, base_dir=Path("/nonexistent"))
    assert is_own(settings.support_address, settings)
    local, _, domain = settings.support_address.partition("@")
    assert is_own(f"{local}+a.1.abcdef@{domain}", settings)
    assert not is_own(f"{local}x@{domain}", settings)


@pytest.mark.parametrize(
    ("text", "name", "argument"),
    [
        ("#cc add olga@corp.example", CommandName.CC, "add olga@corp.example"),
        ("#копия добавить olga@corp.example", CommandName.CC, "добавить olga@corp.example"),
        ("#merge REQ-12", CommandName.MERGE, "REQ-12"),
        ("#merge [REQ-12].", CommandName.MERGE, "[REQ-12]"),
        ("#объединить REQ-12", CommandName.MERGE, "REQ-12"),
    ],
)
def test_agent_lines(text, name, argument):
    [command] = find_commands(new_text=text, subject_after_tag="", approvals=False)
    assert (command.name, command.argument) == (name, argument)
    assert command.name.is_agent_only


def test_every_cc_line_of_a_mail_counts_but_one_merge():
    text = "#cc add a@corp.example\n#cc remove b@corp.example\n#merge REQ-2\n#merge REQ-3"
    found = find_commands(new_text=text, subject_after_tag="", approvals=False)
    assert [(c.name, c.argument) for c in found] == [
        (CommandName.CC, "add a@corp.example"),
        (CommandName.CC, "remove b@corp.example"),
        (CommandName.MERGE, "REQ-2"),
    ]


def test_cc_policy_is_add_by_default_and_may_be_ignore_also_per_mailbox():
    base = Path("/nonexistent")
    assert settings_from_mapping(MINIMAL, base_dir=base).cc_policy == "add"
    assert settings_from_mapping(with_changes(cc_policy="ignore"), base_dir=base).cc_policy \
        == "ignore"  # fmt: skip
    error = error_for(with_changes(cc_policy="everyone"))
    assert error.key == "cc_policy"
    other = {"name": "b", "cc_policy": "ignore", "tag_prefix": "B", "imap": {"username": "b"},
             "support_address": "b@example.org"}  # fmt: skip
    mailboxes = {**MINIMAL, "mailbox": [{"name": "a"}, other]}
    settings = settings_from_mapping(mailboxes, base_dir=base)
    assert [m.cc_policy for m in settings.mailboxes] == ["add", "ignore"]
