"""`mailgate run`: the worker, with what watches it (the last-round row, a
progress bar on a terminal for `--once`, the metrics server), and its log format.

SIGTERM and SIGINT end the round in progress and exit 0. SIGHUP reloads the
config between rounds: the file is read and checked again (templates
included) and, if good, the next rounds run on it; a bad file, or one that
changes what only a restart can change (`[database] url`, the mailboxes' names,
`[metrics] listen`), is logged and the old config kept.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
import signal
import threading
from typing import TYPE_CHECKING

from mailgate import exits
from mailgate.commands.output import complain
from mailgate.errors import ConfigError
from mailgate.logs import FORMATS, setup_logging

if TYPE_CHECKING:
    from mailgate.app import App
    from mailgate.config import Settings
    from mailgate.monitor import Monitors
    from mailgate.worker import Clock

log = logging.getLogger("mailgate")


def register(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--log-format", choices=FORMATS, default="text",
        help="text: one line of key=value fields; json: one JSON object per line "
             "(and the summary of --once as one JSON object)",
    )  # fmt: skip
    run.set_defaults(handler=run_command)


def run_command(app: App, args: argparse.Namespace) -> int:
    from mailgate.config import verify_secrets
    from mailgate.monitor import Monitors, RoundRecorder
    from mailgate.owner import current_owner
    from mailgate.template_check import check_templates

    verify_secrets(app.settings)  # a missing password stops us here, named (status 2)
    check_templates(app.install)  # an admin's broken template stops us before any mail
    if args.log_format != "text":
        setup_logging(args.log_level, args.log_format)
    now = args.now
    clock: Clock = (lambda: now) if now is not None else (lambda: dt.datetime.now(dt.UTC))
    monitors = Monitors([RoundRecorder(app.store, worker=current_owner())])
    if args.once:
        return _run_once(app, clock, monitors, as_json=args.log_format == "json")
    server = _metrics_server(app, monitors)
    try:
        _run_until_stopped(app, clock, monitors, config_path=args.config)
    finally:
        if server is not None:
            server.stop()
    log.info("worker stopped")
    return 0


def _run_once(app: App, clock: Clock, monitors: Monitors, *, as_json: bool) -> int:
    from mailgate.progress import ProgressBar

    if ProgressBar.wanted():
        monitors.parts.append(ProgressBar())
    worker = app.worker(clock)
    worker.monitor = _per_mailbox(app, monitors)
    report = worker.run_once()
    if as_json:  # a JSON log pipeline reads stdout too: one object, the errors in it
        print(json.dumps(dataclasses.asdict(report), ensure_ascii=False))
    else:
        print(
            f"fetched {report.fetched}, applied {report.applied}, failed {report.failed}, "
            f"held {report.held}, duplicates {report.duplicates}, timers {report.timers}, "
            f"sent {report.sent}, send failures {report.send_failures}"
        )
        for error in report.errors:
            complain(error)
    return exits.TRANSPORT if report.errors else 0


def _run_until_stopped(app: App, clock: Clock, monitors: Monitors, *, config_path: str) -> None:
    """Workers one after another on the same stop event: a SIGHUP stops one, and the
    next runs on the reloaded config; SIGTERM or SIGINT stops the last."""
    stop, terminate, reload = threading.Event(), threading.Event(), threading.Event()

    def on_terminate(*_: object) -> None:
        terminate.set()
        stop.set()

    def on_reload(*_: object) -> None:
        reload.set()
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_terminate)
    signal.signal(signal.SIGHUP, on_reload)
    log.info("worker started")
    while True:
        worker = app.worker(clock)
        worker.stop_requested = stop
        worker.monitor = _per_mailbox(app, monitors)
        worker.run_forever()
        if terminate.is_set() or not reload.is_set():
            return
        reload.clear()
        stop.clear()
        if terminate.is_set():  # came between the check and the clear
            return
        app = _reloaded(app, config_path)


def _reloaded(app: App, config_path: str) -> App:
    """The app of the config file as it is now; `app` itself when that file is bad or
    changes what only a restart can. The database (its engine, its pool) is kept."""
    from mailgate.app import build_app
    from mailgate.config import load_settings, verify_secrets
    from mailgate.template_check import check_templates

    try:
        settings = load_settings(config_path)
        verify_secrets(settings)  # read at start, so also at a reload
        _check_reloadable(app.settings, settings)
        reloaded = build_app(settings, store=app.store)
        check_templates(reloaded.install)
    except ConfigError as exc:
        log.error("config not reloaded; running on with the old one", extra={"error": str(exc)})
        return app
    except Exception as exc:  # whatever a bad file does, the worker runs on
        log.error("config not reloaded; running on with the old one",
                  extra={"error": repr(exc)[:300]})  # fmt: skip
        return app
    log.info("config reloaded", extra={"config": config_path})
    return reloaded


def _check_reloadable(old: Settings, new: Settings) -> None:
    """What the running process holds open (the database, a thread per mailbox, the
    metrics socket) stays as it was started: a change there needs a restart."""
    changed = [
        key for key, before, after in (
            ("database.url", old.database_url, new.database_url),
            ("mailbox", [m.mailbox for m in old.mailboxes], [m.mailbox for m in new.mailboxes]),
            ("metrics.listen", old.metrics_listen, new.metrics_listen),
        ) if before != after
    ]  # fmt: skip
    if changed:
        raise ConfigError(changed[0], "changed; a reload cannot apply it: restart mailgate")


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
        raise ConfigError("metrics.listen", f"cannot listen on {listen[0]}:{listen[1]}: "
                          f"{exc.strerror or exc}") from None  # fmt: skip
