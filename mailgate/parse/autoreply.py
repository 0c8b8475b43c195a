"""Auto-replies that carry no auto-responder header: a subject, and a second sign.

Old clients, server-side rules and hosted auto-responders in many languages
send out-of-office replies with nothing but an "Automatic reply:" subject.
A person may write such a subject too ("Out of office: how do I set it up?"),
so the subject never counts alone: one more sign, independent of it, must
show that no person wrote the mail (see docs/hygiene.md).
"""

from __future__ import annotations

import re

from mailgate.parse.html import html_to_text
from mailgate.parse.mimetree import DecodedMail

# Subjects auto-responders write: a prefix and a colon, then the original
# subject. Exchange localises "Automatic reply:" into the user's language;
# Yandex, Mail.ru, Gmail vacation, Lotus/HCL Notes ("AUTO:") and sieve
# vacation scripts have their own. The prefixes that name the reply as
# automatic are kept apart from the ones that only say the writer is away: a
# person may title a mail "Out of office: back on Monday", never "Automatic
# reply:".
_AUTOMATIC_PREFIXES = (
    r"automatic\s+reply|auto(?:matic)?[-\s]?reply|autoreply|auto[-\s]?response|automatic\s+response"
    r"|автоматический\s+ответ|автоответ|автоответчик|автоматична\s+відповідь"
    r"|automatische\s+antwort|réponse\s+automatique|respuesta\s+automática"
    r"|risposta\s+automatica|automatisch\s+antwoord|resposta\s+automática"
    r"|odpowiedź\s+automatyczna|automatyczna\s+odpowiedź|automatická\s+odpověď"
    r"|automatiskt\s+svar|automatisk\s+svar|automaattinen\s+vastaus|automatikus\s+válasz"
    r"|otomatik\s+(?:yanıt|cevap)|αυτόματη\s+απάντηση"
    r"|自動応答|自動返信|自动回复|自動回覆|自動回復"
)
_AWAY_PREFIXES = (
    r"auto|out\s+of\s+(?:the\s+)?office(?:\s+auto\s*reply)?|vacation(?:\s+reply)?|away"
    r"|нет\s+на\s+месте|в\s+отпуске|abwesenheitsnotiz|abwesend|nicht\s+im\s+büro"
    r"|absence|absente?\s+du\s+bureau|fuera\s+de\s+la\s+oficina|ausente"
    r"|fuori\s+(?:sede|ufficio)|afwezig|fora\s+do\s+escritório|不在"
)
_AUTOREPLY_SUBJECT = re.compile(rf"^\s*(?:{_AUTOMATIC_PREFIXES}|{_AWAY_PREFIXES})\s*[:：]", re.I)
_AUTOMATIC_SUBJECT = re.compile(rf"^\s*(?:{_AUTOMATIC_PREFIXES})\s*[:：]", re.I)
# Lotus/HCL Notes: "AUTO: Ivan Petrov is out of the office (returning 23.03.2026)".
_OUT_OF_OFFICE_SUBJECT = re.compile(r"\bis\s+(?:currently\s+)?out\s+of\s+(?:the\s+)?office\b", re.I)
# Headers of auto-responders that are not strong on their own.
_HINT_HEADERS = (
    "x-ms-exchange-inbox-rules-loop",
    "x-ms-exchange-generated-message-source",
    "x-ms-exchange-organization-autoresponsesuppress",
    "x-mailer-autoreply",
)
_MACHINE_MAILERS = re.compile(r"vacation|auto[-_ ]?reply|auto[-_ ]?respond|autoresponder", re.I)

