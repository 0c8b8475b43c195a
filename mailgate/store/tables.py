"""The tables, as SQLAlchemy Core `Table`s.

Core only, here and everywhere in `store/`: the worker, the CLI's views and
operations and Alembic (`METADATA`) all use these tables; there is no ORM,
whose import cost every command a tenth of a second. Changing one means
adding an Alembic revision (`tests/unit/test_migrations.py` compares them).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

METADATA = MetaData()

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a bigint.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UtcDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes stored as UTC; SQLite would otherwise drop the offset."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self, value: dt.datetime | None, dialect: object
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True)


def _moment(name: str, *, nullable: bool = False, index: bool = False) -> Column[dt.datetime]:
    return Column(name, UtcDateTime(), nullable=nullable, index=index)


# A support request. Its `id` is the number in the tag.
REQUESTS = Table(
    "requests",
    METADATA,
    _id(),
    Column("subject", Text, nullable=False),
    Column("status", String(32), nullable=False, index=True),
    Column("requester", String(320), nullable=False),
    Column("owner", String(320), nullable=True),
    Column("language", String(8), nullable=False, default="en"),
    _moment("created_at"),
    _moment("updated_at"),
    _moment("closed_at", nullable=True),
    _moment("status_since"),  # when the current status was entered
    _moment("auto_close_at", nullable=True, index=True),
    # Derived from the history when it changes, so the timers find due work by index:
    _moment("remind_at", nullable=True, index=True),
    _moment("sla_check_at", nullable=True, index=True),
    _moment("first_response_at", nullable=True),
    Column("linked_request_id", Id, ForeignKey("requests.id"), nullable=True),
    # The `[[mailbox]]` it belongs to (SPEC §12): its rules, templates and From.
    Column("mailbox", String(64), nullable=False, index=True, server_default="default"),
    # SPEC §16: low | normal | high | urgent; it picks the SLA targets.
    Column("priority", String(16), nullable=False, index=True, server_default="normal"),
    # SPEC §16 satisfaction: when the `closed` notice offered the rating buttons (None:
    # never asked, so no rating is recorded), and the latest rating with its comment.
    _moment("rating_asked_at", nullable=True),
    Column("rating", String(8), nullable=True, index=True),  # good | bad
    Column("rating_comment", Text, nullable=True),
    _moment("rated_at", nullable=True),
)

# A label an agent put on a request (`#label add NAME`), lower case.
REQUEST_LABELS = Table(
    "request_labels",
    METADATA,
    Column("request_id", Id, ForeignKey("requests.id"), primary_key=True),
    Column("label", String(40), primary_key=True, index=True),
)

# Someone who gets mail about a request: requester, first-message CC, or agent.
PARTICIPANTS = Table(
    "participants",
    METADATA,
    _id(),
    Column("request_id", Id, ForeignKey("requests.id"), nullable=False, index=True),
    Column("address", String(320), nullable=False),
    Column("role", String(16), nullable=False),  # requester | cc | agent
    Column("notify", Boolean, nullable=False, default=True),
    UniqueConstraint("request_id", "address"),
)

# A message received or sent for a request (or not yet tied to one).
MESSAGES = Table(
    "messages",
    METADATA,
    _id(),
    Column("request_id", Id, ForeignKey("requests.id"), nullable=True, index=True),
    Column("message_id", String(998), nullable=False, index=True),
    Column("direction", String(3), nullable=False),  # in | out
    Column("kind", String(16), nullable=False),
    Column("from_address", String(320), nullable=False),
    Column("to_address", String(320), nullable=True),  # of a notification
    Column("subject", Text, nullable=False),
    Column("new_text", Text, nullable=False),
    _moment("at"),
    Column("inbound_id", Id, ForeignKey("inbound.id"), nullable=True),
    Column("forwarded", Text, nullable=True),  # what a received message forwarded (issue 21)
)

# One entry of a request's history.
EVENTS = Table(
    "events",
    METADATA,
    _id(),
    Column("request_id", Id, ForeignKey("requests.id"), nullable=False, index=True),
    _moment("at"),
    Column("actor", String(320), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("from_status", String(32), nullable=True),
    Column("to_status", String(32), nullable=True),
    Column("detail", Text, nullable=False, default=""),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=True),
)

# A raw message taken from the inbox, stored before it leaves it. `key` (the
# Message-ID, or the digest's key without one) makes applying idempotent; a
# different message (another `digest`, mailgate/digest.py) with a Message-ID already
# taken is stored as `<Message-ID>#<digest prefix>`, so a stranger who writes a
# victim's future Message-ID cannot make the victim's mail a duplicate.
INBOUND = Table(
    "inbound",
    METADATA,
    _id(),
    Column("key", String(998), nullable=False, unique=True),
    Column("digest", String(64), nullable=True),  # of what the sender wrote; None: stored before
    Column("raw", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False, index=True),  # pending | applied | failed
    Column("error", Text, nullable=False, default=""),
    Column("attempts", Integer, nullable=False, default=0, server_default="0"),  # failed applies
    _moment("received_at"),
    _moment("processed_at", nullable=True),
    Column("mailbox", String(64), nullable=False, server_default="default"),  # read from
    _moment("purged_at", nullable=True),  # raw bytes dropped by `mailgate purge` (retention)
)

# A rendered notification waiting to be sent (the outbox).
OUTBOUND = Table(
    "outbound",
    METADATA,
    _id(),
    Column("request_id", Id, ForeignKey("requests.id"), nullable=True, index=True),
    Column("message_id", String(998), nullable=False),
    Column("template", String(64), nullable=False),
    Column("recipient", String(320), nullable=False, index=True),
    Column("raw", LargeBinary, nullable=False),
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    # The process sending it now ("host:pid:start"), so that a restart can tell a
    # dead owner's claim from a live one instead of waiting out the lease.
    Column("claimed_by", String(200), nullable=True),
    _moment("next_attempt_at"),
    Column("last_error", Text, nullable=False, default=""),
    _moment("created_at"),
    _moment("sent_at", nullable=True),
    _moment("purged_at", nullable=True),  # raw copy dropped by `mailgate purge` (retention)
    Index("ix_outbound_due", "state", "next_attempt_at"),
    # The acknowledgements of the last hour, counted for every batch that opens requests.
    Index("ix_outbound_template_created", "template", "created_at"),
)

# What we know of an address across requests: whether mail to it bounces.
ADDRESSES = Table(
    "addresses",
    METADATA,
    Column("address", String(320), primary_key=True),
    _moment("bouncing_since", nullable=True),
)

# The last round of each worker process and mailbox, for `mailgate status`.
WORKER_ROUNDS = Table(
    "worker_rounds",
    METADATA,
    Column("worker", String(200), primary_key=True),  # "host:pid:start"
    # The mailbox the round read; "": every mailbox at once (`run --once` with several).
    Column("mailbox", String(64), primary_key=True, server_default=""),
    _moment("started_at"),
    _moment("finished_at", index=True),
    Column("seconds", Float, nullable=False),
    Column("fetched", Integer, nullable=False),
    Column("applied", Integer, nullable=False),
    Column("failed", Integer, nullable=False),
    Column("sent", Integer, nullable=False),
    Column("send_failures", Integer, nullable=False),
    Column("imap_waiting", Integer, nullable=False),  # in the inbox when the round began
    Column("error", Text, nullable=False, default=""),  # of this round; empty: it succeeded
    Column("last_error", Text, nullable=False, default=""),  # the latest of any round
    _moment("last_error_at", nullable=True),
)

# The install's own secrets, made by the migration that adds the table (`mailgate
# init`): `token` signs reply tokens and VERP return paths unless the config gives one.
INSTALL_SECRETS = Table(
    "install_secrets",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# A call of a `[[hook]]` about one event (SPEC §16), queued in the transaction of the
# change: sent by the hook pump (mailgate/hooks/pump.py) with retries, as the outbox
# sends mail. `delivery` is the idempotency key the receiver sees on every attempt.
HOOK_CALLS = Table(
    "hook_calls",
    METADATA,
    _id(),
    Column("hook", String(64), nullable=False),  # the hook's name in the config
    Column("event", String(32), nullable=False),  # request.created, ...
    Column("delivery", String(100), nullable=False, unique=True),
    Column("request_id", Id, nullable=True, index=True),  # no key: a call outlives nothing
    Column("payload", Text, nullable=False),  # the JSON body, as sent
    Column("state", String(16), nullable=False),  # pending | sent | failed
    Column("attempts", Integer, nullable=False, default=0),
    Column("claimed_by", String(200), nullable=True),  # the process calling it now
    _moment("next_attempt_at"),
    Column("last_error", Text, nullable=False, default=""),
    _moment("created_at"),
    _moment("sent_at", nullable=True),
    Index("ix_hook_calls_due", "state", "next_attempt_at"),
)

# Every `mailgate people erase` (SPEC §16): who erased, when, and the pseudonym left in
# place of the address (never the address itself); `summary` is a JSON object of counts.
ERASURES = Table(
    "erasures",
    METADATA,
    _id(),
    _moment("at"),
    Column("erased_by", String(320), nullable=False),
    Column("pseudonym", String(64), nullable=False),
    Column("summary", Text, nullable=False),
)
