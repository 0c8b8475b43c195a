"""Prometheus metrics and /healthz for `mailgate run` ([metrics] listen), per mailbox.

`Metrics` is a `Monitor`; `run` gives each mailbox's thread the view
`for_mailbox` returns, whose hooks count what that mailbox's rounds did under
the label ``mailbox``. After every round the queues of every mailbox are read
once from the database, so a scrape costs no query. Inbound mail counts for
the mailbox it was read from; notifications for their request's mailbox (whose
SMTP sends them), a request of a mailbox no longer configured for the first
mailbox, which serves it. The views share the registry and one lock: two
mailboxes' threads may finish rounds at once. The registry is its own (nothing
global), served by a small threaded HTTP server on the configured address,
with `mailgate_build_info` and the process collector's `process_*` series.

The last-success gauge is 0 until a round of the process succeeds: an alert on
its age (docs/alerts.yml) then fires for a worker that never got through, and
in a crash loop, as for one that stopped getting through.
"""

from __future__ import annotations

import datetime as dt
import logging
import platform
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    generate_latest,
)

from mailgate import __version__
from mailgate.monitor import Monitor
from mailgate.store.operations import (
    QueueDepths,
    hook_call_depths,
    queue_depths_by_mailbox,
    ratings_by_mailbox,
)

if TYPE_CHECKING:
    from mailgate.store.database import Store
    from mailgate.worker import RunReport

log = logging.getLogger(__name__)
MAILBOX = ("mailbox",)


class Metrics(Monitor):
    """The install's metrics. Its own hooks count nothing: only a mailbox's view
    (`for_mailbox`) knows which mailbox a round read."""

    def __init__(self, store: Store, mailboxes: Sequence[str], hooks: Sequence[str] = ()) -> None:
        self.store = store
        self.mailboxes = tuple(mailboxes)  # as configured, the first first
        self.registry = registry = CollectorRegistry()
        self.lock = threading.Lock()
        self._last_ok: dict[str, bool] = {}  # by mailbox: whether its last round succeeded

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, MAILBOX, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, (*MAILBOX, *labels), registry=registry)

        self.applied = counter("mailgate_messages_applied", "Messages applied to requests")
        self.failed = counter("mailgate_messages_failed", "Messages quarantined")
        self.sent = counter("mailgate_notifications_sent", "Notifications sent")
        self.send_failed = counter(
            "mailgate_notifications_failed", "Failed attempts to send a notification"
        )
        self.rounds_failed = counter("mailgate_rounds_failed", "Rounds that ended with an error")
        self.outbox = gauge("mailgate_outbox", "Notifications in the outbox by state", ("state",))
        self.inbound = gauge("mailgate_inbound", "Stored messages by state", ("state",))
        self.imap_waiting = gauge(
            "mailgate_imap_waiting", "Messages waiting in the IMAP folder when the last round began"
        )
        self.oldest = gauge(
            "mailgate_oldest_pending_age_seconds",
            "Age of the oldest message not yet applied (inbound) or sent (outbox)",
            ("queue",),
        )
        self.ratings = gauge(
            "mailgate_ratings", "Requests their clients rated, by rating (good, bad)", ("rating",)
        )
        self.last_success = gauge(
            "mailgate_last_round_success_timestamp_seconds",
            "When a round last succeeded; 0 until one has, since this process started",
        )
        self.duration = Histogram(
            "mailgate_round_duration_seconds", "Duration of a worker round", MAILBOX,
            registry=registry, buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )  # fmt: skip
        # The hooks' are the install's, whichever mailbox's worker made the calls.
        self.hook_sent = Counter("mailgate_hook_calls_sent", "Hook calls the receiver took",
                                 ("hook",), registry=registry)  # fmt: skip
        self.hook_failed = Counter("mailgate_hook_calls_failed", "Failed attempts to call a hook",
                                   ("hook",), registry=registry)  # fmt: skip
        self.hook_calls = Gauge("mailgate_hook_calls", "Hook calls in the queue by state",
                                ("state",), registry=registry)  # fmt: skip
        for hook in hooks:
            self.hook_sent.labels(hook)
            self.hook_failed.labels(hook)
        for name in self.mailboxes:  # every series from the start, at 0
            for metric in (self.applied, self.failed, self.sent, self.send_failed,
                           self.rounds_failed, self.imap_waiting, self.duration,
                           self.last_success):  # fmt: skip
                metric.labels(name)
        Info("mailgate_build", "The running mailgate", registry=registry).info(
            {"version": __version__, "python": platform.python_version()}
        )
        ProcessCollector(registry=registry)  # process_cpu_seconds_total, _resident_memory_bytes...

    @property
    def healthy(self) -> bool:
        """Every mailbox has ended a round, and the last round of each succeeded."""
        return not self.unhealthy_mailboxes()

    def unhealthy_mailboxes(self) -> list[str]:
        """The mailboxes whose last round failed or that have not ended one yet."""
        with self.lock:
            return [name for name in self.mailboxes if not self._last_ok.get(name, False)]

    def for_mailbox(self, name: str) -> Monitor:
        return MailboxMetrics(self, name)

    def round_ended(
        self, name: str, report: RunReport, *, waiting: int, started_at: dt.datetime,
        seconds: float,
    ) -> None:  # fmt: skip
        """What one round of mailbox `name` did, then every mailbox's queues."""
        self.applied.labels(name).inc(report.applied)
        self.failed.labels(name).inc(report.failed)
        self.sent.labels(name).inc(report.sent)
        self.send_failed.labels(name).inc(report.send_failures)
        self.duration.labels(name).observe(seconds)
        self.imap_waiting.labels(name).set(waiting)
        for hook, count in report.hooks.sent.items():
            self.hook_sent.labels(hook).inc(count)
        for hook, count in report.hooks.failed.items():
            self.hook_failed.labels(hook).inc(count)
        if report.errors:
            self.rounds_failed.labels(name).inc()
        else:
            self.last_success.labels(name).set(started_at.timestamp() + seconds)
        with self.lock:
            self._last_ok[name] = not report.errors
            try:  # under the lock: a round's read never overwrites a later one's
                self._read_queues(dt.datetime.now(dt.UTC))
            except Exception as exc:  # the database is down: the gauges keep their last values
                log.debug("queues not read", extra={"error": repr(exc)[:200]})

    def _read_queues(self, now: dt.datetime) -> None:
        from mailgate.store.engine import reading
        with reading(self.store.engine) as connection:
            found = queue_depths_by_mailbox(connection, self.mailboxes)
            ratings = ratings_by_mailbox(connection, self.mailboxes)
            calls = hook_call_depths(connection)
        for state, count in calls.items():
            self.hook_calls.labels(state).set(count)
        for name, depths in found.items():
            self._set_queues(name, depths, now)
        for name, by_value in ratings.items():
            for value, count in by_value.items():
                self.ratings.labels(name, value).set(count)

    def _set_queues(self, name: str, depths: QueueDepths, now: dt.datetime) -> None:
        for state, count in depths.outbox.items():
            self.outbox.labels(name, state).set(count)
        for state, count in depths.inbound.items():
            self.inbound.labels(name, state).set(count)
        for queue, oldest in (("inbound", depths.oldest_pending_inbound),
                              ("outbox", depths.oldest_pending_outbox)):  # fmt: skip
            age = max((now - oldest).total_seconds(), 0) if oldest else 0
            self.oldest.labels(name, queue).set(age)


