"""`SmtpSink`: an aiosmtpd SMTP server in a thread on 127.0.0.1 that keeps what it receives.

It can require AUTH (PLAIN or LOGIN, no TLS; or XOAUTH2 checked against a
`TokenEndpoint`), and can be told at run time to answer 4xx or 5xx to RCPT or
DATA. aiosmtpd is a test dependency; it is imported only when a sink starts.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal, cast

from tests.sandbox.ports import LOOPBACK, find_free_port
from tests.sandbox.smtp_handlers import (
    OAuth2SinkHandler,
    SinkHandler,
    quiet_aiosmtpd_login_data_notice,
)

TEMPFAIL = "451 4.3.0 Try again later"
"""A temporary refusal: a well-behaved client keeps the message and retries."""
PERMFAIL = "554 5.7.1 Message rejected"
"""A permanent refusal: a well-behaved client gives the message up."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CapturedMail:
    """One message as the sink received it."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    message: EmailMessage
    login: str | None = None
    """The AUTH user name, when the client authenticated."""


Stage = Literal["rcpt", "data"]


class SmtpSink:
    """An SMTP server in a thread on 127.0.0.1 that keeps what it receives.

    With ``auth=(user, password)`` it offers AUTH PLAIN and LOGIN without TLS
    and answers ``530`` to MAIL until the client has authenticated. With
    ``oauth2_url`` (a `TokenEndpoint`'s `url`) it offers AUTH XOAUTH2 only, each
    token checked at that endpoint, and likewise wants AUTH before MAIL; a
    refused token gets the base64 JSON challenge Gmail sends, then ``535``. `fail`
    makes it refuse RCPT or DATA with a given reply, for the next N commands
    or until `recover`. `on_message` is called in the server thread with each
    accepted message, before the ``250``; if it raises, the client gets a 500
    (aiosmtpd turns handler errors into replies).
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        auth: tuple[str, str] | None = None,
        on_message: Callable[[CapturedMail], None] | None = None,
        oauth2_url: str | None = None,
    ) -> None:
        if auth is not None and oauth2_url is not None:
            raise ValueError("give auth (passwords) or oauth2_url (XOAUTH2), not both")
        self.host = LOOPBACK
        self._may_pick_port = port is None
        self._port = port or find_free_port(self.host)
        self._credentials = auth
        self.oauth2_url = oauth2_url
        self._on_message = on_message
        self._changed = threading.Condition()
        self._messages: list[CapturedMail] = []
        self._failure: tuple[Stage, str, int | None] | None = None
        self._rejected = 0
        self._controller: Any = None

    @property
    def port(self) -> int:
        return self._port

    @property
    def is_running(self) -> bool:
        return self._controller is not None

    @property
    def auth(self) -> tuple[str, str] | None:
        """The (user, password) AUTH needs, or None when the sink takes mail without AUTH."""
        return self._credentials

    @property
    def wants_auth(self) -> bool:
        return self._credentials is not None or self.oauth2_url is not None

    # -- what arrived

    @property
    def messages(self) -> list[CapturedMail]:
        """A copy of what has arrived so far, in order."""
        with self._changed:
            return list(self._messages)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[CapturedMail]:
        """Block until at least `count` messages have arrived; all of them.

        Raises TimeoutError, saying how many came, after `timeout` seconds.
        """
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._messages)} of {count} messages in {timeout} s"
                )
            return list(self._messages)

    def clear(self) -> None:
        """Forget the messages received and the count of refusals."""
        with self._changed:
            self._messages.clear()
            self._rejected = 0

    # -- failure modes

    def fail(
        self, reply: str = TEMPFAIL, *, stage: Stage = "data", count: int | None = None
    ) -> None:
        """Answer `reply` to the next `count` RCPT or DATA commands (None: until `recover`)."""
        if not re.fullmatch(r"[45]\d\d [^\r\n]*", reply):
            raise ValueError(f"a failure reply is a 4xx or 5xx code and text, not {reply!r}")
        if stage not in ("rcpt", "data"):
            raise ValueError(f"stage is 'rcpt' or 'data', not {stage!r}")
        if count is not None and count < 1:
            raise ValueError("count is at least 1, or None for 'until recover()'")
        with self._changed:
            self._failure = (stage, reply, count)

    def recover(self) -> None:
        """Accept mail again."""
        with self._changed:
            self._failure = None

    @property
    def rejected(self) -> int:
        """How many RCPT/DATA commands were refused by `fail` so far."""
        with self._changed:
            return self._rejected

    # -- life cycle

    def start(self) -> None:
        """Listen (again, after `stop`: same port, messages kept)."""
        if self._controller is not None:
            return
        for attempt in range(3):
            controller = self._make_controller()
            try:
                controller.start()
            except OSError:
                with contextlib.suppress(Exception):
                    controller.stop(no_assert=True)
                if not controller.loop.is_closed():
                    controller.loop.close()
                if self._may_pick_port and attempt < 2:
                    self._port = find_free_port(self.host)
                    continue
                raise
            self._controller = controller
            self._may_pick_port = False
            return

    def stop(self) -> None:
        """Stop listening; open connections are dropped."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<SmtpSink {self.host}:{self._port} {len(self.messages)} messages>"

    # -- internals

    def _make_controller(self) -> Any:
        from aiosmtpd.controller import Controller

        kwargs: dict[str, Any] = {}
        if self._credentials is not None:
            # Only the authenticator: aiosmtpd's own auth_required=True warns
            # (UserWarning) on every connection when TLS is not required, so
            # the sink enforces AUTH itself in handle_MAIL.
            kwargs.update(authenticator=self._authenticate, auth_require_tls=False)
            quiet_aiosmtpd_login_data_notice()
        if self.oauth2_url is not None:
            kwargs.update(auth_require_tls=False, auth_exclude_mechanism=["PLAIN", "LOGIN"])
        handler = SinkHandler(self) if self.oauth2_url is None else OAuth2SinkHandler(self)
        return Controller(
            handler,
            hostname=self.host,
            port=self._port,
            server_hostname="sandbox.invalid",
            ready_timeout=5.0,
            **kwargs,
        )

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult, LoginPassword

        assert self._credentials is not None
        user, password = self._credentials
        accepted = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == user.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=accepted, handled=False, auth_data=auth_data)

    def _take_failure(self, stage: Stage) -> str | None:
        with self._changed:
            if self._failure is None or self._failure[0] != stage:
                return None
            _, reply, count = self._failure
            if count is not None:
                self._failure = (stage, reply, count - 1) if count > 1 else None
            self._rejected += 1
            return reply

    def _capture(self, envelope: Any, session: Any) -> None:
        data = bytes(envelope.original_content or envelope.content or b"")
        login = getattr(session.auth_data, "login", None)
        mail = CapturedMail(
            mail_from=envelope.mail_from or "",
            rcpt_tos=tuple(envelope.rcpt_tos),
            data=data,
            message=cast(EmailMessage, email.message_from_bytes(data, policy=email.policy.default)),
            login=login.decode("utf-8", "replace") if isinstance(login, bytes) else login,
        )
        if self._on_message is not None:
            self._on_message(mail)
        with self._changed:
            self._messages.append(mail)
            self._changed.notify_all()
