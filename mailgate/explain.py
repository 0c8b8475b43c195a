"""`mailgate parse`: what mailgate reads from one message, with no database,
network or clock. Admins use it to see why a mail did what it did.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from mailgate.config import Settings, load_settings
from mailgate.domain import InboundMessage
from mailgate.errors import ConfigError
from mailgate.parse import parse_message
from mailgate.parse.commands import scan_commands
from mailgate.parse.limits import DEFAULT_MAX_TEXT_BYTES
from mailgate.parse.thanks import only_thanks
from mailgate.tags import format_tag

DEFAULT_OWN = frozenset({"support@example.org"})


def explain(raw: bytes, *, settings: Settings | None = None) -> dict[str, Any]:
    """The stable JSON of `mailgate parse --json` (see docs/parse.md)."""
    prefix = settings.tag_prefix if settings else "REQ"
    own = settings.own_addresses if settings else DEFAULT_OWN
    limit = settings.max_text_bytes if settings else DEFAULT_MAX_TEXT_BYTES
    message = parse_message(raw, tag_prefix=prefix, own_addresses=own, max_text_bytes=limit)
    scan = scan_commands(
        new_text=message.new_text,
        quoted_text=message.quoted_text,
        subject_after_tag=message.subject_after_tag,
    )
    sender = message.sender.address if message.sender else None
    is_agent = bool(settings and sender and settings.is_agent(sender))
    commands, rejected = [], [_rejected(r.name, r.line, r.reason) for r in scan.rejected]
    for command in scan.commands:
        if settings is not None and command.name.is_agent_only != is_agent:
            rejected.append(_rejected(command.name, command.line, "role"))
            continue
        commands.append(
            {"name": command.name.value, "argument": command.argument, "line": command.line}
        )
    return {
        "tag": format_tag(prefix, message.tag_number) if message.tag_number is not None else None,
        "message_id": message.message_id,
        "in_reply_to": list(message.in_reply_to),
        "references": list(message.references),
        "from": sender,
        "subject": message.subject,
        "auto": message.auto,
        "bounce": _bounce(message),
        "new_text": message.new_text,
        "text_cut": message.text_cut,
        "thanks_only": only_thanks(message),  # it keeps awaiting_confirmation (SPEC §15)
        "commands": commands,
        "rejected": rejected,
        "attachments": [a.to_json() for a in message.attachments],
        "forwarded": message.forwarded.to_json() if message.forwarded is not None else None,
    }


def explain_file(path: Path, *, config_path: Path | None, as_json: bool) -> int:
    try:
        settings = load_settings(config_path) if config_path else None
    except ConfigError as exc:
        print(f"mailgate: config error: {exc}", file=sys.stderr)
        return 2
    try:
        raw = path.read_bytes()
    except OSError as exc:
        print(f"mailgate: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        result = explain(raw, settings=settings)
    except Exception as exc:
        result = {"error": f"unparseable: {exc!r}"}
        print(json.dumps(result) if as_json else result["error"])
        return 1
    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"tag: {result['tag']}   from: {result['from']}   auto: {result['auto']}")
    print("new text:")
    for line in result["new_text"].split("\n"):
        print(f"  | {line}")
    if result["text_cut"]:
        print("text cut: the text parts hold more than max_text_bytes; the rest was not read")
    for command in result["commands"]:
        print(f"command: {command['name']} {command['argument'] or ''}  <- {command['line']!r}")
    for candidate in result["rejected"]:
        print(
            f"not a command ({candidate['reason']}): {candidate['name']} <- {candidate['line']!r}"
        )
    forwarded = result["forwarded"]
    if forwarded is not None:
        print(f"forwarded: from {forwarded['sender'] or '?'}, {forwarded['date'] or 'no date'}: "
              f"{forwarded['subject']}")  # fmt: skip
        for line in forwarded["text"].split("\n"):
            print(f"  | {line}")
    for file in result["attachments"]:
        inline = " inline" if file["inline"] else ""
        print(f"file: {file['filename']} ({file['content_type']}, {file['size']} bytes{inline})")
    return 0


def _rejected(name: Any, line: str, reason: str) -> dict[str, str]:
    return {"name": str(name), "line": line, "reason": reason}


def _bounce(message: InboundMessage) -> dict[str, Any] | None:
    if message.bounce is None:
        return None
    return {
        "recipients": list(message.bounce.recipients),
        "original_message_id": message.bounce.original_message_id,
        "permanent": message.bounce.permanent,
    }
