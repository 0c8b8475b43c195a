"""Putting the corpus in the benchmark's inbox, and back there after each run.

Every measured run moves the whole inbox to the processed folder; moving it
back with one ``UID MOVE`` is much quicker than appending it again, and the
next run gets byte-for-byte the same messages.
"""

from __future__ import annotations

from collections.abc import Sequence

from imap_tools import MailBoxUnencrypted

from tests.sandbox import ImapAccount

INBOX = "INBOX"
PROCESSED = "Processed"
FAILED = "Failed"


def load(account: ImapAccount, corpus: Sequence[bytes]) -> None:
    """Empty every folder, then append the corpus to the inbox."""
    with account.connect(initial_folder=None) as box:
        for folder in (INBOX, PROCESSED, FAILED):
            if not box.folder.exists(folder):
                box.folder.create(folder)
            box.folder.set(folder)
            if uids := box.uids("ALL"):
                box.delete(uids)
    account.append_many(corpus)


def restore(account: ImapAccount) -> int:
    """Move what the last run filed back into the inbox; how many messages it holds."""
    with account.connect(initial_folder=None) as box:
        for folder in (PROCESSED, FAILED):
            box.folder.set(folder)
            if box.uids("ALL"):
                status, data = box.client.uid("MOVE", "1:*", INBOX)
                if status != "OK":
                    raise RuntimeError(f"UID MOVE {folder} -> {INBOX}: {data!r}")
        return waiting(box)


def count_waiting(account: ImapAccount) -> int:
    with account.connect(initial_folder=None) as box:
        return waiting(box)


def waiting(box: MailBoxUnencrypted) -> int:
    return int(box.folder.status(INBOX, ["MESSAGES"])["MESSAGES"])
