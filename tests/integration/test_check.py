"""`mailgate check` against the real Dovecot and SMTP sink: one line per step, the
failing step named with its fix and its own exit status, never a secret; and
`--send-test` arriving at the sink. Run in-process (`run_cli`): it is the same code."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import run_cli, write_config
from tests.sandbox import find_free_port

TO = "admin@example.com"


class Config:
    """A config on the test's servers, with keys of [imap] or [smtp] set by the test."""

    def __init__(self, tmp_path: Path, imap, smtp, **top) -> None:
        self.path = tmp_path / "mailgate.toml"
        self.database = tmp_path / "mailgate.sqlite3"
        write_config(self.path, imap=imap, smtp=smtp, database_url=f"sqlite:///{self.database}",
                     **top)  # fmt: skip
        assert run_cli(self.path, "init").returncode == 0  # check reports the database too

    def set(self, table: str, **values: object) -> Config:
        """Replace (or add) keys in one table: TOML allows no key twice."""
        lines, current = self.path.read_text().splitlines(), ""
        for key, value in values.items():
            rendered = f'{key} = "{value}"' if isinstance(value, str) else f"{key} = {value}"
            start = lines.index(f"[{table}]")
            end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("[")),
                       len(lines))  # fmt: skip
            current = next((i for i in range(start, end) if lines[i].startswith(f"{key} =")), None)
            if current is None:
                lines.insert(start + 1, rendered)
            else:
                lines[current] = rendered
        self.path.write_text("\n".join(lines) + "\n")
        return self

    def check(self, *args: str):
        return run_cli(self.path, "check", *args)


def failure(result) -> str:
    """The one line of mailgate's on stderr: the step that failed (the sink runs in this
    process, and logs there what it makes of a TLS hello)."""
    lines = [line for line in result.stderr.splitlines() if line.startswith("mailgate:")]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def config(tmp_path, dovecot, smtp_sink) -> Config:
    return Config(tmp_path, dovecot, smtp_sink)


