"""What a decision changed, in a few short fields for the "message applied" log line. Pure.

Never any text of the message: who acted, what kind of mail it was, the
status steps and the other history entries by kind, and how many notices.
"""

from __future__ import annotations

from mailgate.decision import Decision


def summarize(decision: Decision) -> dict[str, object]:
    stores = decision.stores
    actor = stores.from_address if stores else next((e.actor for e in decision.events), "")
    steps = [f"{e.from_status}->{e.to_status}" for e in decision.events if e.kind == "status"]
    others = [e.kind for e in decision.events if e.kind not in ("status", "created")]
    summary: dict[str, object] = {"actor": actor, "kind": str(stores.kind) if stores else ""}
    if decision.opens is not None:
        summary["opened"] = True
    if steps:
        summary["status"] = ", ".join(steps)
    if others:
        summary["events"] = ", ".join(others)
    summary["notices"] = len(decision.notices)
    return summary
