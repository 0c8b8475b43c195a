"""`mailgate requests set-status|note|cc|merge`: an agent's `#status`, `#note`, `#cc`
and `#merge` from the shell.

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
    "invalid_address": "{wanted!r} is not one e-mail address",
    "staff_address": "{wanted} is an agent's, a team's or the support address: never a participant",
    "blocked_address": "{wanted} is in [trust] blocked_senders",
    "too_many_participants": "{tag} has [trust] max_cc_participants CC participants already",
    "already_participant": "{wanted} is a participant of {tag} already",
    "not_a_participant": "{wanted} is not a CC participant of {tag}",
    "requester": "{wanted} is the requester of {tag}, who stays",
    "unknown_request": "there is no request {wanted}",
    "into_itself": "a request cannot be merged into itself",
    "merged": "{wanted} was itself merged into another request: merge into that one",
    "other_mailbox": "{tag} and {wanted} belong to different mailboxes",
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
    set_status.set_defaults(handler=set_status_command, done="")
    note = actions.add_parser(
        "note", help="add an internal note as an agent's #note would",
        description="Add an internal note to a request: shown to agents, never sent to the client.",
    )  # fmt: skip
    note.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    note.add_argument("text", help="the note")
    note.add_argument("--by", required=True, metavar="ADDRESS", help="the agent writing it")
    note.add_argument("--json", action="store_true", help="print one JSON object")
    note.set_defaults(handler=note_command, done="note added")
    cc = actions.add_parser(
        "cc", help="add or remove a CC participant as an agent's #cc would",
        description="Add or remove a CC participant of a request, as an agent's `#cc add|remove "
        "ADDRESS` in mail would: the participant gets the next answers; the agents are told.",
    )  # fmt: skip
    cc.add_argument("tag", help="REQ-123, [REQ-123] or 123")
    cc.add_argument("verb", choices=("add", "remove"))
    cc.add_argument("address", help="the participant's address")
    cc.add_argument("--by", required=True, metavar="ADDRESS", help="the agent acting")
    cc.add_argument("--json", action="store_true", help="print one JSON object")
    cc.set_defaults(handler=cc_command, done="participants changed")
    merge = actions.add_parser(
        "merge", help="merge a request into another as an agent's #merge would",
        description="Merge a request into another, as an agent's `#merge REQ-12` in mail would: "
        "it closes as merged, its participants join the other, later mail about it is filed "
        "there, and its clients are told once.",
    )  # fmt: skip
    merge.add_argument("tag", help="the request that closes: REQ-5, [REQ-5] or 5")
    merge.add_argument("--into", required=True, metavar="TAG", help="the request that goes on")
    merge.add_argument("--by", required=True, metavar="ADDRESS", help="the agent acting")
    merge.add_argument("--json", action="store_true", help="print one JSON object")
    merge.set_defaults(handler=merge_command)


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


def cc_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.decide.admin import decide_cc

    def decide(snapshot: RequestSnapshot, rules: Rules, now: dt.datetime) -> AdminDecision:
        return decide_cc(snapshot, args.verb, args.address, by=args.by.strip().lower(),
                         rules=rules, now=now)  # fmt: skip

    return _act(app, args, decide, wanted=args.address)


def merge_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.apply import act_merge
    from mailgate.tags import format_tag, parse_tag

    settings = app.settings
    prefixes = settings.tag_prefixes.values()
    source, target = parse_tag(args.tag, prefixes), parse_tag(args.into, prefixes)
    merged = None
    if source is not None:
        merged = act_merge(app.store, app.install, source, -1 if target is None else target,
                           by=args.by.strip().lower(), now=dt.datetime.now(dt.UTC))  # fmt: skip
    if merged is None or source is None:
        complain(f"no request {args.tag}")
        return EXIT_NOT_FOUND
    tag = format_tag(settings.tag_prefix, source)
    into = format_tag(settings.tag_prefix, target) if target is not None else args.into
    if merged.refusal is not None:
        sentence = REFUSALS[merged.refusal.value].format(
            by=args.by, tag=tag, wanted=into, status=merged.source.status.value
        )
        if args.json:
            print_json({"request": tag, "into": into, "done": False,
                        "refusal": merged.refusal.value, "detail": sentence})  # fmt: skip
        complain(f"refused: {sentence}")
        return EXIT_REFUSED
    if args.json:
        print_json({"request": tag, "into": into, "done": True, "refusal": None})
    else:
        print(f"{tag}: merged into {into} and closed; its clients are told with the next round")
    return 0


def _act(app: App, args: argparse.Namespace, rule: AdminRule, *, wanted: str = "") -> int:
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
        wanted = wanted or getattr(args, "status", "")
        sentence = REFUSALS.get(verdict.refusal, verdict.refusal).format(
            by=args.by, tag=tag, status=snapshot.status.value, wanted=wanted
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
        done = f"status {status}" if status != snapshot.status else args.done
        print(f"{tag}: {done}; {queued} notification(s) queued for the next round")
    return 0
