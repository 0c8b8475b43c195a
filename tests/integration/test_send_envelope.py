"""`send_message` against a real aiosmtpd server on loopback: the envelope it writes
itself refuses, raises and delivers as aiosmtplib's `sendmail` does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller

from mailgate.config import Credentials, SmtpSettings
from mailgate.send import AddressError, SmtpPump, _is_temporary, send_message
from tests.sandbox import LOOPBACK, SmtpSink, find_free_port

SENDER = "support@example.org"
RECIPIENT = "client@example.net"
SMALL = b"Subject: hello\r\n\r\nHello\r\n"


@dataclass
class Received:
    mail_from: str
    mail_options: list[str]
    rcpt_tos: list[str]
    data: bytes


@dataclass
class Server:
    """Replies for the next MAIL, RCPT or end of DATA (then 250 again); what was accepted."""

    host: str
    port: int
    replies: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    def _refusal(self, command: str) -> str | None:
        """Note the command; the reply set for it, once."""
        self.commands.append(command)
        return self.replies.pop(command, None)

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        if reply := self._refusal("MAIL"):
            return reply
        envelope.mail_from, envelope.mail_options = address, options
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: list[str]) -> str:  # fmt: skip
        reply = self._refusal("RCPT")
        if reply is None:
            envelope.rcpt_tos.append(address)
        return reply or "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if reply := self._refusal("DATA"):
            return reply
        received = Received(envelope.mail_from, envelope.mail_options, envelope.rcpt_tos,
                            bytes(envelope.original_content))  # fmt: skip
        self.received.append(received)
        return "250 2.0.0 Accepted"

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self._refusal("RSET")
        return "250 OK"


@pytest.fixture
def server() -> Iterator[Server]:
    found = Server(LOOPBACK, find_free_port(LOOPBACK))
    controller = Controller(found, hostname=found.host, port=found.port, ready_timeout=5.0)
    controller.start()
    try:
        yield found
    finally:
        controller.stop()


def _send(server: Server, *messages: tuple[str, bytes], how: str = "send_message") -> list:
    """Send each (recipient, raw) on one connection; what each send raised, or None."""

    async def run() -> list:
        client = aiosmtplib.SMTP(hostname=server.host, port=server.port, start_tls=False)
        await client.connect()
        outcomes: list = []
        for recipient, raw in messages:
            try:
                if how == "sendmail":
                    await client.sendmail(SENDER, [recipient], raw)
                else:
                    await send_message(client, SENDER, recipient, [raw])
                outcomes.append(None)
            except (aiosmtplib.SMTPException, ValueError) as exc:
                outcomes.append(exc)
        await client.quit()
        return outcomes

    return asyncio.run(run())


@pytest.mark.parametrize(("reply", "temporary"), [("550 5.7.1 not you", False),
                                                   ("451 4.3.0 try later", True)])  # fmt: skip
def test_a_refused_sender_raises_sender_refused_and_the_connection_goes_on(
    server: Server, reply: str, temporary: bool
) -> None:
    server.replies["MAIL"] = reply
    refused, delivered = _send(server, (RECIPIENT, SMALL), (RECIPIENT, SMALL))
    assert isinstance(refused, aiosmtplib.SMTPSenderRefused)
    assert (refused.code, refused.message, refused.sender) == (int(reply[:3]), reply[4:], SENDER)
    assert _is_temporary(refused) is temporary
    assert delivered is None
    assert server.commands == ["MAIL", "RSET", "MAIL", "RCPT", "DATA"]
    assert [m.data for m in server.received] == [SMALL]


def test_a_refused_recipient_raises_recipients_refused_and_no_data_is_sent(server: Server) -> None:
    server.replies["RCPT"] = "550 5.1.1 no such user"
    [refused] = _send(server, (RECIPIENT, SMALL))
    assert isinstance(refused, aiosmtplib.SMTPRecipientsRefused)
    [one] = refused.recipients
    assert (one.code, one.message, one.recipient) == (550, "5.1.1 no such user", RECIPIENT)
    assert _is_temporary(refused) is False
    assert server.commands == ["MAIL", "RCPT", "RSET"]
    assert server.received == []


def test_refused_data_raises_data_error(server: Server) -> None:
    server.replies["DATA"] = "554 5.6.0 content refused"
    refused, delivered = _send(server, (RECIPIENT, SMALL), (RECIPIENT, SMALL))
    assert isinstance(refused, aiosmtplib.SMTPDataError)
    assert (refused.code, refused.message) == (554, "5.6.0 content refused")
    assert _is_temporary(refused) is False
    assert delivered is None
    assert [m.data for m in server.received] == [SMALL]


UNSENDABLE = ["client@example.net\r\nRCPT TO:<evil@example.net>", "client@example.net\n",
              "<client@example.net> SIZE=1", "client>@example.net", "Client <client@example.net>",
              "client@example.net,other@example.net", "ivan@пример.рф"]  # fmt: skip


@pytest.mark.parametrize("address", UNSENDABLE)
def test_an_address_not_sendable_as_it_is_is_refused_before_anything_is_sent(
    server: Server, address: str
) -> None:
    refused, delivered = _send(server, (address, SMALL), (RECIPIENT, SMALL))
    assert isinstance(refused, AddressError)
    assert delivered is None
    assert server.commands == ["MAIL", "RCPT", "DATA"]
    assert [m.rcpt_tos for m in server.received] == [[RECIPIENT]]


def test_the_pump_reports_an_address_refused_so_for_good_and_sends_the_next(
    smtp_sink: SmtpSink,
) -> None:
    settings = SmtpSettings(host=smtp_sink.host, port=smtp_sink.port, security="none",
                            credentials=Credentials(username=None, secret=None),
                            from_address=SENDER, from_name="Support")  # fmt: skip
    pump = SmtpPump(settings)
    try:
        pump.submit([(1, "client>@example.net", SMALL, 0, SENDER),
                     (2, RECIPIENT, SMALL, 0, SENDER)])
        found, deadline = [], time.monotonic() + 30
        while len(found) < 2 and time.monotonic() < deadline:
            found += pump.results(wait=1)
    finally:
        pump.close()
    assert sorted(found) == [(1, 0, (False, "'client>@example.net' is not one address that "
                                           "SMTP can carry as it is")), (2, 0, None)]  # fmt: skip
    assert [m.rcpt_tos for m in smtp_sink.wait_for(1)] == [(RECIPIENT,)]


def test_leading_periods_and_bare_line_feeds_arrive_intact_with_their_size(
    server: Server,
) -> None:
    raw = b"Subject: dots\n\n.one\n..two\n.\nmiddle\r.\r\nlast line without end"
    _send(server, (RECIPIENT, raw))
    [received] = server.received
    wire = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    assert received.data == wire
    assert received.mail_options == [f"SIZE={len(wire)}"]


def test_the_server_gets_what_sendmail_would_send(server: Server) -> None:
    messages = [(RECIPIENT, SMALL), ("a.b+tag@sub.example.net", b"Subject: x\n\n.dot\n"),
                ('"john doe"@example.net', b"Subject: quoted\r\n\r\nbody")]  # fmt: skip
    assert _send(server, *messages, how="sendmail") == [None] * 3
    by_sendmail, server.received = server.received, []
    assert _send(server, *messages) == [None] * 3
    assert server.received == by_sendmail
