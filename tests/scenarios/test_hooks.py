"""Event hooks (SPEC §16), in-process against a real local HTTP receiver and real
commands: the calls are queued with the change, signed, retried with the same
delivery key, taken back after a restart, and never slow the mail."""

from __future__ import annotations

import datetime as dt
import json
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mailgate.hooks.payload import TEXT_LIMIT
from mailgate.hooks.pump import LEASE
from tests.harness import AGENT
from tests.hook_receiver import SECRET, Receiver, hook_toml, receivers, validate
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOON = "2026-11-24T12:00:00+03:00"  # a Tuesday


@pytest.fixture
def receiver():
    yield from receivers()


def first_mail(n: int = 1, body: str = "VPN is down.") -> bytes:
    return make_mail(sender=f"Client <{CLIENT}>", subject=f"VPN {n}", body=body,
                     message_id=f"c{n}@corp.example")  # fmt: skip


def later(minutes: float, start: str = NOON) -> str:
    return (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=minutes)).isoformat()


def calls(gate) -> list[tuple]:
    return gate.query("select hook, event, state, attempts from hook_calls order by id")


def test_a_new_request_is_told_signed_and_as_the_schema_says(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url))
    gate.deliver(first_mail(body="VPN is down.\n\n-- \nClient"))
    gate.run_once(NOON)
    # Calls are made concurrently: they arrive in any order (docs/hooks.md).
    assert sorted(c.event["event"] for c in receiver.calls) == ["message.received",
                                                                "request.created"]
    for call in receiver.calls:
        assert call.signed_with(SECRET)
        assert not call.signed_with(SECRET + "x")
        assert call.headers["X-Mailgate-Event"] == call.event["event"]
        assert call.delivery == f"{call.event['id']}.crm"
        assert call.headers["Content-Type"] == "application/json; charset=utf-8"
        validate(call.event)
    [created], [received] = receiver.events("request.created"), receiver.events("message.received")
    assert created["request"] == {
        "number": 1, "tag": "REQ-1", "subject": "VPN 1", "status": "new", "priority": "normal",
        "requester": CLIENT, "owner": None, "created_at": "2026-11-24T09:00:00+00:00",
    }  # fmt: skip
    assert created["data"] == {"actor": CLIENT}
    assert received["data"]["text"] == "VPN is down."  # the new text, signature cut
    assert received["data"]["kind"] == "client" and received["mailbox"] == "default"
    assert calls(gate) == [("crm", "request.created", "sent", 1),
                           ("crm", "message.received", "sent", 1)]  # fmt: skip


def test_each_kind_of_event_is_produced(make_gate, receiver):
    gate = make_gate(sla={"first_response_hours": 2},
                     extra_toml=hook_toml("all", url=receiver.url))  # fmt: skip
    gate.deliver(first_mail())
    gate.run_once(NOON)
    gate.smtp.fail(temporary=False, recipients=[CLIENT])  # the escalation's notice is refused
    gate.deliver(make_mail(sender=CLIENT, subject="Re: [REQ-1] VPN 1",
                           body="Escalate: no answer for a week, and our SLA promises 4 hours",
                           message_id="c2@corp.example"))  # fmt: skip
    gate.run_once(later(10))
    gate.smtp.recover()
    gate.run_once(later(180))  # the first answer was due at 14:00
    queued = ["request.created", "message.received", "message.received",
              "request.status_changed", "escalation.accepted", "delivery.failed",
              "sla.breached"]  # fmt: skip
    assert [event for _, event, _, _ in calls(gate)] == queued  # in the order they happened
    assert sorted(e["event"] for e in receiver.events()) == sorted(queued)
    for event in receiver.events():
        validate(event)
    changed = receiver.events("request.status_changed")[0]
    assert changed["data"] == {"from": "new", "to": "escalated", "actor": CLIENT,
                               "detail": "no answer for a week, and our SLA promises 4 hours"}
    assert changed["request"]["status"] == "escalated"
    assert receiver.events("escalation.accepted")[0]["data"]["actor"] == CLIENT
    [failed] = receiver.events("delivery.failed")
    assert failed["data"]["stage"] == "smtp" and failed["data"]["recipient"] == CLIENT
    assert failed["data"]["error"].startswith("550") and failed["request"]["tag"] == "REQ-1"
    assert receiver.events("sla.breached")[0]["data"] == {"target": "first_response"}


def test_an_agents_status_from_the_cli_and_a_hook_that_wants_only_some(make_gate, receiver):
    extra = hook_toml("status", url=receiver.url, events=("request.status_changed",))
    gate = make_gate(extra_toml=extra)
    gate.deliver(first_mail())
    gate.run_once(NOON)
    assert receiver.calls == [] and calls(gate) == []  # nothing queued that nobody wants
    gate.cli("requests", "set-status", "REQ-1", "on_hold", "--by", AGENT)
    gate.run_once()  # the command acted at the real time: its call is due from then
    [event] = receiver.events()
    assert (event["data"]["to"], event["data"]["actor"]) == ("on_hold", AGENT)


