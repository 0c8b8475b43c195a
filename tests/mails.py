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
    """A mail as our MX hands it on: it prepends its `Authentication-Results`, which
    says DMARC passed for the agents' own domains (their mail is signed) and nothing
    for anyone else, unless the test gives that header itself."""
    message = EmailMessage(policy=SMTP)
    given = {name.lower() for name in headers or {}}
    if "authentication-results" not in given and (domain := _agent_domain(sender)):
        message["Authentication-Results"] = f"{MX}; dkim=pass header.d={domain}; " \
            f"dmarc=pass header.from={domain}"  # fmt: skip
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


def phones_down(*, client: str, cc: str, message_id: str) -> bytes:
    """A client's first mail, with a colleague in CC: the start of most stories."""
    return make_mail(
        sender=f"Client <{client}>",
        cc=[cc],
        subject="Phones are down",
        body="Hello,\n\nall our phones are down since 9:00.\n\nRegards,\nClient",
        message_id=message_id,
    )


MX = "mx.example.org"  # the tests' authserv-id ([trust] authserv_id in tests/harness.py)
AGENT_DOMAINS = ("support.example.org", "agents.example.org")  # of `agents` in the tests' config


def _agent_domain(sender: str) -> str:
    address = email.utils.parseaddr(sender)[1].lower()
    domain = address.rpartition("@")[2]
    return domain if domain in AGENT_DOMAINS else ""


def reply_to(
    captured_message: EmailMessage,
    *,
    sender: str,
    body: str,
    message_id: str,
    subject: str | None = None,
    quote: bool = True,
) -> bytes:
    """A reply to a notification, quoting it the way Gmail does: to its Reply-To
    (for agents, the request's agents' reply address), else to its From."""
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
        to=email.utils.parseaddr(captured_message["Reply-To"] or captured_message["From"])[1],
        subject=subject if subject is not None else f"Re: {captured_message['Subject']}",
        body=text,
        message_id=message_id,
        in_reply_to=original_id,
        references=[*references, original_id],
    )


def good_mail_among(bad: Sequence[bytes], *, oversized_bytes: int) -> list[bytes]:
    """Three good new requests ("Good 0" to "Good 2") at the start, middle and end,
    with `bad` and one mail of more than `oversized_bytes` between them."""
    good = [
        make_mail(
            sender=f"good{n}@corp.example", subject=f"Good {n}", body="Hi", message_id=f"g{n}@x"
        )
        for n in range(3)
    ]
    big = make_mail(
        sender="client@corp.example",
        subject="Huge",
        body="See attached.",
        message_id="huge@x",
        html="<p>" + "A" * oversized_bytes + "</p>",
    )
    half = len(bad) // 2
    return [good[0], *bad[:half], big, good[1], *bad[half:], good[2]]


def bounce_for(notification_id: str, recipient: str, message_id: str) -> bytes:
    """A Postfix-style delivery-status report: `recipient` did not get `notification_id`."""
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.corp.example>\r\n"
        f"To: support@example.org\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: <{message_id}>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        f"--b1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system. Your message could "
        f"not be delivered to {recipient}: user unknown.\r\n"
        f"--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.corp.example\r\n"
        f"\r\nFinal-Recipient: rfc822; {recipient}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
        f"--b1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: support@example.org\r\n"
        f"To: {recipient}\r\nMessage-ID: <{notification_id}>\r\nSubject: [REQ-1] Fax\r\n\r\n"
        f"--b1--\r\n"
    ).encode()
