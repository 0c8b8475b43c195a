"""The whole loop in one command, on loopback servers: `./demo.sh`, which runs
``python -m tests.sandbox.demo`` from the checkout.

Starts a private Dovecot and an SMTP sink, writes a demo config (SQLite),
drops realistic client mail into the inbox, and drives mailgate with the same
commands an admin uses, printing what happens at each step: requests
created, acknowledgements, an agent's answer relayed from the support
address, the client's approval closing the request, and an agent's `#fwd` of
a client's mail that came to her directly.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import textwrap
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

from tests.sandbox import CapturedMail, Dovecot, SmtpSink

AGENT = "alice@support.example.org"
CLIENT = "olga@client.example"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("demo-run"), help="work folder")
    args = parser.parse_args(argv)
    workdir = args.dir.resolve()
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    with Dovecot() as imap, SmtpSink() as smtp:
        config = workdir / "mailgate.toml"
        config.write_text(_config(imap, smtp))
        step(f"Config written to {config} (SQLite, IMAP {imap.port}, SMTP {smtp.port})")
        admin(config, "init")
        admin(config, "check")

        step("Three mails arrive: a client with a colleague in CC, a Russian client "
             "(windows-1251, Outlook), and an out-of-office auto-reply")  # fmt: skip
        imap.append_many([_first_mail(), _russian_mail(), _auto_reply()])
        admin(config, "run", "--once", "--now", "2026-11-26T10:00:00+03:00")
        show_sent(smtp)
        admin(config, "requests", "list")

        step("Alice (an agent) answers from her own mail client, replying to the notice: "
             "it goes to the notice's Reply-To, the agents' reply address of REQ-1, "
             "which proves it is hers")  # fmt: skip
        notice = next(
            m
            for m in smtp.messages
            if "team@example.org" in m.rcpt_tos and "[REQ-1]" in m.message["Subject"]
        )
        smtp.clear()
        imap.append(
            _reply(
                notice.message,
                sender=f"Alice <{AGENT}>",
                body="Hello Olga,\n\nwe restarted your PBX trunk. Please check the phones.\n\n"
                "#status awaiting_confirmation",
                message_id="alice-1@support.example.org",
            )
        )
        admin(config, "run", "--once", "--now", "2026-11-26T11:00:00+03:00")
        show_sent(smtp)

        step("The client confirms in her own words; the request closes")
        answer = next(m for m in smtp.messages if CLIENT in m.rcpt_tos)
        smtp.clear()
        imap.append(
            _reply(
                answer.message,
                sender=f"Olga <{CLIENT}>",
                body="Thank you! Everything works, the request can be closed.",
                message_id="olga-2@client.example",
            )
        )
        admin(config, "run", "--once", "--now", "2026-11-26T12:00:00+03:00")
        show_sent(smtp)
        admin(config, "requests", "show", "REQ-1")

        step("A client wrote to Alice directly; she forwards it to the support address "
             "with #fwd above it (her MX signed it: DMARC passes at ours). The request is "
             "the client's: he gets the acknowledgement, Alice a confirmation, her note "
             "stays internal")  # fmt: skip
        smtp.clear()
        imap.append(_forward())
        admin(config, "run", "--once", "--now", "2026-11-26T13:00:00+03:00")
        show_sent(smtp)
        confirmation = next(m.message for m in smtp.messages if AGENT in m.rcpt_tos)
        admin(config, "requests", "show", confirmation["Subject"][1:].partition("]")[0])
        step(f"Done. The database and config stay in {workdir}.")
    return 0


def step(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def admin(config: Path, *args: str) -> None:
    print(f"$ mailgate --config {config.name} {' '.join(args)}", flush=True)
    command = [sys.executable, "-m", "mailgate.cli", "--config", str(config), *args]
    quiet = {**os.environ, "MAILGATE_LOG_LEVEL": "WARNING"}  # the demo prints what matters
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, env=quiet)
    output = (result.stdout + result.stderr).rstrip()
    if output:
        print(textwrap.indent(output, "  "), flush=True)
    if result.returncode != 0:
        raise SystemExit(f"demo: mailgate {' '.join(args)} failed ({result.returncode})")


def show_sent(smtp: SmtpSink) -> None:
    mails: list[CapturedMail] = smtp.messages
    print(f"  SMTP sink received {len(mails)} mail(s):")
    for mail in mails:
        message = mail.message
        body = message.get_body(("plain",))
        first = body.get_content().strip().splitlines()[0] if body else ""
        print(f"    to {', '.join(mail.rcpt_tos):<28} {message['Subject']!s:<40} | {first[:60]}")


def _config(imap: Dovecot, smtp: SmtpSink) -> str:
    return textwrap.dedent(
        f"""\
        support_address = "support@example.org"
        agents = ["@support.example.org"]
        agent_notify = ["team@example.org"]
        escalation_notify = ["lead@example.org"]
        language = "auto"
        [database]
        url = "sqlite:///mailgate.sqlite3"
        [imap]
        host = "{imap.host}"
        port = {imap.port}
        security = "none"
        username = {json.dumps(imap.user)}
        password = {json.dumps(imap.password)}
        [smtp]
        host = "{smtp.host}"
        port = {smtp.port}
        security = "none"
        [business_hours]
        timezone = "Europe/Moscow"
        holidays_country = "RU"
        [trust]
        authserv_id = "mx.example.org"
        """
    )


def _message(**headers: str) -> EmailMessage:
    message = EmailMessage(policy=SMTP)
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return message


def _first_mail() -> bytes:
    message = _message(
        From=f"Olga <{CLIENT}>",
        To="support@example.org",
        Cc="ivan@client.example",
        Subject="All our phones are down",
        Date="Thu, 26 Nov 2026 09:55:00 +0300",
        Message_ID="<olga-1@client.example>",
    )
    message.set_content("Hello,\n\nsince 9:00 none of our 40 extensions can call out.\n\nOlga")
    message.add_alternative(
        "<div>Hello,<br><br>since 9:00 none of our 40 extensions can call out.<br><br>Olga</div>",
        subtype="html",
    )
    return message.as_bytes()


def _russian_mail() -> bytes:
    body = (
        "Здравствуйте!\r\n\r\nНе работает переадресация на номер 204.\r\n\r\nС уважением,\r\nПётр"
    )
    return (
        b"From: =?windows-1251?b?z/Xy8A==?= <petr@client.example>\r\n"
        b"To: support@example.org\r\n"
        b"Subject: =?windows-1251?b?z+Xw5eDk8OXx4Pbo/w==?=\r\n"
        b"Date: Thu, 26 Nov 2026 09:58:00 +0300\r\n"
        b"Message-ID: <petr-1@client.example>\r\n"
        b"X-Mailer: Microsoft Outlook 16.0\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=windows-1251\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body.encode("windows-1251") + b"\r\n"
    )


def _auto_reply() -> bytes:
    message = _message(
        From="Max <max@client.example>",
        To="support@example.org",
        Subject="Automatic reply: office closed",
        Date="Thu, 26 Nov 2026 09:59:00 +0300",
        Message_ID="<ooo-1@client.example>",
        Auto_Submitted="auto-replied",
    )
    message.set_content("I am out of the office until Monday.")
    return message.as_bytes()


def _forward() -> bytes:
    """Alice's Gmail forward of a client's mail, with `#fwd` and a note above it, as our
    MX hands it on (its Authentication-Results: DMARC passed for her domain)."""
    message = _message(
        Authentication_Results="mx.example.org; dkim=pass header.d=support.example.org; "
        "dmarc=pass header.from=support.example.org",
        From=f"Alice <{AGENT}>",
        To="support@example.org",
        Subject="Fwd: Fax line down since this morning",
        Date="Thu, 26 Nov 2026 12:50:00 +0300",
        Message_ID="<alice-fwd-1@support.example.org>",
    )
    message.set_content(
        "#fwd\nBoris called me too; he is on the premium plan.\n\n"
        "---------- Forwarded message ---------\n"
        "From: Boris Petrov <boris@client.example>\n"
        "Date: Thu, Nov 26, 2026 at 12:41 PM\n"
        "Subject: Fax line down since this morning\n"
        f"To: Alice <{AGENT}>\n\n"
        "Hello Alice,\n\nour fax line has been down since 8:30. Our contractor\n"
        "helpdesk@contractor.example can give you remote access.\n\nBoris\n"
    )
    return message.as_bytes()


def _reply(original: EmailMessage, *, sender: str, body: str, message_id: str) -> bytes:
    """A reply as Gmail writes it: new text on top, the original quoted with `>`, to the
    original's Reply-To (for a notice to agents, the request's agents' reply address)."""
    quoted = "\n".join(
        f"> {line}" for line in original.get_body(("plain",)).get_content().splitlines()
    )
    references = f"{original['References'] or ''} {original['Message-ID']}".strip()
    message = _message(
        From=sender,
        To=original["Reply-To"] or original["From"],
        Subject=f"Re: {original['Subject']}",
        Date="Thu, 26 Nov 2026 11:30:00 +0300",
        Message_ID=f"<{message_id}>",
        In_Reply_To=original["Message-ID"],
        References=references,
    )
    message.set_content(f"{body}\n\nOn Thu, 26 Nov 2026 at 10:00, Support wrote:\n{quoted}\n")
    return message.as_bytes()


if __name__ == "__main__":
    sys.exit(main())
