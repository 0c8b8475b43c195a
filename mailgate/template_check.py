"""An admin's template overrides, rendered once with sample data before any mail is read.

A template in `templates_dir` replaces the shipped one of the same name
(`notify.template_loader`). A broken one (bad Jinja, a variable that notices do
not pass, which StrictUndefined refuses) would otherwise fail at the first mail
that uses it, after that mail was read; `run` and `check` call
`check_templates` first, and a failure is a `ConfigError` naming the file.

`SAMPLES` gives each template the context deciding gives it (mirrored in
tests/unit/test_notify.py); tests render every shipped template with it, so a
variable added to a shipped template without a sample fails there, not here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from mailgate.config import DEFAULT_TEMPLATES_DIR
from mailgate.decision import AgentAnswer, FileRelay, Notice, RelayedFile
from mailgate.domain import Attachment, Status
from mailgate.errors import ConfigError

if TYPE_CHECKING:
    from mailgate.apply import Install

_AT = dt.datetime(2026, 12, 7, 7, 0, tzinfo=dt.UTC)
_AGENT_TEMPLATES = (
    "agent_new_request",
    "agent_client_reply",
    "agent_held",
    "agent_status_changed",
    "agent_escalated",
    "agent_note",
    "agent_bounce",
    "agent_sla_breach",
    "agent_command_refused",
    "agent_participants",
    "agent_forward_opened",
    "agent_forward_refused",
    "agent_rating",
)
_FILE = Attachment(
    filename="screenshot.png",
    content_type="image/png",
    size=2048,
    sha256="0",
    inline=True,
    content_id="image001.png@sample",
)
_FILES = FileRelay(
    files=(RelayedFile(file=_FILE), RelayedFile(file=_FILE, left_out="too_large")), limit=1024
)
_CHECK_TEST = {
    "mailbox": "default",
    "smtp_server": "smtp.example.org:587",
    "machine": "mail1",
    "sent_at": "2026-12-07 07:00 UTC",
}

# An agent's answer as plain text, and as HTML with the image of the sample file.
_SAMPLE_ANSWERS = (
    AgentAnswer(agent="Alice"),
    AgentAnswer(
        agent="Alice", html='<p>Please <b>restart</b> it.</p><img src="cid:image001.png@sample">'
    ),
)
_RATING_ADDRESSES = {"good": "support+r.1.g.0@example.org", "bad": "support+r.1.b.0@example.org"}
# template -> (status, its own context)
SAMPLES: dict[str, tuple[Status, dict[str, Any]]] = {
    "created": (Status.NEW, {"text": "The trunk is down since 9:00.", "answer_due": _AT}),
    "agent_answer": (
        Status.IN_PROGRESS, {"answer": "Please restart the PBX.", "status_news": "status_changed"}
    ),
    "status_changed": (Status.ON_HOLD, {"by_client": False}),
    "awaiting_confirmation": (Status.AWAITING_CONFIRMATION, {"by_client": False}),
    "reminder": (Status.AWAITING_CONFIRMATION, {}),
    "closed": (Status.CLOSED, {"by_client": True, "rating_addresses": _RATING_ADDRESSES}),
    "cancelled": (Status.CANCELLED, {"by_client": False}),
    "escalation_accepted": (Status.ESCALATED, {"reason": "no answer for three days"}),
    "escalation_refused": (Status.IN_PROGRESS, {"reason": "ASAP", "category": "priority_only"}),
    "closed_reply": (Status.CLOSED, {}),
    "merged": (Status.IN_PROGRESS, {"merged_tag": "REQ-5", "merged_subject": "Phones down"}),
    "command_refused": (Status.CLOSED, {"command": "Cancel request", "refusal": "closed"}),
    "check_test": (Status.NEW, _CHECK_TEST),
    "agent_new_request": (
        Status.NEW,
        {
            "text": "The trunk is down.",
            "not_acknowledged": ["client@example.net"],
            "cc_left_out": ["eleventh@example.net"],
            "cc_left_out_count": 1,
        },
    ),
    "agent_client_reply": (
        Status.IN_PROGRESS,
        {"text": "Still down.", "from": "client@example.net", "thanks_only": True},
    ),
    "agent_held": (Status.IN_PROGRESS, {"text": "Me too!", "from": "someone@example.net"}),
    "agent_status_changed": (
        Status.CLOSED,
        {"command": "Resolve this issue", "from": "client@example.net",
         "text": "Phones work again."},
    ),
    "agent_escalated": (
        Status.ESCALATED,
        {"reason": "no answer", "from": "client@example.net", "text": "No answer since Monday."},
    ),
    "agent_note": (Status.IN_PROGRESS, {"text": "Check the trunk.", "from": "alice@example.org"}),
    "agent_bounce": (
        Status.IN_PROGRESS,
        {"addresses": ["gone@example.net"], "text": "550 no such user", "hold_days": 7},
    ),
    "agent_sla_breach": (Status.IN_PROGRESS, {"target": "resolution", "due_at": _AT}),
    "agent_command_refused": (
        Status.CLOSED,
        {"command": "#status on_hold", "refusal": "closed",
         "more_refused": [{"command": "#assign x@example.net", "refusal": "not_an_agent"}]},
    ),
    "agent_participants": (
        Status.IN_PROGRESS,
        {"by": "alice@example.org", "added": ["colleague@example.net"], "removed": []},
    ),
    "agent_forward_opened": (
        Status.NEW,
        {
            "text": "Our fax line has been down since 9:00.",
            "note": "VIP client, please call back.",
            "forwarded_by": "alice@example.org",
            "acknowledged": True,
            "not_acknowledged": [],
            "cc_left_out": [],
            "cc_left_out_count": 0,
        },
    ),
    "agent_forward_refused": (
        Status.NEW,
        {
            "command": "#fwd",
            "why": "the forwarded message names no sender",
            "forwarded": {"sender": "", "date": "", "subject": "Fax", "text": "Fax is down."},
        },
    ),
    "agent_rating": (
        Status.CLOSED,
        {"value": "bad", "comment": "Slow.", "from": "client@example.net", "replaced": "good"},
    ),
}


def check_templates(install: Install) -> None:
    """Render every notice with the renderer of each mailbox whose `templates_dir`
    overrides templates; raise ConfigError naming the file of the first that fails.

    The renderers are the worker's own, so what compiling costs here (about half a
    second for every template) the first notices do not pay again. Shipped templates
    alone are not rendered here (tests do): start-up stays as fast as before."""
    checked: set[Path] = set()
    for mailbox in install:
        directory = mailbox.settings.templates_dir
        if directory.resolve() == DEFAULT_TEMPLATES_DIR.resolve() or directory in checked:
            continue
        checked.add(directory)
        for notice in sample_notices(directory):
            try:
                mailbox.renderer.render(
                    notice,
                    request_number=1,
                    request_subject="Phones are down",
                    thread_ids=[],
                    now=_AT,
                )
            except Exception as exc:  # any failure of an admin's template: name its file
                raise ConfigError("templates_dir", _problem(exc, directory, notice)) from None


def sample_notices(directory: Path = DEFAULT_TEMPLATES_DIR) -> Iterator[Notice]:
    """One notice per template and language (agents' notices are English), with files,
    and the agent answer once more as HTML."""
    languages = sorted(
        {
            path.name
            for path in (*DEFAULT_TEMPLATES_DIR.iterdir(), *directory.iterdir())
            if path.is_dir() and (path / "labels.toml").exists()
        }
        | {"en"}
    )
    for language in languages:
        for template, (status, context) in SAMPLES.items():
            if language != "en" and template in _AGENT_TEMPLATES:
                continue
            request = {
                "status": status,
                "requester": "client@example.net",
                "auto_close_at": _AT,
                "owner": "alice@example.org",
                "participants": ["client@example.net", "colleague@example.net"],
                "priority": "high",
                "labels": ["billing", "vip"],
            }
            full = {**context, "status": status, "request": request}
            relay = template == "agent_answer"
            for answer in _SAMPLE_ANSWERS if relay else (None,):
                yield Notice(
                    template=template,
                    recipient="client@example.net",
                    language=language,
                    context=full,
                    relay=relay,
                    files=_FILES,
                    answer=answer,
                )


def _problem(exc: Exception, directory: Path, notice: Notice) -> str:
    """`<file> line N: what` for the template file the error is in."""
    filename = getattr(exc, "filename", None)
    line = getattr(exc, "lineno", None)
    if filename is None:  # raised while rendering: Jinja's traceback names the template
        filename, line = _template_frame(exc.__traceback__)
    if filename is None:
        filename = str(directory / notice.language / notice.template)
    where = f"{filename} line {line}" if line else filename
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{where}: {message} (rendering {notice.language}/{notice.template} with sample data)"


def _template_frame(traceback: TracebackType | None) -> tuple[str | None, int | None]:
    found: tuple[str | None, int | None] = (None, None)
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".txt")):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    return found
