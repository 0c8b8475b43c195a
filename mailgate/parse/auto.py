"""Is this message from a machine? Auto-replies, lists, bounces and loops (SPEC §5).

Machine mail is stored but never answered, never opens a request and changes
no status, so the cost of a wrong "machine" is a person ignored: every rule
here is a mark that mail clients do not put on mail a person writes. Rules
that a person could trip by accident (an "Out of office" subject) only count
together with a second, independent sign. See docs/hygiene.md.
"""

from __future__ import annotations

import re
from enum import StrEnum

from mailgate.domain import Address
from mailgate.parse.autoreply import is_autoreply_subject, is_autoreply_text
from mailgate.parse.bounce import is_failure_notice
from mailgate.parse.headers import parse_addresses
from mailgate.parse.machine_fields import (
    AUTOREPLY_HEADER_VALUES,
    AUTOREPLY_HEADERS,
    BULK_MARKERS,
    LIST_HEADERS,
    LIST_MANAGER_HEADERS,
)
from mailgate.parse.mimetree import DecodedMail
from mailgate.parse.notices import (
    is_calendar_reply,
    is_recall,
    is_text_read_receipt,
    is_ticket_acknowledgement,
)

# Every notification mailgate sends carries `X-Loop: mailgate`: seen coming
# back, it is our own mail (or another mailgate's), and answering it would loop.
MAILGATE_LOOP_MARKER = "mailgate"
LOOP_HEADER = "X-Loop"


class MachineReason(StrEnum):
    """Why a message counts as machine mail; the values are stable (logged and stored)."""

    OWN_LOOP = "own-loop-marker"
    OWN_ADDRESS = "own-address"
    AUTO_SUBMITTED = "auto-submitted"
    PRECEDENCE = "precedence"
    AUTO_RESPONSE_SUPPRESS = "x-auto-response-suppress"
    LIST_ID = "list-id"
    LIST_HEADER = "list-header"
    LIST_SENDER = "list-sender"
    LIST_MANAGER = "list-manager"
    BULK_UNSUBSCRIBE = "list-unsubscribe"
    AUTOREPLY_HEADER = "autoreply-header"
    LOOP_HEADER = "x-loop"
    EMPTY_RETURN_PATH = "empty-return-path"
    MACHINE_SENDER = "machine-sender"
    DELIVERY_REPORT = "delivery-report"
    READ_RECEIPT = "read-receipt"
    FEEDBACK_REPORT = "feedback-report"
    AUTOREPLY_SUBJECT = "autoreply-subject"
    AUTOREPLY_TEXT = "autoreply-text"
    MESSAGE_RECALL = "message-recall"
    CALENDAR_REPLY = "calendar-reply"
    TICKET_ACKNOWLEDGEMENT = "ticket-acknowledgement"


_PRECEDENCE_MACHINE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
# X-Mailer values of auto-responder programs (the Unix `vacation`, and others).
_AUTORESPONDER_MAILER = re.compile(
    r"\s*(?:vacation|auto[-_ ]?respond(?:er)?|auto[-_ ]?reply)\b", re.I
)
# Local parts of machine senders: daemons, "do not reply" robots, VERP/bounce
# processors and Exchange's system mailbox (MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e).
_MACHINE_LOCALPART = re.compile(
    r"^(?:(?:mailer[-_.]?daemon|postmaster|mail[-_.]?delivery[-_.]?(?:system|subsystem)"
    r"|microsoftexchange[0-9a-f]{32})(?:\+.*)?"
    r"|(?:no[-_.]?reply|do[-_.]?not[-_.]?reply)(?:[-+._].*)?"
    r"|bounces?(?:[-+].*)?)$",
    re.I,
)
# The envelope address a list server sets as Sender (RFC 5322 §3.6.2):
# Majordomo's owner-<list>, <list>-owner, <list>-request, Mailman's
# <list>-bounces (+ VERP) and ezmlm's <list>-return-<n>.
_LIST_SENDER_LOCALPART = re.compile(
    r"^(?:owner-.+|.+-(?:owner|request|bounces(?:\+.*)?|return-\d+(?:-.*)?))$", re.I
)
# Majordomo, LISTSERV and friends write from their own robot address.
_LIST_MANAGER_LOCALPART = re.compile(r"^(?:majordomo|listserv|listproc|sympa|ecartis)$", re.I)
# Abuse reports that are not RFC 5965 multipart/report: Microsoft-style JMRP
# (and AOL) mail wraps the complaint in multipart/mixed with this opening.
_ABUSE_REPORT_OPENING = re.compile(
    r"^\s*This is an? (?:e-?mail )?abuse report for an? (?:e-?mail )?message\b", re.I
)
# An RFC 5965 feedback report sent as text/plain: its field block opens the part.
_FEEDBACK_FIELDS = re.compile(r"\A\s*(?:[A-Za-z-]+:[^\n]*\n){0,10}?Feedback-Type:[ \t]*\S", re.I)
_FEEDBACK_SECOND_FIELD = re.compile(r"^(?:Version:[ \t]*\d|User-Agent:[ \t]*\S)", re.I | re.M)
# The same field block further down a report part, under a line of prose.
_FEEDBACK_TYPE_LINE = re.compile(r"^Feedback-Type:[ \t]*\S", re.I | re.M)
_ARF_HEADERS = ("x-arf", "x-xarf")  # X-ARF reports say so: "X-ARF: YES", v0.2 "X-XARF: PLAIN"
_ATTACHED_ORIGINAL = frozenset({"message/rfc822", "text/rfc822-headers", "message/global"})


