"""aiosmtpd's hooks for an `SmtpSink`: MAIL, RCPT, DATA and AUTH XOAUTH2.

They only translate the protocol; what to accept or refuse is the sink's.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tests.sandbox.oauth2 import token_is_active

if TYPE_CHECKING:
    from tests.sandbox.smtp_sink import SmtpSink


class SinkHandler:
    """aiosmtpd hooks; policy lives in `SmtpSink`."""

    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, mail_options: list[str]
    ) -> str:
        if self._sink.wants_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if (reply := self._sink._take_failure("rcpt")) is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if (reply := self._sink._take_failure("data")) is not None:
            return reply
        self._sink._capture(envelope, session)
        return "250 2.0.0 Message accepted"


@dataclass(frozen=True, slots=True)
class _TokenLogin:
    login: bytes  # what `CapturedMail.login` shows


class OAuth2SinkHandler(SinkHandler):
    """`SinkHandler` with AUTH XOAUTH2 (aiosmtpd offers every ``auth_*`` method)."""

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> Any:
        import asyncio

        from aiosmtpd.smtp import MISSING, AuthResult

        if len(args) == 2:
            blob = args[1].encode()
        else:
            blob = await server.challenge_auth("", encode_to_b64=False)
            if blob is MISSING:
                return AuthResult(success=False, handled=True)
        user, token = _parse_xoauth2(blob)
        url = self._sink.oauth2_url
        assert url is not None
        active = user is not None and await asyncio.to_thread(token_is_active, url, user, token)
        if active:
            return AuthResult(success=True, auth_data=_TokenLogin(login=(user or "").encode()))
        error = json.dumps({"status": "401", "schemes": "bearer", "scope": "SMTP.Send"})
        await server.challenge_auth(error)  # the client answers with an empty line
        return AuthResult(success=False, handled=False, message="535 5.7.8 XOAUTH2 token refused")


def _parse_xoauth2(blob: bytes) -> tuple[str | None, str]:
    """``user=U^Aauth=Bearer T^A^A``, base64-encoded: (U, T), or (None, "") if malformed."""
    import base64
    import binascii

    try:
        text = base64.b64decode(blob, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, ""
    fields = dict(part.split("=", 1) for part in text.split("\x01") if "=" in part)
    user, auth = fields.get("user"), fields.get("auth", "")
    if not user or not auth.startswith("Bearer "):
        return None, ""
    return user, auth[len("Bearer ") :]


class _DropLoginDataNotice(logging.Filter):
    """aiosmtpd 1.4 logs "Session.login_data is deprecated" on every AUTH, by itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Session.login_data is deprecated")


def quiet_aiosmtpd_login_data_notice() -> None:
    logger = logging.getLogger("mail.log")
    if not any(isinstance(existing, _DropLoginDataNotice) for existing in logger.filters):
        logger.addFilter(_DropLoginDataNotice())
