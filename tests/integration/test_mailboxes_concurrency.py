"""Two workers at once on one PostgreSQL database, serving two mailboxes (SPEC §12):
each message of each mailbox applied once, each notification sent once, from its
own mailbox's address. tests/integration/test_concurrency.py is the same with one
mailbox."""

from __future__ import annotations

import email
import email.utils
import subprocess
import sys
from collections import Counter

import pytest

from tests.harness import TEAM, Gate, write_config
from tests.integration.test_concurrency import filed
from tests.integration.test_mailboxes_e2e import BILLING, BILLING_TEAM, first_mail, mailboxes_toml

COUNT = 25  # messages in each mailbox
SUPPORT = "support@example.org"


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_share_two_mailboxes_without_doubling(
    tmp_path, dovecot, dovecot_server, smtp_sink, database_url
):
    billing = dovecot_server.add_user("billing-pg@example.org", "billing-pg")
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url=database_url)
    config.write_text(config.read_text() + mailboxes_toml(billing))
    gate = Gate(config=config, imap=dovecot, smtp=smtp_sink, database_url=database_url)
    gate.read("init")
    gate.deliver(*(first_mail(f"s{n}@corp.example", f"Support {n}", f"s{n}@corp", to=SUPPORT)
                   for n in range(COUNT)))  # fmt: skip
    billing.append_many(
        [first_mail(f"b{n}@shop.example", f"Billing {n}", f"b{n}@shop", to=BILLING)
         for n in range(COUNT)]
    )  # fmt: skip

    command = [sys.executable, "-m", "mailgate.cli", "--config", str(config), "run", "--once"]
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in "ab"
    ]
    outputs = [worker.communicate(timeout=300) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr.decode()

    requests = gate.requests()
    assert sorted((r["mailbox"], r["subject"]) for r in requests) == sorted(
        [("support", f"Support {n}") for n in range(COUNT)]
        + [("billing", f"Billing {n}") for n in range(COUNT)]
    )
    assert len({r["tag"] for r in requests}) == 2 * COUNT
    sent = gate.smtp.messages
    ids = Counter(m.message["Message-ID"] for m in sent)
    assert len(ids) == 4 * COUNT and set(ids.values()) == {1}  # an ack and a notice each
    by_recipient = Counter(rcpt for m in sent for rcpt in m.rcpt_tos)
    assert by_recipient[TEAM] == COUNT and by_recipient[BILLING_TEAM] == COUNT
    clients = {rcpt: count for rcpt, count in by_recipient.items()
               if rcpt not in (TEAM, BILLING_TEAM)}  # fmt: skip
    assert len(clients) == 2 * COUNT and set(clients.values()) == {1}
    for mail in sent:
        (rcpt,) = mail.rcpt_tos
        support_side = rcpt == TEAM or rcpt.endswith("@corp.example")
        sender = email.utils.parseaddr(mail.message["From"])[1]
        assert sender == (SUPPORT if support_side else BILLING), (rcpt, sender)
    assert gate.imap.list_folder("INBOX") == [] and billing.list_folder("INBOX") == []
    # Every message filed away, once. Two workers that MOVE one message at the same
    # moment can both succeed on Dovecot's Maildir (a copy each, then the expunge);
    # one worker at a time reads a mailbox, so none is left twice in Processed.
    for account, letter, domain in ((gate.imap, "s", "corp"), (billing, "b", "shop")):
        copies = filed(account)
        assert set(copies) == {f"<{letter}{n}@{domain}>" for n in range(COUNT)}
        assert set(copies.values()) == {1}, [key for key, n in copies.items() if n > 1]
    # Between them the two applied each message once (neither counted the other's).
    applied = [int(out.decode().split("applied ")[1].split(",")[0]) for out, _ in outputs]
    assert sum(applied) == 2 * COUNT
