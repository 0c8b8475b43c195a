"""The loopback servers themselves: a real Dovecot, a real aiosmtpd sink, the CLI."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import aiosmtplib
import pytest
from imap_tools import MailboxLoginError, MailBoxUnencrypted

from tests.sandbox import PERMFAIL, TEMPFAIL, Dovecot, ImapAccount, SandboxError, SmtpSink

pytest_plugins = ["tests.servers"]  # also loaded by tests/conftest.py; harmless twice

REPO = Path(__file__).resolve().parents[2]


def make_raw(subject: str, body: str = "Hello.") -> bytes:
    return (
        "From: Client <client@example.org>\r\n"
        "To: support@example.org\r\n"
        f"Subject: {subject}\r\n"
        f"Message-ID: <{subject.replace(' ', '-')}@example.org>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        f"{body}\r\n"
    ).encode()


def post_login_capabilities(mailbox: MailBoxUnencrypted) -> set[str]:
    # imaplib keeps the pre-login CAPABILITY; Dovecot adds MOVE, UIDPLUS… after LOGIN.
    typ, data = mailbox.client.capability()
    assert typ == "OK"
    return set(data[-1].decode().upper().split())


def send(sink: SmtpSink | SimpleNamespace, raw: bytes, **login: str) -> None:
    asyncio.run(
        aiosmtplib.send(
            raw,
            sender="support@example.org",
            recipients=["client@example.org", "cc@example.org"],
            hostname=sink.host,
            port=sink.port,
            start_tls=False,
            timeout=10,
            **login,
        )
    )


# --------------------------------------------------------------------------- Dovecot


def test_login_and_capabilities(dovecot: ImapAccount) -> None:
    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mailbox:
        assert mailbox.client.welcome.startswith(b"* OK")
        mailbox.login(dovecot.user, dovecot.password)
        assert {"IDLE", "MOVE", "UIDPLUS"} <= post_login_capabilities(mailbox)


def test_append_then_fetch_without_marking_seen(dovecot: ImapAccount) -> None:
    raw = make_raw("first question", "Привет, it does not work.")
    uid = dovecot.append(raw)
    assert uid == 1

    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mailbox:
        mailbox.login(dovecot.user, dovecot.password)
        (message,) = mailbox.fetch(mark_seen=False)
        assert message.subject == "first question"
        assert message.uid == "1"
        assert "\\Seen" not in message.flags
        assert [m.uid for m in mailbox.fetch("UNSEEN", mark_seen=False)] == ["1"]

    assert dovecot.list_folder() == [raw]  # the exact bytes, CRLF and all


def test_append_many_uses_one_connection_and_keeps_order(dovecot: ImapAccount) -> None:
    raws = [make_raw(f"bulk {n}") for n in range(40)]
    started = time.monotonic()
    uids = dovecot.append_many(raws)
    elapsed = time.monotonic() - started
    assert uids == list(range(1, 41))
    assert dovecot.list_folder() == raws
    assert elapsed < 5


def test_move_to_a_new_folder(dovecot: ImapAccount) -> None:
    dovecot.append_many([make_raw("keep"), make_raw("move me")])
    dovecot.create_folder("Processed")
    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mailbox:
        mailbox.login(dovecot.user, dovecot.password)
        assert "MOVE" in post_login_capabilities(mailbox)
        typ, data = mailbox.client.uid("MOVE", "2", "Processed")
        assert typ == "OK", data
    assert set(dovecot.folder_names()) == {"INBOX", "Processed"}
    assert dovecot.list_folder("Processed") == [make_raw("move me")]
    assert dovecot.list_folder("INBOX") == [make_raw("keep")]


def test_append_to_a_nested_folder(dovecot: ImapAccount) -> None:
    dovecot.create_folder("Archive/2026")
    dovecot.append(make_raw("old"), "Archive/2026")
    assert "Archive/2026" in dovecot.folder_names()
    assert dovecot.list_folder("Archive/2026") == [make_raw("old")]


def test_idle_wakes_up_on_new_mail(dovecot: ImapAccount) -> None:
    with MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mailbox:
        mailbox.login(dovecot.user, dovecot.password)
        with mailbox.idle as idle:
            dovecot.append(make_raw("while idling"))
            started = time.monotonic()
            responses = idle.poll(timeout=5)
        assert any(b"EXISTS" in line for line in responses), responses
        assert time.monotonic() - started < 3


def test_wrong_password_fails_and_costs_no_penalty(dovecot: ImapAccount) -> None:
    for _ in range(2):
        with (
            pytest.raises(MailboxLoginError),
            MailBoxUnencrypted(dovecot.host, dovecot.port, timeout=10) as mailbox,
        ):
            mailbox.login(dovecot.user, "wrong")
    # Without the anvil penalty socket removed, this login would wait 2-15 s.
    started = time.monotonic()
    with dovecot.connect():
        pass
    assert time.monotonic() - started < 1


def test_unknown_user_fails(dovecot_server: Dovecot) -> None:
    stranger = ImapAccount(
        host=dovecot_server.host, port=dovecot_server.port, user="nobody@example.org", password="x"
    )
    with pytest.raises(MailboxLoginError), stranger.connect():
        pass


def test_a_new_user_can_log_in_at_once(dovecot_server: Dovecot) -> None:
    first = dovecot_server.add_user("first.in.second@example.org", "one")
    first.append(make_raw("a"))
    second = dovecot_server.add_user("second.in.second@example.org", "two")
    second.append(make_raw("b"))  # same second: a shared passwd-file would not know it yet
    assert second.list_folder() == [make_raw("b")]
    assert second.maildir is not None and second.maildir.is_dir()


@pytest.mark.parametrize(
    ("name", "password"),
    [("a:b@example.org", "x"), ("", "x"), ("../etc", "x"), ("ok@example.org", "pass:word")],
)
def test_add_user_refuses_what_the_passwd_file_cannot_hold(
    dovecot_server: Dovecot, name: str, password: str
) -> None:
    with pytest.raises(ValueError):
        dovecot_server.add_user(name, password)


def test_user_names_are_case_insensitive(dovecot_server: Dovecot) -> None:
    account = dovecot_server.add_user("Mixed.Case@Example.org", "pw")
    account.append(make_raw("case"))
    lower = ImapAccount(
        host=account.host, port=account.port, user=account.user.lower(), password="pw"
    )
    assert lower.list_folder() == [make_raw("case")]
    with pytest.raises(ValueError):
        dovecot_server.add_user("mixed.case@example.org", "again")


def test_two_servers_at_once(dovecot_server: Dovecot, private_dovecot: Dovecot) -> None:
    assert dovecot_server.port != private_dovecot.port
    assert dovecot_server.root != private_dovecot.root
    private_dovecot.append(make_raw("only here"))
    assert private_dovecot.list_folder() == [make_raw("only here")]
    assert make_raw("only here") not in dovecot_server.list_folder()


def test_restart_keeps_port_folders_and_mail(private_dovecot: Dovecot) -> None:
    port, pid = private_dovecot.port, private_dovecot.pid
    private_dovecot.create_folder("Processed")
    private_dovecot.append_many([make_raw("one"), make_raw("two")])
    private_dovecot.append(make_raw("done"), "Processed")

    private_dovecot.stop()
    assert not private_dovecot.is_running
    assert pid is not None and not _process_exists(pid)
    with pytest.raises(OSError):
        socket.create_connection((private_dovecot.host, port), timeout=1).close()

    private_dovecot.start()
    assert private_dovecot.port == port
    assert private_dovecot.pid != pid
    assert private_dovecot.list_folder() == [make_raw("one"), make_raw("two")]
    assert private_dovecot.list_folder("Processed") == [make_raw("done")]
    assert private_dovecot.append(make_raw("three")) == 3  # UIDs go on


def test_close_stops_the_master_and_removes_the_directory() -> None:
    server = Dovecot()
    with server:
        pid = server.pid
        root = server.root
        assert root.is_dir()
        assert server.log_path.is_file()
    assert pid is not None and not _process_exists(pid)
    assert not root.exists()


def test_start_fails_clearly_when_the_port_is_taken() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        server = Dovecot(port=squatter.getsockname()[1])
        with pytest.raises(SandboxError, match="in use"), server:
            pass


def test_start_fails_clearly_when_dovecot_cannot_run() -> None:
    with pytest.raises(SandboxError, match="exited with status"), Dovecot(binary="/bin/false"):
        pass


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --------------------------------------------------------------------------- SMTP


def test_sink_captures_mail_without_auth(smtp_sink: SmtpSink) -> None:
    raw = make_raw("notification", "Your request REQ-1 is open.")
    send(smtp_sink, raw)
    (mail,) = smtp_sink.wait_for(1, timeout=5)
    assert mail.mail_from == "support@example.org"
    assert mail.rcpt_tos == ("client@example.org", "cc@example.org")
    assert mail.message["Subject"] == "notification"
    assert mail.message.get_content().strip() == "Your request REQ-1 is open."
    assert mail.data.replace(b"\r\n", b"\n") == raw.replace(b"\r\n", b"\n")
    assert mail.login is None

    smtp_sink.clear()
    assert smtp_sink.messages == []


def test_sink_with_auth_takes_the_right_credentials(smtp_sink_with_auth: SmtpSink) -> None:
    assert smtp_sink_with_auth.auth is not None
    user, password = smtp_sink_with_auth.auth
    send(smtp_sink_with_auth, make_raw("authenticated"), username=user, password=password)
    (mail,) = smtp_sink_with_auth.wait_for(1)
    assert mail.login == user


def test_sink_with_auth_refuses_mail_without_auth(smtp_sink_with_auth: SmtpSink) -> None:
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as refused:
        send(smtp_sink_with_auth, make_raw("anonymous"))
    assert refused.value.code == 530
    assert smtp_sink_with_auth.auth is not None
    user, _ = smtp_sink_with_auth.auth
    with pytest.raises(aiosmtplib.SMTPAuthenticationError) as wrong:
        send(smtp_sink_with_auth, make_raw("wrong"), username=user, password="nope")
    assert wrong.value.code == 535
    assert smtp_sink_with_auth.messages == []


def test_auth_login_mechanism(smtp_sink_with_auth: SmtpSink) -> None:
    assert smtp_sink_with_auth.auth is not None
    user, password = smtp_sink_with_auth.auth

    async def send_with_login() -> None:
        client = aiosmtplib.SMTP(
            hostname=smtp_sink_with_auth.host, port=smtp_sink_with_auth.port, start_tls=False
        )
        async with client:
            await client.ehlo()
            await client.auth_login(user, password)
            await client.sendmail("support@example.org", ["a@example.org"], make_raw("login"))

    asyncio.run(send_with_login())
    assert smtp_sink_with_auth.wait_for(1)[0].login == user


def test_temporary_failure_for_the_next_messages(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail(TEMPFAIL, count=2)
    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            send(smtp_sink, make_raw("retry me"))
        assert refused.value.code == 451
    send(smtp_sink, make_raw("retry me"))
    assert len(smtp_sink.wait_for(1)) == 1
    assert smtp_sink.rejected == 2


def test_permanent_failure_at_rcpt_until_recovered(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail("550 5.1.1 No such user", stage="rcpt")
    for _ in range(2):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            send(smtp_sink, make_raw("bounce"))
        assert {error.code for error in refused.value.recipients} == {550}
    assert smtp_sink.rejected == 4  # two recipients, twice
    smtp_sink.recover()
    send(smtp_sink, make_raw("fine now"))
    assert smtp_sink.wait_for(1)[0].message["Subject"] == "fine now"


def test_permanent_failure_at_data(smtp_sink: SmtpSink) -> None:
    smtp_sink.fail(PERMFAIL)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        send(smtp_sink, make_raw("rejected"))
    assert refused.value.code == 554
    assert smtp_sink.messages == []


@pytest.mark.parametrize("reply", ["250 OK", "451", "4xx later", "451 ok\r\nRSET"])
def test_fail_takes_only_a_refusal(smtp_sink: SmtpSink, reply: str) -> None:
    with pytest.raises(ValueError):
        smtp_sink.fail(reply)


def test_wait_for_times_out_with_the_count(smtp_sink: SmtpSink) -> None:
    with pytest.raises(TimeoutError, match="0 of 1"):
        smtp_sink.wait_for(1, timeout=0.05)


def test_sink_restarts_on_the_same_port(smtp_sink: SmtpSink) -> None:
    send(smtp_sink, make_raw("before"))
    port = smtp_sink.port
    smtp_sink.stop()
    with pytest.raises(aiosmtplib.SMTPConnectError):
        send(smtp_sink, make_raw("during outage"))
    smtp_sink.start()
    assert smtp_sink.port == port
    send(smtp_sink, make_raw("after"))
    assert [m.message["Subject"] for m in smtp_sink.wait_for(2)] == ["before", "after"]


def test_sink_stops_cleanly_with_a_client_still_connected() -> None:
    # Under filterwarnings = error, a leaked transport or loop would fail this test.
    sink = SmtpSink()
    sink.start()
    client = socket.create_connection((sink.host, sink.port), timeout=5)
    try:
        assert client.makefile("rb").readline().startswith(b"220 ")
        sink.stop()
    finally:
        client.close()
    with pytest.raises(OSError):
        socket.create_connection((sink.host, sink.port), timeout=1).close()


def test_two_sinks_at_once(smtp_sink: SmtpSink, smtp_sink_with_auth: SmtpSink) -> None:
    assert smtp_sink.port != smtp_sink_with_auth.port
    send(smtp_sink, make_raw("plain"))
    assert smtp_sink.wait_for(1)[0].message["Subject"] == "plain"
    assert smtp_sink_with_auth.messages == []


# --------------------------------------------------------------------------- CLI


def test_cli_serve_append_and_outbox(tmp_path: Path) -> None:
    eml = tmp_path / "in.eml"
    eml.write_bytes(make_raw("from the demo"))
    serve = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox", "serve", "--dir", str(tmp_path / "demo")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert serve.stdout is not None
        info = json.loads(serve.stdout.readline())
        assert info["host"] == "127.0.0.1"
        appended = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.sandbox",
                "append",
                "--host",
                info["host"],
                "--port",
                str(info["imap_port"]),
                "--user",
                info["user"],
                "--password",
                info["password"],
                str(eml),
            ],
            cwd=REPO,
            capture_output=True,
            check=True,
            timeout=30,
        )
        assert json.loads(appended.stdout) == {"folder": "INBOX", "uids": [1]}
        inbox = ImapAccount(
            host=info["host"], port=info["imap_port"], user=info["user"], password=info["password"]
        )
        assert inbox.list_folder() == [make_raw("from the demo")]

        send(SimpleNamespace(host=info["host"], port=info["smtp_port"]), make_raw("outgoing"))
        written = Path(info["outbox"]) / "0001.eml"
        deadline = time.monotonic() + 5
        while not written.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert b"Subject: outgoing" in written.read_bytes()
    finally:
        serve.send_signal(signal.SIGTERM)
        # communicate() returns only when every holder of the pipes is gone:
        # Dovecot must not have inherited them.
        _, stderr = serve.communicate(timeout=20)
    assert serve.returncode == 0, stderr
    assert not Path(info["maildir"]).exists()
