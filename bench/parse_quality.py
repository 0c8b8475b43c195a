"""How well `parse_message` reads the fixture corpora: a script, not a test; it prints figures.

    .venv/bin/python -m bench.parse_quality            # the figures
    .venv/bin/python -m bench.parse_quality --misses   # and which fixtures miss

Corpora (each fixture with its expected values beside it):
- `tests/fixtures/replies`: new text exact, commands taken from quoted text (a
  command found that the expectation does not list), commands missed, empty
  new text where the sender wrote something, and forwarded parts read;
- `tests/fixtures/machine`: machine-mail recall (auto or bounce found where
  expected) and precision (none found on a person's mail), and empty new text
  on a person's mail there.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from mailgate.domain import InboundMessage
from mailgate.parse import parse_message
from mailgate.parse.commands import find_commands

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
OWN = frozenset({"support@example.org"})


def _parse(path: Path) -> InboundMessage:
    return parse_message(path.read_bytes(), tag_prefix="REQ", own_addresses=OWN)


def _forwarded(message: InboundMessage) -> dict[str, str] | None:
    forwarded = getattr(message, "forwarded", None)
    return None if forwarded is None else forwarded.to_json()


def replies(misses: list[str]) -> dict[str, int]:
    table = json.loads((FIXTURES / "replies" / "expected.json").read_text(encoding="utf-8"))
    counts = dict.fromkeys(("mails", "exact", "from_quotes", "missed_commands", "written",
                            "empty", "forwards", "forwards_read"), 0)  # fmt: skip
    for name, want in sorted(table.items()):
        message = _parse(FIXTURES / "replies" / f"{name}.eml")
        counts["mails"] += 1
        if message.new_text == want["new_text"]:
            counts["exact"] += 1
        else:
            misses.append(f"replies/{name}: new text")
        found = {c.name.value for c in find_commands(new_text=message.new_text,
                                                     subject_after_tag=message.subject_after_tag)}
        expected = set(want["commands"])
        if found - expected:
            counts["from_quotes"] += 1
            misses.append(f"replies/{name}: commands from quoted text {sorted(found - expected)}")
        if expected - found:
            counts["missed_commands"] += 1
            misses.append(f"replies/{name}: commands missed {sorted(expected - found)}")
        if want["new_text"]:
            counts["written"] += 1
            if not message.new_text:
                counts["empty"] += 1
                misses.append(f"replies/{name}: empty new text")
        if "forwarded" in want:
            counts["forwards"] += 1
            if _forwarded(message) == want["forwarded"]:
                counts["forwards_read"] += 1
            else:
                misses.append(f"replies/{name}: forwarded part")
    return counts


def machine(misses: list[str]) -> dict[str, int]:
    table = json.loads((FIXTURES / "machine" / "expected.json").read_text(encoding="utf-8"))
    counts = dict.fromkeys(("machine", "found", "people", "flagged", "empty"), 0)
    for name, want in sorted(table.items()):
        message = _parse(FIXTURES / "machine" / name)
        is_machine = want["auto"] is not None or want["bounce"] is not None
        got = message.auto is not None or message.bounce is not None
        if is_machine:
            counts["machine"] += 1
            counts["found"] += got
            if not got:
                misses.append(f"machine/{name}: not found")
        else:
            counts["people"] += 1
            counts["flagged"] += got
            if got:
                misses.append(f"machine/{name}: a person's mail flagged ({message.auto})")
            if not message.new_text:
                counts["empty"] += 1
                misses.append(f"machine/{name}: empty new text")
    return counts


def main(argv: list[str]) -> int:
    misses: list[str] = []
    r = replies(misses)
    m = machine(misses)
    flagged_right = m["found"]
    precision = flagged_right / (flagged_right + m["flagged"]) if flagged_right else 0.0
    print(f"replies: {r['mails']} mails")
    exact = 100 * r["exact"] / r["mails"]
    print(f"  new text exact      {r['exact']}/{r['mails']} ({exact:.1f} %)")
    print(f"  commands from quotes {r['from_quotes']}/{r['mails']}")
    print(f"  commands missed     {r['missed_commands']}/{r['mails']}")
    print(f"  empty new text      {r['empty']}/{r['written']} written")
    print(f"  forwards read       {r['forwards_read']}/{r['forwards']}")
    print(f"machine: {m['machine']} machine mails, {m['people']} people's")
    recall = 100 * m["found"] / m["machine"]
    print(f"  recall              {m['found']}/{m['machine']} ({recall:.1f} %)")
    print(f"  precision           {100 * precision:.1f} % ({m['flagged']} people's mails flagged)")
    print(f"  empty new text      {m['empty']}/{m['people']}")
    if "--misses" in argv:
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
