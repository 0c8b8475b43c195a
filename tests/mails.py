"""Build realistic test messages in a line; fixtures in files cover the messy ones."""

from __future__ import annotations

import email.utils
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP

DATE = "Thu, 26 Nov 2026 10:00:00 +0300"


def make_mail(
    *,
    sender: str,
    subject: str,
    body: str,
    message_id: str,
    to: str = "support@example.org",
    cc: Sequence[str] = (),
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    html: str | None = None,
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = DATE
    message["Message-ID"] = f"<{message_id}>"
    if in_reply_to:
        message["In-Reply-To"] = f"<{in_reply_to}>"
    if references:
        message["References"] = " ".join(f"<{ref}>" for ref in references)
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message.as_bytes()


def reply_to(
    captured_message: EmailMessage,
    *,
    sender: str,
    body: str,
    message_id: str,
    subject: str | None = None,
    quote: bool = True,
) -> bytes:
    """A reply to a notification, quoting it the way Gmail does."""
    original_id = captured_message["Message-ID"].strip("<>")
    references = [ref.strip("<>") for ref in (captured_message["References"] or "").split()]
    original_text = captured_message.get_body(("plain",)).get_content()
    text = body
    if quote:
        quoted = "\n".join(f"> {line}" for line in original_text.splitlines())
        when = email.utils.format_datetime(email.utils.parsedate_to_datetime(DATE))
        text = f"{body}\n\nOn {when} Support <support@example.org> wrote:\n{quoted}\n"
    return make_mail(
        sender=sender,
        subject=subject if subject is not None else f"Re: {captured_message['Subject']}",
        body=text,
        message_id=message_id,
        in_reply_to=original_id,
        references=[*references, original_id],
    )