@pytest.fixture
def self_signed_tls(tmp_path) -> Iterator[tuple[int, Path]]:
    """A port on 127.0.0.1 that speaks TLS with a self-signed certificate, and nothing else
    (enough for the handshake `check` tries before any IMAP or SMTP); and the certificate."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was closed: the test is over
                return
            with connection, contextlib.suppress(ssl.SSLError, OSError):  # our certificate refused
                context.wrap_socket(connection, server_side=True).close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1], cert
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept(); close() alone would not
    listener.close()
    thread.join(timeout=5)


# -- success --------------------------------------------------------------------------


def test_every_step_passes_one_line_each(config, dovecot):
    dovecot.append(b"Subject: waiting\r\nFrom: a@example.com\r\n\r\nhello\r\n")
    result = config.check()
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    steps = [line.split(",")[0].split(" (")[0] for line in result.stdout.splitlines()]
    assert steps == ["config: ok", "database: ok",
                     "imap: dns ok", "imap: tcp ok", "imap: tls off", "imap: login ok as "
                     f"{dovecot.user}", "imap: folders ok",
                     "smtp: dns ok", "smtp: tcp ok", "smtp: tls off",
                     "smtp: login not asked for"]  # fmt: skip
    assert "INBOX has 1 waiting" in result.stdout


def test_smtp_login_with_a_password(tmp_path, dovecot, smtp_sink_with_auth):
    user, password = smtp_sink_with_auth.auth
    config = Config(tmp_path, dovecot, smtp_sink_with_auth).set("smtp", username=user,
                                                                password=password)  # fmt: skip
    result = config.check()
    assert result.returncode == 0, result.stderr
    assert f"smtp: login ok as {user} (password)" in result.stdout.splitlines()


# -- each failure: its line and its status --------------------------------------------


def test_a_name_that_does_not_resolve(config):
    result = config.set("imap", host="mail.example.invalid", security="tls").check()
    assert result.returncode == 11
    assert failure(result) == (
        "mailgate: imap: dns failed: cannot resolve 'mail.example.invalid' "
        "(Name or service not known): is [imap] host right?"
    )


def test_a_wrong_port_is_refused(config):
    port = find_free_port()
    result = config.set("imap", port=port).check()
    assert result.returncode == 12
    assert failure(result) == f"mailgate: imap: tcp 127.0.0.1:{port} refused: is the port right?"
    assert "imap: dns ok" in result.stdout


def test_smtp_down_is_refused_after_imap_passed(config, smtp_sink):
    smtp_sink.stop()
    result = config.check()
    assert result.returncode == 22
    assert failure(result) == (
        f"mailgate: smtp: tcp 127.0.0.1:{smtp_sink.port} refused: is the port right?"
    )
    assert "imap: folders ok" in result.stdout


@pytest.mark.parametrize(("table", "code", "usual"), [("imap", 13, 993), ("smtp", 23, 465)])
def test_tls_to_a_plain_port(config, dovecot, smtp_sink, table, code, usual):
    port = dovecot.port if table == "imap" else smtp_sink.port
    result = config.set(table, security="tls").check()
    assert result.returncode == code
    assert failure(result) == (
        f"mailgate: {table}: tls 127.0.0.1:{port}: the server answers in plain text, not TLS: "
        f'is this the port for security = "starttls"? (TLS is usually on port {usual})'
    )


def test_starttls_where_the_server_offers_none(config, dovecot):
    result = config.set("imap", security="starttls").check()
    assert result.returncode == 13
    assert "the server offers no STARTTLS here" in failure(result)


def test_a_self_signed_certificate_is_named(config, self_signed_tls):
    port, _ = self_signed_tls
    result = config.set("imap", port=port, security="tls").check()
    assert result.returncode == 13
    assert failure(result) == (
        f"mailgate: imap: tls 127.0.0.1:{port} certificate verify failed: "
        "self-signed certificate: add its CA to this machine's trust store (or SSL_CERT_FILE)"
    )


def test_a_trusted_certificate_passes_tls(config, self_signed_tls, monkeypatch):
    port, cert = self_signed_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    result = config.set("imap", port=port, security="tls").check()
    assert "imap: tls ok, TLSv1.3, certificate valid until " in result.stdout
    assert result.returncode == 14  # this server speaks no IMAP after the handshake
    assert failure(result).startswith("mailgate: imap: login failed, the session broke: ")


def test_a_wrong_imap_password(config, dovecot):
    result = config.set("imap", password="wrong-imap-password").check()
    assert result.returncode == 14
    assert failure(result) == f"mailgate: imap: login failed for {dovecot.user} (wrong password?)"
    assert "wrong-imap-password" not in result.stdout + result.stderr


def test_a_wrong_smtp_password(tmp_path, dovecot, smtp_sink_with_auth):
    user, _ = smtp_sink_with_auth.auth
    config = Config(tmp_path, dovecot, smtp_sink_with_auth)
    result = config.set("smtp", username=user, password="wrong-smtp-password").check()
    assert result.returncode == 24
    assert failure(result) == f"mailgate: smtp: login failed for {user} (wrong password?)"
    assert "imap: folders ok" in result.stdout
    assert "wrong-smtp-password" not in result.stdout + result.stderr


def test_a_missing_folder_lists_the_folders_there_are(config, dovecot):
    dovecot.create_folder("Support")
    result = config.set("imap", folder="Suport").check()
    assert result.returncode == 15
    assert failure(result) == (
        "mailgate: imap: folders failed: 'Suport' cannot be selected: is [imap] folder right? "
        "the account has: Failed, INBOX, Junk, Processed, Support"
    )
    assert f"imap: login ok as {dovecot.user} (password)" in result.stdout


# -- several mailboxes ----------------------------------------------------------------


def test_each_mailbox_is_checked_apart(tmp_path, dovecot, dovecot_server, smtp_sink):
    other = dovecot_server.add_user("sales@example.org", "sales-secret")
    config = Config(tmp_path, dovecot, smtp_sink)
    config.path.write_text(
        config.path.read_text()
        + '[[mailbox]]\nname = "support"\n'
        + '[[mailbox]]\nname = "sales"\nsupport_address = "sales@example.org"\ntag_prefix = "SAL"\n'
        + f'[mailbox.imap]\nusername = "{other.user}"\npassword = "not-the-sales-password"\n'
    )
    result = config.check()
    assert result.returncode == 14
    assert "mailbox support: smtp: login not asked for" in result.stdout
    assert failure(result) == (
        f"mailgate: mailbox sales: imap: login failed for {other.user} (wrong password?)"
    )


# -- --send-test ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "subject", "words"),
    [("en", "Test notification from mailgate check", "this is a test from mailgate check"),
     ("ru", "Тестовое уведомление от mailgate check", "это проверка от mailgate check")],
)  # fmt: skip
def test_send_test_arrives(tmp_path, dovecot, smtp_sink, language, subject, words):
    config = Config(tmp_path, dovecot, smtp_sink, language=language)
    result = config.check("--send-test", TO, "--probe-wait", "0")
    assert result.returncode == 0, result.stderr
    [sent] = [mail for mail in smtp_sink.wait_for(2) if mail.rcpt_tos == (TO,)]
    message = sent.message
    # As the worker sends: from a return path at [smtp] from_address (docs/trust.md).
    assert sent.mail_from == "support+b.check@example.org" and sent.rcpt_tos == (TO,)
    assert message["From"] == "Support <support@example.org>"
    assert message["To"] == TO
    assert message["Subject"] == subject
    assert message["Auto-Submitted"] == "auto-generated"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert words in text and "mailgate check" in html
    assert f"smtp: send ok, test notification {message['Message-ID']} to {TO}" in result.stdout
    outbox = json.loads(run_cli(config.path, "status", "--json").stdout)["outbox"]
    assert outbox["pending"] == outbox["sent"] == 0  # the test mail is no notification


def test_send_test_probe_reaches_the_mailbox_through_plus_addressing(
    tmp_path, dovecot, smtp_sink
):
    """The sink delivers mail for support+anything@ into the mailbox, as an MTA with
    plus addressing does; the probe is found there, and removed."""

    def deliver_plus_addresses(mail) -> None:
        if any(r.startswith("support+") and r.endswith("@example.org") for r in mail.rcpt_tos):
            dovecot.append(mail.data)

    smtp_sink._on_message = deliver_plus_addresses
    config = Config(tmp_path, dovecot, smtp_sink)
    result = config.check("--send-test", TO, "--probe-wait", "20")
    assert result.returncode == 0, result.stderr
    [probe] = [mail for mail in smtp_sink.messages if mail.rcpt_tos != (TO,)]
    [address] = probe.rcpt_tos
    assert address.startswith("support+check.") and address.endswith("@example.org")
    assert f"imap: plus addressing ok, a mail to {address} reached INBOX" in result.stdout
    assert dovecot.list_folder("INBOX") == []  # removed: the worker never sees it


def test_send_test_says_when_the_probe_does_not_arrive(config, smtp_sink):
    result = config.check("--send-test", TO, "--probe-wait", "1")
    assert result.returncode == 0, result.stderr  # a report, not a failed step
    assert "did not reach INBOX within 1 s" in result.stderr
    assert "agents must pass DMARC" in result.stderr


def test_check_warns_that_agents_from_trusts_the_from_address(tmp_path, dovecot, smtp_sink):
    config = Config(tmp_path, dovecot, smtp_sink, trust={"agents": "from"})
    result = config.check()
    assert result.returncode == 0, result.stderr
    assert 'warning: [trust] agents = "from": anyone who writes From an agent address' in (
        result.stderr
    )
    assert "warning" not in Config(tmp_path, dovecot, smtp_sink).check().stderr


def test_send_test_refused(config, smtp_sink):
    smtp_sink.fail("550 5.1.1 no such user", stage="rcpt")
    result = config.check("--send-test", TO)
    assert result.returncode == 26
    assert failure(result) == (
        f"mailgate: smtp: send refused the recipient {TO}: 550 5.1.1 no such user"
    )
    assert smtp_sink.messages == []


def test_send_test_wants_an_address(config):
    with pytest.raises(SystemExit) as exit_info:
        config.check("--send-test", "nobody")
    assert exit_info.value.code == 64  # a usage error
