"""Several support mailboxes in one install (SPEC §12), in-process: a memory inbox
per mailbox, one capturing pump for all of them.

The install serves `support` (the top-level keys, tag REQ) and `billing` (its
own address, name, tag BILL and team). Mail is read from one mailbox and filed
where its tag or headers say; notifications come from the request's mailbox.
"""

from __future__ import annotations

import email.utils

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import delivery_report, make_mail, reply_to

BILLING = "billing@example.org"
BILLING_TEAM = "billing-team@example.org"
TWO_MAILBOXES = f"""
[[mailbox]]
name = "support"

[[mailbox]]
name = "billing"
support_address = "{BILLING}"
support_name = "Billing"
tag_prefix = "BILL"
agent_notify = ["{BILLING_TEAM}"]
[mailbox.imap]
username = "{BILLING}"
"""
NOW = "2026-11-26T10:00:00+03:00"
LATER = "2026-11-26T10:05:00+03:00"


class DownInbox:
    """An inbox whose server refuses every command, as a broken IMAP connection does."""

    def waiting_uids(self) -> list[str]:
        raise OSError("connection refused")


@pytest.fixture
def gate(make_gate):
    return make_gate(extra_toml=TWO_MAILBOXES)


def first_mail(client: str, subject: str, message_id: str, *, to: str) -> bytes:
    return make_mail(
        sender=client, to=to, subject=subject, body=f"{subject}, please.", message_id=message_id
    )


def sender_of(message) -> tuple[str, str]:
    return email.utils.parseaddr(message["From"])


def open_one_in_each(gate):
    gate.inboxes["support"].deliver(
        first_mail("ann@corp.example", "Phones down", "s1@corp", to="support@example.org")
    )
    gate.inboxes["billing"].deliver(
        first_mail("bob@shop.example", "Invoice wrong", "b1@shop", to=BILLING)
    )
    gate.run_once(NOW)
    [ack_ann] = gate.sent_to("ann@corp.example")
    [ack_bob] = gate.sent_to("bob@shop.example")
    [billing_notice] = gate.sent_to(BILLING_TEAM)
    gate.smtp.clear()
    return ack_ann, ack_bob, billing_notice


def test_each_mailbox_opens_requests_with_its_own_tag_and_address(gate):
    ack_ann, ack_bob, _ = open_one_in_each(gate)
    assert [(r["tag"], r["mailbox"]) for r in gate.requests()] == [
        ("REQ-1", "support"),
        ("BILL-2", "billing"),
    ]
    assert "[REQ-1]" in ack_ann["Subject"] and sender_of(ack_ann)[1] == "support@example.org"
    assert "[BILL-2]" in ack_bob["Subject"] and sender_of(ack_bob) == ("Billing", BILLING)
    assert [r["tag"] for r in gate.requests("--mailbox", "billing")] == ["BILL-2"]
    assert gate.show("BILL-2")["mailbox"] == "billing"
    assert gate.show("2")["tag"] == "BILL-2"


def test_team_notices_go_to_the_mailbox_team(gate):
    open_one_in_each(gate)
    gate.inboxes["support"].deliver(
        make_mail(
            sender="carl@corp.example", subject="Printer", body="Broken.", message_id="s2@corp"
        )
    )
    gate.run_once(LATER)
    assert gate.sent_to(TEAM) and not gate.sent_to(BILLING_TEAM)


def test_a_reply_read_in_the_other_mailbox_is_filed_and_answered_where_it_belongs(gate):
    _, ack_bob, billing_notice = open_one_in_each(gate)
    # Bob answers the acknowledgement but sends it to support@ (read from that inbox).
    gate.inboxes["support"].deliver(
        make_mail(
            sender="bob@shop.example",
            subject=f"Re: {ack_bob['Subject']}",
            body="The invoice number is 42.",
            message_id="b2@shop",
        )
    )
    # An agent answers billing's notice; it too lands in the support inbox.
    gate.inboxes["support"].deliver(
        reply_to(
            billing_notice,
            sender=AGENT,
            body="Corrected, see the new one.",
            message_id="a1@support",
        )
    )
    gate.run_once(LATER)
    assert [(r["tag"], r["status"]) for r in gate.requests()] == [
        ("REQ-1", "new"),
        ("BILL-2", "in_progress"),
    ]
    kinds = [m["kind"] for m in gate.show("BILL-2")["messages"] if m["direction"] == "in"]
    assert kinds == ["client", "client", "agent"]
    [answer] = gate.sent_to("bob@shop.example")
    assert sender_of(answer)[1] == BILLING and "[BILL-2]" in answer["Subject"]
    assert "Corrected" in answer.get_body(("plain",)).get_content()
    assert all(sender_of(m.message)[1] == BILLING for m in gate.smtp.messages)


def test_another_mailboxs_prefix_on_a_number_is_an_unknown_tag(gate):
    open_one_in_each(gate)
    gate.inboxes["support"].deliver(
        make_mail(
            sender="dan@corp.example",
            subject="Re: [REQ-2] Invoice?",
            body="Is this mine?",
            message_id="d1@corp",
        )
    )
    gate.run_once(LATER)
    assert [r["tag"] for r in gate.requests()] == ["REQ-1", "BILL-2", "REQ-3"]
    assert [m["from"] for m in gate.show("BILL-2")["messages"] if m["direction"] == "in"] == [
        "bob@shop.example"
    ]


def test_mail_from_another_mailboxs_address_is_never_answered(gate):
    gate.inboxes["support"].deliver(
        first_mail(BILLING, "Forwarded", "loop1@example.org", to="support@example.org")
    )
    gate.run_once(NOW)
    assert gate.smtp.messages == []


def test_one_mailbox_down_does_not_stop_the_other(gate):
    gate.inboxes["billing"] = DownInbox()
    gate.inboxes["support"].deliver(
        first_mail("ann@corp.example", "Phones down", "s1@corp", to="support@example.org")
    )
    report = gate.run_once(NOW, check=False)
    assert [error.split(":")[0] for error in report.errors] == ["mailbox billing"]
    assert report.applied == 1
    assert [r["tag"] for r in gate.requests()] == ["REQ-1"]
    assert gate.sent_to("ann@corp.example")


def test_unknown_mailbox_name_is_refused(gate):
    result = gate.cli("requests", "list", "--mailbox", "sales", check=False)
    assert result.returncode == 2
    assert "no mailbox 'sales'" in result.stderr and "support, billing" in result.stderr



def test_each_mailboxs_notifications_return_to_it_and_its_bounces_prove_themselves(gate):
    """A billing notice's return path is at the billing address (its pump's From);
    the report comes back to the billing inbox and marks its recipient."""
    gate.inboxes["billing"].deliver(
        first_mail("bob@shop.example", "Invoice wrong", "b1@shop", to=BILLING)
    )
    gate.run_once(NOW)
    envelope = {m.rcpt_tos[0]: m.mail_from for m in gate.smtp.messages}
    assert set(envelope) == {"bob@shop.example", BILLING_TEAM}
    assert all(e.startswith("billing+b.") and e.endswith("@example.org")
               for e in envelope.values())  # fmt: skip
    gate.inboxes["billing"].deliver(
        delivery_report(recipients=["bob@shop.example"], message_id="dsn@mx",
                        to=envelope["bob@shop.example"])
    )  # fmt: skip
    gate.run_once(LATER)
    [detail] = [e["detail"] for e in gate.show("BILL-1")["events"] if e["kind"] == "bounce"]
    assert detail.startswith("bob@shop.example: marked as bouncing for 7 days, proven by its "
                             "return path")  # fmt: skip
