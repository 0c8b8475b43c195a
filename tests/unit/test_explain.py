"""`mailgate parse`: it explains every fixture, in a stable JSON shape."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mailgate.config import settings_from_mapping
from mailgate.explain import explain
from mailgate.parse.errors import MalformedMessage
from tests.mails import make_mail

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ALL = sorted(FIXTURES.rglob("*.eml"))
REPLIES = json.loads((FIXTURES / "replies" / "expected.json").read_text())
KEYS = {"tag", "message_id", "in_reply_to", "references", "from", "subject", "auto", "bounce",
        "new_text", "text_cut", "thanks_only", "commands", "rejected", "attachments",
        "forwarded"}  # fmt: skip
SETTINGS = settings_from_mapping(
    {
        "support_address": "support@example.org",
        "agents": ["@support.example.org"],
        "imap": {"host": "imap.example.org", "username": "s", "password": "p"},
        "smtp": {"host": "smtp.example.org"},
    },
    base_dir=Path("/"),
)


HOSTILE = json.loads((FIXTURES / "hostile" / "expected.json").read_text())
UNPARSEABLE = {name for name, want in HOSTILE.items() if not want.get("parses", True)}


@pytest.mark.parametrize("path", ALL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_fixture_is_explained(path):
    if path.name in UNPARSEABLE:
        with pytest.raises(MalformedMessage):
            explain(path.read_bytes())
        return
    result = explain(path.read_bytes())
    assert set(result) == KEYS
    json.dumps(result)  # serialisable as it stands
    for command in result["commands"]:
        assert set(command) == {"name", "argument", "line"}
        assert command["line"].strip()
    for file in result["attachments"]:
        assert set(file) == {"filename", "content_type", "size", "sha256", "inline"}
    for candidate in result["rejected"]:
        assert set(candidate) == {"name", "line", "reason"}
    assert result["auto"] is None or isinstance(result["auto"], str)


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_reply_commands_are_reported(name):
    result = explain((FIXTURES / "replies" / f"{name}.eml").read_bytes())
    assert result["new_text"] == REPLIES[name]["new_text"]
    assert sorted(c["name"] for c in result["commands"]) == sorted(REPLIES[name]["commands"])


def test_quoted_commands_are_reported_as_rejected():
    result = explain((FIXTURES / "replies" / "applemail_forward_commands.eml").read_bytes())
    assert result["commands"] == []
    assert {"name": "cancel", "line": "Cancel request", "reason": "quoted"} in result["rejected"]


def client_mail(body: str, sender: str = "client@corp.example") -> bytes:
    return (
        f"From: {sender}\r\nTo: support@example.org\r\nSubject: Re: [REQ-7] Phones\r\n"
        f"Message-ID: <m1@corp.example>\r\n\r\n{body}\r\n"
    ).encode()


def test_agent_commands_from_a_client_are_rejected_for_their_role():
    result = explain(client_mail("#status closed\r\nCancel request"), settings=SETTINGS)
    assert result["tag"] == "REQ-7"
    assert [c["name"] for c in result["commands"]] == ["cancel"]
    assert {"name": "status", "line": "#status closed", "reason": "role"} in result["rejected"]


def test_client_commands_from_an_agent_are_rejected_for_their_role():
    raw = client_mail("Cancel request\r\n#status on_hold", sender="bob@support.example.org")
    result = explain(raw, settings=SETTINGS)
    assert [(c["name"], c["argument"]) for c in result["commands"]] == [("status", "on_hold")]
    assert result["rejected"][0]["reason"] == "role"


def test_command_line(tmp_path):
    path = tmp_path / "m.eml"
    path.write_bytes(client_mail("Escalate: no answer for a week"))
    done = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "parse", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["commands"] == [
        {
            "name": "escalate",
            "argument": "no answer for a week",
            "line": "Escalate: no answer for a week",
        }
    ]
    human = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "parse", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "command: escalate no answer for a week" in human.stdout


def test_command_line_on_an_unparseable_message(tmp_path):
    path = tmp_path / "empty.eml"
    path.write_bytes(b"")
    done = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "parse", str(path), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"].startswith("unparseable:")


def test_a_reply_that_only_thanks_is_said_so() -> None:
    def reply(body: str) -> bytes:
        return make_mail(sender="olga@client.example", subject="Re: [REQ-1] Phones", body=body,
                         message_id="t1@client.example")  # fmt: skip

    assert explain(reply("Спасибо, посмотрю"))["thanks_only"] is True
    assert explain(reply("Thanks, but it still fails"))["thanks_only"] is False
