"""OAuth2 log-ins (`token_command`, XOAUTH2) against real servers: Dovecot's oauth2
passdb and the SMTP sink, both asking one token-introspection endpoint on loopback
(`tests.sandbox.TokenEndpoint`, the `token_endpoint` fixture) whether a token
is active.

The endpoint takes each token once (`single_use`), so a test that logs in more
than once passes only if `token_command` runs anew for every connection, as it
must against Gmail or Microsoft 365, whose access tokens expire within an hour.
"""

from __future__ import annotations

import base64
import imaplib
import re
from pathlib import Path

import pytest

from tests.harness import Gate, run_cli, write_config
from tests.mails import make_mail
from tests.sandbox import Dovecot, ImapAccount, SmtpSink, TokenEndpoint, token_is_active

SUPPORT = "support@example.org"
NOW = "2026-11-26T10:00:00+03:00"
TOKENS = 30  # tok-1 .. tok-30 granted; the command prints the next one at every call


_users = iter(range(1, 1000))


@pytest.fixture
def account(oauth2_dovecot_server) -> ImapAccount:
    """A user of its own; its password is for the test's own APPENDs only."""
    number = next(_users)
    return oauth2_dovecot_server.add_user(f"oauth{number}@example.org", f"unused-{number}")


def rotating_tokens(tmp_path: Path, token_endpoint: TokenEndpoint, user: str) -> str:
    """A token_command printing tok-1, tok-2, ... (a counter file), each granted to `user`."""
    prefix = f"{user.split('@')[0]}-tok"
    for n in range(1, TOKENS + 1):
        token_endpoint.grant(f"{prefix}-{n}", user)
    counter = tmp_path / "counter"
    return (
        f"n=$(cat {counter} 2>/dev/null || echo 0); n=$((n+1)); "
        f"echo $n > {counter}; echo {prefix}-$n"
    )


def oauth_config(
    tmp_path: Path, account: ImapAccount, sink: SmtpSink, command: str, *, smtp_user: str = ""
) -> Path:
    """A config whose [imap] and [smtp] log in with `command`'s token (XOAUTH2)."""
    path = tmp_path / "mailgate.toml"
    write_config(path, imap=account, smtp=sink, database_url=f"sqlite:///{tmp_path / 'm.db'}")
    text = path.read_text()
    token = f"token_command = {_toml(command)}"
    text = text.replace(f'password = "{account.password}"', token)
    smtp_user = smtp_user or account.user
    text = text.replace("[smtp]\n", f'[smtp]\nusername = "{smtp_user}"\n{token}\n')
    assert "password" not in text
    path.write_text(text)
    assert run_cli(path, "init").returncode == 0  # runs no token command: it never logs in
    return path


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_the_endpoint_and_dovecot_refuse_what_they_should(token_endpoint, account):
    """The fixtures themselves: a granted token logs in to Dovecot once, a token of
    another user or one already used does not, and a password still works."""
    token_endpoint.grant("fixture-1", account.user)
    token_endpoint.grant("fixture-2", "someone@example.org")

    def xoauth2(token: str) -> str:
        client = imaplib.IMAP4(account.host, account.port)
        blob = f"user={account.user}\x01auth=Bearer {token}\x01\x01".encode()
        try:
            return client.authenticate("XOAUTH2", lambda _: blob)[0]
        except imaplib.IMAP4.error:
            return "NO"
        finally:
            client.shutdown()

    assert [xoauth2("fixture-1"), xoauth2("fixture-1"), xoauth2("fixture-2")] == ["OK", "NO", "NO"]
    assert token_endpoint.asked[-3:] == ["fixture-1", "fixture-1", "fixture-2"]
    with account.connect():  # the passwd-file passdb is still there for passwords
        pass
    token_endpoint.grant("fixture-3", account.user)
    assert token_is_active(token_endpoint.url, account.user, "fixture-3")
    assert not token_is_active(token_endpoint.url, account.user, "fixture-3")


def test_run_once_logs_in_with_fresh_tokens_and_applies_mail(
    tmp_path, token_endpoint, account, oauth2_sink
):
    command = rotating_tokens(tmp_path, token_endpoint, account.user)
    config = oauth_config(tmp_path, account, oauth2_sink, command)
    gate = Gate(config=config, imap=account, smtp=oauth2_sink, database_url="")
    gate.read("init")
    mails = [
        make_mail(sender=f"c{n}@corp.example", subject=f"Printer {n}", body="It jams.",
                  message_id=f"oa{n}@corp")
        for n in range(2)
    ]  # fmt: skip
    account.append_many(mails)
    asked_before = len(token_endpoint.asked)
    result = gate.run_once(NOW)
    assert result.returncode == 0, result.stderr
    assert "fetched 2, applied 2" in result.stdout
    assert len(account.list_folder("Processed")) == 2 and account.list_folder("INBOX") == []
    sent = oauth2_sink.messages
    assert len(sent) == 4  # two acknowledgements, two notices to the team
    assert {mail.login for mail in sent} == {account.user}
    asked = token_endpoint.asked[asked_before:]
    # IMAP once, SMTP at least once: every log-in a token of its own, each accepted.
    assert len(asked) >= 2 and len(set(asked)) == len(asked)
    assert int((tmp_path / "counter").read_text()) == len(asked)


