"""What a backlog left behind: the database, the mailbox and the sink, side by side.

SPEC §7 in numbers: every mail stored and applied once (one request, its
events once), none left in the inbox or missing from the folders, every
notification queued once per mail and delivered, nothing pending.
"""

from __future__ import annotations

import email
import email.policy
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from tests.harness import Gate
from tests.reliability.ledger import DeliveryLedger

NOTIFICATIONS_PER_NEW_REQUEST = 2  # the acknowledgement and the notice to agent_notify


def message_id_of(raw: bytes) -> str:
    parsed = email.message_from_bytes(raw, policy=email.policy.compat32)
    return str(parsed["Message-ID"] or "").strip().strip("<>")


@dataclass(frozen=True, slots=True, kw_only=True)
class Audit:
    mails: int
    requests: int
    not_applied: list[str]
    applied_twice: list[str]
    events_twice: int
    left_in_inbox: int
    not_filed: list[str]
    filed_twice: int
    outbox: Counter[str]  # rows by state
    never_delivered: int
    delivered_twice: int  # deliveries beyond the first, over all Message-IDs
    strangers: int  # deliveries of Message-IDs the outbox never held

    @property
    def lost(self) -> int:
        """Mails neither applied nor quarantined, or gone from every folder."""
        return len(set(self.not_applied) | set(self.not_filed))

    def problems(self, *, notifications: int) -> list[str]:
        """Every way this backlog breaks §7, given how many notifications it should make."""
        checks = [
            (self.requests == self.mails, f"{self.requests} requests for {self.mails} mails"),
            (not self.not_applied, f"{len(self.not_applied)} mails never applied"),
            (not self.applied_twice, f"{len(self.applied_twice)} mails applied twice"),
            (self.events_twice == 0, f"{self.events_twice} events recorded twice"),
            (self.left_in_inbox == 0, f"{self.left_in_inbox} mails left in the inbox"),
            (not self.not_filed, f"{len(self.not_filed)} mails in neither Processed nor Failed"),
            (self.filed_twice == 0, f"{self.filed_twice} mails filed twice"),
            (
                sum(self.outbox.values()) == notifications,
                f"{sum(self.outbox.values())} notifications queued, {notifications} expected",
            ),
            (set(self.outbox) <= {"sent"}, f"outbox rows not sent: {dict(self.outbox)}"),
            (self.never_delivered == 0, f"{self.never_delivered} notifications never delivered"),
            (self.strangers == 0, f"{self.strangers} deliveries the outbox never held"),
        ]
        return [message for ok, message in checks if not ok]


def audit(gate: Gate, ledger: DeliveryLedger, message_ids: Iterable[str]) -> Audit:
    expected = list(message_ids)
    applied = Counter(
        message_id
        for (message_id,) in gate.query("SELECT message_id FROM messages WHERE direction = 'in'")
    )
    states = dict(gate.query("SELECT key, state FROM inbound"))
    [(requests,)] = gate.query("SELECT count(*) FROM requests")
    [(events_twice,)] = gate.query(
        "SELECT count(*) FROM (SELECT request_id, kind, to_status FROM events "
        "GROUP BY request_id, kind, to_status HAVING count(*) > 1) AS repeated"
    )
    outbox_rows = gate.query("SELECT message_id, state FROM outbound")
    filed = Counter(
        message_id_of(raw)
        for folder in ("Processed", "Failed")
        for raw in gate.imap.list_folder(folder)
    )
    delivered = ledger.per_message_id()
    queued = {message_id for message_id, _ in outbox_rows}
    return Audit(
        mails=len(expected),
        requests=requests,
        not_applied=[key for key in expected if states.get(key) != "applied"],
        applied_twice=[key for key, count in applied.items() if count > 1],
        events_twice=events_twice,
        left_in_inbox=len(gate.imap.list_folder("INBOX")),
        not_filed=[key for key in expected if key not in filed],
        filed_twice=sum(count - 1 for count in filed.values()),
        outbox=Counter(state for _, state in outbox_rows),
        never_delivered=len(queued - set(delivered)),
        delivered_twice=sum(count - 1 for count in delivered.values()),
        strangers=len(set(delivered) - queued),
    )
