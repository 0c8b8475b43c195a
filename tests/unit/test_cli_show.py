"""`requests show` as text: one line per history event, whatever the detail holds."""

from __future__ import annotations

from mailgate.cli import DETAIL_WIDTH, _print_request

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
    _print_request(shown(ANSWER, "x" * 200, "short", ""))
    lines = history(capsys)
    assert len(lines) == 4
    assert lines[0].endswith("alice@example.org  Hello Ivan,…")
    assert lines[1].endswith("x" * (DETAIL_WIDTH - 1) + "…")
    assert lines[2].endswith("  short")
    assert lines[3].endswith("alice@example.org  ")