def test_check_logs_in_three_times_with_three_tokens(
    tmp_path, token_endpoint, account, oauth2_sink
):
    """`check --send-test` logs in to IMAP, to SMTP, to SMTP again to send, then to SMTP
    to send the support+ probe and to IMAP to look for it: a token reused from an
    earlier connection would be refused by the single-use token_endpoint."""
    command = rotating_tokens(tmp_path, token_endpoint, account.user)
    config = oauth_config(tmp_path, account, oauth2_sink, command)
    asked_before = len(token_endpoint.asked)
    result = run_cli(config, "check", "--send-test", "admin@example.com", "--probe-wait", "0")
    assert result.returncode == 0, result.stderr
    assert f"imap: login ok as {account.user} (XOAUTH2)" in result.stdout
    assert f"smtp: login ok as {account.user} (XOAUTH2)" in result.stdout
    prefix = account.user.split("@")[0]
    assert token_endpoint.asked[asked_before:] == [f"{prefix}-tok-{n}" for n in range(1, 6)]
    [test_mail] = [m for m in oauth2_sink.messages if m.rcpt_tos == ("admin@example.com",)]
    assert test_mail.login == account.user and test_mail.rcpt_tos == ("admin@example.com",)


def test_a_refused_imap_token_is_named(tmp_path, token_endpoint, account, oauth2_sink):
    config = oauth_config(tmp_path, account, oauth2_sink, "echo expired-token")
    result = run_cli(config, "check")
    assert result.returncode == 14
    errors = [line for line in result.stderr.splitlines() if line.startswith("mailgate:")]
    assert errors == [
        f"mailgate: imap: login failed: IMAP refused the XOAUTH2 token for {account.user} "
        "(expired, or without the mail scope? see what token_command prints)"
    ]
    assert "expired-token" not in result.stdout + result.stderr
    assert "expired-token" in token_endpoint.asked  # Dovecot did ask, and was told no


def test_a_refused_smtp_token_is_named(tmp_path, token_endpoint, account, oauth2_sink):
    """IMAP takes the token; the SMTP sink refuses it for another user name."""
    command = rotating_tokens(tmp_path, token_endpoint, account.user)
    config = oauth_config(tmp_path, account, oauth2_sink, command, smtp_user="other@example.org")
    result = run_cli(config, "check")
    assert result.returncode == 24, result.stderr
    assert f"imap: login ok as {account.user} (XOAUTH2)" in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("mailgate:")]
    assert errors == [
        "mailgate: smtp: login failed: SMTP refused the XOAUTH2 token for other@example.org "
        "(expired, or without the mail scope? see what token_command prints)"
    ]
    assert not re.search(r"tok-\d", result.stdout + result.stderr)


def test_the_sink_sends_the_xoauth2_error_challenge(token_endpoint, oauth2_sink):
    """What Gmail does on a bad token: a 334 with base64 JSON, then 535 after the empty line."""
    import smtplib

    with smtplib.SMTP(oauth2_sink.host, oauth2_sink.port, timeout=10) as client:
        client.ehlo()
        assert client.esmtp_features["auth"].split() == ["XOAUTH2"]
        blob = base64.b64encode(b"user=x@example.org\x01auth=Bearer nope\x01\x01").decode()
        code, challenge = client.docmd("AUTH", f"XOAUTH2 {blob}")
        assert code == 334 and b'"status": "401"' in base64.b64decode(challenge)
        code, _ = client.docmd("")
        assert code == 535
        code, _ = client.docmd("MAIL", "FROM:<x@example.org>")
        assert code == 530


@pytest.mark.parametrize(("mode", "suffix"), [("get", "?token="), ("auth", "")])
def test_dovecot_s_other_introspection_modes(tmp_path, token_endpoint, oauth2_sink, mode, suffix):
    """`get`: a GET of the URL with the token appended; `auth`: a GET with the token
    as the Bearer of its Authorization header."""
    with Dovecot(oauth2_url=token_endpoint.url + suffix, oauth2_mode=mode) as server:
        account = server.add_user(f"{mode}mode@example.org", "unused")
        command = rotating_tokens(tmp_path, token_endpoint, account.user)
        config = oauth_config(tmp_path, account, oauth2_sink, command)
        result = run_cli(config, "check")
    assert result.returncode == 0, result.stderr
    assert f"imap: login ok as {mode}mode@example.org (XOAUTH2)" in result.stdout
    assert token_endpoint.asked[-2:] == [f"{mode}mode-tok-1", f"{mode}mode-tok-2"]


def test_a_token_command_that_fails_is_a_configuration_error(tmp_path, account, oauth2_sink):
    config = oauth_config(tmp_path, account, oauth2_sink, "echo nothing here >&2; exit 3")
    result = run_cli(config, "check")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "mailgate: config error: imap.token_command: command exited 3 without printing a token"
    )
