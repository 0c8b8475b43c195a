"""The statements of the hot path, built once.

Building a Core statement and computing its cache key costs more than SQLite
takes to run it; these are built at import and executed with parameters.
Lists go in as expanding parameters.
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, func, insert, select, text, update

from mailgate.store.tables import (
    ADDRESSES,
    EVENTS,
    HOOK_CALLS,
    INBOUND,
    INSTALL_SECRETS,
    MESSAGES,
    OUTBOUND,
    PARTICIPANTS,
    REQUEST_LABELS,
    REQUESTS,
)

_r, _p, _m, _e, _o, _a, _i = (t.c for t in (REQUESTS, PARTICIPANTS, MESSAGES, EVENTS,
                                           OUTBOUND, ADDRESSES, INBOUND))  # fmt: skip
_l = REQUEST_LABELS.c

# -- requests and what hangs off them ---------------------------------------------
INSERT_REQUEST = insert(REQUESTS).returning(_r.id)
INSERT_REQUESTS = insert(REQUESTS)  # with their ids, on SQLite: see writer.Writer._new_request
INSERT_PARTICIPANTS = insert(PARTICIPANTS)
INSERT_MESSAGES = insert(MESSAGES)  # with their ids: see writer.Writer._message_id
LAST_IDS = {
    table.name: select(func.coalesce(func.max(table.c.id), 0)) for table in (REQUESTS, MESSAGES)
}
RESERVE_MESSAGE_IDS = text(
    "SELECT nextval(pg_get_serial_sequence('messages', 'id')) FROM generate_series(1, :count)"
)
INSERT_EVENTS = insert(EVENTS)
INSERT_OUTBOUND = insert(OUTBOUND)
SET_NOTIFY = (
    update(PARTICIPANTS)
    .where(_p.request_id == bindparam("number"), _p.address == bindparam("the_address"))
    .values(notify=bindparam("wanted"))
)

LOCK_REQUEST = select(REQUESTS).where(_r.id == bindparam("number")).with_for_update()
LABELS_OF = select(_l.label).where(_l.request_id == bindparam("number")).order_by(_l.label)
ADD_LABEL = insert(REQUEST_LABELS)
REMOVE_LABEL = delete(REQUEST_LABELS).where(
    _l.request_id == bindparam("number"), _l.label == bindparam("the_label")
)
PARTICIPANTS_OF = (
    select(_p.id, _p.address, _p.role, _p.notify)
    .where(_p.request_id == bindparam("number"))
    .order_by(_p.id)
)
STATUS_HISTORY = (
    select(_e.at, _e.to_status)
    .where(_e.request_id == bindparam("number"), _e.to_status.is_not(None))
    .order_by(_e.id)
)
SLA_BREACHES = select(_e.detail).where(
    _e.request_id == bindparam("number"), _e.kind == "sla_breach"
)
# The newest of the messages named; where several have its Message-ID (anyone can
# write anyone's: docs/trust.md), the one from `sender` first, then the newest.
_named = MESSAGES.alias("named").c
_NEWEST_NAMED = (
    select(_named.message_id)
    .where(_named.message_id.in_(bindparam("ids", expanding=True)),
           _named.request_id.is_not(None))
    .order_by(_named.id.desc())
    .limit(1)
    .scalar_subquery()
)  # fmt: skip
REQUEST_OF_MESSAGE_IDS = (
    select(_m.request_id)
    .where(_m.message_id == _NEWEST_NAMED, _m.request_id.is_not(None))
    .order_by((_m.from_address == bindparam("sender")).desc(), _m.id.desc())
    .limit(1)
)

# -- threading, limits and bounces, for notices --------------------------------------
THREAD_RECEIVED = (
    select(_m.at, _m.message_id, _m.kind)
    .where(_m.request_id == bindparam("number"), _m.direction == "in")
    .order_by(_m.id)
)
THREAD_SENT = (
    select(_o.created_at, _o.message_id, _o.recipient)
    .where(_o.request_id == bindparam("number"))
    .order_by(_o.id)
)
SENT_COUNTS_SINCE = (
    select(_o.recipient, func.count(_o.id))
    .where(
        _o.recipient.in_(bindparam("recipients", expanding=True)),
        _o.created_at >= bindparam("since"),
    )
    .group_by(_o.recipient)
)
# The limits on acknowledgements and closed_reply notices (SPEC §14): what went out
# of one template lately, by recipient, in all (ix_outbound_template_created), and
# last to each recipient about one request.
TEMPLATE_COUNTS_SINCE = (
    select(_o.recipient, func.count(_o.id))
    .where(
        _o.recipient.in_(bindparam("recipients", expanding=True)),
        _o.template == bindparam("template"),
        _o.created_at >= bindparam("since"),
    )
    .group_by(_o.recipient)
)
TEMPLATE_TOTAL_SINCE = select(func.count()).where(
    _o.template == bindparam("template"), _o.created_at >= bindparam("since")
)
LAST_OF_TEMPLATE = (
    select(_o.recipient, func.max(_o.created_at))
    .where(
        _o.request_id == bindparam("number"),
        _o.template == bindparam("template"),
        _o.recipient.in_(bindparam("recipients", expanding=True)),
    )
    .group_by(_o.recipient)
)
# Marked since `marked_after`: a mark older than `[trust] bounce_hold_days` has expired.
BOUNCING = select(_a.address).where(_a.bouncing_since > bindparam("marked_after"))
# What proves a delivery-status report (SPEC §14): the notification its return path
# names, or the notifications with its returned Message-ID sent to its recipients
# (their copies in `messages`, which is indexed by Message-ID; `outbound` is not).
OUTBOUND_FACTS = select(_o.request_id, _o.template, _o.recipient).where(
    _o.id == bindparam("outbound")
)
OUTBOUND_RECIPIENT = select(_o.recipient, _o.request_id).where(_o.id == bindparam("outbound"))
NOTIFICATIONS_SENT_TO = (
    select(_m.to_address, _m.request_id)
    .where(
        _m.message_id == bindparam("the_message_id"),
        _m.direction == "out",
        _m.to_address.in_(bindparam("recipients", expanding=True)),
    )
    .order_by(_m.id)
)
SET_BOUNCING = (
    update(ADDRESSES)
    .where(_a.address == bindparam("the_address"))
    .values(bouncing_since=bindparam("since"))
)
INSERT_ADDRESS = insert(ADDRESSES)

# -- the inbound queue ---------------------------------------------------------------
MARK_INBOUND = (
    update(INBOUND)
    .where(_i.id.in_(bindparam("ids", expanding=True)))
    .values(state=bindparam("state"), processed_at=bindparam("now"))
)

# -- the outbox ----------------------------------------------------------------------
CLAIM_DUE_OUTBOUND = (
    select(_o.id, _o.recipient, _o.raw, _o.attempts)
    .where(_o.state == "pending", _o.next_attempt_at <= bindparam("due_at"))
    .order_by(_o.id)
    .limit(bindparam("most"))
    .with_for_update(skip_locked=True)
)
LEASE_OUTBOUND = (
    update(OUTBOUND)
    .where(_o.id.in_(bindparam("ids", expanding=True)))
    .values(next_attempt_at=bindparam("lease_until"), claimed_by=bindparam("owner"))
)
MARK_SENT = (
    update(OUTBOUND)
    .where(_o.id.in_(bindparam("ids", expanding=True)))
    .values(state="sent", sent_at=bindparam("sent_now"), last_error="", attempts=_o.attempts + 1)
)

# -- the hook calls -------------------------------------------------------------------
INSERT_HOOK_CALLS = insert(HOOK_CALLS)
_h = HOOK_CALLS.c
CLAIM_DUE_HOOK_CALLS = (
    select(_h.id, _h.hook, _h.event, _h.delivery, _h.payload, _h.attempts)
    .where(_h.state == "pending", _h.next_attempt_at <= bindparam("due_at"),
           _h.hook == bindparam("hook"))
    .order_by(_h.id)
    .limit(bindparam("most"))
    .with_for_update(skip_locked=True)
)  # fmt: skip
LEASE_HOOK_CALLS = (
    update(HOOK_CALLS)
    .where(_h.id.in_(bindparam("ids", expanding=True)))
    .values(next_attempt_at=bindparam("lease_until"), claimed_by=bindparam("owner"))
)

# -- the install -----------------------------------------------------------------------
TOKEN_SECRET = select(INSTALL_SECRETS.c.value).where(INSTALL_SECRETS.c.name == "token")