def classify_machine_mail(mail: DecodedMail, *, own_addresses: frozenset[str]) -> str | None:
    """A short, stable reason (a `MachineReason` value) when a machine sent the message, else None.

    `own_addresses` are mailgate's own addresses (support and SMTP From),
    compared exactly and without case.
    """
    for value in mail.header_all("x-loop"):
        if value.strip().lower() == MAILGATE_LOOP_MARKER:
            return MachineReason.OWN_LOOP
    senders = parse_addresses(mail.raw_header_all("from"))
    own = {address.strip().lower() for address in own_addresses}
    if any(sender.address in own for sender in senders):
        return MachineReason.OWN_ADDRESS
    auto_submitted = _token(mail.header("auto-submitted"))
    if auto_submitted and auto_submitted != "no":
        return MachineReason.AUTO_SUBMITTED
    if _token(mail.header("precedence")) in _PRECEDENCE_MACHINE:
        return MachineReason.PRECEDENCE
    if mail.header("x-auto-response-suppress") is not None:
        return MachineReason.AUTO_RESPONSE_SUPPRESS
    if mail.header("list-id") is not None:
        return MachineReason.LIST_ID
    if any(mail.header(name) is not None for name in LIST_HEADERS):
        return MachineReason.LIST_HEADER
    if any(mail.header(name) is not None for name in LIST_MANAGER_HEADERS):
        return MachineReason.LIST_MANAGER
    if mail.header("list-unsubscribe") is not None and any(
        mail.header(name) is not None for name in BULK_MARKERS
    ):
        return MachineReason.BULK_UNSUBSCRIBE
    if any(_is_set(mail.header(name)) for name in AUTOREPLY_HEADERS):
        return MachineReason.AUTOREPLY_HEADER
    if any(_AUTORESPONDER_MAILER.match(value) for value in mail.header_all("x-mailer")):
        return MachineReason.AUTOREPLY_HEADER
    if _has_autoresponder_value(mail):
        return MachineReason.AUTOREPLY_HEADER
    if mail.header("x-loop") is not None:
        return MachineReason.LOOP_HEADER
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip() in ("<>", "", "< >"):
        return MachineReason.EMPTY_RETURN_PATH
    if any(is_machine_sender(sender.address) for sender in senders):
        return MachineReason.MACHINE_SENDER
    if not senders and "mailer-daemon" in " ".join(mail.header_all("from")).lower():
        return MachineReason.MACHINE_SENDER  # `From: MAILER-DAEMON`, with no domain
    if any(_LIST_MANAGER_LOCALPART.match(sender.address.rpartition("@")[0]) for sender in senders):
        return MachineReason.LIST_MANAGER
    if _is_list_sender(mail, senders):
        return MachineReason.LIST_SENDER
    report = report_type(mail)
    if report is not None:
        return report
    if is_failure_notice(mail):
        return MachineReason.DELIVERY_REPORT
    if _is_abuse_report(mail):
        return MachineReason.FEEDBACK_REPORT
    if is_autoreply_subject(mail):
        return MachineReason.AUTOREPLY_SUBJECT
    return _generated_notice(mail)


