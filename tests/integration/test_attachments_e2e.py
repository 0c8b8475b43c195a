"""SPEC §10 end to end on Dovecot, the aiosmtpd sink and both databases: a client's
PDF and PNG reach agent_notify byte-identical, an agent's file reaches the
client, and `attachments get` (a subprocess, bytes on stdout) gives the same bytes.
The cases one by one are tests/scenarios/test_attachments.py."""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
import subprocess
import sys
from pathlib import Path

from tests.harness import AGENT, TEAM
from tests.mails import reply_to

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "attachments"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
CLIENT = "client@corp.example"


def digests(message) -> list[tuple[str, str]]:
    return [
        (part.get_filename(), hashlib.sha256(part.get_payload(decode=True)).hexdigest())
        for part in message.walk()
        if part.get_filename()
    ]


def test_files_reach_the_team_and_the_client_byte_identical(gate) -> None:
    gate.deliver((FIXTURES / "thunderbird_pdf_and_png.eml").read_bytes())
    gate.run_once("2026-11-26T10:00:00+03:00")
    [notice] = gate.sent_to(TEAM)
    expected = [(f["filename"], f["sha256"]) for f in EXPECTED["thunderbird_pdf_and_png.eml"]]
    assert digests(notice) == expected
    gate.smtp.clear()

    answer = email.message_from_bytes(
        reply_to(notice, sender=AGENT, body="Use this driver.", message_id="e2e-f@support"),
        policy=email.policy.SMTP,
    )
    driver = bytes(range(256)) * 40
    answer.add_attachment(driver, maintype="application", subtype="octet-stream",
                          filename="driver.bin")  # fmt: skip
    gate.deliver(answer.as_bytes())
    gate.run_once("2026-11-26T10:05:00+03:00")
    [relayed] = gate.sent_to(CLIENT)
    assert digests(relayed) == [("driver.bin", hashlib.sha256(driver).hexdigest())]

    got = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config),
         "attachments", "get", "REQ-1", "3"],
        capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert got == driver
    pdf = subprocess.run(
        [sys.executable, "-m", "mailgate.cli", "--config", str(gate.config),
         "attachments", "get", "REQ-1", "1"],
        capture_output=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    assert hashlib.sha256(pdf).hexdigest() == expected[0][1]
