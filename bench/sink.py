"""An SMTP sink in a process of its own, so its CPU is not charged to mailgate.

It accepts every message, of any size, and counts them: no parsing, the least
work a receiving server can do; with `write_to` it also writes each to a file
there, as a real server stores what it accepts. `SinkProcess` starts it and asks it for
the count; the process itself (this file run as a script) prints its port as
one JSON line, answers each ``count`` line on stdin with the number of
messages accepted so far (``bytes``: their bytes), and exits at the end of
stdin.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"


class SinkProcess:
    """The sink's process, seen from the benchmark."""

    def __init__(self, write_to: str | None = None) -> None:
        self._process = subprocess.Popen(
            [sys.executable, __file__, *([write_to] if write_to else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.host = HOST
        self.port = int(json.loads(self._ask_line())["port"])

    def received(self) -> int:
        """Messages accepted since the sink started."""
        return self._ask("count")

    def received_bytes(self) -> int:
        """The bytes of the messages accepted since the sink started."""
        return self._ask("bytes")

    def close(self) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def __enter__(self) -> SinkProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _ask(self, question: str) -> int:
        assert self._process.stdin is not None
        self._process.stdin.write(f"{question}\n")
        self._process.stdin.flush()
        return int(self._ask_line())

    def _ask_line(self) -> str:
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the SMTP sink exited with status {self._process.wait()}")
        return line


class _CountingHandler:
    def __init__(self, write_to: Path | None) -> None:
        self.accepted = 0
        self.accepted_bytes = 0
        self.write_to = write_to

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.accepted += 1
        self.accepted_bytes += len(envelope.content)
        if self.write_to is not None:
            (self.write_to / f"{self.accepted:07d}.eml").write_bytes(envelope.content)
        return "250 2.0.0 Accepted"


async def _serve() -> None:
    from aiosmtpd.smtp import SMTP

    loop = asyncio.get_running_loop()
    handler = _CountingHandler(Path(sys.argv[1]) if len(sys.argv) > 1 else None)
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="sink.invalid", data_size_limit=None), HOST, 0
    )
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    finished = loop.create_future()

    def answer() -> None:
        if question := sys.stdin.readline():
            bytes_asked = question.strip() == "bytes"
            print(handler.accepted_bytes if bytes_asked else handler.accepted, flush=True)
        elif not finished.done():
            finished.set_result(None)

    loop.add_reader(sys.stdin.fileno(), answer)
    await finished
    server.close()


if __name__ == "__main__":
    asyncio.run(_serve())
