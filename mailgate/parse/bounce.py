"""Delivery-status reports: which recipient bounced and which message it was.

Two kinds are read:

- RFC 3464 reports (`multipart/report; report-type=delivery-status`: Gmail,
  Postfix, Exchange, sendmail, modern Exim): the per-recipient fields say who
  failed and whether for good; the original message comes attached as
  message/rfc822 or text/rfc822-headers.
- Plain-text bounces of MTAs that send no report (qmail, classic Exim and
  Mail.ru, Postfix without report, Yandex, old Exchange in English, German and
  Russian, Gmail's text, hosters' German Exim template): read
  only when a mail-delivery robot sent them *and* the text says the mail was
  not delivered *and* a recipient can be named. The original headers are then
  often quoted in the text.

Anything less certain is not a bounce: a bounce taken for a person's mail is
stored and shown to agents; a person's mail taken for a bounce would mark
their address as bouncing.
"""

from __future__ import annotations

import re

from mailgate.domain import Bounce
from mailgate.parse.headers import is_plausible_address, parse_message_ids
from mailgate.parse.html import html_to_text
from mailgate.parse.mimetree import DecodedMail, MimePart

_STATUS_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_HEADER_TYPES = frozenset({"text/rfc822-headers", "message/global-headers"})
_MAX_RECIPIENTS = 100

_DAEMON_LOCALPART = re.compile(
    r"^(?:(?:mailer[-_.]?daemon|postmaster|mail[-_.]?delivery[-_.]?(?:system|subsystem)"
    r"|microsoftexchange[0-9a-f]{32})(?:\+.*)?|bounces?(?:[-+].*)?)$",
    re.I,
)
# What the explanation of an MTA's text bounce says (one is required).
_BOUNCE_PHRASES = re.compile(
    r"This is the qmail-send program"
    r"|This message was created automatically by mail delivery software"
    r"|could not be delivered to one or more"
    r"|I'm sorry to have to inform you that your message could not"
    r"|Delivery has failed to these recipients or groups"
    r"|Your message did not reach some or all of the intended recipients"
    r"|Your message wasn't delivered to"
    r"|There was a temporary problem delivering your message"
    r"|has not yet been delivered to one or more of its recipients"
    r"|Die Zustellung an folgende Empfänger oder Gruppen ist fehlgeschlagen"
    r"|nicht\s+zugestellt\s+werden"
    r"|Не удалось доставить|не может быть доставлено|не было доставлено|не доставлено"
    r"|Сбой доставки|не дошло до"
    r"|PERMANENT fatal delivery errors|delivery to the following recipients (?:has )?failed"
    r"|was not delivered to|not listed in (?:the )?(?:Domino Directory|public Name & Address Book)"
    r"|was (?:filtered|blocked)[ \t\n]+and[ \t\n]+has[ \t\n]+not[ \t\n]+been[ \t\n]+delivered",
    re.I,
)
# Subjects of delivery failure notices (MDaemon, Domino, content filters, and the common
# MTAs): with a failure in the text, they make a text bounce of a sender that is no robot.
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|returned mail|delivery status notification"
    r"|mail delivery failed|failure notice|(?:permanent )?delivery failure|delivery failed"
    r"|message not delivered|nondeliverable|non-?delivery|mail system error"
    r"|message delivery failure|delivery has failed|unzustellbar|nicht zustellbar"
    r"|non remis|non recapitabile|onbestelbaar|не доставлено|недоставленное сообщение"
    r"|ошибка доставки)\b",
    re.I,
)
# A failure the text of such a notice states: an SMTP reply or enhanced status, or words.
_FAILURE_TEXT = re.compile(
    r"(?<!\d)[45]\d\d[ -]#?[45]\.\d{1,3}\.\d{1,3}(?!\d)|#[45]\.\d\.\d(?!\d)"
    r"|user unknown|unknown user|no such user|mailbox (?:unavailable|not found|does not exist)"
    r"|recipient address rejected|not listed in|fatal delivery errors|was not delivered"
    r"|has not been delivered|could not be delivered|message filtered|was filtered"
    r"|не доставлено|не может быть доставлено",
    re.I,
)
_FAILURE_CHARS = 5000  # where a notice states the failure: its first lines
# Where the copy of the original message starts in a text bounce.
_ORIGINAL_MARKERS = re.compile(
    r"^[-\t ]*(?:Below this line is a copy of the message"
    r"|Enclosed is a copy of the message"
    r"|This is a copy of the message"
    r"|Original message headers:"
    r"|Original message follows"
    r"|Undelivered message headers"
    r"|Ursprüngliche Nachrichtenkopfzeilen|Dies ist eine Kopie der Nachricht"
    r"|Исходное сообщение|Заголовки исходного сообщения|Копия (?:исходного )?сообщения)",
    re.I | re.M,
)
_TEMPORARY = re.compile(
    r"temporary (?:problem|failure|error)|will (?:retry|be retried|continue trying)"
    r"|still being retried|has not yet been delivered|THIS IS A WARNING ONLY"
    r"|Delivery incomplete|delivery (?:has been )?delayed|Delayed Mail"
    r"|временн\w* ошибк|будет повтор",
    re.I,
)
# Bounded runs: an unbounded local part or domain makes a search quadratic on long words.
_ADDRESS = r"[^\s<>()\[\]\"',;:@]{1,64}@[A-Za-z0-9][A-Za-z0-9.-]{0,252}\.[A-Za-z]{2,24}"
# Recipient lines: `<a@b>:` (qmail, Postfix), `  a@b` alone (Exim, Mail.ru),
# `a@b (a@b)` or `'a@b'` (Exchange), "delivered to a@b" (Gmail).
_RECIPIENT_LINES = (
    re.compile(rf"^[ \t]*<({_ADDRESS})>(?:[ \t]*\(expanded from [^)\n]*\))?[ \t]*:", re.M),
    re.compile(rf"^ {{1,4}}({_ADDRESS})[ \t]*(?:<[^>\n]*>)?[ \t]*$", re.M),
    re.compile(rf"^[ \t]*'?({_ADDRESS})'?[ \t]*(?:\(({_ADDRESS})\)|on \d.*)?[ \t]*$", re.M),
    re.compile(rf"(?:wasn't|was not) delivered to ({_ADDRESS})", re.I),
    re.compile(rf"delivering your message to ({_ADDRESS})", re.I),
    re.compile(rf"message to <?({_ADDRESS})>? (?:was|has been) (?:filtered|blocked)", re.I),
)
_MESSAGE_ID_LINE = re.compile(r"^[ \t]*Message-ID:[ \t]*(<[^<>\s]+>)", re.I | re.M)
# Every pattern above is anchored to lines with [ \t], never \s: under re.M a
# `^\s*` spans blank lines and makes a search quadratic in their number.


