"""`Store`: the database as the rest of mailgate sees it, and `Tx`, one transaction.

Nothing outside `store/` touches SQLAlchemy: the worker, the outbox and the
timers ask a `Tx` for what they need and hand it decisions to write.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Connection, Engine, Select, Table, case, select, update
from sqlalchemy.exc import InterfaceError, OperationalError

from mailgate.decision import Decision, RequestSnapshot
from mailgate.errors import TransportError
from mailgate.states import WAITING, InboundState, OutboundState
from mailgate.store import locks, snapshots
from mailgate.store import statements as sql
from mailgate.store.engine import make_engine, reading, upgrade_schema, upsert_insert
from mailgate.store.rows import (
    DroppedMail,
    Fetched,
    QueuedHookCall,
    QueuedMail,
    Received,
    Written,
)
from mailgate.store.signals import PendingListener, PendingListenerLost, notify_pending
from mailgate.store.tables import HOOK_CALLS as _HOOK_CALLS
from mailgate.store.tables import INBOUND as _INBOUND
from mailgate.store.tables import OUTBOUND as _OUTBOUND
from mailgate.store.tables import REQUESTS as _REQUESTS
from mailgate.store.writer import Writer


@dataclass(frozen=True, slots=True, kw_only=True)
class PendingMessage:
    id: int
    key: str
    raw: bytes
    mailbox: str = "default"  # the one it was read from: a new request opens there
    released: str = ""  # released from a hold by an admin: the note of the release


ThreadMessage = tuple[dt.datetime, str, str]  # (at, Message-ID, kind or recipient)


@dataclass(frozen=True, slots=True)
class MailboxScope:
    """The share of the work (inbound, timers, outbox) of one mailbox's thread.

    The first mailbox also takes the work of mailboxes no longer configured,
    so nothing is stranded when one is removed. `None` in place of a scope
    means the whole install.
    """

    mailbox: str
    others: tuple[str, ...] = ()  # the install's other mailboxes, given to the first only
    first: bool = True

    def condition(self, column: ColumnElement[str]) -> ColumnElement[bool] | None:
        if not self.first:
            return column == self.mailbox
        return column.not_in(self.others) if self.others else None


def _within(
    statement: Select[Any], column: ColumnElement[str], scope: MailboxScope | None
) -> Select[Any]:
    condition = scope.condition(column) if scope is not None else None
    return statement if condition is None else statement.where(condition)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxJob:
    id: int
    recipient: str
    raw: bytes
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True)
class HookJob:
    """A hook call claimed for sending."""

    id: int
    hook: str
    event: str
    delivery: str
    payload: str
    attempts: int


_KEY_ROUNDS = 5  # lookups of a fetched batch's keys while other workers store the same


def _keys_of(
    messages: Sequence[Fetched], stored: dict[str, str | None]
) -> tuple[list[str], list[dict[str, Any]]]:
    """The key of each message given the digests stored by key, and the rows to insert
    (a later copy of a message in the same batch is its duplicate)."""
    taken = dict(stored)
    keys: list[str] = []
    rows: list[dict[str, Any]] = []
    for message in messages:
        digest = taken.get(message.key, message.digest)
        key = message.key if digest in (None, message.digest) else message.variant
        keys.append(key)
        if key not in taken:
            taken[key] = message.digest
            rows.append(dict(key=key, raw=message.raw, digest=message.digest,
                             state=message.state, error=message.error))  # fmt: skip
    return keys, rows


class StoreUnavailable(TransportError):
    """The database cannot be reached or is locked: try again later, lose nothing."""


def _unavailable(exc: OperationalError | InterfaceError) -> StoreUnavailable:
    return StoreUnavailable(f"database: {exc.orig!r}", temporary=True)


class Store:
    def __init__(self, url: str, *, mailboxes: int = 1) -> None:
        self.engine: Engine = make_engine(url, mailboxes=mailboxes)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Tx]:
        try:
            with self.engine.begin() as connection:
                tx = Tx(connection)
                yield tx
                tx.flush()  # the writer's waiting rows, before the commit
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc

    @contextlib.contextmanager
    def reading(self) -> Iterator[Tx]:
        """A transaction that only reads: on SQLite it takes no write lock (a deferred
        BEGIN), so a long read never holds up a writer, nor a writer it."""
        try:
            with reading(self.engine) as connection:
                yield Tx(connection)
        except (OperationalError, InterfaceError) as exc:
            raise _unavailable(exc) from exc

    @contextlib.contextmanager
    def inbox_reader(self, mailbox: str) -> Iterator[bool]:
        """True inside the block when this worker may read `mailbox` (fetch, store,
        apply, move) now; False when another worker on this PostgreSQL database is
        reading it. Always True on SQLite. See store/locks.py."""
        with contextlib.ExitStack() as stack:
            try:
                held = stack.enter_context(locks.inbox_reader(self.engine, mailbox))
            except (OperationalError, InterfaceError) as exc:
                raise _unavailable(exc) from exc
            yield held

    def listen_for_stored_mail(self) -> PendingListener | None:
        """A listener woken when a worker stores new mail (store/signals.py): on
        PostgreSQL, for a worker that may not read its mailbox now. None on SQLite,
        or when the database cannot be reached now (the caller polls)."""
        if self.engine.dialect.name != "postgresql":
            return None
        try:
            return PendingListener(self.engine)
        except PendingListenerLost:
            return None

    def upgrade(self) -> None:
        upgrade_schema(self.engine)

    def close(self) -> None:
        self.engine.dispose()


class Tx:
    """One database transaction; committed when the `Store.transaction` block ends.

    The writer keeps some rows back to insert them in bulk (store/writer.py):
    every method but `write` and `queue` reaches the database through
    `_connection`, which flushes them first, so every read sees every write.
    """

    def __init__(self, connection: Connection) -> None:
        self._raw_connection = connection
        self._writer = Writer(connection)

    @property
    def _connection(self) -> Connection:
        self._writer.flush()
        return self._raw_connection

    def flush(self) -> None:
        self._writer.flush()

    # -- the inbound queue ---------------------------------------------------------

    def save_inbound(
        self,
        *,
        key: str,
        raw: bytes,
        now: dt.datetime,
        state: InboundState = InboundState.PENDING,
        error: str = "",
        mailbox: str = "default",
    ) -> bool:
        """Insert a raw message unless its key is known. True when it was new."""
        row = dict(key=key, raw=raw, state=state, error=error, received_at=now, mailbox=mailbox)
        return bool(self._insert_inbound([row]))

    def save_inbound_many(
        self, messages: Sequence[tuple[str, bytes]], *, now: dt.datetime, mailbox: str = "default"
    ) -> set[str]:
        """Insert pending raw messages, (key, raw) each, in one statement, skipping
        known keys. Returns the keys that were new."""
        rows = [
            dict(key=key, raw=raw, state=InboundState.PENDING, error="", received_at=now,
                 mailbox=mailbox)
            for key, raw in messages
        ]
        new = self._insert_inbound(rows) if rows else set()
        if new:  # the other workers may apply them: wake them at the commit
            notify_pending(self._connection, mailbox)
        return new

    def save_fetched(
        self, messages: Sequence[Fetched], *, now: dt.datetime, mailbox: str = "default"
    ) -> tuple[list[str], set[str]]:
        """Store fetched messages unless known; the key of each (in the order given) and
        the keys that were new.

        A message is known when a stored one has its key and its digest (or no
        digest: stored before digests were kept): a copy fetched again, or
        delivered again with another trace on top. A stored message with its key
        and another digest is another message: this one is stored under its
        `variant` key. One indexed lookup for the batch. When another worker
        stored one of the keys meanwhile (PostgreSQL: two mailboxes got the same
        Message-ID), this batch's rows are rolled back to a savepoint and its keys
        looked up again, so that no key rests on a row that was not written.
        """
        wanted = {key for message in messages for key in (message.key, message.variant)}
        for _ in range(_KEY_ROUNDS):
            savepoint = self._connection.begin_nested()
            keys, rows = _keys_of(messages, self._inbound_digests(wanted))
            for row in rows:
                row.update(received_at=now, mailbox=mailbox)
            new = self._insert_inbound(rows) if rows else set()
            if len(new) == len(rows):
                savepoint.commit()
                break
            savepoint.rollback()  # a key taken meanwhile: its row is committed now
        else:
            raise StoreUnavailable("inbound: keys stored meanwhile by another worker; the "
                                   "messages stay in the inbox for the next round",
                                   temporary=True)  # fmt: skip
        if new:  # the other workers may apply them: wake them at the commit
            notify_pending(self._connection, mailbox)
        return keys, new

    def _inbound_digests(self, keys: set[str]) -> dict[str, str | None]:
        """The digests of the stored messages with these keys, by key: one query for a
        batch of any usual size (two keys a message; SQLite binds up to 32766 values)."""
        columns = _INBOUND.c
        found: dict[str, str | None] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), 10_000):
            chunk = ordered[start : start + 10_000]
            rows = self._connection.execute(
                select(columns.key, columns.digest).where(columns.key.in_(chunk))
            )
            found.update((key, digest) for key, digest in rows)
        return found

    def _insert_inbound(self, rows: list[dict[str, Any]]) -> set[str]:
        connection = self._connection
        statement = (
            upsert_insert(connection, _INBOUND)
            .on_conflict_do_nothing(index_elements=["key"])
            .returning(_INBOUND.c.key)
        )
        return set(connection.execute(statement, rows).scalars())

    def inbound_states(self, keys: Sequence[str]) -> dict[str, InboundState]:
        """The states of stored messages, by key. A message another worker is applying
        right now (a claim of its leftovers) is waited for, so that the worker that
        read it sees it applied and moves it out of the inbox in this round."""
        columns = _INBOUND.c
        rows = self._connection.execute(
            select(columns.key, columns.state)
            .where(columns.key.in_(keys))
            .with_for_update(read=True)
        )
        return {key: InboundState(state) for key, state in rows}

    def pending_keys(self, limit: int, scope: MailboxScope | None = None) -> list[str]:
        columns = _INBOUND.c
        statement = select(columns.key).where(columns.state.in_(WAITING))
        statement = _within(statement, columns.mailbox, scope)
        return list(self._connection.scalars(statement.order_by(columns.id).limit(limit)))

    def pending_messages(self, keys: Sequence[str]) -> list[PendingMessage]:
        """The raw bytes of pending messages, by key, in the order given, for parsing
        before a write transaction opens. Messages another worker holds for applying
        right now (PostgreSQL) are left out: they are that worker's."""
        columns = _INBOUND.c
        rows = self._connection.execute(
            select(columns.id, columns.key, columns.raw, columns.mailbox, columns.state,
                   columns.error)
            .where(columns.key.in_(keys), columns.state.in_(WAITING))
            .with_for_update(skip_locked=True)
        )  # fmt: skip
        found = {}
        for i, key, raw, mailbox, state, error in rows:
            # A released message's error is the note `held release` left (decide/spam.py).
            released = (error or "released") if state == InboundState.RELEASED else ""
            found[key] = PendingMessage(id=i, key=key, raw=raw, mailbox=mailbox, released=released)
        return [found[key] for key in keys if key in found]

    def claim_pending(self, keys: Sequence[str]) -> set[str]:
        """Lock pending messages for this transaction; the keys it got.

        Keys missing from the answer are done already or taken by another worker.
        """
        columns = _INBOUND.c
        return set(
            self._connection.scalars(
                select(columns.key)
                .where(columns.key.in_(keys), columns.state.in_(WAITING))
                .with_for_update(skip_locked=True)
            )
        )

    def mark_inbound(self, ids: Sequence[int], state: InboundState, now: dt.datetime) -> None:
        if ids:
            self._connection.execute(
                sql.MARK_INBOUND, {"ids": list(ids), "state": state, "now": now}
            )

    def count_failed_apply(
        self, key: str, error: str, now: dt.datetime, *, quarantine_at: int
    ) -> int:
        """One more failed apply of a pending message; quarantined at `quarantine_at`.

        Returns the attempts so far. Committed on its own, so the count survives
        crashes and restarts.
        """
        columns = _INBOUND.c
        # A released message keeps its note of the release (the history's entry).
        kept = case((columns.state == InboundState.RELEASED, columns.error), else_=error[:2000])
        attempts = self._connection.scalar(
            update(_INBOUND)
            .where(columns.key == key, columns.state.in_(WAITING))
            .values(attempts=columns.attempts + 1, error=kept)
            .returning(columns.attempts)
        )
        if attempts is None:  # no longer pending: applied or quarantined meanwhile
            return quarantine_at
        attempts = int(attempts)
        if attempts >= quarantine_at:
            self.mark_inbound_failed(key, f"{error} (after {attempts} attempts)", now)
        return attempts

    def mark_inbound_held(self, key: str, reason: str, now: dt.datetime) -> None:
        """Held by the trust rules (SPEC §14): kept whole with the reason, not applied."""
        self._connection.execute(
            update(_INBOUND)
            .where(_INBOUND.c.key == key)
            .values(state=InboundState.HELD, error=reason[:2000], processed_at=now)
        )

    def mark_inbound_failed(self, key: str, error: str, now: dt.datetime) -> None:
        self._connection.execute(
            update(_INBOUND)
            .where(_INBOUND.c.key == key)
            .values(state=InboundState.FAILED, error=error[:2000], processed_at=now)
        )

    # -- the install ---------------------------------------------------------------------

    def token_secret(self) -> str:
        """The secret `mailgate init` generated for reply tokens (store/tables.py)."""
        value = self._connection.scalar(sql.TOKEN_SECRET)
        if not value:
            missing = "database: no token secret; run `mailgate init`"
            raise StoreUnavailable(missing, temporary=False)
        return str(value)

    # -- requests ------------------------------------------------------------------------

    def snapshot(self, number: int, *, with_history: bool) -> RequestSnapshot | None:
        return snapshots.load_snapshot(self._connection, number, with_history=with_history)

    def request_of_message_ids(self, message_ids: Sequence[str], *, sender: str = "") -> int | None:
        """The request of the newest message named; of two with its Message-ID, the one
        `sender` sent."""
        if not any(message_ids):  # nothing to look up: the waiting rows may keep waiting
            return None
        return snapshots.request_of_message_ids(self._connection, message_ids, sender=sender)

    def bouncing(self, *, now: dt.datetime, hold: dt.timedelta) -> frozenset[str]:
        """Every address marked as bouncing less than `hold` before `now` (they are
        few): an older mark has expired (`[trust] bounce_hold_days`)."""
        return frozenset(self._connection.scalars(sql.BOUNCING, {"marked_after": now - hold}))

    def notification_recipient(self, outbound_id: int) -> tuple[str, int | None] | None:
        """The recipient and request of notification `outbound_id` (a return path
        names it), or None when there is no such row."""
        row = self._connection.execute(sql.OUTBOUND_RECIPIENT, {"outbound": outbound_id}).first()
        return None if row is None else (row.recipient, row.request_id)

    def notifications_sent_to(
        self, message_id: str, recipients: Sequence[str]
    ) -> list[tuple[str, int | None]]:
        """(recipient, request) of each notification with Message-ID `message_id` that
        was sent to one of `recipients`."""
        if not message_id or not recipients:
            return []
        rows = self._connection.execute(
            sql.NOTIFICATIONS_SENT_TO,
            {"the_message_id": message_id, "recipients": list(recipients)},
        )
        return [(to, request) for to, request in rows]

    def sent_counts(self, recipients: Sequence[str], since: dt.datetime) -> dict[str, int]:
        """How many notifications were queued to each address since `since` (this
        transaction's included); addresses with none are left out."""
        if not recipients:
            return {}
        rows = self._connection.execute(
            sql.SENT_COUNTS_SINCE, {"recipients": list(recipients), "since": since}
        )
        return {recipient: count for recipient, count in rows}

    def template_counts(
        self, template: str, recipients: Sequence[str], since: dt.datetime
    ) -> dict[str, int]:
        """How many notices of `template` were queued to each address since `since`
        (this transaction's included); addresses with none are left out."""
        if not recipients:
            return {}
        rows = self._connection.execute(
            sql.TEMPLATE_COUNTS_SINCE,
            {"recipients": list(recipients), "template": template, "since": since},
        )
        return {recipient: count for recipient, count in rows}

    def template_total(self, template: str, since: dt.datetime) -> int:
        """How many notices of `template` were queued since `since`, to anyone."""
        found = self._connection.scalar(
            sql.TEMPLATE_TOTAL_SINCE, {"template": template, "since": since}
        )
        return int(found or 0)

    def last_sent(
        self, number: int, template: str, recipients: Sequence[str]
    ) -> dict[str, dt.datetime]:
        """When a notice of `template` about request `number` was last queued to each
        of `recipients`; those never sent one are left out."""
        if not recipients:
            return {}
        rows = self._connection.execute(
            sql.LAST_OF_TEMPLATE,
            {"number": number, "template": template, "recipients": list(recipients)},
        )
        return {recipient: at for recipient, at in rows if at is not None}

    def thread(self, number: int) -> tuple[list[ThreadMessage], list[ThreadMessage]]:
        """What a request's notices thread under: the messages received (at, Message-ID,
        kind) and the notifications sent (at, Message-ID, recipient), oldest first."""
        received = self._connection.execute(sql.THREAD_RECEIVED, {"number": number})
        sent = self._connection.execute(sql.THREAD_SENT, {"number": number})
        return [(a, m, k) for a, m, k in received], [(a, m, r) for a, m, r in sent]

    def participant_ids(self, number: int) -> dict[str, int]:
        """A request's participants' ids by address (reply tokens name them)."""
        return {p.address: p.id for p in snapshots.participants(self._connection, number)
                if p.id is not None}  # fmt: skip

    def due_requests(
        self, column: str, now: dt.datetime, scope: MailboxScope | None = None
    ) -> list[int]:
        """Requests whose timer `column` (auto_close_at, remind_at, sla_check_at) is due."""
        moment = _REQUESTS.c[column]
        statement = select(_REQUESTS.c.id).where(moment.is_not(None), moment <= now)
        statement = _within(statement, _REQUESTS.c.mailbox, scope)
        return list(self._connection.scalars(statement.order_by(moment)))

    def write(
        self,
        decision: Decision,
        *,
        received: Received | None,
        mailbox: str,
        tag_prefix: str,
        now: dt.datetime,
    ) -> Written:
        """Write a decision's effects but its notices (store/writer.py)."""
        return self._writer.write(decision, received=received, mailbox=mailbox,
                                  tag_prefix=tag_prefix, now=now)  # fmt: skip

    def queue(
        self, mail: Sequence[QueuedMail], dropped: Sequence[DroppedMail], *, now: dt.datetime
    ) -> None:
        """Put rendered notifications in the outbox; record the dropped ones."""
        self._writer.queue(mail, dropped, now=now)

    def queue_hook_calls(self, calls: Sequence[QueuedHookCall], *, now: dt.datetime) -> None:
        """Put hook calls in their queue, due now (store/writer.py)."""
        self._writer.queue_hook_calls(calls, now=now)

    def notification_facts(self, outbound_id: int) -> tuple[int | None, str, str] | None:
        """(request, template, recipient) of notification `outbound_id`, if there is one."""
        row = self._connection.execute(sql.OUTBOUND_FACTS, {"outbound": outbound_id}).first()
        return None if row is None else (row.request_id, row.template, row.recipient)

    # -- the hook calls -------------------------------------------------------------------

    def claim_hook_calls(
        self, hook: str, now: dt.datetime, *, lease_until: dt.datetime, limit: int, owner: str
    ) -> list[HookJob]:
        """Take due calls of `hook` (SKIP LOCKED: another worker's are left to it), leased
        until `lease_until` by `owner`, as the outbox claims mail."""
        rows = list(self._connection.execute(
            sql.CLAIM_DUE_HOOK_CALLS, {"due_at": now, "hook": hook, "most": limit}
        ))  # fmt: skip
        if rows:
            self._connection.execute(
                sql.LEASE_HOOK_CALLS,
                {"ids": [row.id for row in rows], "lease_until": lease_until, "owner": owner},
            )
        return [HookJob(id=i, hook=h, event=e, delivery=d, payload=p, attempts=a)
                for i, h, e, d, p, a in rows]  # fmt: skip

    def hook_claim_owners(self) -> list[str]:
        """The owners of claims on hook calls still pending."""
        return self._claim_owners(_HOOK_CALLS)

    def release_hook_claims(self, owners: Sequence[str], *, now: dt.datetime) -> int:
        """Make the pending calls these (dead) owners claimed due again now."""
        return self._release_claims(_HOOK_CALLS, owners, now=now)

    def mark_hook_call(
        self, call_id: int, *, now: dt.datetime, error: str | None, retry_at: dt.datetime | None
    ) -> None:
        """One attempt's result: sent (`error` None); else pending again from `retry_at`,
        or failed for good when that is None."""
        columns = _HOOK_CALLS.c
        values: dict[str, object] = {"attempts": columns.attempts + 1, "claimed_by": None,
                                     "last_error": error or ""}  # fmt: skip
        if error is None:
            values.update(state=OutboundState.SENT, sent_at=now)
        elif retry_at is not None:
            values.update(state=OutboundState.PENDING, next_attempt_at=retry_at)
        else:
            values.update(state=OutboundState.FAILED)
        self._connection.execute(
            update(_HOOK_CALLS).where(columns.id == call_id).values(**values)
        )

    # -- the outbox -------------------------------------------------------------------------

    def claim_outbound(
        self,
        now: dt.datetime,
        *,
        lease_until: dt.datetime,
        limit: int,
        owner: str,
        scope: MailboxScope | None = None,
    ) -> list[OutboxJob]:
        """Take due rows for sending; pushing `next_attempt_at` out is the lease other
        workers see, `claimed_by` says whose it is. With a scope, only the rows of
        that mailbox's requests: they go out through its SMTP settings."""
        columns = _OUTBOUND.c
        statement = sql.CLAIM_DUE_OUTBOUND
        mailbox_requests = _within(select(_REQUESTS.c.id), _REQUESTS.c.mailbox, scope)
        if mailbox_requests.whereclause is not None:
            statement = statement.where(columns.request_id.in_(mailbox_requests))
        rows = list(self._connection.execute(statement, {"due_at": now, "most": limit}))
        if rows:
            self._connection.execute(
                sql.LEASE_OUTBOUND,
                {"ids": [row.id for row in rows], "lease_until": lease_until, "owner": owner},
            )
        return [OutboxJob(id=i, recipient=r, raw=raw, attempts=a) for i, r, raw, a in rows]

    def outbound_claim_owners(self) -> list[str]:
        """The owners of claims on rows still pending."""
        return self._claim_owners(_OUTBOUND)

    def release_claims(self, owners: Sequence[str], *, now: dt.datetime) -> int:
        """Make the pending rows these (dead) owners claimed due again now."""
        return self._release_claims(_OUTBOUND, owners, now=now)

    def _claim_owners(self, table: Table) -> list[str]:
        columns = table.c
        return list(
            self._connection.scalars(
                select(columns.claimed_by)
                .where(columns.state == OutboundState.PENDING, columns.claimed_by.is_not(None))
                .distinct()
            )
        )

    def _release_claims(self, table: Table, owners: Sequence[str], *, now: dt.datetime) -> int:
        columns = table.c
        return self._connection.execute(
            update(table)
            .where(columns.state == OutboundState.PENDING, columns.claimed_by.in_(list(owners)))
            .values(next_attempt_at=now, claimed_by=None)
        ).rowcount

    def mark_sent(self, ids: Sequence[int], now: dt.datetime) -> None:
        if ids:
            self._connection.execute(sql.MARK_SENT, {"ids": list(ids), "sent_now": now})

    def mark_sent_if_pending(self, ids: Sequence[int], now: dt.datetime) -> None:
        """What a sent journal says was delivered, unless recorded already."""
        columns = _OUTBOUND.c
        for start in range(0, len(ids), 500):
            self._connection.execute(
                update(_OUTBOUND)
                .where(
                    columns.id.in_(list(ids[start : start + 500])),
                    columns.state == OutboundState.PENDING,
                )
                .values(
                    state=OutboundState.SENT,
                    sent_at=now,
                    last_error="",
                    attempts=columns.attempts + 1,
                )
            )

    def mark_unsent(self, outbound_id: int, *, error: str, retry_at: dt.datetime | None) -> None:
        """A failed attempt: pending again from `retry_at`, or failed for good when None."""
        columns = _OUTBOUND.c
        values: dict[str, object] = {
            "last_error": error,
            "attempts": columns.attempts + 1,
            "claimed_by": None,
        }
        if retry_at is not None:
            values.update(state=OutboundState.PENDING, next_attempt_at=retry_at)
        else:
            values.update(state=OutboundState.FAILED)
        self._connection.execute(
            update(_OUTBOUND).where(columns.id == outbound_id).values(**values)
        )
