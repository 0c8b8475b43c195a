"""SPEC §14, files and storage, in-process (docs/trust.md).

Blocked extensions are read as Windows reads them: a client's `evil.exe. .` is
listed to the agents as left out, never attached, however its name is spelled
or encoded. A stranger who writes a victim's Message-ID first does not make
the victim's mail a duplicate; the same message fetched or delivered twice is
still applied once.
"""

from __future__ import annotations

import base64
import email
import email.policy
import hashlib
from email.message import EmailMessage

import pytest

from tests.harness import TEAM
from tests.mails import make_mail

CLIENT = "client@corp.example"
NOW = "2026-11-26T10:00:00+03:00"
EXE = b"MZ\x90\x00" + bytes(range(256)) * 4  # what a Windows program starts with
SHA = hashlib.sha256(EXE).hexdigest()


def with_file(content_type: str, disposition: str, *, message_id: str = "f1@corp.example") -> bytes:
    """A client's mail with one file, its MIME header lines written as given."""
    body = base64.encodebytes(EXE).replace(b"\n", b"\r\n")
    return (
        f"From: Client <{CLIENT}>\r\nTo: support@example.org\r\nSubject: The installer\r\n"
        f"Date: Thu, 26 Nov 2026 10:00:00 +0300\r\nMessage-ID: <{message_id}>\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease run this.\r\n"
        f"--b1\r\nContent-Type: {content_type}\r\n"
        + (f"Content-Disposition: {disposition}\r\n" if disposition else "")
        + "Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + body + b"--b1--\r\n"


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content()


def carried(message: EmailMessage) -> list[bytes]:
    """The bytes of every part of a notice that is not its text."""
    return [part.get_payload(decode=True) for part in message.walk()
            if part.get_content_maintype() != "multipart"
            and part.get_content_type() not in ("text/plain", "text/html")]  # fmt: skip


OCTETS = "application/octet-stream"


@pytest.mark.parametrize(
    ("content_type", "disposition", "listed"),
    [
        (OCTETS, 'attachment; filename="evil.exe."', "evil.exe"),
        (OCTETS, 'attachment; filename="evil.EXE"', "evil.EXE"),
        (OCTETS, 'attachment; filename="evil.exe "', "evil.exe"),
        (OCTETS, 'attachment; filename="evil.exe. . "', "evil.exe"),
        (OCTETS, "attachment; filename*=UTF-8''evil.Exe%2E%20%2E", "evil.Exe"),
        (OCTETS, "attachment; filename*0*=UTF-8''ev; filename*1=\"il.eXe. \"", "evil.eXe"),
        (OCTETS, 'attachment; filename="=?UTF-8?B?ZXZpbC5leGUuIC4=?="', "evil.exe"),
        (OCTETS, 'attachment; filename="=?utf-8?q?evil=2EEXE=20?="', "evil.EXE"),
        ('application/x-msdownload; name="evil.exe. "', "", "evil.exe"),
    ],
)
def test_a_blocked_extension_is_listed_as_left_out_never_attached(
    make_gate, content_type, disposition, listed
) -> None:
    gate = make_gate(attachments={"blocked_extensions": ["exe"]})
    gate.deliver(with_file(content_type, disposition))
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    line = f"{listed} (1 KB): not attached, this type of file is not sent by mail"
    assert line in text_of(notice)
    assert EXE not in carried(notice) and carried(notice) == []
    [shown] = gate.show("REQ-1")["messages"][0]["attachments"]
    assert (shown["filename"], shown["sha256"]) == (listed, SHA)  # kept, retrievable


def test_a_name_like_a_blocked_one_is_still_attached(make_gate) -> None:
    gate = make_gate(attachments={"blocked_extensions": ["exe"]})
    gate.deliver(with_file(OCTETS, 'attachment; filename="evil.exe.txt"'))
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    assert carried(notice) == [EXE]
    [part] = [p for p in notice.walk() if p.get_filename()]
    assert part.get_filename() == "evil.exe.txt"


def test_the_agents_notice_in_html_says_so_too(make_gate) -> None:
    gate = make_gate(attachments={"blocked_extensions": [".EXE "]})  # written loosely
    gate.deliver(with_file(OCTETS, 'attachment; filename="evil.exe."'))
    gate.run_once(NOW)
    [notice] = gate.sent_to(TEAM)
    html = notice.get_body(("html",)).get_content()
    assert "evil.exe" in html and "not attached" in html
    assert carried(email.message_from_bytes(notice.as_bytes(), policy=email.policy.default)) == []


# -- Message-ID collisions ------------------------------------------------------------

VICTIM = "victim@corp.example"
STRANGER = "stranger@evil.example"
TAKEN = "CAFE1234.victim@corp.example"  # the victim's next Message-ID, guessed


def victims_mail(**headers: str) -> bytes:
    raw = make_mail(sender=f"Victim <{VICTIM}>", subject="Printer on fire",
                    body="The printer on floor 2 is on fire.", message_id=TAKEN)  # fmt: skip
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in headers.items()) + raw