def test_a_500_is_retried_later_with_the_same_delivery_key(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("request.created",)))
    receiver.answer_with(500)
    gate.deliver(first_mail())
    report = gate.run_once(NOON)
    assert report.sent == 2  # the mail went out all the same: to the client and the team
    assert report.hooks.failed == {"crm": 1}
    [(_, _, state, attempts)] = calls(gate)
    assert (state, attempts) == ("pending", 1)
    [listed] = json.loads(gate.read("hooks", "list", "--json"))
    assert listed["last_error"] == "HTTP 500 Internal Server Error: no"
    assert listed["request"] == "REQ-1"
    gate.run_once(later(0.2))  # not due yet: backoff
    assert len(receiver.calls) == 1
    gate.run_once(later(1))  # due after 30 s, at most 36 with jitter; a new worker takes it
    first, second = receiver.calls
    assert second.delivery == first.delivery and second.body == first.body
    assert second.headers["X-Mailgate-Attempt"] == "2"
    assert calls(gate) == [("crm", "request.created", "sent", 2)]


def dead_owner() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}:1"


def test_nothing_is_lost_when_a_worker_dies_mid_call(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("request.created",)))
    receiver.answer_with(503, 503)
    gate.deliver(first_mail(1), first_mail(2))
    gate.run_once(NOON)  # both calls failed once: pending, due at about 12:00:30
    due = dt.datetime.fromisoformat(later(2))
    for owner in (dead_owner(), "elsewhere.example:77:1"):  # killed here; alive on another host
        with gate.app.store.transaction() as tx:
            [_] = tx.claim_hook_calls("crm", due, lease_until=due + LEASE, limit=1,
                                            owner=owner)  # fmt: skip
    receiver.calls.clear()
    gate.run_once(later(3))  # a new worker: the dead one's call at once, the other's waits
    [taken] = receiver.taken
    gate.run_once(later(2 + LEASE.total_seconds() / 60 + 1))  # then the lease runs out
    assert len(receiver.taken) == 2 and taken.delivery != receiver.taken[1].delivery
    assert [state for _, _, state, _ in calls(gate)] == ["sent", "sent"]


def test_a_hook_that_is_down_never_slows_the_mail(make_gate, receiver):
    """A receiver that accepts the connection and never answers: the mail of the round
    goes out all the same, another hook gets all its calls, and `run --once` waits no
    longer than the hook's timeout."""
    silent = Receiver.silent()
    try:
        gate = make_gate(extra_toml=hook_toml("slow", url=silent.url, timeout=1) +
                         hook_toml("fine", url=receiver.url))  # fmt: skip
        gate.deliver(*(first_mail(n) for n in range(1, 4)))
        started = dt.datetime.now(dt.UTC)
        report = gate.run_once(NOON)
        took = (dt.datetime.now(dt.UTC) - started).total_seconds()
    finally:
        silent.close()
    assert report.applied == 3 and report.sent == 6
    assert took < 5
    # The first calls timed out; after them the hook rests, its other calls wait.
    assert report.hooks.failed == {"slow": 4}
    assert report.hooks.sent == {"fine": 6} and len(receiver.taken) == 6
    states = gate.query("select state, attempts, last_error from hook_calls where hook = 'slow'")
    assert sorted(states)[:2] == [("pending", 0, "")] * 2
    assert all(error == "TimeoutError: timed out" for _, attempts, error in states if attempts)


def script(tmp_path, name: str, body: str) -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return str(path)


def test_a_command_hook_gets_the_json_on_stdin(make_gate, tmp_path):
    out = tmp_path / "events.jsonl"
    taker = script(tmp_path, "take.py", f"""
        import json, os, sys
        event = json.load(sys.stdin)
        seen = {{k: v for k, v in os.environ.items() if k.startswith("X_MAILGATE")}}
        with open({str(out)!r}, "a") as f:
            f.write(json.dumps({{"event": event, "env": seen, "secret": "SMTP_SECRET" in os.environ}}) + "\\n")
    """)  # noqa: E501
    extra = hook_toml("cmd", command=(sys.executable, taker), events=("request.created",),
                      secret=SECRET)  # fmt: skip
    gate = make_gate(extra_toml=extra)
    gate.deliver(first_mail())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SMTP_SECRET", "never for a hook")
        gate.run_once(NOON)
    [line] = out.read_text().splitlines()
    seen = json.loads(line)
    validate(seen["event"])
    assert seen["event"]["request"]["tag"] == "REQ-1"
    assert seen["env"]["X_MAILGATE_EVENT"] == "request.created"
    assert seen["env"]["X_MAILGATE_DELIVERY"] == f"{seen['event']['id']}.cmd"
    assert seen["env"]["X_MAILGATE_SIGNATURE"].startswith("sha256=")
    assert seen["secret"] is False  # the worker's environment stays its own
    assert calls(gate) == [("cmd", "request.created", "sent", 1)]


