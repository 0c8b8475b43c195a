"""Bounces that prove themselves (SPEC §14), applied by the worker in-process.

A delivery-status report marks an address as bouncing only when it names a
notification that mailgate sent to that address: by its return path (VERP,
`support+b.<outbound id>.<mac>@domain`, the envelope sender of every
notification) or by the Message-ID in its returned headers. Staff are never
silenced; a mark expires after `[trust] bounce_hold_days`. Every report is
recorded on its request with what it did to each address, and why.

The reports are built like the MTAs' own (tests/fixtures/machine/:
Postfix's with text/rfc822-headers, Exchange's with the message attached).
"""

from __future__ import annotations

from sqlalchemy import create_engine, text

from tests.harness import AGENT, LEAD, TEAM
from tests.mails import delivery_report, make_mail

CLIENT = "client@corp.example"
COLLEAGUE = "colleague@corp.example"
OTHER = "other@corp.example"
OPENED = "2026-11-24T10:00:00+03:00"  # a Tuesday


def open_request(gate, *, sender: str = CLIENT, cc=(COLLEAGUE,), number: int = 1):
    gate.deliver(make_mail(sender=sender, cc=cc, subject="Fax", body="Fax is down.",
                           message_id=f"c{number}@x"))  # fmt: skip
    gate.run_once(now=OPENED)


def sent(gate, recipient: str):
    """The notifications the pump was handed for `recipient`, oldest first."""
    return [m for m in gate.smtp.messages if recipient in m.rcpt_tos]


def bounce_events(gate, tag: str = "REQ-1") -> list[str]:
    return [e["detail"] for e in gate.show(tag)["events"] if e["kind"] == "bounce"]


def dropped(gate, tag: str = "REQ-1") -> list[str]:
    return [e["detail"] for e in gate.show(tag)["events"] if e["kind"] == "notification_dropped"]


def marks(gate) -> dict[str, object]:
    return dict(gate.query("select address, bouncing_since from addresses"))


def agent_says(gate, body: str, message_id: str, now: str) -> None:
    gate.deliver(make_mail(sender=AGENT, subject="Re: [REQ-1] Fax", body=body,
                           message_id=message_id))  # fmt: skip
    gate.run_once(now=now)


def test_every_notification_goes_out_with_its_own_return_path(gate):
    open_request(gate)
    by_recipient = {m.rcpt_tos[0]: m for m in gate.smtp.messages}
    assert set(by_recipient) == {CLIENT, COLLEAGUE, TEAM}
    ids = dict(gate.query("select recipient, id from outbound"))
    for recipient, mail in by_recipient.items():
        local, _, domain = mail.mail_from.partition("@")
        assert domain == "example.org" and local.startswith(f"support+b.{ids[recipient]}.")
        assert mail.message["From"].addresses[0].addr_spec == "support@example.org"  # unchanged
    assert len({m.mail_from for m in by_recipient.values()}) == 3


