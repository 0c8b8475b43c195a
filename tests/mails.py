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


def delivery_report(
    *,
    recipients: Sequence[str],
    message_id: str,
    to: str = "support@example.org",
    returned_id: str | None = None,
    returned_to: str | None = None,
    subject: str = "Undelivered Mail Returned to Sender",
    action: str = "failed",
    style: str = "postfix",
) -> bytes:
    """A delivery-status report as an MTA sends it back to the envelope sender `to`
    (a notification's return path, or the plain support address), which the final
    MDA writes into `Delivered-To`; like tests/fixtures/machine/postfix_dsn_report.eml
    (`style="postfix"`: the returned headers as text/rfc822-headers) and
    exchange_ndr_report.eml (`"exchange"`: the whole message attached, In-Reply-To
    naming it). `returned_id` None: the report returns no headers, as MTAs
    configured not to return content send it. `returned_to`: the To of the
    returned headers (the first recipient unless given)."""
    status = "5.1.1" if action == "failed" else "4.4.1"
    per_recipient = "".join(
        f"\r\nFinal-Recipient: rfc822; {r}\r\nOriginal-Recipient: rfc822;{r}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\nRemote-MTA: dns; mx.corp.example\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{r}>: Recipient address rejected: User unknown\r\n"
        for r in recipients
    )
    listed = "".join(
        f"<{r}>: host mx.corp.example[198.51.100.7] said: 550 5.1.1 User unknown (in reply "
        f"to RCPT TO command)\r\n\r\n"
        for r in recipients
    )
    returned_to = returned_to or (recipients[0] if recipients else "someone@corp.example")
    head = (
        "Return-Path: <>\r\n"
        f"Delivered-To: {to}\r\n"
        "Received: from mx.corp.example (mx.corp.example [198.51.100.7])\r\n"
        f"\tby mx.example.org (Postfix) with ESMTP id 3F1A2C0E7; {DATE}\r\n"
    )
    if style == "exchange":
        head += (
            "From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"
            "@corp.example>\r\n"
            f"To: <{to}>\r\nDate: {DATE}\r\nMessage-ID: <{message_id}>\r\n"
            + (f"In-Reply-To: <{returned_id}>\r\nReferences: <{returned_id}>\r\n"
               if returned_id else "")
            + f"Subject: {subject}\r\nAuto-Submitted: auto-replied\r\n"
            "X-MS-Exchange-Message-Is-Ndr:\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary="ndr"\r\n'
            "\r\n--ndr\r\nContent-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
            "Delivery has failed to these recipients or groups:\r\n\r\n"
            + "".join(f"{r}\r\nThe email address you entered couldn't be found.\r\n\r\n"
                      for r in recipients)
            + "--ndr\r\nContent-Type: message/delivery-status\r\n\r\n"
            "Reporting-MTA: dns;EX01.corp.example\r\n"
            "Received-From-MTA: dns;mail.example.org\r\n"
            f"Arrival-Date: {DATE}\r\n{per_recipient}\r\n"
        )  # fmt: skip
        if returned_id:
            head += (
                "--ndr\r\nContent-Type: message/rfc822\r\n\r\n"
                f"Message-ID: <{returned_id}>\r\nFrom: Support <support@example.org>\r\n"
                f"To: {returned_to}\r\nSubject: [REQ-1] Fax\r\nDate: {DATE}\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                "Your request was received.\r\n\r\n"
            )
        return (head + "--ndr--\r\n").encode()
    head += (
        "From: MAILER-DAEMON@mx.corp.example (Mail Delivery System)\r\n"
        f"Subject: {subject}\r\nTo: {to}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/report; report-type=delivery-status;\r\n"
        '\tboundary="3F1A2C0E7.1764140400/mx.corp.example"\r\n'
        f"Content-Transfer-Encoding: 8bit\r\nMessage-Id: <{message_id}>\r\nDate: {DATE}\r\n"
        "\r\nThis is a MIME-encapsulated message.\r\n\r\n"
        "--3F1A2C0E7.1764140400/mx.corp.example\r\n"
        "Content-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
        "This is the mail system at host mx.corp.example.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not\r\n"
        "be delivered to one or more recipients. It's attached below.\r\n\r\n"
        f"                   The mail system\r\n\r\n{listed}"
        "--3F1A2C0E7.1764140400/mx.corp.example\r\n"
        "Content-Description: Delivery report\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.corp.example\r\nX-Postfix-Queue-ID: 3F1A2C0E7\r\n"
        f"X-Postfix-Sender: rfc822; {to}\r\nArrival-Date: {DATE}\r\n{per_recipient}\r\n"
    )
    if returned_id:
        head += (
            "--3F1A2C0E7.1764140400/mx.corp.example\r\n"
            "Content-Description: Undelivered Message Headers\r\n"
            "Content-Type: text/rfc822-headers\r\n\r\n"
            "Received: by mail.example.org (Postfix, from userid 1000) id 9C2B1A0F3\r\n"
            f"Message-ID: <{returned_id}>\r\nDate: {DATE}\r\n"
            f"From: Support <support@example.org>\r\nTo: {returned_to}\r\n"
            "Subject: [REQ-1] Fax\r\n\r\n"
        )
    return (head + "--3F1A2C0E7.1764140400/mx.corp.example--\r\n").encode()
