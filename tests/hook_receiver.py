"""A hook receiver for tests: a stdlib HTTP server in a thread that keeps every call
and answers with the status codes it is told, and the schema check of bodies."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "docs" / "hook-event.schema.json").read_text()
)
SECRET = "hook-secret-of-the-tests-0123456789"


@dataclass(frozen=True, slots=True)
class Call:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers["X-Mailgate-Delivery"]

    def signed_with(self, secret: str) -> bool:
        """Verified as a receiver would (docs/hooks.md)."""
        expected = "sha256=" + hmac.new(secret.encode(), self.body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, self.headers.get("X-Mailgate-Signature", ""))


def validate(event: dict) -> None:
    jsonschema.validate(event, SCHEMA, format_checker=jsonschema.FormatChecker())


class Receiver:
    """Answers 200, or the codes of `answer_with` first, one per call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.taken: list[Call] = []  # the calls answered 2xx
        self._codes: list[int] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                call = Call(headers=dict(self.headers.items()), body=body)
                with receiver._lock:
                    code = receiver._codes.pop(0) if receiver._codes else 200
                    receiver.calls.append(call)
                    if code < 300:
                        receiver.taken.append(call)
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no" if code >= 300 else b"ok")

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/mailgate"

    @staticmethod
    def silent() -> Silent:
        """A receiver that takes connections and never answers."""
        return Silent()

    def answer_with(self, *codes: int) -> None:
        with self._lock:
            self._codes.extend(codes)

    def events(self, kind: str | None = None) -> list[dict]:
        return [c.event for c in self.taken if kind is None or c.event["event"] == kind]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Silent:
    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(16)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/"

    def close(self) -> None:
        self._socket.close()


def hook_toml(name: str, *, url: str = "", command: tuple[str, ...] = (),
              events: tuple[str, ...] = (), **keys: object) -> str:  # fmt: skip
    """A `[[hook]]` table for a gate's config (`extra_toml`)."""
    lines = ["", "[[hook]]", f"name = {json.dumps(name)}"]
    if url:
        lines += [f"url = {json.dumps(url)}", f"secret = {json.dumps(SECRET)}"]
    if command:
        lines.append(f"command = {json.dumps(list(command))}")
    lines.append(f"events = {json.dumps(list(events or EVERY_EVENT))}")
    lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


EVERY_EVENT = ("request.created", "request.status_changed", "message.received",
               "escalation.accepted", "sla.breached", "delivery.failed")  # fmt: skip


def receivers() -> Iterator[Receiver]:
    receiver = Receiver()
    try:
        yield receiver
    finally:
        receiver.close()
