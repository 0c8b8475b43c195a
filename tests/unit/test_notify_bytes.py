"""The exact bytes of every notice, pinned: a change to how notices are rendered and
composed (a faster path, say) must not change a byte of what is sent.

Every notice of `tests.unit.test_notify.CASES` in both languages, and the shapes that
take other paths: Cyrillic and long subjects, no thread, a reply-token Reply-To, a
Cyrillic sender name, a relayed HTML answer, files attached, inline and left out,
`mailgate check`'s test mail. The random parts (the Message-ID's and Content-IDs'
hex, the MIME boundaries) are numbered in order of appearance; `now` is fixed.

After a change meant to alter the output (a template edited), rewrite the digests:
`MAILGATE_WRITE_NOTICE_DIGESTS=1 .venv/bin/python -m pytest tests/unit/test_notify_bytes.py`
and read the diff of a rendered notice before committing them.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import replace
from pathlib import Path

from mailgate.decision import AgentAnswer, FileRelay, Notice, RelayedFile
from mailgate.domain import Attachment
from mailgate.notify import Renderer, Sender, file_part
from tests.unit.test_notify import (
    ALL_PAIRS,
    LONG_IDS,
    MOSCOW,
    NOW,
    NUMBER,
    RENDERER,
    SUBJECT,
    TEMPLATES,
    THREAD,
    make_notice,
)

DIGESTS = Path(__file__).resolve().parent.parent / "fixtures" / "notice_digests.json"
RU_SUBJECT = "Не работает SIP-транк в офисе, звонки обрываются через 30 секунд"
LONG_SUBJECT = "Calls drop " * 30
ANSWER_HTML = (
    '<div><p>Hello Ivan,</p><p>the <b>trunk</b> is back: <img src="cid:shot@agent"></p>'
    '<table border="1"><tr><td>line</td><td>registered</td></tr></table>'
    "<p>Alice, alice@agent.example.org</p><script>alert(1)</script></div>"
)
SCREENSHOT = Attachment(filename="trunk.png", content_type="image/png", size=2_345,
                        sha256="2" * 64, inline=True, content_id="shot@agent")  # fmt: skip
LOG = Attachment(filename="журнал АТС.pdf", content_type="application/pdf", size=48_213,
                 sha256="0" * 64, inline=False)  # fmt: skip
RECORDING = Attachment(filename="call.wav", content_type="audio/wav", size=31_457_280,
                       sha256="1" * 64, inline=False)  # fmt: skip
FILES = FileRelay(
    files=(RelayedFile(file=SCREENSHOT), RelayedFile(file=LOG),
           RelayedFile(file=RECORDING, left_out="too_large")),
    limit=20 * 1024 * 1024,
)  # fmt: skip
PARTS = [file_part(SCREENSHOT, b"\x89PNG sample" * 40), file_part(LOG, b"%PDF-1.4 sample")]
CYRILLIC_SENDER = Renderer(
    TEMPLATES,
    sender=Sender(address="support@example.org", name="Служба поддержки"),
    tag_prefix="REQ",
    timezone=MOSCOW,
)


def cases() -> dict[str, tuple[Renderer, Notice, dict]]:
    """name -> (renderer, notice, the other arguments of `render`)."""
    plain = {"request_subject": SUBJECT, "thread_ids": THREAD}
    out = {f"{language}/{name}": (RENDERER, make_notice(name, language), plain)
           for language, name in ALL_PAIRS}  # fmt: skip
    for language in ("en", "ru"):
        created = make_notice("created", language)
        answer = make_notice("agent_answer", language)
        out |= {
            f"{language}/created, Cyrillic subject": (
                RENDERER, created, {**plain, "request_subject": RU_SUBJECT}),
            f"{language}/created, long subject, no thread": (
                RENDERER, created, {"request_subject": LONG_SUBJECT, "thread_ids": []}),
            f"{language}/created, long thread ids": (
                RENDERER, created, {**plain, "thread_ids": LONG_IDS}),
            f"{language}/created, Cyrillic sender": (CYRILLIC_SENDER, created, plain),
            f"{language}/agent_answer, HTML and files": (
                RENDERER,
                replace(answer, reply_to="support+r.abc123@example.org", files=FILES,
                        answer=AgentAnswer(agent="Alice Smith", html=ANSWER_HTML,
                                           hidden=("alice@agent.example.org",))),
                {**plain, "files": PARTS}),
            f"{language}/check_test": (
                RENDERER,
                Notice(template="check_test", recipient="admin@example.org", language=language,
                       context={"mailbox": "support", "smtp_server": "smtp.example.org:587",
                                "machine": "mail1", "sent_at": "2026-12-07 07:00 UTC"}),
                {"request_subject": "check", "thread_ids": []}),
        }  # fmt: skip
    # A new request acknowledged, all its CC participants: the notice as before the limits.
    out["en/agent_new_request, within the limits"] = (
        RENDERER, make_notice("agent_new_request", "en", not_acknowledged=[], cc_left_out=[],
                              cc_left_out_count=0), plain,
    )  # fmt: skip
    out["en/agent_client_reply, files"] = (
        RENDERER, replace(make_notice("agent_client_reply", "en"), files=FILES),
        {**plain, "files": PARTS[1:]},
    )  # fmt: skip
    return out


def normalized(raw: bytes) -> bytes:
    """`raw` with each random hex token replaced by its number, of the same length (so
    quoted-printable breaks its lines where it did), also where a soft break splits it."""
    tokens = dict.fromkeys(re.findall(rb"[0-9a-f]{32}", raw))
    for number, token in enumerate(tokens):
        stand_in = b"%032x" % number
        pattern = b"(=\r\n)?".join(re.escape(bytes([char])) for char in token)
        raw = re.sub(pattern, lambda found, new=stand_in: _keep_breaks(found, new), raw)
    return raw


def _keep_breaks(found: re.Match[bytes], new: bytes) -> bytes:
    """`new` with the soft line breaks of the token `found` at the same places."""
    breaks = {index for index in range(31) if found.group(index + 1)}
    return b"".join(new[i : i + 1] + (b"=\r\n" if i in breaks else b"") for i in range(32))


def digests() -> dict[str, str]:
    out = {}
    for name, (renderer, notice, arguments) in cases().items():
        rendered = renderer.render(notice, request_number=NUMBER, now=NOW, **arguments)
        out[name] = hashlib.sha256(normalized(rendered.raw)).hexdigest()
    return out


def test_every_notice_renders_to_the_pinned_bytes() -> None:
    found = digests()
    if os.environ.get("MAILGATE_WRITE_NOTICE_DIGESTS"):
        DIGESTS.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", "utf-8")
    pinned = json.loads(DIGESTS.read_text("utf-8"))
    assert sorted(found) == sorted(pinned)
    assert [name for name in found if found[name] != pinned[name]] == []


def test_hex_tokens_are_numbered_across_soft_line_breaks() -> None:
    token = b"0123456789abcdef" * 2
    raw = b"id " + token + b'\r\nsrc=3D"cid:' + token[:5] + b"=\r\n" + token[5:] + b'"'
    assert normalized(raw) == (b"id " + b"0" * 32 + b'\r\nsrc=3D"cid:' + b"0" * 5 + b"=\r\n"
                               + b"0" * 27 + b'"')  # fmt: skip