# Notices that only their text shows (mailgate/parse/notices.py), after the header
# rules; each asks first for a cheap sign (its subject prefix, a calendar part).
_NOTICE_RULES = (
    (is_text_read_receipt, MachineReason.READ_RECEIPT),
    (is_recall, MachineReason.MESSAGE_RECALL),
    (is_calendar_reply, MachineReason.CALENDAR_REPLY),
    (is_ticket_acknowledgement, MachineReason.TICKET_ACKNOWLEDGEMENT),
    (is_autoreply_text, MachineReason.AUTOREPLY_TEXT),
)


def _generated_notice(mail: DecodedMail) -> MachineReason | None:
    for rule, reason in _NOTICE_RULES:
        if rule(mail):
            return reason
    return None


def report_type(mail: DecodedMail) -> MachineReason | None:
    """Delivery reports, read receipts and abuse reports (RFC 6522 multipart/report)."""
    kinds = {part.content_type for part in mail.parts if not part.in_message}
    if mail.content_type == "multipart/report" or kinds & _REPORT_KINDS:
        if kinds & {"message/delivery-status", "message/global-delivery-status"}:
            return MachineReason.DELIVERY_REPORT
        if kinds & {"message/disposition-notification", "message/global-disposition-notification"}:
            return MachineReason.READ_RECEIPT
        if "message/feedback-report" in kinds or _report_type(mail) == "feedback-report":
            return MachineReason.FEEDBACK_REPORT
        if mail.content_type == "multipart/report":
            return MachineReason.DELIVERY_REPORT
    return None


_REPORT_KINDS = frozenset(
    {
        "message/delivery-status",
        "message/global-delivery-status",
        "message/disposition-notification",
        "message/global-disposition-notification",
        "message/feedback-report",
    }
)


def _report_type(mail: DecodedMail) -> str:
    """The report-type parameter of the message's Content-Type, lower-cased ("" when none)."""
    try:
        value = mail.message.get_param("report-type")
    except (ValueError, TypeError, IndexError, LookupError):  # a hostile parameter list
        return ""
    return value.strip().lower() if isinstance(value, str) else ""


def _is_abuse_report(mail: DecodedMail) -> bool:
    """An abuse-desk complaint without a message/feedback-report part.

    X-ARF reports say so in a header; others send the RFC 5965 fields as
    text/plain, or open with the JMRP sentence above an attached copy of the
    reported mail. A person forwarding spam to us writes neither.
    """
    if any((mail.header(name) or "").strip().lower() in ("yes", "plain") for name in _ARF_HEADERS):
        return True
    own_text = [part.text for part in mail.parts if not part.in_message and part.text is not None]
    for number, part_text in enumerate(own_text):
        opening = part_text[:2000]
        # The body itself must open with the fields; a later part (the report) may hold
        # them under a line of prose ("The following is a feedback report:").
        fields = _FEEDBACK_FIELDS.match(opening) or (
            number > 0 and _FEEDBACK_TYPE_LINE.search(opening)
        )
        if fields and _FEEDBACK_SECOND_FIELD.search(opening):
            return True
    attached = any(
        part.content_type in _ATTACHED_ORIGINAL and not part.in_message for part in mail.parts
    )
    text = mail.plain or ""
    return attached and bool(_ABUSE_REPORT_OPENING.match(text[:500]))


def _has_autoresponder_value(mail: DecodedMail) -> bool:
    for name, value in mail.headers:
        pattern = AUTOREPLY_HEADER_VALUES.get(name)
        if pattern is not None and pattern.match(value):
            return True
    return False


def _is_list_sender(mail: DecodedMail, senders: tuple[Address, ...]) -> bool:
    """A list server's address as Sender, at another domain than every From.

    Outlook's "on behalf of" puts a colleague (even `product-owner@`) in
    Sender: a colleague shares the author's domain, a list server does not.
    """
    from_domains = {sender.address.rpartition("@")[2] for sender in senders}
    for sender in parse_addresses(mail.raw_header_all("sender")):
        local, _, domain = sender.address.rpartition("@")
        if domain not in from_domains and _LIST_SENDER_LOCALPART.match(local):
            return True
    return False


def is_machine_sender(address: str) -> bool:
    local = address.rpartition("@")[0]
    return bool(_MACHINE_LOCALPART.match(local))


def _token(value: str | None) -> str:
    """The first word of a structured value: `auto-replied (vacation)` -> `auto-replied`."""
    if not value:
        return ""
    return value.split(";", 1)[0].split("(", 1)[0].strip().lower()


def _is_set(value: str | None) -> bool:
    return value is not None and _token(value) not in ("no", "false", "0", "off")
