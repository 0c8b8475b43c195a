"""`#fwd` read and judged without a database (decide/forward.py): the command, the
requester's address from the forwarded header block only, the request's subject."""

from __future__ import annotations

import pytest

from mailgate.decide.forward import forward_subject, sender_address
from mailgate.domain import CommandName, ForwardedMessage
from mailgate.parse.commands import find_commands


@pytest.mark.parametrize("line", ["#fwd", "#FWD", "#fwd:", "**#fwd**", "#forward", "#переслать"])
def test_fwd_is_an_agent_command_on_its_own_line(line):
    [command] = find_commands(new_text=f"{line}\n\nVIP client.", subject_after_tag="")
    assert command.name is CommandName.FORWARD and command.name.is_agent_only
    assert command.argument is None


@pytest.mark.parametrize("text", ["Please #fwd this", "> #fwd", "#fwdx", "#fwd-me"])
def test_fwd_inside_a_sentence_or_a_quote_or_another_word_is_no_command(text):
    found = find_commands(new_text=text, subject_after_tag="")
    assert all(command.name is not CommandName.FORWARD for command in found)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Fwd: Fax down", "Fax down"),
        ("FW: RE: Fax down", "Fax down"),
        ("WG: AW: Fax down", "Fax down"),
        ("Пересл: Не работает АТС", "Не работает АТС"),
        ("Fwd: Fwd: Re[2]: Fax down", "Fax down"),
        ("Re: Fwd: Part I: setup", "Part I: setup"),
        ("Fax down", "Fax down"),
    ],
)
def test_the_request_subject_is_the_forwarded_one_without_prefixes(subject, expected):
    assert forward_subject(subject) == expected


@pytest.mark.parametrize(
    ("sender", "address"),
    [
        ("Boris Petrov <Boris.Petrov@Client.example.net>", "boris.petrov@client.example.net"),
        ("boris@client.example.net", "boris@client.example.net"),
        ('"Petrov, Boris" <boris@client.example.net>', "boris@client.example.net"),
        ("Kowalski, Jan", ""),  # Outlook's name of a colleague, no address
        ("Boris <boris@client.example.net>, Eve <eve@evil.example>", ""),  # two: whose?
        ("boris@localhost", ""),
        ("boris at client.example.net", ""),
        ("<>", ""),
        ("Boris <boris@client.example.net\nBcc: eve@evil.example>", ""),
        ("x" * 300 + "@client.example.net", ""),
    ],
)
def test_the_requester_is_one_valid_address_of_the_forwarded_from(sender, address):
    assert sender_address(ForwardedMessage(sender=sender)) == address
