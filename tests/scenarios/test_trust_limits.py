"""Trust at the edge, in-process (SPEC §14): spam is held and released once, and a
stranger's mail cannot make mailgate write to many people.

For each attack: what the attacker sends, what mailgate sends and to whom, and
where the refusal is written down (the held list, or the request's history).
"""

from __future__ import annotations

import json

import pytest

from tests.harness import AGENT, TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
T0 = "2026-11-24T10:00:00+03:00"


def new_mail(sender: str = CLIENT, n: int = 0, **headers: str) -> bytes:
    return make_mail(sender=sender, subject=f"Fax {n}", body="Fax is down.",
                     message_id=f"new{n}.{sender}", headers=headers)  # fmt: skip


def held(gate) -> list[dict]:
    return json.loads(gate.read("held", "list", "--json"))


def events(gate, tag: str, kind: str) -> list[str]:
    return [e["detail"] for e in gate.show(tag)["events"] if e["kind"] == kind]


def agent_notice_text(gate, n: int = -1) -> str:
    return gate.sent_to(TEAM)[n].get_body(("plain",)).get_content()


# -- spam is held ---------------------------------------------------------------------------

SPAM = {
    "x-spam-flag": ({"X-Spam-Flag": "YES"}, {}, "spam: X-Spam-Flag: YES"),
    "x-spam-status": ({"X-Spam-Status": "Yes, score=12.0 required=5.0"}, {},
                      "spam: X-Spam-Status: Yes, score=12.0 required=5.0"),
    "spam_headers": ({"X-Rspamd-Action": "reject"},
                     {"spam_headers": ["X-Rspamd-Action: reject"]},
                     "spam: X-Rspamd-Action: reject"),
    "dmarc=fail": ({"Authentication-Results": "mx.example.org; dmarc=fail "
                    "header.from=corp.example"}, {}, "dmarc=fail header.from=corp.example"),
}  # fmt: skip


@pytest.mark.parametrize("kind", sorted(SPAM))
def test_spam_opens_nothing_sends_nothing_and_goes_to_the_spam_folder(make_gate, kind):
    headers, trust, reason = SPAM[kind]
    gate = make_gate(trust=trust)
    gate.deliver(new_mail(**headers), new_mail("other@corp.example", 1))
    report = gate.run_once(now=T0)

    assert report.held == 1
    assert [r["subject"] for r in gate.requests()] == ["Fax 1"]  # only the honest one
    assert {rcpt for m in gate.smtp.messages for rcpt in m.rcpt_tos} == {"other@corp.example",
                                                                          TEAM}  # fmt: skip
    assert [b"X-Spam" in raw or b"dmarc=fail" in raw or b"Rspamd" in raw
            for raw in gate.imap.list_folder("Junk")] == [True]  # fmt: skip
    assert len(gate.imap.list_folder("Processed")) == 1
    [row] = held(gate)
    assert row["reason"] == reason
    assert (row["key"], row["from"], row["subject"]) == (f"new0.{CLIENT}", CLIENT, "Fax 0")
    assert row["at"]


def test_spam_on_a_request_is_no_command_and_no_reply(gate):
    gate.deliver(new_mail())
    gate.run_once(now=T0)
    gate.smtp.clear()
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax 0", body="Cancel request",
                           message_id="spam-cancel@x", headers={"X-Spam-Flag": "YES"}))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    shown = gate.show("REQ-1")
    assert shown["status"] == "new"
    assert [m["message_id"] for m in shown["messages"] if m["direction"] == "in"] == [
        f"new0.{CLIENT}"]  # fmt: skip
    assert gate.smtp.messages == []


@pytest.mark.parametrize("blocked", ["spammer@bulk.example", "@bulk.example"])
def test_a_blocked_sender_is_held(make_gate, blocked):
    gate = make_gate(trust={"blocked_senders": [blocked]})
    gate.deliver(new_mail("spammer@bulk.example"), new_mail("honest@corp.example", 1))
    gate.run_once(now=T0)
    assert [r["requester"] for r in gate.requests()] == ["honest@corp.example"]
    assert gate.sent_to("spammer@bulk.example") == []
    [row] = held(gate)
    assert row["reason"] == (f"blocked sender: spammer@bulk.example ({blocked} in [trust] "
                             "blocked_senders)")  # fmt: skip
    assert len(gate.imap.list_folder("Junk")) == 1


# -- released by the admin, once -------------------------------------------------------------


