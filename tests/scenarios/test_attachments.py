"""SPEC §10 in-process: files travel with the conversation, both ways, bytes unchanged.

Client mail comes from tests/fixtures/attachments (its files and their SHA-256
in expected.json); what went out is read from the capturing pump as a mail
client would read it.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import json
from email.message import EmailMessage
from pathlib import Path

from tests.harness import AGENT, TEAM
from tests.mails import make_mail, reply_to

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "attachments"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text(encoding="utf-8"))
CLIENT = "client@corp.example"
CC = "boss@corp.example"
NOW = "2026-11-26T10:00:00+03:00"
LATER = "2026-11-26T10:05:00+03:00"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def files_of(message: EmailMessage) -> list[tuple[str, str, str]]:
    """(filename, disposition, sha256) of every file a mail client would show; a forwarded
    message (parsed, not bytes) has no digest here."""
    files = []
    for part in message.walk():
        if part.get_content_maintype() == "multipart" or not (
            part.get_filename() or part.get_content_maintype() != "text"
        ):
            continue
        payload = part.get_payload(decode=True)
        digest = hashlib.sha256(payload).hexdigest() if isinstance(payload, bytes) else ""
        files.append((part.get_filename(), part.get_content_disposition(), digest))
    return files


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content()


def attach(raw: bytes, filename: str, data: bytes) -> bytes:
    """`raw` (a tests.mails mail) with one file attached."""
    message = email.message_from_bytes(raw, policy=email.policy.SMTP)
    message.add_attachment(data, maintype="application", subtype="octet-stream",
                           filename=filename)  # fmt: skip
    return message.as_bytes()


def test_a_pdf_and_a_png_reach_the_team_byte_identical(gate) -> None:
    gate.deliver(fixture("thunderbird_pdf_and_png.eml"))
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    expected = EXPECTED["thunderbird_pdf_and_png.eml"]
    assert files_of(notice) == [(f["filename"], "attachment", f["sha256"]) for f in expected]
    assert "invoice-118.pdf (622 bytes)" in text_of(notice)
    [ack] = gate.sent_to(CLIENT)
    assert files_of(ack) == []  # the client's own files are not sent back
    shown = gate.show("REQ-1")["messages"][0]["attachments"]
    assert shown == expected


def test_an_inline_image_stays_inline_in_the_notice_html(gate) -> None:
    gate.deliver(fixture("gmail_html_inline_image.eml"))
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    [image] = [part for part in notice.walk() if part.get_content_type() == "image/png"]
    assert image.get_content_disposition() == "inline"
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_of(notice)
    related = next(p for p in notice.walk() if p.get_content_type() == "multipart/related")
    assert image in related.get_payload()
    sha = EXPECTED["gmail_html_inline_image.eml"][0]["sha256"]
    assert hashlib.sha256(image.get_payload(decode=True)).hexdigest() == sha


def test_a_cyrillic_rfc2231_name_and_a_winmail_dat_arrive_readable(gate) -> None:
    gate.deliver(fixture("outlook_ru_rfc2231_name.eml"), fixture("outlook_winmail_dat.eml"))
    gate.run_once(NOW)
    first, second = gate.sent_to(TEAM)
    assert [f[0] for f in files_of(first)] == ["журнал ошибок.txt"]
    assert [(f[0], f[2]) for f in files_of(second)] == [
        (f["filename"], f["sha256"]) for f in EXPECTED["outlook_winmail_dat.eml"]
    ]


def test_a_file_over_the_limit_and_a_blocked_one_are_listed_not_attached(make_gate) -> None:
    gate = make_gate(attachments={"max_relay_bytes": 700, "blocked_extensions": ["png"]})
    gate.deliver(
        fixture("thunderbird_pdf_and_png.eml"), fixture("gmail_forwarded_as_attachment.eml")
    )
    gate.run_once(NOW)
    notice, forwarded = gate.sent_to(TEAM)
    assert [f[0] for f in files_of(notice)] == ["invoice-118.pdf"]
    text = text_of(notice)
    assert "printer dialog.png (511 bytes): not attached, this type of file is not sent" in text
    assert "mailgate attachments list REQ-1" in text
    assert "not attached" in html_of(notice)
    assert [f[0] for f in files_of(forwarded)] == ["Licence expired.eml"]
    listed = gate.cli("attachments", "list", "REQ-1", "--json").stdout
    assert [f["filename"] for f in json.loads(listed)] == ["invoice-118.pdf", "printer dialog.png"]


def test_a_message_with_only_files_says_so(gate) -> None:
    gate.deliver(
        make_mail(sender=CLIENT, subject="Phones are down", body="They are.", message_id="o1@x")
    )
    gate.run_once(NOW)
    gate.smtp.clear()
    gate.deliver(fixture("apple_only_files.eml"))
    gate.run_once(LATER)
    [notice] = gate.sent_to(TEAM)
    assert "Only files came with this message" in text_of(notice)
    assert [f[0] for f in files_of(notice)] == ["invoice-118.pdf"]


def test_an_agents_answer_relays_its_file_and_a_notes_file_stays_internal(gate, tmp_path) -> None:
    gate.deliver(
        make_mail(
            sender=CLIENT,
            cc=[CC],
            subject="Phones are down",
            body="Down.",
            message_id="a1@corp.example",
        )
    )
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    gate.smtp.clear()
    config = b"[sip]\nregistrar = pbx.corp.example\n"
    answer = reply_to(notice, sender=f"Alice <{AGENT}>", body="Load this file, please.",
                      message_id="a2@support.example.org")  # fmt: skip
    gate.deliver(attach(answer, "phone.cfg", config))
    gate.run_once(LATER)
    sha = hashlib.sha256(config).hexdigest()
    for client in (CLIENT, CC):
        [relayed] = gate.sent_to(client)
        assert files_of(relayed) == [("phone.cfg", "attachment", sha)]
        assert AGENT not in relayed.as_string()
    gate.smtp.clear()
    note = reply_to(notice, sender=AGENT, body="#note\nThe old config, for the record.",
                    message_id="a3@support.example.org")  # fmt: skip
    gate.deliver(attach(note, "old.cfg", b"[sip]\nregistrar = old\n"))
    gate.run_once("2026-11-26T10:10:00+03:00")
    assert gate.sent_to(CLIENT) == [] and gate.sent_to(CC) == []
    [internal] = gate.sent_to(TEAM)
    assert [f[0] for f in files_of(internal)] == ["old.cfg"]
    gate.cli("attachments", "get", "REQ-1", "1", "--output", str(tmp_path / "got"))
    assert (tmp_path / "got").read_bytes() == config
