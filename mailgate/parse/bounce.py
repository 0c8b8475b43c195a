"""Delivery-status reports: which recipient bounced and which message it was."""

from __future__ import annotations

from mailgate.domain import Bounce
from mailgate.parse.mime import DecodedMail, parse_message_ids


def read_bounce(mail: DecodedMail) -> Bounce | None:
    """The bounce a `multipart/report; report-type=delivery-status` describes, or None."""
    message = mail.message
    if message.get_content_type() != "multipart/report":
        return None
    recipients: list[str] = []
    original_id = None
    permanent = True
    for part in message.walk():
        if part.get_content_type() == "message/delivery-status":
            for block in part.get_payload():
                recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
                if recipient:
                    recipients.append(recipient.split(";")[-1].strip().lower())
                if (block.get("Action") or "").strip().lower() == "delayed":
                    permanent = False
        elif part.get_content_type() in ("message/rfc822", "text/rfc822-headers"):
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and original_id is None:
                ids = parse_message_ids(inner.get("Message-ID"))
                original_id = ids[0] if ids else None
    return Bounce(
        recipients=tuple(recipients), original_message_id=original_id, permanent=permanent
    )