def strangers_mail() -> bytes:
    return make_mail(sender=STRANGER, subject="Hello", body="Nothing to see.", message_id=TAKEN)


def requesters(gate) -> list[str]:
    return [row["requester"] for row in gate.requests()]


@pytest.mark.parametrize("one_round", [False, True], ids=["later round", "same batch"])
def test_a_strangers_mail_with_the_victims_message_id_first_silences_no_one(
    gate, one_round
) -> None:
    gate.deliver(strangers_mail())
    if not one_round:
        gate.run_once(NOW)
    gate.deliver(victims_mail())
    gate.run_once(NOW)
    assert requesters(gate) == [STRANGER, VICTIM]
    [ack] = gate.sent_to(VICTIM)
    assert "[REQ-2]" in ack["Subject"]
    assert "Printer on fire" in text_of(gate.sent_to(TEAM)[-1])
    shown = gate.show("REQ-2")["messages"][0]
    assert shown["message_id"] == TAKEN  # threading keeps the real Message-ID
    rows = sorted(gate.query("select key, state from inbound"))
    assert [state for _, state in rows] == ["applied", "applied"]
    assert rows[0][0] == TAKEN and rows[1][0].startswith(f"{TAKEN}#")
    assert gate.imap.list_folder("INBOX") == [] and len(gate.imap.list_folder("Processed")) == 2


def test_the_victims_mail_fetched_again_after_the_collision_is_a_duplicate(gate) -> None:
    gate.deliver(strangers_mail(), victims_mail())
    gate.run_once(NOW)
    gate.smtp.clear()
    gate.deliver(victims_mail(), victims_mail(Received="from mx2 by mx; Thu, 26 Nov 2026"),
                 strangers_mail())  # fmt: skip
    report = gate.run_once(NOW)
    assert report.duplicates == 3
    assert requesters(gate) == [STRANGER, VICTIM]
    assert gate.smtp.messages == []
    assert gate.query("select count(*) from inbound") == [(2,)]
    assert gate.imap.list_folder("INBOX") == []


@pytest.mark.parametrize(
    "trace",
    [
        {},
        {"Received": "from mx2.example.org by mx.example.org; Thu, 26 Nov 2026 10:01:00 +0300"},
        {"Delivered-To": VICTIM, "X-Spam-Score": "0.1", "Return-Path": f"<{VICTIM}>",
         "ARC-Seal": "i=1; a=rsa-sha256; d=mx.example.org; s=x; b=abc"},
    ],
    ids=["the same bytes", "another Received on top", "another trace"],
)  # fmt: skip
def test_the_same_message_twice_is_applied_once(gate, trace) -> None:
    gate.deliver(victims_mail())
    gate.run_once(NOW)
    gate.deliver(victims_mail(**trace))
    gate.run_once(NOW)
    gate.deliver(victims_mail(), victims_mail(**trace))  # and twice in one batch
    gate.run_once(NOW)
    assert requesters(gate) == [VICTIM]
    assert len(gate.sent_to(VICTIM)) == 1
    assert gate.query("select key, state from inbound") == [(TAKEN, "applied")]


def test_a_different_text_under_the_same_message_id_is_another_message(gate) -> None:
    gate.deliver(victims_mail())
    gate.run_once(NOW)
    edited = victims_mail().replace(b"on fire", b"smoking")
    gate.deliver(edited, edited)
    gate.run_once(NOW)
    assert requesters(gate) == [VICTIM, VICTIM]
    assert gate.query("select count(*) from inbound") == [(2,)]


@pytest.mark.parametrize("stranger_first", [True, False], ids=["stranger first", "victim first"])
def test_a_follow_up_naming_the_shared_message_id_finds_its_senders_request(
    gate, stranger_first
) -> None:
    """Replying to their own mail (no tag, only In-Reply-To), each sender's follow-up is
    filed under the request their own message opened, not the other's."""
    first, second = (strangers_mail(), victims_mail())[:: 1 if stranger_first else -1]
    gate.deliver(first, second)
    gate.run_once(NOW)
    tags = {row["requester"]: row["tag"] for row in gate.requests()}
    for sender, n in ((VICTIM, 1), (STRANGER, 2)):
        gate.deliver(make_mail(sender=sender, subject="Re: Printer on fire", body=f"More {n}.",
                               message_id=f"more{n}@x", in_reply_to=TAKEN))  # fmt: skip
    gate.run_once(NOW)
    assert len(gate.requests()) == 2
    for sender, n in ((VICTIM, 1), (STRANGER, 2)):
        texts = [m["message_id"] for m in gate.show(tags[sender])["messages"]]
        assert f"more{n}@x" in texts
