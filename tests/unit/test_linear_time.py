"""Reading a message costs time linear in its size (SPEC §14, "Bounded cost"; issue 20).

The property: for text drawn from hostile shapes (long runs of one character,
many short lines, one phrase or command repeated, deep quotes, header and
attribution lines, nested HTML), reading four times the text costs at most
about five times the CPU time. Times are CPU (`time.process_time`), the best
of three runs with the garbage collector off while timing (as `timeit` does:
when a collection falls is noise at this scale), and a case under 15 ms is not
judged; a failing case is measured again before it counts, so a busy machine
cannot fail it. The
readers run uncut (`max_text_bytes=None`, `limit=None`): the caps must not
hide a reader that grows faster than its input. bench/hostile.py measures
the same shapes at up to 4 MiB.
"""

from __future__ import annotations

import base64
import datetime as dt
import gc
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailgate.app import build_app
from mailgate.config import Settings, settings_from_mapping
from mailgate.decide.message import Routed, decide_message
from mailgate.errors import ConfigError
from mailgate.explain import explain
from mailgate.parse import parse_message
from mailgate.parse.approval import find_approval
from mailgate.parse.commands import find_commands, scan_commands
from mailgate.parse.escalation import judge_escalation_reason
from mailgate.parse.html import render_html
from mailgate.parse.limits import APPROVAL_BYTES, COMMAND_BYTES, utf8_size
from mailgate.parse.mimetree import decode

OWN = frozenset({"support@example.org"})
APPROVAL = "you can close the request, everything works"
FLOOR = 0.015  # seconds: below this a ratio is noise
GROWTH = 5.0  # allowed for 4x the input
ATTEMPTS = 3

# Pieces of hostile text; a case repeats a pattern of one to three of them.
UNITS = (
    " ",
    ">",
    "=",
    "-",
    ".",
    "*",
    "?",
    "a",
    "\n",
    "ok\n",
    "> ",
    ">>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>>> deep\n",
    APPROVAL + " ",
    APPROVAL + "\n",
    "close, please, ",
    "Cancel request\n",
    "please ",
    "Escalate\n",
    "Escalate: no answer for a week\n",
    "From: x@y\n",
    "Sent: Monday\n\n",
    "On Monday, Bob <bob@example.com> wrote:\n",
    "Best regards,\n",
    "-----Original Message-----\n\n",
    "www.",
    "a@",
    "Всё работает, заявку можно закрыть\n",
)
HTML_UNITS = ("<div>", "<blockquote>", "</span>", "<p>x</p>", "&amp;", "<!--", "<a b=c ")


def _message(body: str, *, html: bool) -> bytes:
    kind = "html" if html else "plain"
    return (
        "From: Client <client@example.com>\r\nTo: support@example.org\r\n"
        "Subject: Re: [REQ-42] Printer\r\nMessage-ID: <linear@example.com>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/{kind}; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\n"
    ).encode() + body.encode("utf-8")


def read_everything(raw: bytes) -> None:
    """Every reader mailgate runs on a message, with no cap."""
    render_html.cache_clear()
    message = parse_message(raw, tag_prefix="REQ", own_addresses=OWN, max_text_bytes=None)
    new_text = message.new_text
    find_commands(new_text=new_text, subject_after_tag="", limit=None)
    find_approval(new_text)
    judge_escalation_reason(new_text, limit=None)
    find_approval(message.text)  # the whole text, quotes included: its sentences too


def cpu(call: Callable[[], None]) -> float:
    """The best CPU time of three runs, the garbage collector off while timing."""
    best = float("inf")
    gc.collect()
    gc.disable()
    try:
        for _ in range(3):
            start = time.process_time()
            call()
            best = min(best, time.process_time() - start)
    finally:
        gc.enable()
    return best


def growth(small: bytes, large: bytes) -> tuple[float, float]:
    return cpu(lambda: read_everything(small)), cpu(lambda: read_everything(large))