def read_bounce(mail: DecodedMail) -> Bounce | None:
    """What a delivery failure (or delay) report says, or None when this is not one."""
    report = _read_report(mail)
    if report is not None:
        return report
    return _read_text_bounce(mail)


def _own_parts(mail: DecodedMail) -> list[MimePart]:
    """Parts of the report itself, not of a message attached to it (a forwarded bounce is mail)."""
    return [part for part in mail.parts if not part.in_message]


def _read_report(mail: DecodedMail) -> Bounce | None:
    failed: list[str] = []
    delayed: list[str] = []
    permanent_status = False
    found = False
    for part in _own_parts(mail):
        if part.content_type not in _STATUS_TYPES or part.text is None:
            continue
        found = True
        for block in _field_blocks(part.text)[1:]:  # the first block is about the whole message
            recipient = _address_field(
                block.get("final-recipient") or block.get("original-recipient")
            )
            if recipient is None:
                continue
            action = (block.get("action") or "").strip().lower()
            status = (block.get("status") or "").strip()
            if action == "failed" or (not action and status.startswith("5")):
                failed.append(recipient)
                permanent_status = permanent_status or not status.startswith("4")
            elif action == "delayed" or (not action and status.startswith("4")):
                delayed.append(recipient)
    if not found or not (failed or delayed):
        return None  # no report, or one saying delivered / relayed / expanded
    return Bounce(
        recipients=_unique(failed or delayed),
        original_message_id=_original_message_id(mail, text=None),
        permanent=bool(failed) and permanent_status,
    )


