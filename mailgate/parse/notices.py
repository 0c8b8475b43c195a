"""Notices a mail program writes by itself: recalls, read receipts, meeting responses, ticket acks.

Each carries no header that marks it, so each needs its subject prefix *and*
the fixed text that program writes under it; a person who titles a mail
"Recall: the laptop…" or "Read: your instructions" writes their own text.
"""

from __future__ import annotations

import re

from mailgate.parse.html import html_to_text
from mailgate.parse.mimetree import DecodedMail

_TEXT_CHARS = 800  # how much of the text is read

# Outlook's recall request, sent as plain mail to recipients outside Exchange:
# the sender's name and one sentence naming the message, nothing else.
_RECALL_SUBJECT = re.compile(r"^\s*(?:recall|rückruf|отзыв|rappel|recuperar|richiamo)\s*:", re.I)
_RECALL_TEXT = re.compile(
    r"[^\n]{1,120}?\s(?:would\s+like\s+to\s+recall\s+the\s+message,?\s+\S"
    r"|möchte\s+die\s+Nachricht\s+\S[^\n]{0,300}\szurückrufen"
    r"|хочет\s+отозвать\s+сообщение\s+\S"
    r"|souhaite\s+rappeler\s+le\s+message\s+\S)"
    r"[^\n]{0,300}",
    re.I,
)
# A read receipt sent as text (Outlook without an MDN): "Your message" alone on
# its line, the To/Subject/Sent lines, then "was read on …".
_RECEIPT_SUBJECT = re.compile(
    r"^\s*(?:read|gelesen|прочитано|lu|leído|letto|gelezen|lido)\s*:", re.I
)
_RECEIPT_TEXT = re.compile(
    r"\A\s*(?:your\s+message|ihre\s+nachricht|ваше\s+сообщение|votre\s+message)[ \t]*\n"
    r".{0,600}?\n[ \t]*(?:was\s+read\s+on\b|wurde\s+am\b.{0,80}?\bgelesen\b|было\s+прочитано"
    r"|a\s+été\s+lu\b)",
    re.I | re.S,
)
# A meeting response (iTIP REPLY): the calendar program writes it when the
# person clicks Accept or Decline. Under it, either no text, or the one line
# Google Calendar writes; a typed comment makes it a person's mail.
_CALENDAR_LINE = re.compile(
    r"[^\n]{1,120}?\s(?:has\s+(?:accepted|declined|tentatively\s+accepted)\s+this\s+invitation"
    r"|hat\s+diese\s+Einladung\s+(?:angenommen|abgelehnt)"
    r"|(?:принял|отклонил|принял\s+под\s+вопросом)а?\s+это\s+приглашение)\.?[ \t]*(?:\n|\Z)",
    re.I,
)
# Help-desk acknowledgements of a new ticket (Freshdesk, Zoho, OTRS/Znuny, Russian
# help desks): a machine answering our mail, and a loop if answered in turn.
_ACK_SUBJECT = re.compile(
    r"^\s*(?:\[[^\]\n]{1,40}\]\s*)?(?:ticket\s+received\s*[-–:]|request\s+received\s*[-–:]"
    r"|we(?:'ve|\s+have)\s+received\s+your\s+(?:request|message|e-?mail)"
    r"|ваша\s+заявка(?:\s+№?\s*\d+)?\s+(?:принята|зарегистрирована)"
    r"|ваше\s+обращение(?:\s+№?\s*\d+)?\s+(?:принято|зарегистрировано)"
    r"|ihre\s+anfrage(?:\s+ist)?\s+eingegangen|eingangsbestätigung)",
    re.I,
)
# The text gives the new ticket's number, or says it was written automatically.
_ACK_TEXT = re.compile(
    r"\b(?:ticket|request|case)\s*(?:id|#|number|no\.?)?\s*[-:]?\s*#?\d{3,}\b"
    r"|(?:заявк|обращени)\w*\s*(?:№|номер|#)\s*\d{3,}"
    r"|\b(?:ticket|vorgangs|anfrage)nummer\s*[-:]?\s*#?\d{3,}"
    r"|\bautomatisch\s+(?:erstellt|generiert|erzeugt|versendet)"
    r"|(?:сформировано|отправлено)\s+автоматически|\bautomatically\s+generated"
    r"|\bthis\s+is\s+an\s+automated\s+(?:message|response|reply)",
    re.I,
)


def is_recall(mail: DecodedMail) -> bool:
    subject = mail.header("subject") or ""
    return bool(_RECALL_SUBJECT.match(subject)) and bool(
        _RECALL_TEXT.fullmatch(_text(mail).strip())
    )


def is_text_read_receipt(mail: DecodedMail) -> bool:
    subject = mail.header("subject") or ""
    return bool(_RECEIPT_SUBJECT.match(subject)) and bool(_RECEIPT_TEXT.match(_text(mail)))


def is_calendar_reply(mail: DecodedMail) -> bool:
    """An iTIP REPLY part of the mail's own, and no text of the person's beside it."""
    if not any(
        part.content_type == "text/calendar"
        and not part.in_message
        and "method=reply" in (part.header("content-type") or "").lower().replace(" ", "")
        for part in mail.parts
    ):
        return False
    text = _text(mail).strip()
    return not text or bool(_CALENDAR_LINE.match(text))


def is_ticket_acknowledgement(mail: DecodedMail) -> bool:
    subject = mail.header("subject") or ""
    if not _ACK_SUBJECT.match(subject):
        return False
    text = _text(mail)
    return "?" not in text and "?" not in subject and bool(_ACK_TEXT.search(text))


def _text(mail: DecodedMail) -> str:
    """The opening of the text, from the HTML when there is no text/plain (rules ask only
    after their subject matched, so the HTML is rarely read)."""
    if mail.plain is not None:
        return mail.plain[:_TEXT_CHARS]
    return html_to_text((mail.html or "")[: 50 * _TEXT_CHARS])[:_TEXT_CHARS]
