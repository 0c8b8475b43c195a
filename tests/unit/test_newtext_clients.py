"""`split_reply` on the client shapes added with the second reply corpus round.

Each rule has a fixture in `tests/fixtures/replies/` too; these pin it on a
short body, with its limits: what must stay the sender's text.
"""

from __future__ import annotations

import time

import pytest

from mailgate.parse.newtext import split_reply

QUOTE = "> Hello Ivan,\n>\n> Cancel request\n"
HEADERS = (
    "From: Support\n"
    "Sent: Wednesday, November 25, 2026 10:00\n"
    "To: Ivan Petrov\n"
    "Subject: [REQ-12] Line\n"
    "\n"
    "Cancel request\n"
)
FOOTER = (
    "This e-mail and any attachments are confidential and intended solely for the"
    " addressee. If you have received it in error, please delete it."
)


def new_text(plain: str) -> str:
    return split_reply(plain, None).new_text


# -- separators -------------------------------------------------------------------------


def test_bare_original_message_over_a_header_block_is_quoted() -> None:
    plain = "Still no tone.\n\n  Original Message  \n" + HEADERS
    assert new_text(plain) == "Still no tone."


def test_bare_original_message_without_a_header_block_is_text() -> None:
    plain = "The subject line said\nOriginal message\nand nothing else.\n"
    assert new_text(plain) == plain.strip()


@pytest.mark.parametrize("line", ["----- Mail original -----", "----- Ursprüngliche Mail -----"])
def test_zimbra_separators(line: str) -> None:
    assert new_text(f"Ça marche.\n\n{line}\nCancel request\n") == "Ça marche."


# -- sign-offs and footers --------------------------------------------------------------


def test_bilingual_sign_off() -> None:
    plain = "Cancel request\n\nMit freundlichen Grüßen / Kind regards\n\nStefan Wagner\nACME GmbH\n"
    assert new_text(plain) == "Cancel request"


def test_bilingual_sign_off_needs_two_sign_offs() -> None:
    plain = "Cancel request\n\nRegards / see you Monday\n\nStefan Wagner\n"
    assert new_text(plain) == plain.strip()


@pytest.mark.parametrize(
    "sign_off",
    [
        "Saygılarımla,",
        "Με εκτίμηση,",
        "Trân trọng,",
        "Salam,",
        "مع التحية،",
        "בברכה,",
        "Abraço,",
        "Lijep pozdrav,",
        "Üdvözlettel,",
    ],
)
def test_sign_offs_in_more_languages(sign_off: str) -> None:
    assert new_text(f"Still broken.\n\n{sign_off}\nAhmet Yılmaz\n") == "Still broken."


def test_confidentiality_footer_under_a_name_is_the_signature() -> None:
    plain = "Cancel request\n\nOlga\n\n" + FOOTER + "\n\n" + QUOTE
    split = split_reply(plain, None)
    assert split.new_text == "Cancel request\n\nOlga"
    assert split.signature == FOOTER


def test_confidentiality_footer_goes_with_the_sign_off_above_it() -> None:
    plain = "Works now.\n\nKind regards,\nTom Baker\n+44 20 7946 0018\n\n" + FOOTER + "\n"
    assert new_text(plain) == "Works now."


def test_russian_confidentiality_footer() -> None:
    footer = "Это сообщение и любые вложения к нему являются конфиденциальными."
    assert new_text(f"Спасибо, работает.\n\n{footer}\n") == "Спасибо, работает."


def test_footer_words_as_the_first_line_are_the_senders() -> None:
    plain = "This email and any attachments I sent yesterday were wrong.\nSorry!\n"
    assert new_text(plain) == plain.strip()


def test_footer_words_followed_by_more_paragraphs_are_the_senders() -> None:
    plain = (
        "Hello,\n\nThis email and any attachments are for the auditors.\n\n"
        "Second point.\n\nThird point.\n\nFourth point.\n"
    )
    assert new_text(plain) == plain.strip()


def test_footer_inside_a_sentence_is_the_senders() -> None:
    plain = "Hello,\nthe header said\nthis email is confidential, so I did not forward it.\n"
    assert new_text(plain) == plain.strip()


# -- speed -----------------------------------------------------------------------------


@pytest.mark.parametrize("line", ["Original Message\n", FOOTER + "\n\n", "Regards / Grüße\n"])
def test_hostile_repetition_stays_fast(line: str) -> None:
    plain = line * 2000
    started = time.process_time()
    split_reply(plain, None)
    assert time.process_time() - started < 2.0
