"""Every delivery the SMTP sink accepts, with the round of the worker that made it.

The sink lives in the test process, so it outlives a worker killed with
``kill -9`` and sees every delivery, also the ones the worker never recorded.
The test sets `round` before it starts each worker process; a notification
delivered in round 3 and again in round 4 was forgotten by the crash of
round 3 and counts against that crash.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from dataclasses import dataclass

from tests.sandbox import CapturedMail, SmtpSink


@dataclass(frozen=True, slots=True, kw_only=True)
class Delivery:
    round: int
    message_id: str
    recipients: tuple[str, ...]


class DeliveryLedger:
    """An `SmtpSink` that stamps each accepted message with the current round."""

    def __init__(self) -> None:
        self.round = 0
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self.sink = SmtpSink(on_message=self._record)

    def __enter__(self) -> DeliveryLedger:
        self.sink.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.sink.stop()

    def _record(self, mail: CapturedMail) -> None:
        message_id = str(mail.message["Message-ID"] or "").strip().strip("<>")
        with self._lock:
            self._deliveries.append(
                Delivery(round=self.round, message_id=message_id, recipients=mail.rcpt_tos)
            )

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def count(self) -> int:
        with self._lock:
            return len(self._deliveries)

    def per_message_id(self) -> Counter[str]:
        return Counter(delivery.message_id for delivery in self.deliveries)

    def repeats_by_round(self) -> dict[int, int]:
        """Deliveries that were repeated later, by the round that made them.

        Each delivery of a Message-ID but its last is one the worker did not
        record; it is charged to its own round. A repeat within one round is
        charged to that round too (it is never a crash's doing: see
        `repeats_within_a_round`).
        """
        rounds: dict[str, list[int]] = defaultdict(list)
        for delivery in self.deliveries:
            rounds[delivery.message_id].append(delivery.round)
        charged: Counter[int] = Counter()
        for seen in rounds.values():
            charged.update(seen[:-1])
        return dict(charged)

    def repeats_within_a_round(self) -> int:
        """Message-IDs delivered twice by the same worker process: never acceptable."""
        seen = Counter((delivery.round, delivery.message_id) for delivery in self.deliveries)
        return sum(count - 1 for count in seen.values() if count > 1)
