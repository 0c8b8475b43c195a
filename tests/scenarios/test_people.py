"""SPEC §16, privacy, in-process on SQLite (docs/privacy.md): `people export` writes
what is Erin's, and no one else's; `people erase` leaves no byte of her in the
database file, keeps the shape of every request, drops mail queued to her,
records itself without her address, and refuses the desk's own addresses.
The IMAP side and PostgreSQL: tests/integration/test_people_e2e.py."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import socket
import sqlite3

from tests.harness import AGENT, TEAM
from tests.hook_receiver import hook_toml, receivers
from tests.mails import make_mail
from tests.privacy_story import (
    AGENT_ANSWER,
    BOB,
    BOB_TEXT,
    COLLEAGUE,
    ERIN,
    ERIN_AS_WRITTEN,
    NOTE,
    PDF,
    database_bytes,
    first_mail,
    play,
    row_counts,
    traces,
)

ADMIN = "dpo@example.org"
PSEUDONYM = re.compile(r"erased-[0-9a-f]{12}@invalid")


def export(gate, address: str, directory) -> dict:
    gate.cli("people", "export", address, "--output", str(directory))
    return json.loads((directory / "export.json").read_text())


def erase(gate, address: str, *more: str, code: int = 0):
    result = gate.cli("people", "erase", address, "--by", ADMIN, "--yes", "--keep-imap", *more,
                      check=False)  # fmt: skip
    assert result.returncode == code, result.stderr
    return result


def test_export_holds_what_she_wrote_what_she_was_sent_and_her_files(gate, tmp_path):
    play(gate)
    found = export(gate, ERIN_AS_WRITTEN.upper(), tmp_path / "erin")  # any case: the same person

    assert found["address"] == ERIN
    assert [(r["tag"], r["role"], r["notify"]) for r in found["requests"]] == [
        ("REQ-1", "requester", True)]  # fmt: skip
    kinds = [(m["kind"], m["from"] if m["direction"] == "in" else m["to"])
             for m in found["messages"]]  # fmt: skip
    assert ("client", ERIN) in kinds and ("agent", AGENT) in kinds
    assert ("notification", ERIN) in kinds
    assert not [k for k in kinds if k[0] == "note" or k[1] in (TEAM, COLLEAGUE, BOB)]
    texts = "\n".join(m["text"] for m in found["messages"])
    assert "ZQX-first-text" in texts and "ZQX-second-text" in texts and AGENT_ANSWER in texts
    assert NOTE not in texts and BOB_TEXT not in texts
    assert found["events"][0]["kind"] == "created"
    assert all(e["request"] == "REQ-1" for e in found["events"])

    [pdf] = found["files"]
    assert (tmp_path / "erin" / pdf["file"]).read_bytes() == PDF
    assert pdf["sha256"] == hashlib.sha256(PDF).hexdigest()
    emls = {m["file"]: (tmp_path / "erin" / m["file"]).read_bytes() for m in found["mail"]}
    assert first_mail() in emls.values()  # the raw mail, byte for byte
    assert any(b"ZQX-spam-text" in raw for raw in emls.values())  # held mail is hers too
    assert sum(m["direction"] == "out" for m in found["mail"]) == len(gate.sent_to(ERIN))
    assert not any(BOB_TEXT.encode() in raw for raw in emls.values())

    colleague = export(gate, COLLEAGUE, tmp_path / "colleague")
    assert [(r["tag"], r["role"]) for r in colleague["requests"]] == [("REQ-1", "cc")]
    assert "ZQX-first-text" not in json.dumps(colleague["messages"])  # Erin's, not theirs
    refused = gate.cli("people", "export", BOB, "--output", str(tmp_path / "erin"), check=False)
    assert refused.returncode == 1 and "not empty" in refused.stderr


def test_erase_leaves_no_byte_of_her_and_keeps_the_shape_of_history(gate, tmp_path):
    play(gate)
    assert len(traces(database_bytes(gate.database_url))) >= 8  # the check can see her
    shape, before = row_counts(gate), gate.show("REQ-1")
    bob_before = gate.show("REQ-2")

    result = erase(gate, ERIN_AS_WRITTEN)

    assert traces(database_bytes(gate.database_url)) == []
    [pseudonym] = PSEUDONYM.findall(result.stdout)
    assert row_counts(gate) == shape
    after = gate.show("REQ-1")
    assert (after["requester"], after["subject"], after["status"]) == (
        pseudonym, "(erased)", before["status"])  # fmt: skip
    assert pseudonym in after["participants"] and COLLEAGUE in after["participants"]
    assert [(e["kind"], e["to"]) for e in after["events"]] == [
        (e["kind"], e["to"]) for e in before["events"]]  # fmt: skip
    assert [(m["kind"], m["direction"]) for m in after["messages"]] == [
        (m["kind"], m["direction"]) for m in before["messages"]]  # fmt: skip
    texts = {m["kind"]: m["text"] for m in after["messages"] if m["direction"] == "in"}
    assert texts["client"] == "" and texts["note"] == NOTE  # the team's own text stays
    assert texts["agent"] == AGENT_ANSWER.replace(ERIN, pseudonym)
    assert all(not m["attachments"] for m in after["messages"])  # the PDF went with the raw mail
    assert gate.show("REQ-2") == bob_before

    [record] = json.loads(gate.read("people", "erasures", "--json"))
    assert (record["by"], record["pseudonym"]) == (ADMIN, pseudonym)
    assert record["summary"]["messages"] == 2 and ERIN not in json.dumps(record)
    nothing = export(gate, ERIN, tmp_path / "after")
    assert (nothing["requests"], nothing["messages"], nothing["mail"]) == ([], [], [])


def test_a_later_mail_from_her_opens_a_fresh_request(gate):
    play(gate)
    erase(gate, ERIN)
    gate.deliver(make_mail(sender=ERIN, subject="New question", body="Hello again",
                           message_id="erin-3@mail.corp.example"))  # fmt: skip
    gate.run_once()
    fresh = gate.show("REQ-3")
    assert (fresh["requester"], fresh["linked_request"]) == (ERIN, None)
    assert fresh["participants"] == [ERIN]
    assert gate.show("REQ-1")["requester"] != ERIN


def test_mail_queued_to_her_or_quoting_her_is_dropped_and_never_sent(gate):
    """Her acknowledgement, and the colleague's, which quotes her, wait for a retry."""
    gate.smtp.fail(recipients=[ERIN, COLLEAGUE])  # their server says "try again later"
    gate.deliver(first_mail())
    gate.run_once()
    assert gate.query("select recipient from outbound where state = 'pending' "
                      "order by recipient") == [(COLLEAGUE,), (ERIN,)]  # fmt: skip
    result = erase(gate, ERIN)
    assert "2 notifications not sent" in result.stdout
    gate.smtp.recover()
    gate.smtp.clear()
    gate.run_once("2026-12-31T10:00:00+03:00")
    assert [m.rcpt_tos for m in gate.smtp.messages] == []
    assert gate.query("select count(*) from outbound where state = 'pending'") == [(0,)]