# The opening of an auto-reply's text: it says it is one...
_SAYS_AUTOMATIC = re.compile(
    r"\bthis\s+is\s+an?\s+(?:automatic|automated|auto-generated|automatically\s+generated)"
    r"\s+(?:reply|response|message|e-?mail|notification)"
    r"|\bdies\s+ist\s+eine\s+automatische\s+(?:antwort|nachricht|abwesenheitsnotiz)"
    r"|\bceci\s+est\s+une?\s+(?:réponse|message)\s+automatique"
    r"|\b(?:éste|este)\s+es\s+un\s+(?:mensaje|correo)\s+automático"
    r"|\besta\s+es\s+una\s+respuesta\s+automática"
    r"|\bquesta\s+è\s+una\s+risposta\s+automatica|\bquesto\s+è\s+un\s+messaggio\s+automatico"
    r"|\bdit\s+is\s+een\s+automatisch\s+(?:antwoord|bericht|gegenereerd)"
    r"|\besta\s+é\s+uma\s+(?:resposta|mensagem)\s+automática"
    r"|\bto\s+jest\s+(?:automatyczna\s+(?:odpowiedź|wiadomość)|wiadomość\s+automatyczna)"
    r"|это\s+автоматическ\w+\s+(?:ответ|сообщение|письмо)"
    r"|(?:данное|это)\s+(?:сообщение|письмо)\s+(?:сформировано|отправлено)\s+автоматически",
    re.I | re.S,
)
# ...or is Notes' away message (a sentence a person may write too: it only
# counts under an auto-reply subject)...
_NOTES_AWAY = re.compile(
    r"\bI\s+will\s+be\s+out\s+of\s+the\s+office\s+starting\b.{1,60}?\band\s+will\s+not\s+return",
    re.I | re.S,
)
# ...or thanks for the mail and says its writer is away.
_THANKS = re.compile(
    r"\bthanks?(?:\s+you)?\s+for\s+your\s+(?:e-?mail|message|mail|note)"
    r"|\bdank\s+für\s+ihre\s+(?:nachricht|e-?mail|mail)"
    r"|\bmerci\s+(?:pour|de)\s+votre\s+(?:message|e-?mail|courriel)"
    r"|\bgracias\s+por\s+su\s+(?:mensaje|correo|e-?mail)"
    r"|\bgrazie\s+per\s+(?:il\s+suo|la\s+sua)\s+(?:messaggio|e-?mail|mail)"
    r"|\bbedankt\s+voor\s+(?:uw|je)\s+(?:bericht|e-?mail|mail)"
    r"|\bobrigad[oa]\s+(?:pela\s+sua|por\s+sua|pelo\s+seu)\s+(?:mensagem|e-?mail|contato)"
    r"|\bdziękuję\s+za\s+(?:wiadomość|e-?mail|maila)"
    r"|(?:спасибо|благодарю)\s+за\s+(?:ваше\s+)?(?:письмо|сообщение)",
    re.I,
)
_AWAY = re.compile(
    r"\bout\s+of\s+(?:the\s+)?office|\bon\s+(?:annual\s+|parental\s+|sick\s+|maternity\s+)?leave"
    r"|\bon\s+(?:holiday|vacation)|\baway\s+from\s+(?:the\s+|my\s+)?(?:office|desk)"
    r"|\bcurrently\s+away|\bnot\s+in\s+the\s+office"
    r"|\bnicht\s+im\s+büro|\babwesend|\bim\s+urlaub|\baußer\s+haus"
    r"|\babsente?\s+du\s+bureau|\ben\s+congés?|\bfuera\s+de\s+la\s+oficina|\bde\s+vacaciones"
    r"|\bfuori\s+(?:ufficio|sede)|\bin\s+ferie|\bniet\s+op\s+kantoor|\bafwezig|\bmet\s+vakantie"
    r"|\bfora\s+do\s+escritório|\bde\s+férias|\bpoza\s+biurem|\bna\s+urlopie"
    r"|в\s+отпуске|отсутствую|не\s+в\s+офисе|вне\s+офиса|в\s+командировке",
    re.I,
)
# ...or says when its writer answers: on their return, with limited access to mail.
_RETURN = re.compile(
    r"\b(?:up)?on\s+my\s+return|\bwhen\s+I\s+(?:am\s+back|return|get\s+back)"
    r"|\bI\s+will\s+(?:be\s+back|return)\b|\blimited\s+access\s+to\s+(?:my\s+)?e-?mails?"
    r"|\b(?:nach|bei)\s+meiner\s+rückkehr|\b(?:à|dès)\s+mon\s+retour|\ba\s+mi\s+regreso"
    r"|\bal\s+mio\s+rientro|\bbij\s+(?:mijn\s+)?terugkomst|\bpo\s+powrocie"
    r"|по\s+возвращении|после\s+возвращения|когда\s+вернусь",
    re.I,
)
_OPENING_CHARS = 800  # how much of the text is read for the body sign
_HEAD_CHARS = 300  # the first lines, where an auto-reply without its subject says what it is


def is_autoreply_subject(mail: DecodedMail) -> bool:
    """An auto-reply subject, and a second sign that no person wrote the mail.

    The second sign is one of: an auto-responder header that is not strong on
    its own, an X-Mailer naming a vacation program, `In-Reply-To` without
    `References` (as Exchange's OOF and old clients answer), no text at all
    under a prefix that says "automatic", or a text that opens the way
    auto-replies do (see `_opens_like_an_autoreply`).
    """
    subject = mail.header("subject") or ""
    if not (_AUTOREPLY_SUBJECT.match(subject) or _OUT_OF_OFFICE_SUBJECT.search(subject)):
        return False
    if any(mail.header(name) is not None for name in _HINT_HEADERS):
        return True
    mailer = " ".join(mail.header_all("x-mailer") + mail.header_all("user-agent"))
    if _MACHINE_MAILERS.search(mailer):
        return True
    if mail.header("in-reply-to") is not None and mail.header("references") is None:
        return True
    if _AUTOMATIC_SUBJECT.match(subject) and not _opening(mail).strip():
        return True
    return _opens_like_an_autoreply(mail)


def is_autoreply_text(mail: DecodedMail) -> bool:
    """A text/plain reply whose first lines say it is automatic and that says its writer is away.

    For auto-responders that keep the subject ("Re: [REQ-5] …") and set no
    header. A person mentioning an auto-reply does it further down, or asks.
    """
    if not mail.plain:
        return False
    opening = mail.plain[:_OPENING_CHARS]
    head = "\n".join(opening.lstrip().split("\n", 2)[:2])[:_HEAD_CHARS]
    return (
        bool(_SAYS_AUTOMATIC.search(head))
        and "?" not in opening
        and "？" not in opening
        and bool(_AWAY.search(opening))
    )


def _opens_like_an_autoreply(mail: DecodedMail) -> bool:
    """The text says it is an automatic reply, or says its writer is away and thanks for
    the mail or says when they answer ("upon my return").

    A person asking about their own out-of-office ("I am away next week and the
    auto-reply is not sent: can you check?") asks something; an auto-reply
    does not, so a question mark in the opening rules the body sign out.
    """
    opening = _opening(mail)
    if "?" in opening or "？" in opening:
        return False
    if _SAYS_AUTOMATIC.search(opening) or _NOTES_AWAY.search(opening):
        return True
    return bool((_THANKS.search(opening) or _RETURN.search(opening)) and _AWAY.search(opening))


def _opening(mail: DecodedMail) -> str:
    if mail.plain is not None:
        return mail.plain[:_OPENING_CHARS]
    # 40,000 characters hold a long <style> head; a megabyte of markup is not read
    return html_to_text((mail.html or "")[: 50 * _OPENING_CHARS])[:_OPENING_CHARS]
