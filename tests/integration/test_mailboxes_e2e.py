"""Two mailboxes of one install on real servers (SPEC §12): two Dovecot users, one SMTP sink.

`support` is the top-level [imap] account (tag REQ); `billing` has its own
account, address, name and tag (BILL). The in-process scenarios of the same
rules are tests/scenarios/test_mailboxes.py; these cover the edges: two IMAP
connections, a broken one beside a working one, IDLE on both, the CLI.
"""

from __future__ import annotations

import email.utils
import itertools
import json
import signal
import subprocess
import sys

import pytest

from tests.harness import AGENT, Gate, write_config
from tests.integration.test_worker_loop import start_worker, wait_until
from tests.mails import make_mail, reply_to
from tests.sandbox import ImapAccount

BILLING = "billing@example.org"
BILLING_TEAM = "billing-team@example.org"
_numbers = itertools.count(1)


def mailboxes_toml(billing: ImapAccount, *, billing_prefix: str = "BILL") -> str:
    return f"""
[[mailbox]]
name = "support"

[[mailbox]]
name = "billing"
support_address = "{BILLING}"
support_name = "Billing"
tag_prefix = "{billing_prefix}"
agent_notify = ["{BILLING_TEAM}"]
[mailbox.imap]
host = "{billing.host}"
port = {billing.port}
username = "{billing.user}"
password = "{billing.password}"
"""


@pytest.fixture
def billing_account(dovecot_server) -> ImapAccount:
    """A second user on the session's Dovecot: the billing mailbox."""
    number = next(_numbers)
    return dovecot_server.add_user(f"billing{number}@example.org", f"billing-secret-{number}")


@pytest.fixture
def two_mailboxes(tmp_path, dovecot, billing_account, smtp_sink, database_url):
    def build(**billing_changes) -> Gate:
        config = tmp_path / "mailgate.toml"
        write_config(config, imap=dovecot, smtp=smtp_sink, database_url=database_url)
        account = billing_changes.pop("account", billing_account)
        config.write_text(config.read_text() + mailboxes_toml(account, **billing_changes))
        gate = Gate(config=config, imap=dovecot, smtp=smtp_sink, database_url=database_url)
        gate.read("init")
        return gate

    return build


def first_mail(client: str, subject: str, message_id: str, *, to: str) -> bytes:
    return make_mail(
        sender=client, to=to, subject=subject, body=f"{subject}, please.", message_id=message_id
    )


def from_address(message) -> str:
    return email.utils.parseaddr(message["From"])[1]


def test_each_mailbox_files_and_answers_its_own(two_mailboxes, billing_account):
    gate = two_mailboxes()
    gate.deliver(first_mail("ann@corp.example", "Phones down", "s1@corp", to="support@example.org"))
    billing_account.append(first_mail("bob@shop.example", "Invoice wrong", "b1@shop", to=BILLING))
    gate.run_once("2026-11-26T10:00:00+03:00")
    assert [(r["tag"], r["mailbox"]) for r in gate.requests()] == [
        ("REQ-1", "support"),
        ("BILL-2", "billing"),
    ]
    [ack_ann] = gate.sent_to("ann@corp.example")
    [ack_bob] = gate.sent_to("bob@shop.example")
    assert from_address(ack_ann) == "support@example.org" and "[REQ-1]" in ack_ann["Subject"]
    assert from_address(ack_bob) == BILLING and "[BILL-2]" in ack_bob["Subject"]
    [notice] = gate.sent_to(BILLING_TEAM)

    # An agent's answer with billing's tag reaches the support account: filed under
    # BILL-2 all the same, and relayed to the client from billing's address.
    gate.deliver(reply_to(notice, sender=AGENT, body="Corrected.", message_id="a1@support"))
    gate.run_once("2026-11-26T10:05:00+03:00")
    shown = gate.show("BILL-2")
    assert (shown["mailbox"], shown["status"]) == ("billing", "in_progress")
    answer = gate.sent_to("bob@shop.example")[-1]
    assert from_address(answer) == BILLING and "[BILL-2]" in answer["Subject"]
    assert len(gate.imap.list_folder("Processed")) == 2
    assert len(billing_account.list_folder("Processed")) == 1
    listed = json.loads(gate.read("requests", "list", "--mailbox", "support", "--json"))
    assert [r["tag"] for r in listed] == ["REQ-1"]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_one_mailbox_down_while_the_other_keeps_working(two_mailboxes, billing_account):
    down = ImapAccount(host="127.0.0.1", port=9, user=billing_account.user, password="x")
    gate = two_mailboxes(account=down)
    gate.deliver(first_mail("ann@corp.example", "Phones down", "s1@corp", to="support@example.org"))
    result = gate.cli("run", "--once", check=False)
    assert result.returncode == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("mailgate:")]
    assert len(errors) == 1 and errors[0].startswith("mailgate: mailbox billing: IMAP 127.0.0.1:9")
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]
    assert gate.sent_to("ann@corp.example")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_run_watches_every_mailbox(two_mailboxes, billing_account, smtp_sink):
    gate = two_mailboxes()
    worker = start_worker(gate.config)
    try:
        billing_account.append(first_mail("bob@shop.example", "Invoice", "b1@shop", to=BILLING))
        smtp_sink.wait_for(2, timeout=30)  # the acknowledgement and billing's notice
        gate.deliver(first_mail("ann@corp.example", "Phones", "s1@corp", to="support@example.org"))
        smtp_sink.wait_for(4, timeout=30)
        wait_until(lambda: len(gate.requests()) == 2)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, stderr = worker.communicate(timeout=30)
    assert worker.returncode == 0, stderr
    assert {(r["tag"], r["mailbox"]) for r in gate.requests()} == {
        ("BILL-1", "billing"),
        ("REQ-2", "support"),
    }
    assert {from_address(m.message) for m in smtp_sink.messages} == {BILLING, "support@example.org"}


def test_a_clash_of_tag_prefixes_is_refused(tmp_path, dovecot, billing_account, smtp_sink):
    config = tmp_path / "mailgate.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///m.sqlite3")
    config.write_text(config.read_text() + mailboxes_toml(billing_account, billing_prefix="req"))
    result = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(config), "check"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "mailgate: config error: mailbox.billing.tag_prefix: 'req' is also the tag prefix "
        "of mailbox 'support'; give each mailbox its own"
    )