def test_the_desks_own_addresses_are_refused_and_agents_need_force(gate):
    play(gate)
    refused = erase(gate, AGENT, code=5)
    assert "--force" in refused.stderr
    assert erase(gate, TEAM, code=5).stderr
    own = erase(gate, "support@example.org", "--force", code=5)
    assert "cannot be erased" in own.stderr
    assert agent_message(gate)["from"] == AGENT  # nothing changed

    erase(gate, AGENT, "--force")
    assert AGENT not in json.dumps(gate.show("REQ-1"))
    assert PSEUDONYM.fullmatch(agent_message(gate)["from"])
    assert agent_message(gate)["text"] == ""  # an agent erased is a person erased


def agent_message(gate) -> dict:
    return next(m for m in gate.show("REQ-1")["messages"] if m["kind"] == "agent")


def test_erase_asks_before_it_acts(gate):
    play(gate)
    result = gate.cli("people", "erase", ERIN, "--by", ADMIN, "--keep-imap", check=False)
    assert result.returncode == 5 and "--yes" in result.stderr
    assert gate.show("REQ-1")["requester"] == ERIN
    assert gate.cli("people", "erase", "not an address", "--by", ADMIN, "--yes",
                    check=False).returncode == 5  # fmt: skip


def test_an_imap_server_out_of_reach_is_named_with_what_is_left(gate):
    """The in-process gate's IMAP host refuses connections: the database is erased,
    the output says which folders keep her mail, and the exit code says so."""
    play(gate)
    result = gate.cli("people", "erase", ERIN, "--by", ADMIN, "--yes", "--json", check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    [account] = report["imap"]
    assert "cannot connect" in account["error"] and account["deleted"] == {}
    assert gate.show("REQ-1")["requester"] == report["pseudonym"]


def test_the_same_person_erased_twice_keeps_one_pseudonym(gate):
    play(gate)
    first = PSEUDONYM.findall(erase(gate, ERIN).stdout)
    gate.deliver(make_mail(sender=ERIN, subject="Again", body="Hi", message_id="e4@corp.example"))
    gate.run_once()
    # An agent adds her to her old request again (`#cc add`).
    database = gate.database_url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(database)) as db, db:
        db.execute("insert into participants (request_id, address, role, notify) "
                   f"values (1, '{ERIN}', 'cc', 1)")  # fmt: skip
    second = PSEUDONYM.findall(erase(gate, ERIN).stdout)
    assert first == second
    assert {r["requester"] for r in gate.requests()} == {first[0], BOB}
    assert gate.show("REQ-1")["participants"] == [first[0], COLLEAGUE]


