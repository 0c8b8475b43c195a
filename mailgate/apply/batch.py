"""Stored mail applied, a batch at a time: read, parse, then decide, render and
write in one short transaction.

    stored raw --read--> parse (no lock held) --claim--> locate --> decide --> write
                                                              --> plan --> render --> queue

Parsing costs time in the size of the mail, so it happens before the write
transaction opens: on SQLite that transaction holds the database's write lock,
and everyone else (the CLI, the sender, another worker) waits while it is open.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from mailgate.apply.announce import announce
from mailgate.apply.deliver import DeliveryLedger, deliver
from mailgate.apply.install import Install
from mailgate.apply.locate import locate, prefetch_acknowledgements
from mailgate.decide.summary import summarize
from mailgate.digest import content_digest
from mailgate.domain import InboundMessage
from mailgate.parse import message_key, variant_key
from mailgate.states import InboundState
from mailgate.store.database import MailboxScope, PendingMessage, Store, StoreUnavailable, Tx
from mailgate.store.rows import Fetched, Received
from mailgate.store.writer import StaleRequest

log = logging.getLogger(__name__)

APPLY_BATCH = 100  # messages applied per database transaction
APPLY_ATTEMPTS = 3  # a message whose apply raises this often (across rounds) is quarantined
HEAD_KEPT = 65536  # bytes of the header block kept of a message refused for its size


class OutcomeState(StrEnum):
    APPLIED = "applied"
    FAILED = "failed"  # quarantined, its raw bytes kept
    HELD = "held"  # held by the trust rules: nothing written but the hold, nothing sent
    RETRY = "retry"  # left pending for a later round
    SKIPPED = "skipped"  # applied meanwhile, or another worker has it


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    state: OutcomeState
    request_number: int | None = None
    detail: str = ""
    summary: dict[str, object] = field(default_factory=dict)  # for the log (decide/summary.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class Stored:
    """A fetched batch after storing: the key of each message, in the order given."""

    keys: list[str]
    new: int  # how many were not stored before


@dataclass(frozen=True, slots=True)
class _Parsed:
    row: PendingMessage
    message: InboundMessage | Outcome  # the "failed" outcome of mail that cannot be parsed


Clock = Callable[[], dt.datetime]


@dataclass(frozen=True, slots=True)
class Unit:
    """The one unit of work between the edges and the store, for stored mail."""

    store: Store
    install: Install

    def store_fetched(self, raws: Sequence[bytes], *, mailbox: str, now: dt.datetime) -> Stored:
        """Store fetched mail before it leaves the inbox, keyed by Message-ID (or its
        digest), a different message with a Message-ID already taken under a key of
        its own (store/tables.py); a message over `max_message_bytes` is quarantined
        unparsed. Keys and digests are read before the transaction opens."""
        limit = self.install.settings.max_message_bytes
        fetched = [_fetched(raw, limit) for raw in raws]
        with self.store.transaction() as tx:
            keys, new = tx.save_fetched(fetched, now=now, mailbox=mailbox)
        for key, message in zip(keys, fetched, strict=True):
            if key in new and message.state is InboundState.FAILED:
                log.warning("message quarantined", extra={"key": key, "error": message.error})
        return Stored(keys=keys, new=len(new))

    def pending(self, scope: MailboxScope | None) -> list[str]:
        """Stored but not applied (a crash between the two, another worker's mail)."""
        with self.store.transaction() as tx:
            return tx.pending_keys(limit=100_000, scope=scope)

    def states(self, keys: Sequence[str]) -> dict[str, InboundState]:
        with self.store.transaction() as tx:
            return tx.inbound_states(keys)

    def apply(
        self, keys: Sequence[str], *, clock: Clock, held_back: set[str]
    ) -> Iterator[list[tuple[str, Outcome]]]:
        """Apply stored messages, `APPLY_BATCH` to a transaction; yields each batch's
        outcomes once it is committed (the caller sends what it queued meanwhile).

        When one message's apply raises, the batch is rolled back and written
        again one message to a transaction, so that only that message is held
        back (added to `held_back`: one attempt a round).
        """
        keys = [key for key in dict.fromkeys(keys) if key not in held_back]
        for start in range(0, len(keys), APPLY_BATCH):
            parsed = self._read_and_parse(keys[start : start + APPLY_BATCH])
            now = clock()
            try:
                outcomes = self._write(parsed, now)
            except StoreUnavailable:
                raise
            except Exception:
                outcomes = [self._write_alone(item, now, held_back) for item in parsed]
            yield outcomes

    def _read_and_parse(self, keys: list[str]) -> list[_Parsed]:
        with self.store.reading() as tx:
            rows = tx.pending_messages(keys)
        return [_Parsed(row, self._parse(row)) for row in rows]

    def _parse(self, row: PendingMessage) -> InboundMessage | Outcome:
        from mailgate.parse import parse_message  # the parser loads with the first mail

        try:
            settings = self.install.settings
            return parse_message(row.raw, tag_prefix=self.install.tag_prefixes,
                                 own_addresses=settings.own_addresses,
                                 max_text_bytes=settings.max_text_bytes)  # fmt: skip
        except Exception as exc:  # quarantined with the raw bytes kept, never lost
            return Outcome(state=OutcomeState.FAILED, detail=f"parse: {exc!r}"[:2000])

    def _write(self, parsed: list[_Parsed], now: dt.datetime) -> list[tuple[str, Outcome]]:
        """Claim, decide, render and write the parsed messages in one transaction."""
        with self.store.transaction() as tx:
            claimed = tx.claim_pending([item.row.key for item in parsed])
            mine = [item for item in parsed if item.row.key in claimed]
            ledger = DeliveryLedger(tx, self.install.settings)
            # Most notices answer the sender: their rate-limit counts in one query.
            ledger.sent_last_hour([item.message.sender.address for item in mine
                                   if isinstance(item.message, InboundMessage)
                                   and item.message.sender], now)  # fmt: skip
            # And most new requests are acknowledged: their limits' counts in one more.
            prefetch_acknowledgements(ledger, [(item.message, item.row.mailbox) for item in mine
                                               if isinstance(item.message, InboundMessage)],
                                      self.install, now)  # fmt: skip
            outcomes = [
                (item.row.key, item.message if isinstance(item.message, Outcome)
                 else self._apply_one(tx, ledger, item.row, item.message, now))
                for item in mine
            ]  # fmt: skip
            applied = {key for key, o in outcomes if o.state is OutcomeState.APPLIED}
            tx.mark_inbound([item.row.id for item in mine if item.row.key in applied],
                            InboundState.APPLIED, now)  # fmt: skip
            for key, outcome in outcomes:
                if outcome.state is OutcomeState.FAILED:
                    tx.mark_inbound_failed(key, outcome.detail, now)
                elif outcome.state is OutcomeState.HELD:
                    tx.mark_inbound_held(key, outcome.detail, now)
        return outcomes

    def _apply_one(
        self,
        tx: Tx,
        ledger: DeliveryLedger,
        row: PendingMessage,
        message: InboundMessage,
        now: dt.datetime,
    ) -> Outcome:
        from mailgate.decide.message import decide_message

        routed = locate(tx, ledger, message, self.install, mailbox=row.mailbox, now=now,
                        released=row.released)  # fmt: skip
        # A request's own mailbox decides; a new one opens where the mail was read.
        mailbox = self.install.of(routed.request.mailbox if routed.request else row.mailbox)
        decision = decide_message(message, routed, mailbox.rules, now=now)
        if decision.holds is not None:
            log.warning("message held", extra={"key": row.key, "why": decision.holds})
            return Outcome(state=OutcomeState.HELD, detail=decision.holds)
        received = Received(message=message, inbound_id=row.id)
        written = tx.write(decision, received=received, mailbox=mailbox.name,
                           tag_prefix=mailbox.settings.tag_prefix, now=now)  # fmt: skip
        ledger.wrote(decision)
        deliver(tx, ledger, mailbox, decision, written, received=received, raw=row.raw, now=now)
        announce(tx, self.install, decision, written, request=routed.request, message=message,
                 now=now)  # fmt: skip
        return Outcome(state=OutcomeState.APPLIED, request_number=written.request,
                       summary=summarize(decision))  # fmt: skip

    def _write_alone(
        self, item: _Parsed, now: dt.datetime, held_back: set[str]
    ) -> tuple[str, Outcome]:
        key = item.row.key
        try:
            [found] = self._write([item], now) or [(key, Outcome(state=OutcomeState.SKIPPED))]
            return found
        except StoreUnavailable:
            raise
        except StaleRequest as exc:  # another worker changed the request: next round
            return key, Outcome(state=OutcomeState.RETRY, detail=str(exc))
        except Exception as exc:  # a bug must not stop the worker: retry, then quarantine
            log.exception("message could not be applied", extra={"key": key})
            error = f"apply: {exc!r}"
            with self.store.transaction() as tx:
                attempts = tx.count_failed_apply(key, error, now, quarantine_at=APPLY_ATTEMPTS)
            if attempts < APPLY_ATTEMPTS:
                held_back.add(key)  # one attempt a round, so three rounds, not one
                return key, Outcome(state=OutcomeState.RETRY,
                                    detail=f"attempt {attempts}: {error}")  # fmt: skip
            return key, Outcome(state=OutcomeState.FAILED, detail=error)


def _fetched(raw: bytes, limit: int) -> Fetched:
    """What is stored of a fetched message: a message over `max_message_bytes` is
    quarantined unparsed, its header block kept here, the whole message in the failed
    folder."""
    key = message_key(raw)
    digest = content_digest(raw)
    variant = variant_key(key, digest)
    if len(raw) <= limit:
        return Fetched(key=key, variant=variant, digest=digest, raw=raw)
    end = raw.find(b"\r\n\r\n")
    head = raw[: end if 0 <= end < HEAD_KEPT else HEAD_KEPT]
    error = f"too large: {len(raw)} bytes, max_message_bytes is {limit}"
    return Fetched(key=key, variant=variant, digest=digest, raw=head,
                   state=InboundState.FAILED, error=error)  # fmt: skip