def test_a_forged_report_naming_the_team_silences_nobody(gate):
    """The attack of issue 19: a report naming team@ and an agent, with a tag and a
    made-up Message-ID, sent by anyone to the support address."""
    open_request(gate)
    gate.smtp.clear()
    gate.deliver(delivery_report(recipients=[TEAM, AGENT], message_id="forged1@mx",
                                 returned_id="mg.1.0123456789abcdef@example.org",
                                 subject="Undeliverable: [REQ-1] Fax",
                                 style="exchange"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert marks(gate) == {}
    [event] = bounce_events(gate)  # recorded on the request its tag names, with why
    assert event == f"bounce names no notification sent to {TEAM}, {AGENT}; not marked"
    assert gate.smtp.messages == []  # agents are not told of a bounce that proves nothing

    open_request(gate, sender="next@corp.example", cc=(), number=2)
    assert [m.message["Subject"] for m in sent(gate, TEAM)] == ["[REQ-2] Fax"]


def test_a_report_with_a_real_notifications_message_id_marks_only_its_recipient(gate):
    """The client got the acknowledgement and knows its Message-ID: a report with it
    that names the colleague in CC (or the team) proves nothing about them."""
    open_request(gate)
    [ack] = sent(gate, CLIENT)
    ack_id = ack.message["Message-ID"].strip("<>")
    gate.smtp.clear()
    gate.deliver(delivery_report(recipients=[COLLEAGUE, TEAM], message_id="forged2@mx",
                                 returned_id=ack_id, returned_to=COLLEAGUE))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert marks(gate) == {}
    assert bounce_events(gate) == [
        f"bounce names no notification sent to {COLLEAGUE}, {TEAM}; not marked"
    ]
    agent_says(gate, "Fixed?", "a1@x", "2026-11-24T11:00:00+03:00")
    assert {r for m in gate.smtp.messages for r in m.rcpt_tos} == {CLIENT, COLLEAGUE}


def test_a_real_report_marks_the_address_until_the_hold_ends(gate):
    open_request(gate)
    [ack] = sent(gate, CLIENT)
    gate.smtp.clear()
    gate.deliver(delivery_report(recipients=[CLIENT], message_id="dsn1@mx",
                                 returned_id=ack.message["Message-ID"].strip("<>")))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert set(marks(gate)) == {CLIENT}
    assert bounce_events(gate) == [
        f"{CLIENT}: marked as bouncing for 7 days, proven by its returned Message-ID"
    ]
    [told] = [m.message for m in gate.smtp.messages if TEAM in m.rcpt_tos]
    assert "for 7 days" in told.get_body(("plain",)).get_content()
    gate.smtp.clear()

    agent_says(gate, "#status on_hold", "a1@x", "2026-11-24T11:00:00+03:00")
    agent_says(gate, "#status in_progress", "a2@x", "2026-12-01T10:09:00+03:00")  # 6 d 23:59
    assert sent(gate, CLIENT) == [] and len(sent(gate, COLLEAGUE)) == 2
    assert dropped(gate) == [f"status_changed to {CLIENT}: address is bouncing"] * 2

    agent_says(gate, "Back to it: the fax works again.", "a3@x", "2026-12-01T10:11:00+03:00")
    [answer] = sent(gate, CLIENT)  # 7 days after the bounce: the mark has expired
    assert "the fax works again" in answer.message.get_body(("plain",)).get_content()
    assert len(dropped(gate)) == 2


def test_a_report_sent_back_to_the_return_path_marks_its_recipient(gate):
    """Sent to the VERP address, with no headers returned: the return path alone proves it.
    The report names the colleague too (a forwarding, say): only the notification's
    recipient is marked."""
    open_request(gate)
    [ack] = sent(gate, CLIENT)
    gate.smtp.clear()
    gate.deliver(delivery_report(recipients=[CLIENT, COLLEAGUE], message_id="dsn2@mx",
                                 to=ack.mail_from, subject="Undeliverable: Fax",
                                 style="exchange"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert set(marks(gate)) == {CLIENT}
    [outbound] = gate.query(f"select id from outbound where recipient = '{CLIENT}'")
    assert bounce_events(gate) == [
        f"{CLIENT}: marked as bouncing for 7 days, proven by its return path "
        f"(notification {outbound[0]}); bounce names no notification sent to {COLLEAGUE}; "
        "not marked"
    ]
    agent_says(gate, "Fixed?", "a1@x", "2026-11-24T11:00:00+03:00")
    assert sent(gate, CLIENT) == [] and len(sent(gate, COLLEAGUE)) == 1


def test_a_return_path_with_a_wrong_mac_proves_nothing(gate):
    open_request(gate)
    [ack] = sent(gate, CLIENT)
    local, _, domain = ack.mail_from.partition("@")
    forged = f"{local[:-16]}{'0' * 16}@{domain}"
    other = local.split(".")
    other[1] = str(int(other[1]) + 1)  # another notification (the colleague's), same MAC
    gate.smtp.clear()
    for n, to in enumerate((forged, ".".join(other) + f"@{domain}")):
        gate.deliver(delivery_report(recipients=[CLIENT], message_id=f"dsn{n}@mx", to=to,
                                     subject="Undeliverable: [REQ-1] Fax",
                                     style="exchange"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert marks(gate) == {}
    events = bounce_events(gate)
    assert len(events) == 2 and all(
        e.startswith("its return path support+b.") and "is not one mailgate made" in e
        and e.endswith(f"bounce names no notification sent to {CLIENT}; not marked")
        for e in events
    )  # fmt: skip
    agent_says(gate, "Fixed?", "a1@x", "2026-11-24T11:00:00+03:00")
    assert len(sent(gate, CLIENT)) == 1


def test_staff_are_never_silenced(gate):
    """A proven bounce of the team's own notice marks nothing; a mark on a staff
    address from before (older versions set them) is ignored when sending."""
    open_request(gate)
    [notice] = sent(gate, TEAM)
    gate.smtp.clear()
    gate.deliver(delivery_report(recipients=[TEAM], message_id="dsn3@mx", to=notice.mail_from))
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert marks(gate) == {}
    assert bounce_events(gate) == [f"{TEAM}: staff address, never silenced; not marked"]

    engine = create_engine(gate.database_url)
    with engine.begin() as connection:
        for address in (TEAM, LEAD, COLLEAGUE):
            connection.execute(text("insert into addresses (address, bouncing_since) "
                                    "values (:a, '2026-11-24 07:00:00.000000')"),
                               {"a": address})  # fmt: skip
    engine.dispose()
    reason = "the fax has been down for two days and we are losing orders"
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax", body=f"Escalate: {reason}",
                           message_id="c9@x"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:20:00+03:00")
    assert sent(gate, TEAM) and sent(gate, LEAD) and sent(gate, CLIENT)
    assert dropped(gate) == [f"escalation_accepted to {COLLEAGUE}: address is bouncing"]


def test_a_temporary_failure_marks_nothing_even_when_proven(gate):
    open_request(gate)
    [ack] = sent(gate, CLIENT)
    gate.deliver(delivery_report(recipients=[CLIENT], message_id="dsn4@mx", to=ack.mail_from,
                                 subject="Delayed Mail (still being retried)",
                                 action="delayed"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert marks(gate) == {}
    assert bounce_events(gate) == [f"{CLIENT}: temporary failure; not marked"]
