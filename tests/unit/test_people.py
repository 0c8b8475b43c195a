"""The pure parts of privacy requests (mailgate/people.py): the pseudonym, the address
a person is known by, and the names of exported files."""

from __future__ import annotations

import re

from mailgate.people import export_file_name, normalized_address, pseudonym_of

ERIN, BOB = "erin@corp.example", "bob@other.example"


def test_the_pseudonym_is_stable_within_an_install_and_secret_outside_it():
    assert pseudonym_of("secret", ERIN) == pseudonym_of("secret", ERIN)
    assert pseudonym_of("secret", ERIN) != pseudonym_of("other secret", ERIN)
    assert pseudonym_of("secret", ERIN) != pseudonym_of("secret", BOB)
    assert re.fullmatch(r"erased-[0-9a-f]{12}@invalid", pseudonym_of("secret", ERIN))


def test_a_person_is_one_address_in_lower_case():
    assert normalized_address("Erin <Erin@Corp.Example>") == ERIN
    assert normalized_address(f"{ERIN}, {BOB}") is None
    assert normalized_address("nobody") is None


def test_an_exported_file_name_fits_any_file_system():
    assert export_file_name(1, "invoice.pdf") == "001-invoice.pdf"
    assert export_file_name(12, "README") == "012-README"
    long = export_file_name(3, "я" * 255 + ".docx")  # 510 bytes of name from a stranger
    assert len(long.encode()) <= 204 and long.endswith(".docx") and long.startswith("003-я")
    odd = export_file_name(4, "x." + "y" * 300)
    assert len(odd.encode()) <= 204 and odd.startswith("004-x.yyy")
