"""Where the sandbox servers listen: loopback, on a free port; and the error they raise."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


class SandboxError(RuntimeError):
    """A sandbox server could not be started or used."""


def find_free_port(host: str = LOOPBACK) -> int:
    """A port that was free a moment ago (bind to port 0 and let the kernel pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]
