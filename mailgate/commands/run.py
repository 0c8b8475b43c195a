"""`mailgate run`: the worker, with what watches it (the last-round row, a
progress bar on a terminal for `--once`, the metrics server), and its log format."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
from typing import TYPE_CHECKING

from mailgate.commands.output import complain
from mailgate.logs import FORMATS, setup_logging

if TYPE_CHECKING:
    from mailgate.app import App

EXIT_TRANSPORT = 3  # as `mailgate.cli`
log = logging.getLogger("mailgate")


def register(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--log-format", choices=FORMATS, default="text",
        help="text: one line of key=value fields; json: one JSON object per line",
    )  # fmt: skip
    run.set_defaults(handler=run_command)


def run_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.monitor import Monitors, RoundRecorder
    from mailgate.owner import current_owner
    from mailgate.template_check import check_templates

    check_templates(app.install)  # an admin's broken template stops us before any mail
    if args.log_format != "text":
        setup_logging(args.log_level, args.log_format)
    now = args.now
    worker = app.worker((lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC)))
    monitors = Monitors([RoundRecorder(app.store, worker=current_owner())])
    worker.monitor = monitors
    if args.once:
        from mailgate.progress import ProgressBar

        if ProgressBar.wanted():
            monitors.parts.append(ProgressBar())
        worker.monitor = _per_mailbox(app, monitors)
        report = worker.run_once()
        print(
            f"fetched {report.fetched}, applied {report.applied}, failed {report.failed}, "
            f"held {report.held}, duplicates {report.duplicates}, timers {report.timers}, "
            f"sent {report.sent}, send failures {report.send_failures}"
        )
        for error in report.errors:
            complain(error)
        return EXIT_TRANSPORT if report.errors else 0
    server = _metrics_server(app, monitors)
    worker.monitor = _per_mailbox(app, monitors)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: worker.stop_requested.set())
    log.info("worker started")
    try:
        worker.run_forever()
    finally:
        if server is not None:
            server.stop()
    log.info("worker stopped")
    return 0


def _per_mailbox(app: App, monitors):
    """With one mailbox every round is that mailbox's. With several, `run` gives each
    mailbox's thread its own view (`Worker`); a `--once` round reads them all."""
    mailboxes = app.settings.mailboxes
    return monitors.for_mailbox(mailboxes[0].mailbox) if len(mailboxes) == 1 else monitors


def _metrics_server(app: App, monitors):
    listen = app.settings.metrics_listen
    if listen is None:
        return None
    from mailgate.metrics import Metrics, MetricsServer

    metrics = Metrics(app.store, [mailbox.mailbox for mailbox in app.settings.mailboxes],
                      [hook.name for hook in app.settings.hooks])  # fmt: skip
    monitors.parts.append(metrics)
    try:
        return MetricsServer(metrics, *listen).start()
    except OSError as exc:
        from mailgate.errors import ConfigError

        raise ConfigError("metrics.listen", f"cannot listen on {listen[0]}:{listen[1]}: "
                          f"{exc.strerror or exc}") from None  # fmt: skip