@st.composite
def hostile_bodies(draw: st.DrawFn) -> tuple[str, bool]:
    html = draw(st.booleans())
    units = HTML_UNITS + UNITS if html else UNITS
    pattern = "".join(draw(st.lists(st.sampled_from(units), min_size=1, max_size=3)))
    return pattern, html


@settings(
    max_examples=10,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(hostile_bodies())
def test_four_times_the_text_costs_at_most_about_five_times_the_time(case):
    pattern, html = case
    size = 16 * 1024
    body = pattern * (size // len(pattern) + 1)
    small, large = _message(body, html=html), _message(body * 4, html=html)
    for _ in range(ATTEMPTS):
        before, after = growth(small, large)
        if after < FLOOR or after <= GROWTH * before:
            return
    pytest.fail(f"{pattern!r} (html={html}): {before:.3f} s -> {after:.3f} s for 4x the text")


@pytest.mark.parametrize(
    "pattern",
    [
        "ok\n",  # many short lines
        " " * 60 + "\n",
        ">" * 200 + "\n",
        APPROVAL + " ",
        "From: x@y\n",
        "On Monday, Bob <bob@example.com> wrote:\n\n",
        ">" * 300 + " quoted\n",
    ],
)
def test_named_shapes_grow_linearly(pattern):
    body = pattern * (16 * 1024 // len(pattern))
    small, large = _message(body, html=False), _message(body * 4, html=False)
    for _ in range(ATTEMPTS):
        before, after = growth(small, large)
        if after < FLOOR or after <= GROWTH * before:
            return
    pytest.fail(f"{pattern[:40]!r}: {before:.3f} s -> {after:.3f} s for 4x the text")


def _wrapped_approval(size: int) -> str:
    """The reply of issue 20: the phrase repeated as one paragraph, wrapped, no full stop."""
    words = (APPROVAL + " ").split() * (size // (len(APPROVAL) + 1))
    lines, line = [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > 72:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\n".join([*lines, line]) + "\n"


def test_a_mebibyte_of_the_approval_phrase_is_judged_in_seconds():
    """144 s at 256 KiB before (about 40 minutes at 1 MiB): every clause re-read its sentence."""
    text = _wrapped_approval(1024 * 1024)
    start = time.process_time()
    scan = find_approval(text)  # no cap: the judge itself is linear
    assert time.process_time() - start < 5.0
    assert scan.approval is not None  # one run-on sentence, and it approves

    raw = _message(text, html=False)
    start = time.process_time()
    message = parse_message(raw, tag_prefix="REQ", own_addresses=OWN)
    scan_commands(new_text=message.new_text, quoted_text=message.quoted_text, subject_after_tag="")
    find_commands(new_text=message.new_text, subject_after_tag="")
    assert time.process_time() - start < 5.0


def test_approval_is_judged_in_the_first_8_kib_of_the_new_text():
    filler = "The logs follow.\n" + "line of the log\n" * (APPROVAL_BYTES // 16 + 10)
    assert find_approval("You can close the request.\n" + filler, limit=APPROVAL_BYTES).approval
    assert not find_approval(filler + "You can close the request.\n", limit=APPROVAL_BYTES).approval
    assert find_approval(filler + "You can close the request.\n").approval  # uncut
    # A contradiction past the cut still counts: saying no is the safe side.
    scan = find_approval("You can close the request.\n" + filler + "It still doesn't work.")
    assert scan.approval is None


def test_commands_are_read_in_the_first_64_kib_of_the_new_text():
    filler = "line of the log\n" * (COMMAND_BYTES // 16 + 10)
    assert find_commands(new_text="Cancel request\n" + filler, subject_after_tag="")
    assert not find_commands(new_text=filler + "Cancel request\n", subject_after_tag="")
    assert find_commands(new_text=filler + "Cancel request\n", subject_after_tag="", limit=None)


def _parts(*bodies: tuple[str, str]) -> bytes:
    """A multipart/mixed message of inline parts: (Content-Transfer-Encoding, body)."""
    head = (
        b"From: Client <client@example.com>\r\nTo: support@example.org\r\n"
        b"Subject: Logs\r\nMessage-ID: <parts@example.com>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    )
    parts = [
        f"--b\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n{body}\r\n".encode()
        for encoding, body in bodies
    ]
    return head + b"".join(parts) + b"--b--\r\n"


def test_the_text_of_all_parts_together_is_cut_at_max_text_bytes():
    part = "Всё работает. " * 8000  # 8,000 x 26 bytes of UTF-8: 203 KiB a part
    raw = _parts(("8bit", part), ("8bit", part), ("8bit", part))
    limit = 256 * 1024
    mail = decode(raw, max_text_bytes=limit)
    assert mail.text_cut and "text truncated" in mail.defects
    assert mail.plain is not None and utf8_size(mail.plain) <= limit + 4  # + the "\n\n" joins
    assert mail.plain.startswith(part)
    assert "\ufffd" not in mail.plain  # cut at a character, not inside one
    whole = decode(raw, max_text_bytes=None)
    assert not whole.text_cut and whole.plain is not None and len(whole.plain) > len(mail.plain)
    assert not decode(raw).text_cut  # 610 KiB is under the default 2 MiB

    message = parse_message(raw, tag_prefix="REQ", own_addresses=OWN, max_text_bytes=limit)
    assert message.text_cut
    assert not parse_message(raw, tag_prefix="REQ", own_addresses=OWN).text_cut


def test_encoded_parts_are_decoded_only_as_far_as_the_budget_needs():
    text = "log line number something\n" * 40000  # 1 MiB
    encoded = base64.encodebytes(text.encode()).decode()
    mail = decode(_parts(("base64", encoded), ("8bit", "second part")), max_text_bytes=65536)
    assert mail.text_cut
    assert mail.plain is not None and mail.plain.startswith("log line number something\n")
    assert "second part" not in mail.plain  # nothing was left for it
    assert utf8_size(mail.plain) <= 65536 + 2


def test_mailgate_parse_shows_the_cut():
    raw = _parts(("8bit", "x" * 100_000), ("8bit", "y" * 100_000))
    assert explain(raw)["text_cut"] is False
    config = _config(max_text_bytes=65536)
    assert explain(raw, settings=config)["text_cut"] is True


def _config(**top: object) -> Settings:
    return settings_from_mapping({**_config_data(), **top}, base_dir=Path("/nonexistent"))


def test_max_text_bytes_is_a_top_level_key_with_a_floor():
    assert _config().max_text_bytes == 2 * 1024 * 1024
    assert _config(max_text_bytes=4 * 1024 * 1024).max_text_bytes == 4 * 1024 * 1024
    with pytest.raises(ConfigError) as caught:
        _config(max_text_bytes=1000)
    assert caught.value.key == "max_text_bytes"
    assert "at least 65536" in str(caught.value)


def test_the_agents_notice_says_the_text_was_cut():
    app = build_app(_config())
    raw = _parts(("8bit", "The trunk is down.\n" + "x" * 100_000))
    for limit, cut in ((65536, True), (None, False)):
        message = parse_message(raw, tag_prefix="REQ", own_addresses=OWN, max_text_bytes=limit)
        now = dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC)
        decision = decide_message(message, Routed(request=None), app.install.primary.rules, now=now)
        [notice] = [n.notice for n in decision.notices if n.notice.template == "agent_new_request"]
        assert notice.context["text_cut"] is cut
        rendered = app.install.primary.renderer.render(
            notice, request_number=1, request_subject="Logs", thread_ids=[], now=now
        )
        assert ("The text was cut" in rendered.text) is cut
        assert (b"The text was cut" in rendered.raw) is cut


def _config_data() -> dict[str, object]:
    return {
        "support_address": "support@example.org",
        "agent_notify": ["team@example.org"],
        "imap": {"host": "imap.example.org", "username": "s", "password": "p"},
        "smtp": {"host": "smtp.example.org"},
        "database": {"url": "sqlite:///:memory:"},
    }
