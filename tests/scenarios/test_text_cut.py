"""The worker reads at most `max_text_bytes` of a message's text (SPEC §14): the cut
is the admin's setting, the agents are told, and the raw message keeps all of it."""

from __future__ import annotations

from tests.harness import TEAM
from tests.mails import make_mail


def test_the_worker_cuts_the_text_at_the_configured_size_and_tells_the_agents(make_gate):
    gate = make_gate(max_text_bytes=65536)
    body = "The trunk is down.\n" + "log line 0123456789 abcdefghij\n" * 4000  # 124 KB
    gate.deliver(make_mail(sender="client@corp.example", subject="Logs", body=body,
                           message_id="long@corp.example"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    [notice] = gate.sent_to(TEAM)
    assert "The text was cut" in notice.get_body(("plain",)).get_content()
    [(raw,)] = gate.query("select raw from inbound")
    assert body.encode()[-2000:].strip() in raw.replace(b"\r\n", b"\n")


def test_under_the_size_nothing_is_cut(make_gate):
    gate = make_gate()
    gate.deliver(make_mail(sender="client@corp.example", subject="Logs", body="Short.",
                           message_id="short@corp.example"))  # fmt: skip
    gate.run_once(now="2026-11-24T10:00:00+03:00")
    [notice] = gate.sent_to(TEAM)
    assert "The text was cut" not in notice.get_body(("plain",)).get_content()
