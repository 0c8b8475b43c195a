"""The ceiling: what the same libraries cost when they only fetch, parse and move.

Run as a subprocess, like mailgate, so both are measured the same way::

    python bench/ceiling.py HOST PORT USER PASSWORD TO_FOLDER

It logs in with imap-tools, fetches the inbox 500 messages per command with
``BODY.PEEK[]`` (as `mailgate.ingest` does), parses each with the stdlib
`email` parser and `policy.default`, reads what any consumer reads (sender,
subject, Message-ID and the text body), then ``UID MOVE``s the batch. No
database, no decisions, no mail sent: mailgate cannot be faster than this.
Prints ``{"moved": N}``.
"""

from __future__ import annotations

import email
import json
import sys
from email import policy
from email.message import EmailMessage

from imap_tools import MailBoxUnencrypted

FETCH_BATCH = 500


def drain(host: str, port: int, user: str, password: str, to_folder: str) -> int:
    moved = 0
    with MailBoxUnencrypted(host, port).login(user, password, initial_folder="INBOX") as box:
        uids = sorted(box.uids("ALL"), key=int)
        for start in range(0, len(uids), FETCH_BATCH):
            batch = ",".join(uids[start : start + FETCH_BATCH])
            status, data = box.client.uid("FETCH", batch, "(UID BODY.PEEK[])")
            if status != "OK":
                raise RuntimeError(f"UID FETCH: {status} {data!r}")
            for item in data:
                if isinstance(item, tuple):
                    read(item[1])
            status, data = box.client.uid("MOVE", batch, to_folder)
            if status != "OK":
                raise RuntimeError(f"UID MOVE: {status} {data!r}")
            moved += batch.count(",") + 1
    return moved


def read(raw: bytes) -> tuple[str, str, str, str]:
    message = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    body = message.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    return str(message["From"]), str(message["Subject"]), str(message["Message-ID"]), text


if __name__ == "__main__":
    host, port, user, password, to_folder = sys.argv[1:]
    print(json.dumps({"moved": drain(host, int(port), user, password, to_folder)}))
