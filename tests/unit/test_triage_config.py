"""SPEC §16 configuration and pure pieces: `client_priority`, `[sla.priority.NAME]`,
the priority a client's headers ask for, and rating addresses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mailgate.app import priority_policies, sla_policy
from mailgate.config import settings_from_mapping
from mailgate.decide.triage import client_priority
from mailgate.errors import ConfigError
from mailgate.reply_tokens import find_rating_token, rating_address
from tests.unit.test_config import MINIMAL, error_for, with_changes

SUPPORT = ["support@example.org"]


def test_client_priority_defaults_to_ignore_and_is_checked():
    assert settings_from_mapping(MINIMAL, base_dir=Path("/srv")).client_priority == "ignore"
    read = settings_from_mapping(with_changes(client_priority="read"), base_dir=Path("/srv"))
    assert read.client_priority == "read"
    assert error_for(with_changes(client_priority="trust")).key == "client_priority"


def test_sla_targets_per_priority_inherit_what_they_leave_out():
    data = with_changes(
        sla__first_response_hours=8,
        sla__resolution_hours=40,
        sla__priority={"urgent": {"first_response_hours": 0.5}, "low": {"resolution_hours": 0}},
    )
    sla = settings_from_mapping(data, base_dir=Path("/srv")).sla
    assert sla.by_priority == (("low", 8, None), ("urgent", 0.5, 40))
    policies = priority_policies(sla)
    assert policies["urgent"].first_response == dt.timedelta(minutes=30)
    assert policies["urgent"].resolution == dt.timedelta(hours=40)
    assert policies["low"].resolution is None
    assert policies["low"].business_hours == sla_policy(sla).business_hours
    assert "normal" not in policies  # the [sla] targets


@pytest.mark.parametrize(
    ("priority", "key"),
    [
        ({"critical": {"first_response_hours": 1}}, "sla.priority.critical"),
        ({"high": {"response_hours": 1}}, "sla.priority.high.response_hours"),
        ({"high": {"first_response_hours": -1}}, "sla.priority.high.first_response_hours"),
    ],
)
def test_bad_priority_tables_name_the_key(priority, key):
    with pytest.raises(ConfigError) as caught:
        settings_from_mapping(with_changes(sla__priority=priority), base_dir=Path("/srv"))
    assert caught.value.key == key


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([("x-priority", "1 (Highest)")], "high"),
        ([("x-priority", "3")], "normal"),
        ([("x-priority", "4")], "low"),
        ([("x-priority", "urgent")], "normal"),
        ([("x-priority", "0")], "normal"),
        ([("importance", " LOW ")], "low"),
        ([("importance", "urgent")], "normal"),
        ([("priority", "urgent")], "normal"),
        ([], "normal"),
    ],
)
def test_client_priority_from_headers(headers, expected):
    assert client_priority(headers) == expected


def test_rating_addresses_are_signed_per_request_and_value():
    good = rating_address("support@example.org", "s3cret", request=7, value="good")
    bad = rating_address("support@example.org", "s3cret", request=7, value="bad")
    assert good.startswith("support+r.7.g.") and bad.startswith("support+r.7.b.")
    found = find_rating_token([f"<{good.upper()}>"], support_addresses=SUPPORT, secret="s3cret")
    assert found is not None and (found.request, found.value, found.valid) == (7, "good", True)
    # The good MAC under the bad letter, another secret, another domain: not mailgate's.
    swapped = good.replace(".g.", ".b.")
    assert not find_rating_token([swapped], support_addresses=SUPPORT, secret="s3cret").valid
    assert not find_rating_token([good], support_addresses=SUPPORT, secret="other").valid
    elsewhere = good.replace("example.org", "evil.example")
    assert find_rating_token([elsewhere], support_addresses=SUPPORT, secret="s3cret") is None
    assert find_rating_token(["client@corp.example"], support_addresses=SUPPORT, secret="s") is None
