"""Several workers on one PostgreSQL database and one mailbox process nothing twice,
and file nothing twice: one reads the mailbox at a time (store/locks.py)."""

from __future__ import annotations

import email
import subprocess
import sys
from collections import Counter

import pytest

from tests.harness import TEAM
from tests.mails import make_mail
from tests.sandbox import ImapAccount

COUNT = 60


def filed(account: ImapAccount, folder: str = "Processed") -> Counter[str]:
    """How many copies of each Message-ID the folder holds."""
    return Counter(
        email.message_from_bytes(raw)["Message-ID"] for raw in account.list_folder(folder)
    )


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_at_once_apply_and_send_everything_once(gate):
    gate.deliver(
        *(
            make_mail(
                sender=f"client{n}@corp.example",
                subject=f"Problem {n}",
                body=f"Problem number {n}.",
                message_id=f"p{n}@corp.example",
            )
            for n in range(COUNT)
        )
    )
    command = [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config), "run", "--once"]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"
    ]
    for worker in workers:
        _, stderr = worker.communicate(timeout=300)
        assert worker.returncode == 0, stderr.decode()

    requests = gate.requests()
    assert len(requests) == COUNT
    assert sorted(r["subject"] for r in requests) == sorted(f"Problem {n}" for n in range(COUNT))
    ids = Counter(m.message["Message-ID"] for m in gate.smtp.messages)
    assert len(ids) == 2 * COUNT and set(ids.values()) == {1}  # nothing sent twice
    acks = Counter(rcpt for m in gate.smtp.messages for rcpt in m.rcpt_tos if rcpt != TEAM)
    assert set(acks.values()) == {1} and len(acks) == COUNT
    assert gate.imap.list_folder("INBOX") == []
    copies = filed(gate.imap)  # two workers moving one message can leave two copies
    assert set(copies) == {f"<p{n}@corp.example>" for n in range(COUNT)}
    assert set(copies.values()) == {1}, [key for key, n in copies.items() if n > 1]
