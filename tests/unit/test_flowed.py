"""format=flowed (RFC 3676): the client's soft breaks joined back into the typed lines."""

from __future__ import annotations

import pytest

from mailgate.parse import parse_message
from mailgate.parse.commands import find_commands
from mailgate.parse.flowed import flowed_parameters, unflow
from mailgate.parse.mimetree import decode


@pytest.mark.parametrize(
    ("content_type", "expected"),
    [
        ("text/plain; charset=utf-8; format=flowed", (True, False)),
        ('text/plain; format="flowed"; delsp="yes"', (True, True)),
        ("text/plain; charset=UTF-8; Format=Flowed; DelSp=Yes", (True, True)),
        ("text/plain; charset=utf-8", (False, False)),
        ("text/plain; delsp=yes", (False, False)),
        ("text/plain; format=fixed", (False, False)),
    ],
)
def test_the_parameters_are_read_from_the_content_type(content_type, expected):
    assert flowed_parameters(content_type) == expected


def test_soft_breaks_are_joined_and_hard_breaks_kept():
    text = "The test call failed again, \nthere is only a busy tone.\n\nIvan"
    assert (
        unflow(text, delsp=False)
        == "The test call failed again, there is only a busy tone.\n\nIvan"
    )


def test_delsp_drops_the_space_the_client_added():
    assert unflow("Bestell \nnummer 42\n", delsp=True) == "Bestellnummer 42\n"
    assert unflow("Bestell \nnummer 42\n", delsp=False) == "Bestell nummer 42\n"


def test_space_stuffing_is_undone():
    assert unflow(" From Monday on\n >not a quote\n", delsp=False) == (
        "From Monday on\n>not a quote\n"
    )


def test_quoted_lines_join_within_their_depth_only():
    text = "> We changed the \n> settings.\n>> older \n> newer\n>\nMine"
    assert unflow(text, delsp=False) == "> We changed the settings.\n>> older \n> newer\n>\nMine"


def test_the_signature_separator_is_never_a_soft_break():
    assert unflow("Thanks\n-- \nIvan Petrov\n", delsp=False) == "Thanks\n-- \nIvan Petrov\n"


def _mail(content_type: str, body: str) -> bytes:
    return (
        "From: Ivan <ivan@client.example>\r\nTo: support@example.org\r\n"
        "Subject: Re: [REQ-12] Phone\r\nMessage-ID: <f1@client.example>\r\n"
        f"Content-Type: {content_type}\r\n\r\n{body}"
    ).encode()


def test_a_flowed_body_reads_as_typed_and_a_fixed_one_as_sent():
    body = "Escalate: the line drops every few minutes \r\nsince Monday morning\r\n"
    flowed = decode(_mail("text/plain; charset=utf-8; format=flowed", body))
    fixed = decode(_mail("text/plain; charset=utf-8", body))
    assert flowed.plain == "Escalate: the line drops every few minutes since Monday morning\n"
    assert fixed.plain == "Escalate: the line drops every few minutes \nsince Monday morning\n"


def test_a_reason_the_client_wrapped_is_read_whole():
    body = "Escalate: the line drops every few minutes \r\nsince Monday morning\r\n\r\nIvan\r\n"
    message = parse_message(
        _mail("text/plain; charset=utf-8; format=flowed", body),
        tag_prefix="REQ",
        own_addresses=frozenset({"support@example.org"}),
    )
    (escalate,) = find_commands(new_text=message.new_text, subject_after_tag="")
    assert escalate.argument == "the line drops every few minutes since Monday morning"