def test_a_failing_or_hanging_command_is_retried_and_killed(make_gate, tmp_path):
    failing = script(tmp_path, "fail.py", "import sys; sys.stderr.write('no CRM\\n'); sys.exit(3)")
    hanging = script(tmp_path, "hang.py", "import time; time.sleep(60)")
    extra = hook_toml("fails", command=(sys.executable, failing), events=("request.created",),
                      max_attempts=1) + \
        hook_toml("hangs", command=(sys.executable, hanging), events=("request.created",),
                  timeout=0.5)  # fmt: skip
    gate = make_gate(extra_toml=extra)
    gate.deliver(first_mail())
    gate.run_once(NOON)
    rows = dict(gate.query("select hook, state || ': ' || last_error from hook_calls"))
    assert rows == {"fails": "failed: exit status 3: no CRM",
                    "hangs": "pending: timed out after 0.5 s; killed"}  # fmt: skip


def test_hooks_list_and_retry_of_failed_calls(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("request.created",),
                                          max_attempts=1))  # fmt: skip
    receiver.answer_with(404)
    gate.deliver(first_mail())
    gate.run_once(NOON)
    [row] = json.loads(gate.read("hooks", "list", "--state", "failed", "--json"))
    assert (row["hook"], row["event"], row["attempts"]) == ("crm", "request.created", 1)
    assert "HTTP 404" in gate.read("hooks", "list")
    retried = json.loads(gate.read("hooks", "retry", "--all-failed", "--json"))
    assert retried["requeued"] == [row["id"]] and retried["sent"] == [row["id"]]
    again = gate.cli("hooks", "retry", str(row["id"]))
    assert "already made, never made twice" in again.stdout
    assert len(receiver.taken) == 1 and receiver.taken[0].delivery == row["delivery"]
    missing = gate.cli("hooks", "retry", "999", check=False)
    assert missing.returncode == 4


def test_a_long_text_is_cut_in_the_body(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("message.received",)))
    gate.deliver(first_mail(body="word " * 2000))
    gate.run_once(NOON)
    [event] = receiver.events()
    validate(event)
    assert len(event["data"]["text"]) == TEXT_LIMIT and event["data"]["text_cut"] is True


def test_a_held_message_calls_no_hook(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url))
    gate.deliver(make_mail(sender=CLIENT, subject="Cheap pills", body="Buy", message_id="s@x",
                           headers={"X-Spam-Flag": "YES"}))  # fmt: skip
    gate.run_once(NOON)
    assert receiver.calls == [] and calls(gate) == []


RELAY = str(Path(__file__).resolve().parents[2] / "docs" / "slack_relay.py")


def test_the_slack_relay_of_the_docs_posts_escaped_text(make_gate, receiver, monkeypatch):
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.url)
    extra = hook_toml("slack", command=(sys.executable, RELAY), events=("request.created",),
                      pass_env=["SLACK_WEBHOOK_URL"])  # fmt: skip
    gate = make_gate(extra_toml=extra)
    gate.deliver(make_mail(sender=CLIENT, subject="<!channel> VPN & <http://x|click>",
                           body="Down", message_id="c1@corp.example"))  # fmt: skip
    gate.run_once(NOON)
    [call] = receiver.taken
    assert call.event == {"text": f":inbox_tray: REQ-1 opened by {CLIENT}: "
                                  "&lt;!channel&gt; VPN &amp; &lt;http://x|click&gt;"}
    assert calls(gate) == [("slack", "request.created", "sent", 1)]


def test_status_counts_the_hook_calls(make_gate, receiver):
    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("request.created",)))
    assert json.loads(gate.read("status", "--json"))["hook_calls"] == {
        "pending": 0, "sent": 0, "failed": 0}  # fmt: skip
    assert "hook calls" not in gate.read("status")
    receiver.answer_with(500)
    gate.deliver(first_mail())
    gate.run_once(NOON)
    assert json.loads(gate.read("status", "--json"))["hook_calls"]["pending"] == 1
    assert "hook calls: 1 pending, 0 failed, 0 made" in gate.read("status")


def test_a_call_of_a_hook_no_longer_configured_waits(make_gate, receiver):
    from mailgate.store.rows import QueuedHookCall

    gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url, events=("request.created",)))
    with gate.app.store.transaction() as tx:
        tx.queue_hook_calls([QueuedHookCall(hook="old", event="request.created", delivery="e.old",
                                            request=None, payload='{"request": null}')],
                            now=dt.datetime.fromisoformat(NOON))  # fmt: skip
    gate.run_once(later(1))
    assert receiver.calls == [] and calls(gate) == [("old", "request.created", "pending", 0)]
    assert "no hook 'old' in the config: this call waits for it" in gate.read("hooks", "list")
