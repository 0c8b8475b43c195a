"""One hook call: an HTTP POST of the JSON body, or a command given it on stdin.

Each returns None when the receiver took the event (a 2xx answer; exit status
0) and otherwise the reason, one line fit for `hooks list`. Nothing is raised:
a receiver that is down, slow or rude is a failed attempt, retried later by
the pump. Redirects are not followed (a 3xx is a failure): the signed body
goes only where the admin pointed it.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
from collections.abc import Mapping
from urllib.parse import urlsplit

from mailgate import __version__
from mailgate.config import COMMAND_ENV, HookSettings
from mailgate.hooks.payload import signature

ERROR_LIMIT = 500  # characters of a receiver's answer or a command's stderr kept as the reason
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def call(hook: HookSettings, *, event: str, delivery: str, body: bytes, attempt: int) -> str | None:
    """Make one call of `hook`; None when it was taken, else why not."""
    headers = {
        "X-Mailgate-Event": event,
        "X-Mailgate-Delivery": delivery,
        "X-Mailgate-Attempt": str(attempt),
    }
    if hook.secret is not None:
        headers["X-Mailgate-Signature"] = signature(hook.secret.reveal(), body)
    if hook.url is not None:
        return post(hook.url, body, headers, timeout=hook.timeout)
    environment = {name: os.environ[name] for name in (*COMMAND_ENV, *hook.pass_env)
                   if name in os.environ}  # fmt: skip
    for name, value in headers.items():
        environment[name.upper().replace("-", "_")] = value  # X_MAILGATE_EVENT, ...
    return run(hook.command, body, environment, timeout=hook.timeout)


def post(url: str, body: bytes, headers: Mapping[str, str], *, timeout: float) -> str | None:
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "", parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    try:
        connection.request("POST", target, body=body, headers={
            **headers, "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"mailgate/{__version__}",
        })  # fmt: skip
        answer = connection.getresponse()
        said = answer.read(ERROR_LIMIT)
    except (OSError, http.client.HTTPException) as exc:
        return one_line(f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
    if 200 <= answer.status < 300:
        return None
    text = said.decode("utf-8", "replace")
    return one_line(f"HTTP {answer.status} {answer.reason}: {text}".rstrip(": "))


def run(argv: tuple[str, ...], body: bytes, environment: Mapping[str, str], *,
        timeout: float) -> str | None:  # fmt: skip
    """Run the command with the body on stdin; killed (its whole process group) when it
    runs past `timeout`."""
    try:
        process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=dict(environment),
                                   start_new_session=True)  # fmt: skip
    except OSError as exc:
        return one_line(f"cannot start {argv[0]}: {exc.strerror or exc}")
    try:
        _, errors = process.communicate(body, timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        return f"timed out after {timeout:g} s; killed"
    if process.returncode == 0:
        return None
    said = errors[-ERROR_LIMIT:].decode("utf-8", "replace")
    return one_line(f"exit status {process.returncode}: {said}".rstrip(": "))


def one_line(text: str) -> str:
    return _CONTROL.sub(" ", text).strip()[: ERROR_LIMIT + 100]
