"""`split_reply`: the rules one by one, on bodies written inline.

The corpus test (`test_reply_corpus.py`) walks whole messages; these tests pin
each rule and the shapes of many clients and languages the corpus does not
hold, so that a rule that only fits the corpus fails here.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailgate.parse import quote_markers
from mailgate.parse.newtext import split_reply

QUOTE = "> Hello Ivan,\n>\n> Cancel request\n> Resolve this issue\n"


def new_text(plain: str) -> str:
    return split_reply(plain, None).new_text


# -- attributions, one per client and language ---------------------------------

ATTRIBUTIONS = [
    "On Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:",
    "On Wed, Nov 25, 2026 at 10:00\u202fAM Support <support@example.org> wrote:",
    "On 25 Nov 2026, at 10:00, Support <support@example.org> wrote:",
    "On 25.11.2026 10:00, Support wrote:",
    "On 11/25/26 10:00 AM, Support wrote:",
    "On Wed, Nov 25, 2026 at 10:00:00AM +0300, Support wrote:",
    "On 2026-11-25 10:00, Support wrote:",
    "On Wednesday, November 25th, 2026 at 10:00, Support <support@example.org> wrote:",
    "ср, 25 нояб. 2026 г. в 10:00, Поддержка <support@example.org>:",
    "25 нояб. 2026 г., в 10:00, Поддержка <support@example.org> написал(а):",
    "25.11.2026 10:00, Поддержка пишет:",
    '25.11.2026, 10:00, "Поддержка" <support@example.org>:',
    "Среда, 25 ноября 2026, 10:00 +03:00 от Поддержка <support@example.org>:",
    "Поддержка писал 2026-11-25 10:00:",
    "Am Mi., 25. Nov. 2026 um 10:00 Uhr schrieb Support <support@example.org>:",
    "Le mer. 25 nov. 2026 à 10:00, Support <support@example.org> a écrit :",
    "El mié, 25 nov 2026 a las 10:00, Support (<support@example.org>) escribió:",
    "Il giorno mer 25 nov 2026 alle ore 10:00 Support <support@example.org> ha scritto:",
    "Op wo 25 nov 2026 om 10:00 schreef Support <support@example.org>:",
    "śr., 25 lis 2026 o 10:00 Support <support@example.org> napisał(a):",
    "Em qua., 25 de nov. de 2026 às 10:00, Support <support@example.org> escreveu:",
    "ср, 25 лист. 2026 р. о 10:00 Support <support@example.org> пише:",
    "Den ons 25 nov. 2026 kl 10:00 skrev Support <support@example.org>:",
    "Support <support@example.org>, 25 Kas 2026 Çar, 10:00 tarihinde şunu yazdı:",
    "2026年11月25日(水) 10:00 Support <support@example.org>:",
    "Support <support@example.org> 于2026年11月25日周三 10:00写道：",
    "* Support <support@example.org> [2026-11-25 10:00 +0300]:",
    "Support <support@example.org>:",
    "Вы писали 25 ноября 2026 г., 10:00:05:",
    "---- On Wed, 25 Nov 2026 10:00:00 +0300 Support <support@example.org> wrote ----",
    "Dana 25. 11. 2026. u 10:00, Support je napisao/la:",
    "Vào Th 4, 25 thg 11, 2026 vào lúc 10:00 Support <support@example.org> đã viết:",
    "Pada Rab, 25 Nov 2026 pukul 10.00 Support <support@example.org> menulis:",
]


@pytest.mark.parametrize("attribution", ATTRIBUTIONS)
def test_attribution_with_quote_is_removed(attribution: str) -> None:
    plain = f"Thanks, it works.\n\n{attribution}\n\n{QUOTE}"
    split = split_reply(plain, None)
    assert split.new_text == "Thanks, it works."
    assert attribution.replace("\u202f", " ") in split.quoted_text


@pytest.mark.parametrize("attribution", [a for a in ATTRIBUTIONS if "@" in a or ":00" in a])
def test_attribution_without_quote_marks_cuts_everything_after(attribution: str) -> None:
    # Yahoo and broken clients: the original follows the attribution unquoted.
    plain = f"Thanks, it works.\n\n{attribution}\n\nHello Ivan,\nCancel request\n"
    assert new_text(plain) == "Thanks, it works."


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        (
            "Ok\n\nOn Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org>\nwrote:\n\n"
            + QUOTE,
            "Ok",
        ),
        (
            "Ок\n\nср, 25 нояб. 2026 г. в 10:00, Поддержка <\nsupport@example.org>:\n\n" + QUOTE,
            "Ок",
        ),
        (
            "Ok\n\nOn Wednesday, November 25, 2026 10:00 AM, Very Long Name Of The\n"
            "Support Department <support-department@example.org>\nwrote:\n" + QUOTE,
            "Ok",
        ),
        (
            "Спасибо\n\nср, 25 нояб. 2026 г. в 10:00, Очень Длинное Название\n"
            "Отдела <support@example.org>:\n" + QUOTE,
            "Спасибо",
        ),
    ],
    ids=["gmail-en", "gmail-ru", "three-lines", "ru-name-wrapped"],
)
def test_wrapped_attribution(plain: str, expected: str) -> None:
    assert new_text(plain) == expected


def test_last_line_of_new_text_above_an_attribution_is_kept() -> None:
    plain = (
        "Call me after 10:00\n"
        "On Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:\n" + QUOTE
    )
    assert new_text(plain) == "Call me after 10:00"


@pytest.mark.parametrize(
    "line",
    ["As I wrote:", "Here is what we tried:", "Ivan wrote:", "The log for 10:00:"],
)
def test_a_colon_line_without_a_date_and_address_is_the_senders_own(line: str) -> None:
    plain = f"{line}\n\nthe line is down since the morning.\n"
    assert new_text(plain) == f"{line}\n\nthe line is down since the morning."


# -- header blocks and separators --------------------------------------------------

HEADER_BLOCKS = [
    "From: Support <support@example.org>\nSent: Wednesday, November 25, 2026 10:00 AM\n"
    "To: Ivan <ivan@acme.example>\nSubject: RE: [REQ-12] Phone",
    "________________________________\nFrom: Support <support@example.org>\n"
    "Sent: Wednesday, November 25, 2026 10:00\nTo: Ivan\nSubject: [REQ-12] Phone",
    "*From:* Support <support@example.org>\n*Sent:* Wednesday, November 25, 2026 10:00 AM\n"
    "*To:* Ivan\n*Subject:* RE: [REQ-12] Phone",
    "From: Support <support@example.org>\n\nSent: Wednesday\n\nTo: Ivan\n\nSubject: x",
    "From: Support <support@example.org>\nDate: Wednesday, 25 November 2026 at 10:00\n"
    "To: Ivan <ivan@acme.example>\nSubject: [REQ-12] Phone",
    "От: Поддержка <support@example.org>\nОтправлено: 25 ноября 2026 г. 10:00\nКому: Ольга\n"
    "Тема: RE: [REQ-15] Меню",
    "От: Поддержка [mailto:support@example.org] \nОтправлено: 25 ноября 2026 г. 10:00\n"
    "Кому: Ольга\nТема: RE: [REQ-15] Меню",
    "От кого: Поддержка <support@example.org>\nКому: Ольга\nДата: Среда, 25 ноября 2026\n"
    "Тема: [REQ-15] Меню",
    "Von: Support <support@example.org>\nGesendet: Mittwoch, 25. November 2026 10:00\n"
    "An: Klaus\nBetreff: AW: [REQ-12] Telefon",
    "De : Support <support@example.org>\nEnvoyé : mercredi 25 novembre 2026 10:00\n"
    "À : Claire\nObjet : RE: [REQ-12] Téléphone",
    "De: Support <support@example.org>\nEnviado el: miércoles, 25 de noviembre de 2026 10:00\n"
    "Para: Ana\nAsunto: RE: [REQ-12] Teléfono",
    "Da: Support <support@example.org>\nInviato: mercoledì 25 novembre 2026 10:00\n"
    "A: Marco\nOggetto: R: [REQ-12] Telefono",
    "Van: Support <support@example.org>\nVerzonden: woensdag 25 november 2026 10:00\n"
    "Aan: Jan\nOnderwerp: RE: [REQ-12] Telefoon",
    "Od: Support <support@example.org>\nWysłano: środa, 25 listopada 2026 10:00\n"
    "Do: Jan\nTemat: RE: [REQ-12] Telefon",
    "差出人: Support <support@example.org>\n送信日時: 2026年11月25日 10:00\n"
    "宛先: Ivan\n件名: RE: x",
    "Subject: \t[REQ-12] Phone\nDate: \tWed, 25 Nov 2026 10:00:00 +0300\n"
    "From: \tSupport <support@example.org>\nTo: \tIvan",
    "Από: Support <support@example.org>\nΣτάλθηκε: 25.11.2026 10:00\n"
    "Προς: Ivan Petrov\nΘέμα: [REQ-12] Line",
    "Từ: Support <support@example.org>\nĐã gửi: 25.11.2026 10:00\n"
    "Đến: Ivan Petrov\nChủ đề: [REQ-12] Line",
    "Dari: Support <support@example.org>\nDikirim: 25.11.2026 10:00\n"
    "Kepada: Ivan Petrov\nPerihal: [REQ-12] Line",
    "من: Support <support@example.org>\nتم الإرسال: 25.11.2026 10:00\n"
    "إلى: Ivan Petrov\nالموضوع: [REQ-12] Line",
    "מאת: Support <support@example.org>\nנשלח: 25.11.2026 10:00\n"
    "אל: Ivan Petrov\nנושא: [REQ-12] Line",
    "寄件者: Support <support@example.org>\n寄件日期: 25.11.2026 10:00\n"
    "收件者: Ivan Petrov\n主旨: [REQ-12] Line",
    "Šalje: Support <support@example.org>\nPoslano: 25.11.2026 10:00\n"
    "Prima: Ivan Petrov\nPredmet: [REQ-12] Line",
    "Od: Support <support@example.org>\nOdoslané: 25.11.2026 10:00\n"
    "Komu: Ivan Petrov\nPredmet: [REQ-12] Line",
    "Od: Support <support@example.org>\nPoslato: 25.11.2026 10:00\n"
    "Za: Ivan Petrov\nTema: [REQ-12] Line",
    "Nuo: Support <support@example.org>\nIšsiųsta: 25.11.2026 10:00\n"
    "Kam: Ivan Petrov\nTema: [REQ-12] Line",
    "Saatja: Support <support@example.org>\nSaadetud: 25.11.2026 10:00\n"
    "Adressaat: Ivan Petrov\nTeema: [REQ-12] Line",
    "De: Support <support@example.org>\nEnviat el: 25.11.2026 10:00\n"
    "Per a: Ivan Petrov\nTema: [REQ-12] Line",
    "จาก: Support <support@example.org>\nส่ง: 25.11.2026 10:00\n"
    "ถึง: Ivan Petrov\nเรื่อง: [REQ-12] Line",
]


@pytest.mark.parametrize("block", HEADER_BLOCKS)
def test_header_block_starts_the_quote(block: str) -> None:
    plain = f"Still broken.\n\n{block}\n\nHello,\nCancel request\n"
    split = split_reply(plain, None)
    assert split.new_text == "Still broken."
    assert "Cancel request" in split.quoted_text


def test_one_header_like_line_is_not_a_block() -> None:
    plain = "Subject: the fax line\n\nIt fails since Monday, From 9 to 10 every day.\n"
    assert new_text(plain) == plain.strip()


@pytest.mark.parametrize(
    "separator",
    [
        "-----Original Message-----",
        "----- Original Message -----",
        "-------- Original message --------",
        "---------- Forwarded message ---------",
        "-------- Forwarded Message --------",
        "-----Исходное сообщение-----",
        "-------- Пересылаемое сообщение --------",
        "---------- Пересылаемое сообщение ---------",
        "-------- Перенаправленное сообщение --------",
        "-------- Исходное сообщение --------",
        "-----Ursprüngliche Nachricht-----",
        "-------- Message transféré --------",
        "-----Mensaje original-----",
        "-----Messaggio originale-----",
        "Begin forwarded message:",
        "Начало переадресованного сообщения:",
        "Anfang der weitergeleiteten Nachricht:",
        "------------------ 原始邮件 ------------------",
        "-----Support <support@example.org> wrote: -----",
        "-------- Orijinal mesaj --------",
        "-------- Αρχικό μήνυμα --------",
        "-------- Eredeti üzenet --------",
        "-------- Originalna poruka --------",
        "-------- 원본 메시지 --------",
        "---------- 转发的邮件 ---------",
        "---------- 転送されたメッセージ ---------",
        "---------- Переслане повідомлення ---------",
        "Início da mensagem encaminhada:",
        "Začátek přeposílané zprávy:",
        "İletilen ileti başlangıcı:",
        "转发的邮件：",
    ],
)
def test_separator_starts_the_quote(separator: str) -> None:
    plain = f"See below.\n\n{separator}\nHello,\nCancel request\n"
    assert new_text(plain) == "See below."


def test_underscore_line_alone_is_not_a_separator() -> None:
    plain = "Signed:\n____________________\nIvan Petrov\n"
    assert new_text(plain) == plain.strip()


# -- signatures -------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", ["-- ", "--"])
def test_dash_dash_signature_is_removed(delimiter: str) -> None:
    split = split_reply(f"Resolve this issue\n\n{delimiter}\nIvan Petrov\n+7 843 555-01-23\n", None)
    assert split.new_text == "Resolve this issue"
    assert split.signature == "--\nIvan Petrov\n+7 843 555-01-23"
    assert "Ivan Petrov" in split.quoted_text


def test_signature_ends_where_the_quote_starts() -> None:
    plain = (
        "Ok\n\n-- \nIvan\n\nOn 25.11.2026 10:00, Support wrote:\n> Cancel request\n"
        "\nCancel request\n"
    )
    split = split_reply(plain, None)
    assert split.new_text == "Ok"
    assert split.signature == "--\nIvan"
    assert "Cancel request" in split.quoted_text


@pytest.mark.parametrize(
    "device",
    [
        "Sent from my iPhone",
        "Sent from my Samsung Galaxy smartphone.",
        "Sent from Outlook for Android<https://aka.ms/AAb9ysg>",
        "Get Outlook for iOS<https://aka.ms/o0ukef>",
        "Sent from Yahoo Mail for iPhone",
        "Sent with Proton Mail secure email.",
        "Отправлено с iPhone",
        "Отправлено с мобильного устройства",
        "Отправлено с мобильного устройства Samsung Galaxy",
        "Отправлено из мобильной Почты Mail.ru",
        "Отправлено из мобильной Яндекс Почты",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Télécharger Outlook pour Android<https://aka.ms/ghei36>",
        "Outlook for iOS in any words<https://aka.ms/o0ukef>",
        "iPhone'umdan gönderildi",
        "iPhone’umdan gönderildi",
        "Sent from my BlackBerry 10 smartphone on the Rogers network.",
        "Samsung Galaxy akıllı telefonumdan gönderildi.",
        "Sent from my Verizon, Samsung Galaxy smartphone",
        "Enviado desde Yahoo Mail para Android",
        "Στάλθηκε από το iPhone μου",
        "Gửi từ iPhone của tôi",
        "Dikirim dari iPhone saya",
        "iPhone에서 보냄",
    ],
)
def test_device_signature_ends_the_new_text(device: str) -> None:
    split = split_reply(f"Cancel request\n\n{device}\n\nResolve this issue\n", None)
    assert split.new_text == "Cancel request"
    assert split.signature.startswith(device)


def test_sign_off_and_signature_block_are_the_signature() -> None:
    split = split_reply("Resolve this issue\n\nBest regards,\nIvan Petrov\nACME LLC\n", None)
    assert split.new_text == "Resolve this issue"
    assert split.signature == "Best regards,\nIvan Petrov\nACME LLC"


# -- quotes and inline answers -------------------------------------------------------


def test_inline_answers_are_kept_in_order_and_joined_by_newlines() -> None:
    plain = (
        "On 25.11.2026 10:00, Support wrote:\n> Did the call go through?\n\nYes.\n\n"
        "> Can we reboot tonight?\n\nYes, after 21:00.\n\n> Support team\n"
    )
    split = split_reply(plain, None)
    assert split.new_text == "Yes.\nYes, after 21:00."
    assert "> Can we reboot tonight?" in split.quoted_text


def test_paragraphs_of_one_answer_keep_their_blank_lines() -> None:
    plain = "Hello,\n\n\nthe line works.\n\nIvan\n\n> quoted\n"
    assert new_text(plain) == "Hello,\n\n\nthe line works.\n\nIvan"


def test_greater_than_line_is_a_quote_even_at_the_top() -> None:
    assert new_text("> Cancel request\n\nIs this how I cancel?\n") == "Is this how I cancel?"


def test_initials_before_the_quote_mark_are_a_quote() -> None:
    # The Bat!: "SP> " for a quote of Support's message.
    plain = "Здравствуйте, Support.\n\nSP> Cancel request\nSP> Resolve this issue\n\nНе работает.\n"
    assert new_text(plain) == "Здравствуйте, Support.\nНе работает."


def test_underscores_over_labels_of_any_language_start_the_quote() -> None:
    plain = (
        "Ok\n\n________________________________\nKimdan: Support <support@example.org>\n"
        "Yuborildi: 25.11.2026 10:00\nKimga: Ivan\n\nCancel request\n"
    )
    assert new_text(plain) == "Ok"


def test_underscores_over_a_signature_are_kept() -> None:
    plain = (
        "Ok\n\n____________________\nIvan Petrov\nTel: +7 843 555-01-23\n"
        "E-mail: ivan@acme.example\n"
    )
    assert new_text(plain) == plain.strip()


def test_whole_body_quoted_leaves_no_new_text() -> None:
    plain = "On 25.11.2026 10:00, Support wrote:\n" + QUOTE
    assert new_text(plain) == ""


def test_rewrapped_tail_of_a_quoted_line_stays_quoted() -> None:
    plain = (
        "Ok\n\n> Hello, we have changed the trunk settings on our side, please make a\n"
        "test call\n> and tell us.\n"
    )
    assert new_text(plain) == "Ok"


def test_short_lower_case_inline_answer_is_kept() -> None:
    plain = "> Did it work?\nyes\n> Can we close it?\nResolve this issue\n"
    assert new_text(plain) == "yes\nResolve this issue"


def test_normalisation() -> None:
    plain = "\r\n\r\nCancel\u00a0request  \r\nThanks\u200b\t\r\n\r\n"
    assert new_text(plain) == "Cancel request\nThanks"


def test_nothing_at_all() -> None:
    assert split_reply(None, None).new_text == ""
    assert split_reply("", "").new_text == ""
    assert split_reply(" \n", None).quoted_text == ""


# -- plain and HTML together ---------------------------------------------------------


def test_plain_is_preferred_when_it_has_text() -> None:
    split = split_reply("Plain words", "<p>HTML words</p>")
    assert split.new_text == "Plain words"


def test_html_is_used_when_plain_is_empty() -> None:
    assert split_reply("  \n", "<p>HTML words</p>").new_text == "HTML words"


def test_html_quote_cuts_a_plain_text_that_shows_no_marker() -> None:
    # A client whose plain part drops the `>` marks: the HTML still knows.
    plain = "Thanks, it works.\n\nHello Ivan, we have changed the trunk settings.\nCancel request\n"
    html = (
        "<div>Thanks, it works.</div><blockquote type=cite>"
        "<div>Hello Ivan, we have changed the trunk settings.</div><div>Cancel request</div>"
        "</blockquote>"
    )
    split = split_reply(plain, html)
    assert split.new_text == "Thanks, it works."
    assert "Cancel request" in split.quoted_text


def test_html_quote_of_a_short_common_line_does_not_cut_plain() -> None:
    plain = "Hi,\n\nIt works.\n"
    html = "<div>Hi,</div><div>It works.</div><blockquote><div>Hi,</div></blockquote>"
    assert split_reply(plain, html).new_text == "Hi,\n\nIt works."


# -- properties ------------------------------------------------------------------------

# What the split normalises: no-break spaces become spaces, invisible characters go.
# ">>>>>>>>" or ">>> UPDATE <<<" alone: decoration the sender typed, not a quote.
_DECORATION = re.compile(r"^>{3,}(?:[^\w]*|.*<{3,})$")
_READABLE = str.maketrans(
    {"\u00a0": " ", "\u202f": " ", "\u2007": " "}
    | dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
)
_SIGN_OFF_PHRASES = quote_markers.SIGN_OFFS + quote_markers.THANKS_SIGN_OFFS
_WORDS = st.text(
    alphabet=st.sampled_from("abcdefghij klmnoABCDEабвгдеЖЗ,.!0123456789"),
    min_size=1,
    max_size=40,
).filter(
    lambda line: (
        line.strip()
        and not line.strip().startswith("-")
        # "mfg" is a German sign-off: the sender's own text rightly ends above it
        and not line.strip().lower().startswith(_SIGN_OFF_PHRASES)
    )
)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_never_raises_and_new_text_is_from_the_input(plain: str) -> None:
    split = split_reply(plain, None)
    readable = plain.translate(_READABLE)
    for line in split.new_text.split("\n"):
        assert line.strip() in readable
        assert not line.lstrip().startswith(">") or _DECORATION.match(line.strip())


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORDS, min_size=1, max_size=6), st.lists(_WORDS, min_size=1, max_size=6))
def test_quoted_lines_never_reach_new_text(top: list[str], quoted: list[str]) -> None:
    plain = (
        "\n".join(top)
        + "\n\nOn Wed, Nov 25, 2026 at 10:00 AM Support <support@example.org> wrote:\n\n"
        + "\n".join(f"> {line}" for line in quoted)
    )
    split = split_reply(plain, None)
    assert split.new_text == "\n".join(line.rstrip() for line in top).strip("\n")
    for line in quoted:
        assert line.strip() in split.quoted_text


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300))
def test_html_never_raises(html: str) -> None:
    split_reply(None, html)
    split_reply("x", html)
