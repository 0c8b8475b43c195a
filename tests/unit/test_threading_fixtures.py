"""Threading keys read from every client's replies: the tag behind any prefix,
and In-Reply-To / References, whatever the client, language or encoding."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailgate.parse import parse_message

REPLIES = sorted((Path(__file__).resolve().parents[1] / "fixtures" / "replies").glob("*.eml"))
RAW_TAG = re.compile(rb"^Subject:.*?REQ-(\d+)", re.I | re.M)


def parse(path: Path):
    return parse_message(path.read_bytes(), tag_prefix="REQ", own_addresses=frozenset())


@pytest.mark.parametrize("path", REPLIES, ids=lambda p: p.stem)
def test_reply_threads_to_its_request(path):
    message = parse(path)
    if "new_request" not in path.stem:  # a first message threads to nothing
        assert message.tag_number is not None or message.in_reply_to or message.references
    if message.tag_number is not None:
        assert f"REQ-{message.tag_number}" in message.subject
        assert not message.subject_after_tag.lower().startswith(("re:", "fwd:", "aw:", "ответ:"))
    for message_id in (*message.in_reply_to, *message.references):
        assert message_id and "<" not in message_id and ">" not in message_id


def test_fixture_tags_match_the_raw_subject_when_not_encoded():
    checked = 0
    for path in REPLIES:
        match = RAW_TAG.search(path.read_bytes())
        if match:
            assert parse(path).tag_number == int(match.group(1)), path.name
            checked += 1
    assert checked >= 50
