"""pytest fixtures: a real Dovecot and a real SMTP sink on loopback.

``tests/conftest.py`` loads this module as a plugin (``pytest_plugins =
["tests.servers"]``), so every test can ask for these fixtures by name. A test
module run without that conftest may declare ``pytest_plugins =
["tests.servers"]`` itself. Do not ``from tests.servers import dovecot`` into a
test module: ruff reports every test argument of that name as F811, and a
module imported before pytest registers it cannot have its asserts rewritten
(PytestAssertRewriteWarning, an error under ``filterwarnings = error``).

Fixtures and why they are scoped as they are (measured with Debian 12's
Dovecot 2.3.19 on this machine):

- Dovecot starts in about 35 ms but needs about 1.1 s to stop: its master
  pauses a fixed second to drain its log process. A server per test would
  cost that second every test, so there is one server per session,
  `dovecot_server` (a `Dovecot`), and `dovecot` gives each test a fresh user
  with an empty Maildir on it (an `ImapAccount`: host, port, user, password,
  maildir, append, append_many, list_folder, folder_names, create_folder).
  Tests stay isolated because no two share a mailbox.
- `private_dovecot` is a `Dovecot` of the test's own, for tests that stop,
  restart or break the server (about 1.2 s each).
- `smtp_sink` and `smtp_sink_with_auth` are function-scoped `SmtpSink`s: start
  and stop take about 10 ms, so every test gets a fresh one with no messages
  and no failure mode left over. `smtp_sink_with_auth.auth` holds the
  (user, password) it wants.
- OAuth2: `token_endpoint`, one `TokenEndpoint` per session whose tokens are
  single-use; `oauth2_dovecot_server`, a session Dovecot that checks XOAUTH2
  tokens there (started only by the tests that ask for it); `oauth2_sink`, a
  function-scoped `SmtpSink` that offers AUTH XOAUTH2 against the same endpoint.

Every server is stopped in the fixture's teardown, also when the test fails.
The Dovecot directories are made with `tempfile` under TMPDIR (``/tmp``), not
under pytest's ``tmp_path``: the mail is owned by ``nobody``, who cannot
enter pytest's private (0700) base directory.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from tests.sandbox import Dovecot, ImapAccount, SmtpSink, TokenEndpoint

__all__ = [
    "SMTP_PASSWORD",
    "SMTP_USER",
    "dovecot",
    "dovecot_server",
    "oauth2_dovecot_server",
    "oauth2_sink",
    "private_dovecot",
    "smtp_sink",
    "smtp_sink_with_auth",
    "token_endpoint",
]

SMTP_USER = "mailgate@example.org"
SMTP_PASSWORD = "smtp-secret"

_account_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot for the whole session; tests get their own users on it."""
    with Dovecot() as server:
        yield server


@pytest.fixture
def dovecot(dovecot_server: Dovecot) -> ImapAccount:
    """A fresh IMAP user with an empty INBOX on the session's Dovecot."""
    if not dovecot_server.is_running:  # a test stopped the shared server; bring it back
        dovecot_server.start()
    number = next(_account_numbers)
    return dovecot_server.add_user(f"user{number}@example.org", f"secret-{number}")


@pytest.fixture
def private_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own, free to be stopped and restarted."""
    with Dovecot() as server:
        yield server


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    """An SMTP sink that takes mail without AUTH."""
    with SmtpSink() as sink:
        yield sink


@pytest.fixture
def smtp_sink_with_auth() -> Iterator[SmtpSink]:
    """An SMTP sink that wants AUTH PLAIN/LOGIN as (SMTP_USER, SMTP_PASSWORD)."""
    with SmtpSink(auth=(SMTP_USER, SMTP_PASSWORD)) as sink:
        yield sink


@pytest.fixture(scope="session")
def token_endpoint() -> Iterator[TokenEndpoint]:
    """A token-introspection endpoint on which each granted token works once."""
    with TokenEndpoint(single_use=True) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def oauth2_dovecot_server(token_endpoint: TokenEndpoint) -> Iterator[Dovecot]:
    """A Dovecot taking XOAUTH2 and OAUTHBEARER, each token checked at `token_endpoint`."""
    with Dovecot(oauth2_url=token_endpoint.url, oauth2_mode="post") as server:
        yield server


@pytest.fixture
def oauth2_sink(token_endpoint: TokenEndpoint) -> Iterator[SmtpSink]:
    """An SMTP sink that wants AUTH XOAUTH2 with a token `token_endpoint` accepts."""
    with SmtpSink(oauth2_url=token_endpoint.url) as sink:
        yield sink
