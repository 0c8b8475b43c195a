"""A person's whole story with the support desk, for `people export` and `people erase`
(SPEC §16; tests/scenarios/test_people.py in-process, tests/integration/test_people_e2e.py
on Dovecot and both databases).

Erin writes with a colleague in CC, an HTML part in base64 and a PDF; an agent
answers her (naming her address) and writes a note; she replies; a spam mail of
hers is held. Bob has a request of his own, which an erasure of Erin leaves
alone. Every text Erin wrote carries a `ZQX` marker, so a test can look for
any byte of it left behind.
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import re
import subprocess
from email.message import EmailMessage
from pathlib import Path

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, reply_to

ERIN = "erin@corp.example"
ERIN_AS_WRITTEN = "Erin@Corp.Example"  # her client writes it so: matched in any case
COLLEAGUE = "colleague@corp.example"
BOB = "bob@other.example"
PDF = b"%PDF-1.4\n% ZQX-attachment-bytes\n" + bytes(range(256)) * 8
MARKERS = ("ZQX-subject", "ZQX-first-text", "ZQX-html-only", "ZQX-second-text",
           "ZQX-spam-text", "ZQX-attachment-bytes")  # fmt: skip
BOB_TEXT = "The fax machine in room 12 is silent."
AGENT_ANSWER = f"Dear Erin, the invoice is fixed; a copy went to {ERIN} as well."
NOTE = "#note she called twice today"


@functools.cache
def first_mail() -> bytes:
    """Erin's first mail: text, HTML (base64) and a PDF, a colleague in CC (the same
    bytes at every call: the boundaries are random)."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"Erin Example <{ERIN_AS_WRITTEN}>"
    message["To"] = "support@example.org"
    message["Cc"] = COLLEAGUE
    message["Subject"] = "Invoice ZQX-subject is wrong"
    message["Date"] = "Thu, 26 Nov 2026 10:00:00 +0300"
    message["Message-ID"] = "<erin-1@mail.corp.example>"
    message.set_content("Hello,\n\nour invoice is wrong: ZQX-first-text.\n\nErin")
    message.add_alternative("<p>our invoice is wrong: <b>ZQX-html-only</b></p>",
                            subtype="html", cte="base64")  # fmt: skip
    message.add_attachment(PDF, maintype="application", subtype="pdf",
                           filename="invoice-ZQX.pdf")  # fmt: skip
    return message.as_bytes()


def bob_mail() -> bytes:
    return make_mail(sender=f"Bob <{BOB}>", subject="Fax", body=BOB_TEXT,
                     message_id="bob-1@other.example")  # fmt: skip


def spam_mail() -> bytes:
    return make_mail(sender=ERIN_AS_WRITTEN, subject="Cheap pills", body="ZQX-spam-text",
                     message_id="erin-spam@mail.corp.example",
                     headers={"X-Spam-Flag": "YES"})  # fmt: skip


def play(gate, now: str | None = None) -> None:
    """Erin's story and Bob's first mail, round by round, on any gate."""
    gate.deliver(first_mail(), bob_mail())
    gate.run_once(now)
    [notice] = [m for m in gate.sent_to(TEAM) if "ZQX-subject" in m["Subject"]]
    gate.deliver(reply_to(notice, sender=AGENT, body=AGENT_ANSWER,
                          message_id="answer-1@support.example.org", quote=True),
                 reply_to(notice, sender=AGENT, body=NOTE,
                          message_id="note-1@support.example.org", quote=False))  # fmt: skip
    gate.run_once(now)
    [answer] = [m for m in gate.sent_to(ERIN) if "Dear Erin" in text_of(m)]
    gate.deliver(reply_to(answer, sender=f"Erin Example <{ERIN_AS_WRITTEN}>",
                          body="Thanks! ZQX-second-text", message_id="erin-2@mail.corp.example"),
                 spam_mail())  # fmt: skip
    gate.run_once(now)


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def traces(dump: bytes) -> list[str]:
    """What of Erin is left in `dump` (a database file, or pg_dump's text, where bytea
    is hex): her address in any case, her markers, her file, and the base64 lines of
    her first mail."""
    needles = {ERIN: ERIN.encode(), ERIN_AS_WRITTEN: ERIN_AS_WRITTEN.encode(),
               "pdf": PDF[-64:]}  # fmt: skip
    needles |= {marker: marker.encode() for marker in MARKERS}
    for number, line in enumerate(re.findall(rb"^([A-Za-z0-9+/=]{40,})\r?$", first_mail(), re.M)):
        needles[f"base64 line {number}"] = line
    needles["pdf as base64"] = base64.b64encode(PDF)[:60]
    lowered = dump.lower()
    return [name for name, needle in needles.items()
            if needle.lower() in lowered or needle.hex().encode() in lowered]  # fmt: skip


def database_bytes(database_url: str) -> bytes:
    """Every byte the database holds: SQLite's file and its -wal file, or PostgreSQL's
    `pg_dump` (bytea as hex)."""
    if database_url.startswith("sqlite"):
        path = Path(database_url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    url = database_url.replace("postgresql+psycopg://", "postgresql://")
    return subprocess.run(["pg_dump", "--no-owner", url], capture_output=True, check=True,
                          timeout=60).stdout  # fmt: skip


def row_counts(gate) -> dict[str, int]:
    """How many rows each table holds: the shape an erasure keeps."""
    tables = ("requests", "participants", "messages", "events", "inbound", "outbound")
    return {table: gate.query(f"select count(*) from {table}")[0][0] for table in tables}
