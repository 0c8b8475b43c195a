"""docs/slack_relay.py, the Slack example of docs/hooks.md: one escaped line per event."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

PATH = Path(__file__).resolve().parents[2] / "docs" / "slack_relay.py"
spec = importlib.util.spec_from_file_location("slack_relay", PATH)
assert spec is not None and spec.loader is not None
relay = importlib.util.module_from_spec(spec)
spec.loader.exec_module(relay)

REQUEST = {"number": 12, "tag": "REQ-12", "subject": "VPN <b>", "status": "escalated",
           "requester": "c@x.example", "owner": None, "created_at": "2026-11-24T09:00:00+00:00"}


@pytest.mark.parametrize(
    ("event", "data", "text"),
    [
        ("request.created", {"actor": "c@x.example"},
         ":inbox_tray: REQ-12 opened by c@x.example: VPN &lt;b&gt;"),
        ("request.status_changed", {"from": "new", "to": "escalated", "actor": "c@x.example",
                                    "detail": ""},
         ":arrows_counterclockwise: REQ-12 new → escalated (c@x.example)"),
        ("message.received", {"kind": "client", "from": "c@x.example", "text": "a" * 400},
         f":email: REQ-12 client reply from c@x.example: {'a' * 300}"),
        ("escalation.accepted", {"actor": "c@x.example", "reason": "<!here> & now"},
         ":rotating_light: REQ-12 escalated by c@x.example: &lt;!here&gt; &amp; now"),
        ("sla.breached", {"target": "resolution"}, ":alarm_clock: REQ-12 breached its "
         "resolution SLA"),
        ("delivery.failed", {"recipient": "c@x.example", "stage": "smtp", "error": "550 no"},
         ":warning: REQ-12: mail to c@x.example failed (smtp): 550 no"),
    ],
)  # fmt: skip
def test_each_event_becomes_one_escaped_line(event, data, text):
    assert relay.describe({"event": event, "request": REQUEST, "data": data}) == text