def _read_text_bounce(mail: DecodedMail) -> Bounce | None:
    if not _is_from_delivery_robot(mail):
        return None
    text = mail.plain if mail.plain is not None else html_to_text(mail.html or "")
    text = text[:200_000]
    marker = _ORIGINAL_MARKERS.search(text)
    explanation = text[: marker.start()] if marker else text
    if not _BOUNCE_PHRASES.search(explanation):
        return None
    recipients: list[str] = []
    for pattern in _RECIPIENT_LINES:
        for match in pattern.finditer(explanation):
            address = match.group(1).lower()
            if is_plausible_address(address) and not _is_robot_address(address):
                recipients.append(address)
        if recipients:
            break
    if not recipients:
        return None
    return Bounce(
        recipients=_unique(recipients),
        original_message_id=_original_message_id(
            mail, text=text[marker.start() :] if marker else text
        ),
        permanent=not _TEMPORARY.search(explanation),
    )


def is_failure_notice(mail: DecodedMail) -> bool:
    """A delivery failure notice by its subject ("Undeliverable:", "Permanent Delivery
    Failure", "DELIVERY FAILURE: User … not listed in Domino Directory") and a failure
    its text states (an SMTP status, "User unknown", "was filtered"): two signs, for
    the MTAs whose robot has a name of its own (MDaemon, Domino's Mail Router, a
    content filter)."""
    if not _BOUNCE_SUBJECT.match(mail.header("subject") or ""):
        return False
    text = mail.plain if mail.plain is not None else html_to_text((mail.html or "")[:200_000])
    return _FAILURE_TEXT.search(text[:_FAILURE_CHARS]) is not None


def _is_from_delivery_robot(mail: DecodedMail) -> bool:
    if is_failure_notice(mail):
        return True
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", ""):
        return True
    sender = " ".join(mail.raw_header_all("from")).lower()
    addresses = re.findall(_ADDRESS, sender)
    if not addresses:
        return "mailer-daemon" in sender or "postmaster" in sender
    return any(_is_robot_address(address) for address in addresses)


def _is_robot_address(address: str) -> bool:
    return bool(_DAEMON_LOCALPART.match(address.rpartition("@")[0]))


def _original_message_id(mail: DecodedMail, *, text: str | None) -> str | None:
    """The bounced message's Message-ID: from the attached copy, else the quoted headers."""
    parts = mail.parts
    for part in parts:
        if part.in_message and part.starts_message and part.parent >= 0:
            holder = parts[part.parent]
            if holder.in_message:  # a message attached inside the attached message
                continue
            ids = parse_message_ids(part.header("message-id"))
            if ids:
                return ids[0]
        elif part.content_type in _HEADER_TYPES and not part.in_message and part.text:
            ids = parse_message_ids(_field_blocks(part.text)[0].get("message-id"))
            if ids:
                return ids[0]
    if text:
        match = _MESSAGE_ID_LINE.search(text)
        if match:
            ids = parse_message_ids(match.group(1))
            return ids[0] if ids else None
    return None


def _field_blocks(text: str) -> list[dict[str, str]]:
    """`Name: value` blocks separated by blank lines (RFC 3464 delivery-status, header copies)."""
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    name = ""
    for line in text.split("\n")[:5000]:
        if not line.strip():
            if current:
                blocks.append(current)
                current, name = {}, ""
            continue
        if line[0] in " \t" and name:
            current[name] += " " + line.strip()
            continue
        key, colon, value = line.partition(":")
        if colon and key.strip() and " " not in key.strip():
            name = key.strip().lower()
            current.setdefault(name, value.strip())
    if current:
        blocks.append(current)
    return blocks or [{}]


def _address_field(value: str | None) -> str | None:
    """`rfc822; a@b` (or `utf-8; a@b`, or a bare address) -> `a@b`."""
    if not value:
        return None
    address = value.rpartition(";")[2].strip().strip("<>").strip().lower()
    return address if is_plausible_address(address) else None


def _unique(addresses: list[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(addresses))[:_MAX_RECIPIENTS]
