"""`split_reply` on the shapes real mail still got wrong (issue 14), one rule a test.

Each rule has a fixture in the corpus too (`tests/fixtures/replies/`); these
pin the rule on a short body, and its limits: what must stay the sender's text
and what must stay quoted.
"""

from __future__ import annotations

import time

import pytest

from mailgate.parse.newtext import split_reply

QUOTE = "> Hello Ivan,\n>\n> Cancel request\n> Resolve this issue\n"


def new_text(plain: str) -> str:
    return split_reply(plain, None).new_text


# -- header blocks and separators opening the body --------------------------------------

POLISH_TOP = (
    "Od: Jan Kowalski <jan.kowalski@acme.example>\n"
    "Wysłano: środa, 25 listopada 2026 11:02\n"
    "Do: Support <support@example.org>\n"
    "Temat: RE: [REQ-12] Linia\n"
    "\n"
    "Dziękuję, działa.\n"
    "\n"
    "Od: Support <support@example.org>\n"
    "Wysłano: środa, 25 listopada 2026 10:00\n"
    "Do: Jan Kowalski <jan.kowalski@acme.example>\n"
    "Temat: [REQ-12] Linia\n"
    "\n"
    "Cancel request\n"
)


def test_header_block_opening_the_body_keeps_the_text_under_it() -> None:
    assert new_text(POLISH_TOP) == "Dziękuję, działa."


def test_header_block_opening_a_plain_forward_is_all_quoted() -> None:
    forward = POLISH_TOP.split("\n\nOd: Support")[0].replace("Dziękuję, działa.", "Cancel request")
    assert new_text(forward) == ""


def test_forward_chain_keeps_the_forwarders_line_between_the_forwards() -> None:
    plain = (
        "---------- Forwarded message ---------\n"
        "From: Ivan Petrov <ivan@acme.example>\n"
        "Date: Wed, Nov 25, 2026 at 11:00 AM\n"
        "Subject: Fwd: Number porting\n"
        "To: <support@example.org>\n"
        "\n"
        "Please handle the porting request below.\n"
        "\n"
        "---------- Forwarded message ---------\n"
        "From: Carrier <noc@carrier.example>\n"
        "Date: Tue, Nov 24, 2026 at 9:00 AM\n"
        "\n"
        "Cancel request\n"
    )
    assert new_text(plain) == "Please handle the porting request below."


@pytest.mark.parametrize(
    "block",
    [
        "Date: Wed, 25 Nov 2026 10:00:00 +0300\nTo: Ivan <ivan@acme.example>,\n"
        "    Olga <olga@acme.example>\nSubject: [REQ-12] Phone",
        "To: Ivan <ivan@acme.example>\nSent: Wed, 25 Nov 2026 10:00:00 +0300",
        "-------- Oprindelig besked --------\nFra: Support <support@example.org>\n"
        "Dato: 25. nov. 2026 10.00",
        "==================================================\nMessage du : 25/11/2026 10:00\n"
        'De : "Support" <support@example.org>\nSujet : [REQ-12] Ligne',
    ],
)
def test_header_blocks_and_separators(block: str) -> None:
    assert new_text(f"Thanks.\n\n{block}\n\nCancel request\n") == "Thanks."


# -- attributions --------------------------------------------------------------------


@pytest.mark.parametrize(
    "attribution",
    [
        "On Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote",
        "2026/11/25 Support Team <support@example.org>",
        "On Wed, Nov 25, 2026 at 10:00 AM Support Team\n\n<\nmailto:support@example.org\n> wrote:",
        "ons. 25. nov. 2026 kl. 10:00 skrev Support Team <support@example.org\n>:",
        "ons. 25. nov. 2026 kl. 10:00 skrev ACME Telecom Norge Kundeservice Avd.\n"
        "<support@example.org>:",
        "Op 25 nov. 2026 om 10:00 heeft Support Team het volgende geschreven:",
    ],
)
def test_attribution_shapes(attribution: str) -> None:
    assert new_text(f"Works now.\n\n{attribution}\n\n{QUOTE}") == "Works now."


def test_dutch_apple_mail_attribution_is_strong_without_quote_marks() -> None:
    plain = (
        "Werkt weer.\n\nOp 25 nov. 2026 om 10:00 heeft Support het volgende geschreven:\n\nHallo"
    )
    assert new_text(plain) == "Werkt weer."


def test_colonless_attribution_without_address_needs_quote_marks() -> None:
    plain = "On Monday at 10:00 the engineer wrote\nthat the card is replaced.\n"
    assert new_text(plain) == plain.strip()


def test_sentence_sharing_a_line_with_an_attribution_is_kept() -> None:
    plain = (
        "Yes, it works now. On Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:\n"
        + QUOTE
    )
    split = split_reply(plain, None)
    assert split.new_text == "Yes, it works now."
    assert split.quoted_text.startswith("On Wed, Nov 25")


