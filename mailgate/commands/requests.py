"""`mailgate requests set-status|note`: an agent's `#status` and `#note` from the shell.

The pure rules are `mailgate.decide.admin`; here the request is read under
its lock, decided and written in one transaction, as mail is. Notifications
are queued like those of an agent's mail and go out with the worker's next
round.
"""

from __future__ import annotations

import argparse
import datetime as dt
from typing import TYPE_CHECKING

from mailgate.commands.output import (
    EXIT_NOT_FOUND,
    EXIT_REFUSED,
    complain,
    print_json,
)

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.apply.admin import AdminRule
    from mailgate.decide.admin import AdminDecision
    from mailgate.decision import RequestSnapshot, Rules

# Each refusal as a sentence; the keys are `Refusal` values and those of decide/admin.py.
REFUSALS = {
    "not_an_agent": "{by} is not an agent (see `agents` in the config)",
    "closed": "{tag} is closed, and a closed request stays closed",
    "same_status": "{tag} is {status} already",
    "unknown_status": "{wanted!r} is not a status",
    "not_allowed": "not allowed",
    "empty_note": "the note is empty",
}


def register(actions: argparse._SubParsersAction) -> None:
    set_status = actions.add_parser(
        "set-status", help="set a status as an agent's #status would",
        description="Set the status of a request, as an agent's `#status` in mail would: "
        "only an agent may, a closed request stays closed, the client is told.",
    )  # fmt: skip
    set_status.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    set_status.add_argument("status", help="a status name, e.g. in_progress or 'on hold'")
    set_status.add_argument("--by", required=True, metavar="ADDRESS", help="the agent acting")
    set_status.add_argument("--note", default="", metavar="TEXT", help="why, for the history")
    set_status.add_argument("--json", action="store_true", help="print one JSON object")
    set_status.set_defaults(handler=set_status_command)
    note = actions.add_parser(
        "note", help="add an internal note as an agent's #note would",
        description="Add an internal note to a request: shown to agents, never sent to the client.",
    )  # fmt: skip
    note.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    note.add_argument("text", help="the note")
    note.add_argument("--by", required=True, metavar="ADDRESS", help="the agent writing it")
    note.add_argument("--json", action="store_true", help="print one JSON object")
    note.set_defaults(handler=note_command)


def set_status_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.decide.admin import decide_set_status

    def decide(snapshot: RequestSnapshot, rules: Rules, now: dt.datetime) -> AdminDecision:
        return decide_set_status(snapshot, args.status, by=args.by.strip().lower(),
                                 note=args.note, rules=rules, now=now)  # fmt: skip

    return _act(app, args, decide)


def note_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.decide.admin import decide_note

    def decide(snapshot: RequestSnapshot, rules: Rules, now: dt.datetime) -> AdminDecision:
        return decide_note(snapshot, args.text, by=args.by.strip().lower(), rules=rules, now=now)

    return _act(app, args, decide)


def _act(app: App, args: argparse.Namespace, rule: AdminRule) -> int:
    """Read the request under its lock, decide, write; print what happened."""
    from mailgate.apply import act
    from mailgate.tags import format_tag, parse_tag

    settings = app.settings
    number = parse_tag(args.tag, settings.tag_prefixes.values())
    tag = format_tag(settings.tag_prefix, number) if number is not None else args.tag
    acted = None
    if number is not None:
        acted = act(app.store, app.install, number, rule, now=dt.datetime.now(dt.UTC))
    if acted is None:
        complain(f"no request {args.tag}")
        return EXIT_NOT_FOUND
    snapshot, verdict = acted.request, acted.verdict
    if not verdict.allowed:
        sentence = REFUSALS.get(verdict.refusal, verdict.refusal).format(
            by=args.by, tag=tag, status=snapshot.status.value, wanted=getattr(args, "status", "")
        )
        if args.json:
            print_json({"request": tag, "done": False, "refusal": verdict.refusal,
                        "detail": sentence, "status": snapshot.status.value})  # fmt: skip
        complain(f"refused: {sentence}")
        return EXIT_REFUSED
    decision = verdict.decision
    assert decision is not None
    status = dict(next((u.changes for u in decision.updates), ())).get("status", snapshot.status)
    queued = len(decision.notices)
    if args.json:
        print_json({"request": tag, "done": True, "refusal": None, "status": str(status),
                    "notifications_queued": queued})  # fmt: skip
    else:
        print(f"{tag}: {'status ' + str(status) if status != snapshot.status else 'note added'}"
              f"; {queued} notification(s) queued for the next round")  # fmt: skip
    return 0
