"""Prometheus metrics and /healthz for `mailgate run` ([metrics] listen).

`Metrics` is a `Monitor`: the worker's hooks count what each round did, and
after every round the queues are read once from the database, so a scrape
costs no query. It has a registry of its own (nothing global), served by a
small threaded HTTP server on the configured address.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from mailgate.monitor import Monitor
from mailgate.store.operations import queue_depths

if TYPE_CHECKING:
    from mailgate.store.database import Store
    from mailgate.worker import RunReport

log = logging.getLogger(__name__)


class Metrics(Monitor):
    def __init__(self, store: Store) -> None:
        self.store = store
        self.registry = registry = CollectorRegistry()
        self.healthy = False  # until a round has succeeded
        self._waiting = 0

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, registry=registry)

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
            return Gauge(name, doc, labels, registry=registry)

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
        self.last_success = gauge(
            "mailgate_last_round_success_timestamp_seconds", "When a round last succeeded"
        )
        self.duration = Histogram(
            "mailgate_round_duration_seconds", "Duration of a worker round", registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
        )  # fmt: skip

    def waiting(self, count: int) -> None:
        self._waiting += count

    def round_finished(self, report: RunReport, *, started_at: dt.datetime, seconds: float) -> None:
        self.applied.inc(report.applied)
        self.failed.inc(report.failed)
        self.sent.inc(report.sent)
        self.send_failed.inc(report.send_failures)
        self.duration.observe(seconds)
        self.imap_waiting.set(self._waiting)
        self._waiting = 0
        self.healthy = not report.errors
        if report.errors:
            self.rounds_failed.inc()
        else:
            self.last_success.set(started_at.timestamp() + seconds)
        try:
            self._read_queues(dt.datetime.now(dt.UTC))
        except Exception as exc:  # the database is down: the gauges keep their last values
            log.debug("queues not read", extra={"error": repr(exc)[:200]})

    def _read_queues(self, now: dt.datetime) -> None:
        with self.store.engine.begin() as connection:
            depths = queue_depths(connection)
        for state, count in depths.outbox.items():
            self.outbox.labels(state).set(count)
        for state, count in depths.inbound.items():
            self.inbound.labels(state).set(count)
        for queue, oldest in (("inbound", depths.oldest_pending_inbound),
                              ("outbox", depths.oldest_pending_outbox)):  # fmt: skip
            self.oldest.labels(queue).set(max((now - oldest).total_seconds(), 0) if oldest else 0)


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
        return self._server.server_address[:2]

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
                ok = metrics.healthy
                body = b"ok\n" if ok else b"the last round failed, or none has ended yet\n"
                self._answer(200 if ok else 503, body, "text/plain; charset=utf-8")
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