def test_wrapped_link_in_a_quote_stays_quoted() -> None:
    plain = (
        "Ok.\n\nOn Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:\n"
        "> Please open https://support.example.org/requests/12/attachments/8f3a9c2e1b7d4f6a9e0c\n"
        "3b5d7f9a1c2e4b6d8f0a\n"
        "> Cancel request\n"
    )
    assert new_text(plain) == "Ok."


# -- too much cut --------------------------------------------------------------------


def test_device_like_sentence_is_text() -> None:
    plain = "The line works.\n\nSent from my phone on the train, so the test call is tonight.\n"
    assert new_text(plain) == plain.strip()


def test_decoration_is_text_but_a_lone_quote_line_is_not() -> None:
    plain = "Update:\n\n>>>>>>>>>> NEW NUMBER <<<<<<<<<<\n\nThe number is 2043.\n"
    assert new_text(plain) == plain.strip()
    assert new_text(">>> Cancel request\n\nIs this how?\n") == "Is this how?"


# -- signatures and footers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ("Det virker igen.\n\nMvh\nOla Nordmann\nACME Telecom AS\nTlf. +47 22 00 00 00", 1),
        ("Det virker igen.\n\nMed venlig hilsen\n\nMette Hansen\nIT-afdelingen", 1),
        ("Det fungerar nu.\n\nMvh /Erik", 1),
        ("Det fungerar nu.\n\nVänliga hälsningar\nErik Svensson", 1),
        ("Works now.\n\nRegards,\nIvan Petrov\nHead of IT\nACME LLC\n+7 495 123-45-67", 1),
        ("Works now.\n\nThanks,\nIvan", 1),
        ("Works now.\n\nThanks!", 3),
        ("Works now.\n\nRegards,\nIvan\n\nP.S. The fax still fails, please check it.", 6),
        ("Regards,\nIvan", 2),
    ],
)
def test_sign_offs(body: str, kept: int) -> None:
    assert new_text(body) == "\n".join(body.split("\n")[:kept])


def test_mailing_list_footer_is_the_signature() -> None:
    plain = (
        "The trunk is up again.\n\n"
        "_______________________________________________\n"
        "pbx-users mailing list\n"
        "pbx-users@lists.example.net\n"
        "https://lists.example.net/mailman/listinfo/pbx-users\n"
    )
    split = split_reply(plain, None)
    assert split.new_text == "The trunk is up again."
    assert "listinfo" in split.signature


# -- HTML ----------------------------------------------------------------------------


def test_whole_body_in_one_blockquote_falls_back_to_the_text() -> None:
    html = "<blockquote>The line works again, thank you!<br><br>Ivan</blockquote>"
    assert split_reply(None, html).new_text == "The line works again, thank you!\n\nIvan"


def test_gmail_quote_wrapping_everything_falls_back_to_the_text() -> None:
    html = '<div class="gmail_quote"><div dir="ltr">The line works again!</div></div>'
    assert split_reply(None, html).new_text == "The line works again!"


def test_no_fall_back_onto_quoted_commands() -> None:
    html = "<blockquote>Hello Ivan,<br><br>Cancel request<br>Resolve this issue</blockquote>"
    assert split_reply(None, html).new_text == ""


def test_rule_over_labels_in_separate_divs_is_a_cut() -> None:
    html = (
        "<div>Liin töötab, aitäh.</div><div><hr></div>"
        "<div><b>Saatja:</b> Support &lt;support@example.org&gt;</div>"
        "<div><b>Saadetud:</b> 25. november 2026 10:00</div><div>Cancel request</div>"
    )
    assert split_reply(None, html).new_text == "Liin töötab, aitäh."


def test_plain_blockquote_in_the_senders_text_is_kept() -> None:
    html = (
        "<div>Your engineer said:</div><blockquote>we will replace the card on Monday"
        "</blockquote><div>Monday works for us.</div>"
    )
    assert split_reply(None, html).new_text == (
        "Your engineer said:\nwe will replace the card on Monday\nMonday works for us."
    )


def test_blockquote_under_an_attribution_stays_quoted() -> None:
    html = (
        "<div>Monday works.</div><div>On Wed, Nov 25, 2026 Support wrote:</div>"
        "<blockquote>Cancel request</blockquote><div>Thanks</div>"
    )
    assert split_reply(None, html).new_text == "Monday works.\nThanks"


# -- speed -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        ">>>>>>>>>>\n\n",
        "Yes. On a b. On c d. On e f:\n",
        "Od: a\n",
        "x\n> https://a.example/b\nc\n",
    ],
)
def test_hostile_repetition_stays_fast(line: str) -> None:
    plain = line * 2000
    started = time.process_time()
    split_reply(plain, None)
    split_reply(None, "<blockquote>" + plain.replace("\n", "<br><hr>") + "</blockquote>")
    assert time.process_time() - started < 2.0
