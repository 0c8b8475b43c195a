"""After a `kill -9` mid-send: what the dead pump journaled is never sent again, and
what it claimed and did not deliver goes out at the next start, without waiting
for the lease to run out.

The dead worker is set up as it would be left: its claims in the outbox (made
through the store, as its outbox made them) and its sent journal on disk (written
with the functions its pump used), under the owner name of a process that has
exited.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys

from mailgate import journal
from mailgate.outbox import LEASE
from tests.mails import make_mail

NOON = "2026-11-26T12:00:00+03:00"


def dead_owner() -> str:
    """The owner name of a process that has exited (its pid is gone)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:1"


def test_journaled_notices_are_not_resent_and_the_rest_is_sent_at_once(gate):
    gate.smtp.fail(count=6)  # the first round sends nothing: six notices stay queued
    gate.deliver(*(make_mail(sender=f"c{i}@corp.example", subject=f"Phone {i}", body="Down",
                             message_id=f"p{i}@corp.example") for i in range(3)))  # fmt: skip
    gate.run_once(NOON)
    gate.smtp.clear()

    owner = dead_owner()
    directory = journal.journal_dir(gate.database_url)
    claimed_at = dt.datetime.fromisoformat("2026-11-26T13:00:00+03:00")
    with gate.app.store.transaction() as tx:
        claimed = tx.claim_outbound(claimed_at, lease_until=claimed_at + LEASE, limit=10,
                                    owner=owner)  # fmt: skip
    assert len(claimed) == 6
    descriptor = journal.open_journal(directory, owner)
    for job in claimed[:2]:  # delivered, journaled, never recorded: then the kill
        journal.append_sent(descriptor, job.id)
    os.write(descriptor, b"99")  # a line cut short by the kill counts for nothing
    os.close(descriptor)

    gate.run_once("2026-11-26T13:01:00+03:00")  # long before the lease of 10 minutes ends

    resent = {m.rcpt_tos[0] for m in gate.smtp.messages}
    assert resent == {job.recipient for job in claimed[2:]}
    assert len(gate.smtp.messages) == 4
    assert not journal.journal_path(directory, owner).exists()  # read once, then removed
    [(mine, own_journal)] = journal.journals(directory)  # this round's, emptied at its end
    assert mine != owner and journal.read_sent(own_journal) == []
