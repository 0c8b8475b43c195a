"""The benchmark's mail: small first messages of new requests, one per sender.

Deterministic (the same `count` gives the same bytes on every run and every
machine), so figures taken on different days are measured on the same
corpus. Each mail looks like what a support inbox receives from a person: two
`Received` hops, a `Return-Path`, the client's own `Message-ID` and mailer,
a short text body in English or Russian; every third one is
multipart/alternative with an HTML part, as Gmail and Outlook send them.
"""

from __future__ import annotations

import datetime as dt
import random
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

SUPPORT_ADDRESS = "support@example.org"
AGENT_ADDRESS = "team@example.org"

_MAILERS = [
    ("User-Agent", "Mozilla Thunderbird 128.5.0"),
    ("X-Mailer", "Microsoft Outlook 16.0"),
    ("X-Mailer", "Apple Mail (2.3774.300.61.1.2)"),
    ("User-Agent", "K-9 Mail for Android"),
]
_PROBLEMS_EN = [
    ("Phones cannot call out", "our phones cannot call out since this morning"),
    ("Call forwarding does not work", "calls to extension {ext} are not forwarded any more"),
    ("Voicemail is silent", "the voicemail of extension {ext} plays no greeting"),
    ("Echo on outgoing calls", "every outgoing call has a strong echo"),
]
_PROBLEMS_RU = [
    ("Не работает переадресация", "переадресация с номера {ext} перестала работать"),
    ("Нет исходящей связи", "с утра не проходят исходящие звонки"),
    ("Пропал звук в IVR", "в голосовом меню нет приветствия"),
]
_START = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))


CORPORA = ("small", "mixed")


def make_corpus(count: int, *, seed: int = 8, kind: str = "small") -> list[bytes]:
    """`count` new-request mails from distinct senders, oldest first.

    `small`: every mail short, every third with an HTML alternative. `mixed`, as
    real support inboxes are: a quarter of the mail HTML only (a styled body, a
    signature table), and one in ten with a small file (a 20 to 60 KB PDF or
    screenshot)."""
    chooser = random.Random(seed)
    if kind == "small":
        return [make_mail(number, chooser) for number in range(count)]
    return [mixed_mail(number, chooser).as_bytes() for number in range(count)]


def mixed_mail(number: int, chooser: random.Random) -> EmailMessage:
    """A mail of the `mixed` corpus: HTML only, with a file, or as `new_request`."""
    mail = new_request(number, chooser)
    if number % 4 == 1:
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        mail.clear_content()
        mail.set_content(_html_only(text), subtype="html")
    if number % 10 == 7:
        size = 20_000 + chooser.randrange(40_000)
        data = chooser.randbytes(size)
        if number % 20 == 7:
            mail.add_attachment(b"%PDF-1.7\n" + data, maintype="application", subtype="pdf",
                                filename=f"invoice-{number}.pdf")  # fmt: skip
        else:
            mail.add_attachment(b"\x89PNG\r\n\x1a\n" + data, maintype="image", subtype="png",
                                filename=f"screenshot-{number}.png")  # fmt: skip
        mail.set_boundary(f"=_mixed_{number:08d}_=")
    return mail


def _html_only(text: str) -> str:
    """A body as Outlook or a webmail sends it HTML only: styles, divs, a signature table."""
    *paragraphs, signature = text.split("\n\n")
    body = "".join(
        f'<div style="font-family:Calibri,sans-serif;font-size:11pt"><p class="MsoNormal">'
        f"{paragraph}</p></div>"
        for paragraph in paragraphs
    )
    lines = "<br>".join(signature.split("\n"))
    return (
        "<html><head><style>p.MsoNormal{margin:0}</style></head><body>"
        f'{body}<table cellpadding="0" style="border-top:1px solid #ccc"><tr>'
        f'<td style="color:#555">{lines}</td></tr></table></body></html>'
    )


def make_mail(number: int, chooser: random.Random) -> bytes:
    """One client's first mail to support, as it arrives over SMTP (CRLF line ends)."""
    return new_request(number, chooser).as_bytes()


def new_request(number: int, chooser: random.Random) -> EmailMessage:
    """The message `make_mail` sends, to add files to (bench/attachments.py)."""
    russian = number % 4 == 3
    subject, problem = chooser.choice(_PROBLEMS_RU if russian else _PROBLEMS_EN)
    extension = 100 + chooser.randrange(900)
    domain = f"corp{number % 97}.example"
    sender = f"client{number}@{domain}"
    sent_at = _START + dt.timedelta(seconds=17 * number)
    date = format_datetime(sent_at)
    name = f"Клиент {number}" if russian else f"Client {number}"

    mail = EmailMessage(policy=SMTP)
    mail["Return-Path"] = f"<{sender}>"
    mail["Received"] = (
        f"from mx.example.org (mx.example.org [192.0.2.10]) by imap.example.org "
        f"with LMTP id {number:08x}; {date}"
    )
    mail["Received"] = (
        f"from mail.{domain} (mail.{domain} [198.51.100.{number % 250 + 1}]) "
        f"by mx.example.org with ESMTPS id {chooser.getrandbits(48):012x}; {date}"
    )
    mail["From"] = f"{name} <{sender}>"
    mail["To"] = f"Support <{SUPPORT_ADDRESS}>"
    mail["Subject"] = f"{subject} (site {number % 40})"
    mail["Date"] = date
    mail["Message-ID"] = f"<{chooser.getrandbits(64):016x}.{number}@mail.{domain}>"
    header, mailer = _MAILERS[number % len(_MAILERS)]
    mail[header] = mailer
    mail["Content-Language"] = "ru-RU" if russian else "en-US"

    text = _body(russian, problem.format(ext=extension), name)
    mail.set_content(text)
    if number % 3 == 0:
        paragraphs = "".join(f"<p>{line}</p>" for line in text.split("\n\n"))
        mail.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
        mail.set_boundary(f"=_alt_{number:08d}_=")  # the email package picks a random one
    return mail


def _body(russian: bool, problem: str, name: str) -> str:
    if russian:
        return f"Здравствуйте!\n\nУ нас {problem}. Проверьте, пожалуйста.\n\nС уважением,\n{name}"
    return (
        f"Hello,\n\n{problem.capitalize()}. Could you have a look, please?\n\nBest regards,\n{name}"
    )
