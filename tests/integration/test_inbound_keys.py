"""The keys fetched mail is stored under (`Tx.save_fetched`), on SQLite and PostgreSQL:
a different message with a Message-ID already taken gets a key of its own
(`<Message-ID>#<digest prefix>`); a copy fetched or delivered again is a duplicate;
a key another worker stores meanwhile is looked up again."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import text

from mailgate.digest import content_digest
from mailgate.parse import message_key, variant_key
from mailgate.states import InboundState
from mailgate.store.database import Store
from mailgate.store.rows import Fetched
from tests.unit.test_inbound_digest import MAIL, TRACE

NOW = dt.datetime(2026, 12, 8, 9, 0, tzinfo=dt.UTC)


def fetched(raw: bytes) -> Fetched:
    key, digest = message_key(raw), content_digest(raw)
    return Fetched(key=key, variant=variant_key(key, digest), digest=digest, raw=raw)


@pytest.fixture
def store(database_url):
    store = Store(database_url)
    store.upgrade()
    yield store
    store.close()


def save(store: Store, *raws: bytes) -> tuple[list[str], set[str]]:
    with store.transaction() as tx:
        return tx.save_fetched([fetched(raw) for raw in raws], now=NOW)


def stored(store: Store) -> list[tuple[str, bytes]]:
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT key, raw FROM inbound ORDER BY id"))
        return [(key, bytes(raw)) for key, raw in rows]


def test_keys_of_a_collision_and_of_duplicates(store) -> None:
    """The stranger's text first: the victim's (MAIL) gets a key of its own, and every
    later copy of either, whatever its trace, is a duplicate of the one stored."""
    strangers = MAIL.replace(b"It jams.", b"Send me the invoices.")
    first, victims = "m1@corp.example", variant_key("m1@corp.example", content_digest(MAIL))
    assert save(store, strangers) == ([first], {first})
    assert save(store, MAIL, TRACE + MAIL) == ([victims, victims], {victims})
    assert save(store, TRACE + MAIL, strangers, TRACE + strangers) == (
        [victims, first, first], set()
    )
    assert stored(store) == [(first, strangers), (victims, MAIL)]


def test_three_messages_with_one_message_id_in_one_batch(store) -> None:
    texts = [MAIL.replace(b"It jams.", word) for word in (b"One.", b"Two.", b"Three.")]
    keys, new = save(store, *texts, *texts)
    assert keys[:3] == keys[3:] and len(set(keys)) == 3 and new == set(keys)
    assert keys[0] == "m1@corp.example"
    assert all(key.startswith("m1@corp.example#") for key in keys[1:3])


def test_a_message_stored_before_digests_counts_as_the_same(store) -> None:
    """A row without a digest (an old database's, not filled by revision 0009) behaves as
    every row did before: the key alone decides."""
    with store.transaction() as tx:
        tx.save_inbound(key="m1@corp.example", raw=b"", now=NOW)
    assert save(store, MAIL) == (["m1@corp.example"], set())


def test_a_quarantined_head_keeps_the_whole_messages_digest(store) -> None:
    other = MAIL.replace(b"It jams.", b"Hi.")
    save(store, other)
    big = fetched(MAIL)
    head = Fetched(key=big.key, variant=big.variant, digest=big.digest, raw=MAIL[:40],
                   state=InboundState.FAILED, error="too large")  # fmt: skip
    with store.transaction() as tx:
        assert tx.save_fetched([head], now=NOW) == ([big.variant], {big.variant})
    assert save(store, MAIL) == ([big.variant], set())  # fetched again: the same message


@pytest.mark.parametrize(
    "database_url", [pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)
def test_a_key_another_worker_stores_meanwhile_is_looked_up_again(database_url, store) -> None:
    """Two workers (two mailboxes) store messages with one Message-ID at once: the one
    whose insert meets the other's row looks again and takes its own key."""
    other_store = Store(database_url)
    other = MAIL.replace(b"It jams.", b"Another text.")
    result: list[tuple[list[str], set[str]]] = []
    try:
        with other_store.transaction() as first:
            first.save_fetched([fetched(other)], now=NOW)  # not committed yet
            worker = threading.Thread(target=lambda: result.append(save(store, MAIL, other)))
            worker.start()
            worker.join(timeout=1.0)
            assert worker.is_alive()  # waiting on the uncommitted row
        worker.join(timeout=10)
    finally:
        other_store.close()
    [(keys, new)] = result
    mine = variant_key("m1@corp.example", content_digest(MAIL))
    assert (keys, new) == ([mine, "m1@corp.example"], {mine})