class MailboxMetrics(Monitor):
    """The hooks of one mailbox's rounds, called from that mailbox's thread only."""

    def __init__(self, metrics: Metrics, name: str) -> None:
        self.metrics = metrics
        self.name = name
        self._waiting = 0  # this mailbox's, this round's: no other thread touches it

    def waiting(self, count: int) -> None:
        self._waiting += count

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        waiting, self._waiting = self._waiting, 0
        self.metrics.round_ended(self.name, report, waiting=waiting, started_at=started_at,
                                 seconds=seconds)  # fmt: skip


class MetricsServer:
    """`/metrics` in the Prometheus text format; `/healthz` 200 while the last round succeeded."""

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self.metrics = metrics
        handler = _handler_for(metrics)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics", daemon=True
        )

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), port  # an AF_INET address: the host is a str already

    def start(self) -> MetricsServer:
        self._thread.start()
        log.info("metrics served", extra={"host": self.address[0], "port": self.address[1]})
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(metrics: Metrics) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/metrics":
                self._answer(200, generate_latest(metrics.registry), CONTENT_TYPE_LATEST)
            elif path == "/healthz":
                failing = metrics.unhealthy_mailboxes()
                body = (
                    "ok\n" if not failing
                    else f"the last round failed, or none has ended yet: {', '.join(failing)}\n"
                ).encode()  # fmt: skip
                self._answer(503 if failing else 200, body, "text/plain; charset=utf-8")
            else:
                self._answer(404, b"not found: try /metrics or /healthz\n", "text/plain")

        def _answer(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # scrapes are not news
            pass

    return Handler
