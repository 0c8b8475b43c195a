"""The writer keeps rows back and inserts them per batch (mailgate/store/writer.py):
what one round applies in one transaction must end up as if each message had
been applied in a round of its own, and cost a few statements, not seven a message.
"""

from __future__ import annotations

from sqlalchemy import event

from tests.harness import TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
COLLEAGUE = "colleague@corp.example"
NOW = "2026-11-24T10:00:00+03:00"

# Everything a round leaves in the database, without ids and times: what must not
# depend on how the messages were batched.
TABLES = {
    "requests": "select subject, status, requester from requests order by id",
    "participants": "select request_id, address, role, notify from participants order by id",
    "messages": "select request_id, direction, kind, from_address, to_address, subject "
    "from messages order by id",
    "events": "select request_id, actor, kind, from_status, to_status, detail, "
    "message_id is not null from events order by id",
    "outbound": "select request_id, template, recipient, state from outbound order by id",
}


def conversation() -> list[bytes]:
    """A new request, a reply by its tag from a CC of the first mail, a reply by
    In-Reply-To, and another new request."""
    return [
        make_mail(sender=CLIENT, subject="Fax is down", body="Since this morning.",
                  message_id="first@corp.example", cc=[COLLEAGUE]),
        make_mail(sender=COLLEAGUE, subject="Re: [REQ-1] Fax is down",
                  body="Also on the second floor.", message_id="second@corp.example"),
        make_mail(sender=CLIENT, subject="Re: Fax is down", body="And the scanner.",
                  message_id="third@corp.example", in_reply_to="first@corp.example"),
        make_mail(sender="other@corp.example", subject="Printer", body="Out of toner.",
                  message_id="fourth@corp.example"),
    ]  # fmt: skip


def contents(gate) -> dict[str, list[tuple]]:
    return {table: gate.query(sql) for table, sql in TABLES.items()}


def test_a_batch_is_written_as_if_each_message_were_applied_alone(make_gate):
    together, apart = make_gate(), make_gate()
    together.deliver(*conversation())
    together.run_once(now=NOW)
    for mail in conversation():
        apart.deliver(mail)
        apart.run_once(now=NOW)

    assert contents(together) == contents(apart)
    assert len(contents(together)["requests"]) == 2  # the replies found REQ-1 in the batch
    assert len(together.sent_to(COLLEAGUE)) == len(apart.sent_to(COLLEAGUE)) > 0


def test_the_rate_limit_counts_the_notices_queued_earlier_in_the_same_batch(make_gate):
    # The acknowledgement limit (5 an hour to one sender) is raised out of the way:
    # the per-address rate limit is what this counts.
    gate = make_gate(max_per_hour=5, max_new_requests_per_sender=100)
    bot = "bot@robots.example"
    gate.deliver(
        *(
            make_mail(sender=bot, subject=f"Your ticket {n}", body="We will answer soon.",
                      message_id=f"bot{n}@robots.example")
            for n in range(3)
        )
    )  # fmt: skip
    gate.run_once(now=NOW)
    gate.deliver(
        *(
            make_mail(sender=bot, subject=f"Your ticket {n}", body="We will answer soon.",
                      message_id=f"bot{n}@robots.example")
            for n in range(3, 12)
        )
    )  # fmt: skip
    gate.run_once(now="2026-11-24T10:30:00+03:00")

    assert len(gate.sent_to(bot)) == 5  # three from the first round, two of the nine
    assert len(gate.sent_to(TEAM)) == 12
    dropped = gate.query("select count(*) from events where kind = 'notification_dropped'")
    assert dropped == [(7,)]


def test_a_batch_of_new_requests_costs_a_few_statements_a_message(gate):
    count = 50
    gate.deliver(
        *(
            make_mail(sender=f"client{n}@corp{n}.example", subject=f"Problem {n}",
                      body="It does not work.", message_id=f"m{n}@corp.example")
            for n in range(count)
        )
    )  # fmt: skip
    statements: list[str] = []

    def count_it(conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.startswith(("BEGIN", "PRAGMA")):
            statements.append(statement.split(None, 3)[:3])

    event.listen(gate.app.engine, "before_cursor_execute", count_it)
    try:
        report = gate.run_once(now=NOW)
    finally:
        event.remove(gate.app.engine, "before_cursor_execute", count_it)

    assert report.applied == count
    assert len(gate.sent_to(TEAM)) == count
    # A new request and its stored message each need their id at once; the rest
    # (inbound, participants, events, outbox, sent copies, rate limits) go per batch.
    inserts = [s for s in statements if s[0] == "INSERT"]
    assert len(inserts) <= 2 * count + 10, inserts
    assert len(statements) <= 2.5 * count + 30
