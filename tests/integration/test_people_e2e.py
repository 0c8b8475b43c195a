"""SPEC §16, privacy, end to end on Dovecot and both databases (docs/privacy.md).

Erin's story (tests/privacy_story.py) is run by the real worker; `people
export` writes her data; `people erase` leaves no byte of her in the database
(SQLite's file and WAL, or `pg_dump`), deletes her mail and the mail of her
request from the processed and spam folders, and leaves Bob's alone.
"""

from __future__ import annotations

import json

from tests.mails import make_mail
from tests.privacy_story import (
    BOB,
    BOB_TEXT,
    ERIN,
    PDF,
    database_bytes,
    first_mail,
    play,
    row_counts,
    traces,
)

ADMIN = "dpo@example.org"


def hers(raws: list[bytes]) -> list[bytes]:
    return [raw for raw in raws if ERIN.encode() in raw.lower() or b"ZQX" in raw]


def test_export_then_erase_on_the_database_and_in_the_folders(gate, tmp_path):
    play(gate)
    assert len(hers(gate.imap.list_folder("Processed"))) == 4  # hers, the answer and note
    assert len(hers(gate.imap.list_folder("Junk"))) == 1
    directory = tmp_path / "erin"

    exported = json.loads(gate.read("people", "export", ERIN, "--output", str(directory),
                                    "--json"))  # fmt: skip
    assert (exported["requests"], exported["files"]) == (1, 1)
    document = json.loads((directory / "export.json").read_text())
    [pdf] = document["files"]
    assert (directory / pdf["file"]).read_bytes() == PDF
    assert first_mail() in [(directory / m["file"]).read_bytes() for m in document["mail"]]

    assert len(traces(database_bytes(gate.database_url))) >= 8  # the check can see her
    shape = row_counts(gate)
    report = json.loads(gate.read("people", "erase", ERIN, "--by", ADMIN, "--yes", "--json"))

    assert traces(database_bytes(gate.database_url)) == []
    assert row_counts(gate) == shape
    [account] = report["imap"]
    assert account["error"] is None
    assert (account["deleted"]["Processed"], account["deleted"]["Junk"]) == (4, 1)
    assert hers(gate.imap.list_folder("Processed") + gate.imap.list_folder("Junk")) == []
    assert [BOB_TEXT.encode() in raw for raw in gate.imap.list_folder("Processed")] == [True]
    assert gate.show("REQ-2")["messages"][0]["text"] == BOB_TEXT
    assert gate.show("REQ-1")["requester"] == report["pseudonym"]

    gate.deliver(make_mail(sender=ERIN, subject="New question", body="Hello again",
                           message_id="erin-3@mail.corp.example"))  # fmt: skip
    gate.run_once()
    fresh = gate.show("REQ-3")
    assert (fresh["requester"], fresh["linked_request"]) == (ERIN, None)
    assert {r["requester"] for r in gate.requests()} == {report["pseudonym"], BOB, ERIN}


def test_an_erasure_run_again_cleans_the_folders_it_left(gate):
    """`--keep-imap` (or a server that was down) leaves the folders; a second run finds
    the mail by the Message-IDs the database still holds, its bytes long gone: here
    Carol's mail, which has Bob in CC (a search by From would not find it). A
    stranger's mail naming Bob, with a Message-ID that is a substring of every
    other, takes no one else's mail with it."""
    gate.deliver(make_mail(sender="carol@other.example", cc=[BOB], subject="Fax",
                           body=BOB_TEXT, message_id="carol-1@x"),
                 make_mail(sender="dave@other.example", subject="Mine", body="Not Bob's",
                           message_id="dave-1@x"))  # fmt: skip
    gate.deliver(make_mail(sender="eve@evil.example", subject="Hi", body=f"Ask {BOB}",
                           message_id="x").replace(b"<x>", b"@"))  # fmt: skip
    gate.run_once()
    kept = json.loads(gate.read("people", "erase", BOB, "--by", ADMIN, "--yes", "--keep-imap",
                                "--json"))  # fmt: skip
    assert kept["imap"] == [] and kept["imap_kept"] and kept["raw_inbound"] == 2
    assert len(gate.imap.list_folder("Processed")) == 3

    again = json.loads(gate.read("people", "erase", BOB, "--by", ADMIN, "--yes", "--json"))
    assert again["pseudonym"] == kept["pseudonym"] and again["raw_inbound"] == 0
    assert again["imap"][0]["deleted"]["Processed"] == 1
    assert [b"Not Bob's" in raw or b"Ask " in raw
            for raw in gate.imap.list_folder("Processed")] == [True, True]  # fmt: skip