def test_held_release_applies_it_once_as_if_it_had_just_arrived(gate):
    dmarc = {"Authentication-Results": "mx.example.org; dmarc=fail header.from=corp.example"}
    gate.deliver(new_mail(**dmarc))
    gate.run_once(now=T0)
    assert gate.requests() == [] and gate.smtp.messages == []
    key = f"new0.{CLIENT}"

    # The release queues its notices at the real time: the rounds after it run on it too.
    released = json.loads(gate.read("held", "release", key, "--json"))
    assert released["outcome"] == "applied" and released["request"] == "REQ-1"
    assert "stays in the IMAP folder Junk" in released["detail"]
    assert held(gate) == []
    shown = gate.show("REQ-1")
    assert shown["events"][0]["kind"] == "released"
    assert shown["events"][0]["actor"] == "admin"
    assert shown["events"][0]["detail"] == ("released by admin; held for: dmarc=fail "
                                            "header.from=corp.example")  # fmt: skip
    gate.run_once()  # the next round sends what it queued
    assert len(gate.sent_to(CLIENT)) == 1 and len(gate.sent_to(TEAM)) == 1

    again = gate.cli("held", "release", key)
    assert "not held (it is applied); nothing done" in again.stdout
    assert gate.cli("held", "release", "nope@x", check=False).returncode == 4
    gate.run_once()
    assert len(gate.requests()) == 1 and len(gate.smtp.messages) == 2
    assert gate.query("select state from inbound") == [("applied",)]

    # The same message delivered again (a client resending it) is not applied again.
    gate.deliver(new_mail(**dmarc))
    gate.run_once()
    assert len(gate.requests()) == 1 and len(gate.smtp.messages) == 2


def test_two_releases_of_one_message_apply_it_once(gate):
    from mailgate.store.operations import release_held

    gate.deliver(new_mail(**{"X-Spam-Flag": "YES"}))
    gate.run_once(now=T0)
    key = f"new0.{CLIENT}"
    with gate.app.engine.begin() as connection:  # one admin's release, not applied yet ...
        assert release_held(connection, key, note="released by admin")
    with gate.app.engine.begin() as connection:  # ... and the second one's compare-and-set
        assert not release_held(connection, key, note="released by admin")
    assert "not held (it is released)" in gate.read("held", "release", key)
    gate.run_once()  # the worker applies what was released
    assert len(gate.requests()) == 1
    assert events(gate, "REQ-1", "released") == ["released by admin"]
    assert len(gate.sent_to(CLIENT)) == 1


def test_a_release_waives_one_check_and_another_may_hold_it_again(gate):
    gate.deliver(new_mail(**{"X-Spam-Flag": "YES", "Authentication-Results": "mx.example.org; "
                             "dmarc=fail header.from=corp.example"}))  # fmt: skip
    gate.run_once(now=T0)
    key = f"new0.{CLIENT}"
    first = json.loads(gate.read("held", "release", key, "--json"))
    again = ("dmarc=fail header.from=corp.example (released by admin; held for: spam: "
             "X-Spam-Flag: YES)")  # fmt: skip
    assert (first["outcome"], first["detail"]) == ("held", f"held again: {again}")
    assert [row["reason"] for row in held(gate)] == [again]
    assert gate.requests() == []
    second = json.loads(gate.read("held", "release", key, "--json"))
    assert second["outcome"] == "applied"
    assert events(gate, "REQ-1", "released") == [f"released by admin; held for: {again}"]


def test_a_released_reply_counts_as_the_clients_and_its_command_applies(gate):
    gate.deliver(new_mail())
    gate.run_once(now=T0)
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax 0", body="Cancel request",
                           message_id="cancel@x", headers={"X-Spam-Flag": "YES"}))  # fmt: skip
    gate.run_once(now="2026-11-24T10:10:00+03:00")
    assert gate.show("REQ-1")["status"] == "new"
    gate.read("held", "release", "cancel@x")
    assert gate.show("REQ-1")["status"] == "closed"


def test_a_released_new_mail_from_an_agent_address_opens_a_request(gate):
    unproven = {"Authentication-Results": "mx.example.org; dmarc=none "
                "header.from=support.example.org"}  # fmt: skip
    gate.deliver(new_mail(AGENT, **unproven))
    gate.run_once(now=T0)
    [row] = held(gate)
    assert row["reason"].startswith("agent address without proof")
    gate.read("held", "release", row["key"])
    assert [r["requester"] for r in gate.requests()] == [AGENT]


# -- no amplification -------------------------------------------------------------------------


def test_a_mail_with_1200_addresses_in_cc_makes_ten_participants(gate):
    cc = [f"v{n}@t.io" for n in range(1200)]
    raw = make_mail(sender=CLIENT, subject="Hi all", body="Hi", message_id="cc@x", cc=cc)
    assert len(raw) < 14_000
    gate.deliver(raw)
    gate.run_once(now=T0)

    participants = gate.query("select address, role from participants order by id")
    assert participants == [(CLIENT, "requester"), *((a, "cc") for a in cc[:10])]
    assert len(gate.smtp.messages) == 12  # max_cc_participants + 2: requester, ten CC, agents
    assert {m.rcpt_tos[0] for m in gate.smtp.messages} == {CLIENT, TEAM, *cc[:10]}
    # Reading stops at 1,000 addresses a field (parse/headers.py): 990 are left out, the
    # first 200 of them named in the agents' notice.
    notice = agent_notice_text(gate)
    assert "990 more addresses in Cc get no mail about this request" in notice
    assert "v10@t.io" in notice and "v209@t.io" in notice
    assert "v210@t.io" not in notice and "and 790 more" in notice
    assert events(gate, "REQ-1", "cc_capped") == [
        "990 CC addresses not made participants ([trust] max_cc_participants = 10)"]  # fmt: skip


