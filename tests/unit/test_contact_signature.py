"""A signature with no sign-off: a last paragraph of a name over contact lines."""

from __future__ import annotations

import pytest

from mailgate.parse.newtext import split_reply

TEXT = "Please check the trunk settings again, the test call failed."


@pytest.mark.parametrize(
    "block",
    [
        "Ivan Petrov\nHead of IT, Acme LLC\n+7 495 123-45-67",
        "Ivan Petrov\nivan.petrov@acme.example",
        "Иван Петров\nНачальник ИТ-отдела\nтел. 8 (495) 123 45 67\nwww.acme.example",
        "Klaus Meier\nhttps://acme.example",
    ],
)
def test_a_name_over_contact_lines_is_the_signature(block: str) -> None:
    assert split_reply(f"Hello,\n\n{TEXT}\n\n{block}\n", None).new_text == f"Hello,\n\n{TEXT}"


@pytest.mark.parametrize(
    "text",
    [
        # a contact the sender gives, not theirs
        "Please write to my colleague from now on:\n\nMaria Ivanova\nmaria@acme.example",
        # all the sender wrote
        "Ivan Petrov\n+7 495 123-45-67",
        # no phone, address or link: it may be text
        f"{TEXT}\n\nIvan Petrov\nHead of IT",
        # a sentence, not a name
        f"{TEXT}\n\nCall me back at +7 495 123-45-67\nany time today",
        # too long for a signature block
        f"{TEXT}\n\nIvan Petrov\n" + "".join(f"line {n}\n" for n in range(6)) + "+7 495 123-45-67",
    ],
)
def test_other_last_paragraphs_are_kept(text: str) -> None:
    assert split_reply(f"{text}\n", None).new_text == text
