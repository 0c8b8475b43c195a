"""The two fakes behave like the edges they stand for, so a scenario that passes
in-process says something about the real worker."""

from __future__ import annotations

import pytest

from tests.inprocess import PERMANENT, TEMPORARY, CapturingPump, MemoryInbox
from tests.mails import make_mail


def test_memory_inbox_numbers_uids_upwards_and_moves_like_imap():
    inbox = MemoryInbox()
    assert inbox.deliver(b"a", b"b") == ["1", "2"]
    inbox.move(["1"], "Processed")
    assert inbox.deliver(b"c") == ["3"]  # a UID is never given twice
    assert inbox.waiting_uids() == ["2", "3"]
    assert [mail.raw for mail in inbox.fetch(["3", "1"])] == [b"c"]  # gone from INBOX
    inbox.move(["1", "2"], "Failed")  # "1" was moved already: skipped
    inbox.move([], "Processed")
    assert inbox.moves == [(("1",), "Processed"), (("2",), "Failed")]
    assert inbox.list_folder("INBOX") == [b"c"]
    assert inbox.folder_names() == ["INBOX", "Processed", "Failed"]


def job(number: int, recipient: str) -> tuple[int, str, bytes, int, str]:
    raw = make_mail(
        sender="support@example.org",
        to=recipient,
        subject=f"N{number}",
        body="Hi",
        message_id=f"n{number}@example.org",
    )
    return (number, recipient, raw, 0, f"support+b.{number}.0@example.org")


def test_capturing_pump_answers_each_job_once_and_parses_what_it_keeps():
    pump = CapturingPump()
    pump.submit([job(1, "a@x.example"), job(2, "b@x.example")])
    assert pump.results(wait=60) == [(1, 0, None), (2, 0, None)]
    assert pump.results() == []
    assert [m.rcpt_tos for m in pump.messages] == [("a@x.example",), ("b@x.example",)]
    assert pump.messages[1].message["Subject"] == "N2"
    pump.close()
    assert len(pump.messages) == 2  # the capture outlives the round


def test_capturing_pump_refuses_the_next_n_jobs_then_recovers_by_itself():
    pump = CapturingPump()
    pump.fail(count=2)
    pump.submit([job(n, "a@x.example") for n in (1, 2, 3)])
    assert pump.results() == [(1, 0, (True, TEMPORARY)), (2, 0, (True, TEMPORARY)), (3, 0, None)]
    assert pump.rejected == 2 and len(pump.messages) == 1


def test_capturing_pump_refuses_only_the_recipients_named_until_recover():
    pump = CapturingPump()
    pump.fail(temporary=False, recipients=["bad@x.example"])
    pump.submit([job(1, "bad@x.example"), job(2, "good@x.example"), job(3, "bad@x.example")])
    assert [failure for _, _, failure in pump.results()] == [
        (False, PERMANENT),
        None,
        (False, PERMANENT),
    ]
    pump.recover()
    pump.submit([job(4, "bad@x.example")])
    assert pump.results() == [(4, 0, None)]
    with pytest.raises(ValueError):
        pump.fail(count=0)
