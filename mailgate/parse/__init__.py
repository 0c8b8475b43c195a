"""Raw message bytes -> `InboundMessage`. No database, network, clock or settings."""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from datetime import datetime

from mailgate.digest import content_digest
from mailgate.domain import InboundMessage
from mailgate.parse.headers import parse_addresses, parse_message_ids, read_message_id
from mailgate.parse.mimetree import decode, read_top_headers


def message_key(raw: bytes) -> str:
    """The idempotency key of a raw message: its Message-ID, else its digest's key.

    Only the header block is read, so storing a message never depends on
    parsing it; the id is read as `parse_message` reads it (`read_message_id`).
    A different message with the same Message-ID is stored under `variant_key`.
    """
    return read_message_id(read_top_headers(raw)) or raw_message_key(raw)


def raw_message_key(raw: bytes) -> str:
    """The idempotency key of a message without a Message-ID: the digest of what its
    sender wrote (mailgate/digest.py), the same for a copy with another trace on top."""
    return "sha256-" + content_digest(raw) + "@mailgate.invalid"


def variant_key(key: str, digest: str) -> str:
    """The key of a message whose `key` (its Message-ID) a different message took first."""
    return f"{key}#{digest[:32]}"


def parse_message(
    raw: bytes, *, tag_prefix: str | Sequence[str], own_addresses: frozenset[str]
) -> InboundMessage:
    """Read everything mailgate needs from one raw message; the tag may be of any of
    the install's prefixes (`tag_prefix`, one per mailbox)."""
    # Here, not at the top: storing mail needs only `message_key`, and a round
    # with nothing to parse (an empty inbox) should not import the phrase tables.
    from mailgate.parse.auto import classify_machine_mail
    from mailgate.parse.bounce import read_bounce
    from mailgate.parse.html import html_to_text
    from mailgate.parse.newtext import split_reply
    from mailgate.parse.subject import find_tag

    mail = decode(raw)
    senders = parse_addresses(mail.raw_header_all("from"))
    subject = mail.header("subject") or ""
    tag = find_tag(subject, tag_prefix)
    split = split_reply(mail.plain, mail.html)
    text = mail.plain if mail.plain is not None else html_to_text(mail.html or "")
    return InboundMessage(
        message_id=read_message_id(mail.raw_headers) or raw_message_key(raw),
        subject=subject,
        sender=senders[0] if len(senders) == 1 else None,
        sender_count=len(senders),
        to=parse_addresses(mail.raw_header_all("to")),
        cc=parse_addresses(mail.raw_header_all("cc")),
        reply_to=parse_addresses(mail.raw_header_all("reply-to")),
        in_reply_to=parse_message_ids(mail.header("in-reply-to")),
        references=parse_message_ids(" ".join(mail.header_all("references"))),
        date=_parse_date(mail.header("date")),
        text=text,
        new_text=split.new_text,
        quoted_text=split.quoted_text,
        html=mail.html,
        tag_number=tag.number,
        subject_after_tag=tag.after_tag,
        auto=classify_machine_mail(mail, own_addresses=own_addresses),
        bounce=read_bounce(mail),
        headers=mail.headers,
        attachments=mail.attachments,
    )


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):  # huge numbers in a Date
        return None
    return parsed if parsed.tzinfo is not None else None
