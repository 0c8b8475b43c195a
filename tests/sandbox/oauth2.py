"""`TokenEndpoint`: an OAuth2 token-introspection endpoint (RFC 7662) over HTTP in a thread.

A `Dovecot(oauth2_url=...)` checks XOAUTH2 and OAUTHBEARER log-ins against it
(Dovecot's oauth2 passdb), and so does an `SmtpSink(oauth2_url=...)` by
`token_is_active`; the test grants and revokes tokens.
"""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.sandbox.ports import LOOPBACK


class TokenEndpoint:
    """An OAuth2 token-introspection endpoint (RFC 7662) on 127.0.0.1, in a thread.

    `grant` makes a token active for a user, `revoke` inactive again. It answers
    ``{"active": true, "username": USER}`` for an active token and
    ``{"active": false}`` for any other, whichever way the token comes: a POST
    form ``token=...``, a GET with ``?token=...`` (Dovecot's ``get`` mode
    appends ``&client_id=&client_secret=``), or a GET with ``Authorization:
    Bearer``. `asked` lists every token it was asked about, in order. With
    ``single_use`` a token is active the first time it is asked about only: a
    client that logs in twice with one token is refused the second time.
    """

    def __init__(self, *, single_use: bool = False) -> None:
        self._single_use = single_use
        self._lock = threading.Lock()
        self._tokens: dict[str, str] = {}
        self._asked: list[str] = []
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _introspection_handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="token-endpoint", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/introspect"

    def grant(self, token: str, user: str) -> None:
        with self._lock:
            self._tokens[token] = user.lower()

    def revoke(self, token: str) -> None:
        with self._lock:
            self._tokens.pop(token, None)

    @property
    def asked(self) -> list[str]:
        with self._lock:
            return list(self._asked)

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            self._asked.append(token)
            user = self._tokens.pop(token, None) if self._single_use else self._tokens.get(token)
        return {"active": True, "username": user} if user else {"active": False}

    def start(self) -> TokenEndpoint:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TokenEndpoint:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _introspection_handler(endpoint: TokenEndpoint) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
            self._answer(form.get("token", [""])[0])

        def do_GET(self) -> None:
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            bearer = self.headers.get("Authorization", "")
            token = query.get("token", [""])[0]
            self._answer(bearer[7:] if bearer.startswith("Bearer ") else token)

        def _answer(self, token: str) -> None:
            body = json.dumps(endpoint.introspect(token)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def token_is_active(url: str, user: str, token: str, *, timeout: float = 5.0) -> bool:
    """Ask an introspection endpoint (RFC 7662, form POST) whether `token` is active
    for `user`, as Dovecot's oauth2 passdb does."""
    request = urllib.request.Request(
        url, data=urllib.parse.urlencode({"token": token}).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=timeout) as response:
        answer = json.loads(response.read())
    return answer.get("active") is True and str(answer.get("username", "")) == user.lower()
