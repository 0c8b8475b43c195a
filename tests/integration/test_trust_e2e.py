"""Agents prove who they are (SPEC §14), end to end: real Dovecot, the aiosmtpd sink
and `mailgate run --once` as a subprocess, on SQLite and on PostgreSQL. The agent's
reply goes to the notice's Reply-To as a mail client sends it; a forged agent From
is held, and a forged new mail lands in the real Junk folder. The cases one by one
are tests/scenarios/test_trust_agents.py."""

from __future__ import annotations

from tests.harness import AGENT, TEAM
from tests.mails import make_mail
from tests.scenarios.test_trust_agents import CLIENT, FOREIGN, LATER, NOW, agent_mail


def test_a_forged_agent_is_held_and_the_real_one_replying_to_the_notice_acts(gate):
    gate.deliver(make_mail(sender=CLIENT, subject="Fax 1", body="Fax is down.",
                           message_id="c1@corp.example"))  # fmt: skip
    gate.run_once(now=NOW)
    [notice] = gate.sent_to(TEAM)
    reply_to = notice["Reply-To"]
    assert reply_to.startswith("support+a.1.")
    gate.smtp.clear()

    gate.deliver(agent_mail(headers=FOREIGN, body="#status closed\n\nTry now.",
                            message_id="forged@evil.example"))  # fmt: skip
    gate.run_once(now=LATER)
    shown = gate.show("REQ-1")
    assert shown["status"] == "new" and gate.sent_to(CLIENT) == []
    assert [e["kind"] for e in shown["events"]].count("held") == 1

    gate.deliver(agent_mail(to=reply_to, headers=FOREIGN, body="#status on hold\n\nTry now.",
                            message_id="real@support.example.org"))  # fmt: skip
    gate.run_once(now="2026-11-24T12:00:00+03:00")
    assert gate.show("REQ-1")["status"] == "on_hold"
    assert any("Try now" in m.get_body(("plain",)).get_content() for m in gate.sent_to(CLIENT))


def test_a_forged_agent_s_new_mail_opens_nothing_and_goes_to_the_junk_folder(gate):
    gate.deliver(make_mail(sender=f"Alice <{AGENT}>", subject="Pay this invoice",
                           body="#assign attacker@evil.example", message_id="f1@evil.example",
                           headers=FOREIGN))  # fmt: skip
    gate.run_once(now=NOW)
    assert gate.requests() == [] and gate.smtp.messages == []
    assert gate.imap.list_folder("INBOX") == [] and len(gate.imap.list_folder("Junk")) == 1