def test_max_cc_participants_is_configurable(make_gate):
    gate = make_gate(trust={"max_cc_participants": 2})
    gate.deliver(make_mail(sender=CLIENT, subject="Hi", body="Hi", message_id="cc@x",
                           cc=["a@x.example", CLIENT, "b@x.example", "c@x.example"]))  # fmt: skip
    gate.run_once(now=T0)
    assert gate.query("select address from participants where role = 'cc' order by id") == [
        ("a@x.example",), ("b@x.example",)]  # fmt: skip
    assert len(gate.smtp.messages) == 4


@pytest.mark.parametrize("rounds", ["one batch", "one round each"])
def test_one_sender_gets_at_most_five_acknowledgements_an_hour(gate, rounds):
    mails = [new_mail(n=n) for n in range(7)]
    if rounds == "one batch":
        gate.deliver(*mails)
        gate.run_once(now=T0)
    else:
        for n, mail in enumerate(mails):
            gate.deliver(mail)
            gate.run_once(now=f"2026-11-24T10:{n * 5:02d}:00+03:00")

    assert len(gate.requests()) == 7  # every request opens, agents see each
    assert len(gate.sent_to(CLIENT)) == 5
    assert len(gate.sent_to(TEAM)) == 7
    assert "Not acknowledged: client@corp.example" in agent_notice_text(gate)
    assert "Not acknowledged" not in agent_notice_text(gate, 0)
    assert events(gate, "REQ-6", "not_sent") == [
        "acknowledgement not sent to client@corp.example: 5 sent to this address in the last "
        "hour (max_new_requests_per_sender = 5)"]  # fmt: skip

    gate.deliver(new_mail(n=9))  # an hour after the first five: acknowledged again
    gate.run_once(now="2026-11-24T11:31:00+03:00")
    assert len(gate.sent_to(CLIENT)) == 6


def test_all_senders_together_get_at_most_max_acknowledgements_per_hour(make_gate):
    gate = make_gate(max_acknowledgements_per_hour=3)
    gate.deliver(*(new_mail(f"sender{n}@corp.example", n) for n in range(2)))
    gate.run_once(now=T0)
    gate.deliver(*(new_mail(f"sender{n}@corp.example", n) for n in range(2, 5)))
    gate.run_once(now="2026-11-24T10:20:00+03:00")

    assert len(gate.requests()) == 5
    acknowledged = {m.rcpt_tos[0] for m in gate.smtp.messages if TEAM not in m.rcpt_tos}
    assert acknowledged == {"sender0@corp.example", "sender1@corp.example", "sender2@corp.example"}
    assert events(gate, "REQ-5", "not_sent") == [
        "acknowledgement not sent to sender4@corp.example: 3 sent in the last hour "
        "(max_acknowledgements_per_hour = 3)"]  # fmt: skip
    assert len(gate.sent_to(TEAM)) == 5

    gate.deliver(new_mail("late@corp.example", 7))
    gate.run_once(now="2026-11-24T11:10:00+03:00")
    assert len(gate.sent_to("late@corp.example")) == 1


def test_cc_addresses_count_towards_the_acknowledgement_limits(make_gate):
    # A flood that names its victims in Cc from ever new senders: each victim gets five.
    gate = make_gate(max_per_hour=100)
    for n in range(7):
        gate.deliver(make_mail(sender=f"forged{n}@corp.example", subject=f"Hi {n}", body="Hi",
                               message_id=f"f{n}@x", cc=["victim@targets.example"]))  # fmt: skip
    gate.run_once(now=T0)
    assert len(gate.sent_to("victim@targets.example")) == 5


# -- a closed request answers once a day --------------------------------------------------------


def test_closed_reply_goes_once_a_day_per_address_and_request(gate):
    gate.deliver(new_mail())
    gate.run_once(now=T0)
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax 0", body="Resolve this issue",
                           message_id="close@x"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:05:00+03:00")
    assert gate.show("REQ-1")["status"] == "closed"
    gate.smtp.clear()

    def reply(n: int) -> bytes:
        return make_mail(sender=CLIENT, subject="Re: [REQ-1] Fax 0", body=f"Thanks {n}",
                         message_id=f"late{n}@x")  # fmt: skip

    gate.deliver(reply(1), reply(2))  # two in one batch: one answer
    gate.run_once(now="2026-11-24T11:00:00+03:00")
    gate.deliver(reply(3))
    gate.run_once(now="2026-11-25T10:59:00+03:00")  # within the day of the first
    assert len(gate.sent_to(CLIENT)) == 1
    gate.deliver(reply(4))
    gate.run_once(now="2026-11-25T11:01:00+03:00")  # a day later
    assert len(gate.sent_to(CLIENT)) == 2
    assert all(m["Subject"].startswith("[REQ-1]") for m in gate.sent_to(CLIENT))

    details = events(gate, "REQ-1", "closed_reply")
    assert details.count("request is closed; sender told") == 2
    assert details.count("request is closed; closed_reply not sent: sent within the last day") \
        == 2  # fmt: skip
    stored = [m for m in gate.show("REQ-1")["messages"] if m["direction"] == "in"]
    assert len(stored) == 6  # every reply is stored
