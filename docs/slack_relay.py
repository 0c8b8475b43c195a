#!/usr/bin/env python3
"""A mailgate command hook that posts each event to a Slack incoming webhook.

Configure it as in docs/hooks.md ("Slack"): mailgate runs it with the event's
JSON on stdin and SLACK_WEBHOOK_URL passed through (`pass_env`). Standard
library only. Exit status 0 when Slack took the message, else non-zero with
the reason on stderr, and mailgate retries the call later.

Everything in an event may come from a stranger's mail: the text is escaped
as Slack asks (&, <, >), so that a subject cannot ping @channel or hide a link.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

PREVIEW = 300  # characters of a message's text shown


def escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def describe(event: dict) -> str:
    """One line of Slack text for one mailgate event."""
    request = event.get("request") or {}
    data = event.get("data") or {}
    tag = escape(request.get("tag", "mailgate"))
    kind = event.get("event")
    if kind == "request.created":
        subject = escape(request["subject"])
        return f":inbox_tray: {tag} opened by {escape(data['actor'])}: {subject}"
    if kind == "request.status_changed":
        return (f":arrows_counterclockwise: {tag} {escape(data['from'])} → {escape(data['to'])} "
                f"({escape(data['actor'])})")
    if kind == "message.received":
        text = escape(data["text"][:PREVIEW])
        return f":email: {tag} {escape(data['kind'])} reply from {escape(data['from'])}: {text}"
    if kind == "escalation.accepted":
        reason = escape(data["reason"])
        return f":rotating_light: {tag} escalated by {escape(data['actor'])}: {reason}"
    if kind == "sla.breached":
        return f":alarm_clock: {tag} breached its {escape(data['target'])} SLA"
    if kind == "delivery.failed":
        return (f":warning: {tag}: mail to {escape(data['recipient'])} failed "
                f"({escape(data['stage'])}): {escape(data['error'])}")
    return f"{tag}: {escape(kind)}"


def main() -> int:
    url = os.environ.get("SLACK_WEBHOOK_URL", "")
    if not url.startswith(("https://", "http://127.0.0.1:", "http://localhost:")):
        print("SLACK_WEBHOOK_URL is not set to an https:// URL", file=sys.stderr)
        return 2
    event = json.load(sys.stdin)
    body = json.dumps({"text": describe(event)}).encode()
    request = urllib.request.Request(url, data=body,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            if answer.status != 200:
                print(f"Slack answered {answer.status}", file=sys.stderr)
                return 1
    except OSError as exc:
        print(f"Slack: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