def test_no_mail_goes_to_the_pseudonym(gate):
    """Her request lives on: a status change reaches the colleague in CC, not her."""
    play(gate)
    [pseudonym] = PSEUDONYM.findall(erase(gate, ERIN).stdout)
    gate.smtp.clear()
    gate.cli("requests", "set-status", "REQ-1", "waiting_for_client", "--by", AGENT)
    gate.run_once()
    told = {to for mail in gate.smtp.messages for to in mail.rcpt_tos}
    assert COLLEAGUE in told and pseudonym not in told and ERIN not in told


def test_a_dry_run_counts_what_would_go_and_changes_nothing(gate):
    play(gate)
    before = gate.show("REQ-1")
    planned = json.loads(gate.read("people", "erase", ERIN, "--by", ADMIN, "--dry-run", "--json"))
    assert planned["dry_run"] and planned["imap"] == [] and planned["raw_inbound"] == 5
    assert gate.show("REQ-1") == before
    assert gate.read("people", "erasures") == "no erasures\n"

    done = json.loads(erase(gate, ERIN, "--json").stdout)
    counted = ("requests", "messages", "raw_inbound", "raw_outbound", "queued_dropped",
               "addresses_replaced", "pseudonym")  # fmt: skip
    assert {k: done[k] for k in counted} == {k: planned[k] for k in counted}


def test_her_rating_stays_for_the_figures_and_its_comment_goes(gate):
    play(gate)
    database = gate.database_url.removeprefix("sqlite:///")
    with contextlib.closing(sqlite3.connect(database)) as db, db:  # as a rating reply records it
        db.execute("update requests set rating = 'bad', rating_comment = 'Slow, ZQX-rating' "
                   "where id = 1")  # fmt: skip
    assert gate.query("select rating_comment from requests where id = 1") == [("Slow, ZQX-rating",)]
    erase(gate, ERIN)
    assert gate.query("select rating, rating_comment from requests where id = 1") == [("bad", None)]
    assert b"ZQX-rating" not in database_bytes(gate.database_url)


def test_erase_drops_her_hook_calls_waiting_and_empties_those_sent(make_gate):
    """The bodies of hook calls carry her address and texts (docs/hooks.md): one hook
    took its calls, the other is down, its calls waiting for a retry."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        down = f"http://127.0.0.1:{closed.getsockname()[1]}/"
    for receiver in receivers():
        gate = make_gate(extra_toml=hook_toml("crm", url=receiver.url)
                         + hook_toml("chat", url=down, timeout=1))  # fmt: skip
        play(gate)
        states = dict(gate.query("select hook, count(*) from hook_calls group by hook"))
        assert states["crm"] > 0 and states["chat"] == states["crm"]
        assert any(ERIN in call.body.decode() for call in receiver.calls)

        erase(gate, ERIN)

        assert traces(database_bytes(gate.database_url)) == []
        left = gate.query("select hook, state, payload from hook_calls")
        waiting = [payload for hook, state, payload in left if state != "sent"]
        assert waiting and all(BOB in payload for payload in waiting)  # Bob's stay, hers went
        assert ("crm", "sent", "{}") in left  # sent: the body emptied, the row kept
        assert not [row for row in left if ERIN in row[2] or "ZQX" in row[2]]
