"""What the commands print: `requests show` keeps one line per history event,
and output cut short by its reader (`| head`) ends without a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from mailgate.cli import DETAIL_WIDTH, _print_request

UTC = ZoneInfo("UTC")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "e2e" / "applemail_quotes_approval.eml"

ANSWER = "Hello Ivan,\n\nplease restart the PBX and tell us\nwhether the trunk comes back."


def shown(*details: str) -> dict:
    """A `requests show --json` object (SPEC §8) with one event per detail."""
    return {
        "tag": "REQ-7",
        "subject": "SIP trunk down",
        "status": "in_progress",
        "requester": "ivan@client.example.net",
        "owner": "alice@example.org",
        "participants": ["ivan@client.example.net"],
        "auto_close_at": None,
        "events": [
            {
                "at": "2026-12-07T10:00:00+00:00",
                "actor": "alice@example.org",
                "kind": "answer",
                "from": None,
                "to": None,
                "detail": detail,
            }
            for detail in details
        ],
        "messages": [],
    }


def history(capsys) -> list[str]:
    out = capsys.readouterr().out.splitlines()
    return out[out.index("history:") + 1 : out.index("messages:")]


def test_a_multi_line_detail_shows_its_first_line_marked_as_cut(capsys):
    _print_request(shown(ANSWER, "x" * 200, "short", ""), UTC)
    lines = history(capsys)
    assert len(lines) == 4
    assert lines[0].endswith("alice@example.org  Hello Ivan,…")
    assert lines[1].endswith("x" * (DETAIL_WIDTH - 1) + "…")
    assert lines[2].endswith("  short")
    assert lines[3].endswith("alice@example.org  ")


def test_a_reader_that_stops_early_gets_no_traceback():
    command = [sys.executable, "-m", "mailgate.cli", "parse", str(FIXTURE)]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as process:
        assert process.stdout is not None and process.stderr is not None
        process.stdout.close()  # before mailgate has written a byte
        stderr = process.stderr.read()
    assert process.returncode == 1
    assert stderr == b""


def test_the_message_list_names_who_got_each_notification(capsys):
    request = shown()
    request["messages"] = [
        {"at": "2026-12-07T10:00:00+00:00", "direction": "in", "kind": "client",
         "from": "ivan@client.example.net", "to": None},
        {"at": "2026-12-07T10:00:01+00:00", "direction": "out", "kind": "notification",
         "from": "support@example.org", "to": "ivan@client.example.net"},
    ]  # fmt: skip
    _print_request(request, UTC)
    out = capsys.readouterr().out.splitlines()
    received, sent = out[out.index("messages:") + 1 :]
    assert received.endswith("client       ivan@client.example.net")
    assert sent.endswith("notification to ivan@client.example.net")
    assert "support@example.org" not in sent


def test_times_are_shown_in_the_business_time_zone_and_no_owner_is_nobody(capsys):
    request = shown("answered")
    request["owner"] = None
    request["auto_close_at"] = "2026-12-10T15:00:00+00:00"
    request["messages"] = [
        {"at": "2026-12-07T10:00:00+00:00", "direction": "in", "kind": "client",
         "from": "ivan@client.example.net", "to": None},
    ]  # fmt: skip
    _print_request(request, ZoneInfo("Europe/Moscow"))
    out = capsys.readouterr().out.splitlines()
    assert "owner: nobody" in out[1]
    assert out[3] == "closes automatically at: 2026-12-10 18:00 +0300"
    assert out[out.index("history:") + 1].startswith("  2026-12-07 13:00 +0300  answer")
    assert out[out.index("messages:") + 1].startswith("  2026-12-07 13:00 +0300  in ")
