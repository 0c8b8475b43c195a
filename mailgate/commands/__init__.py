"""The operations commands of SPEC §11, and `run`, `check`, `config`, `purge` and `people`.

`register` adds them to the CLI's parser; each sets `handler`, which
`mailgate.cli` calls with the assembled app. The modules here import
SQLAlchemy and the worker only inside their handlers, so that `--help` and
`parse` stay fast.
"""

from __future__ import annotations

import argparse

from mailgate.commands import (
    check,
    config,
    failed,
    held,
    hooks,
    outbox,
    people,
    purge,
    requests,
    run,
    status,
)
from mailgate.commands.output import EXIT_NOT_FOUND, EXIT_REFUSED

__all__ = ["EXIT_NOT_FOUND", "EXIT_REFUSED", "register"]


def register(commands: argparse._SubParsersAction, *, requests_actions, timestamp) -> None:
    """Add the commands to `commands`, and `set-status` and `note` to `requests_actions`;
    `timestamp` is the CLI's parser of --now."""
    check.register(commands)
    config.register(commands)
    failed.register(commands)
    held.register(commands)
    hooks.register(commands)
    outbox.register(commands)
    status.register(commands)
    purge.register(commands, timestamp)
    people.register(commands)
    requests.register(requests_actions)
    run.register(commands.choices["run"])
