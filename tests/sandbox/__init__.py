"""Real mail servers on loopback, for the tests, the benchmarks and the demo.

They are test code, never part of the wheel: import them from the checkout
(``from tests.sandbox import Dovecot``; a subprocess runs with the checkout as
its working directory or on its PYTHONPATH). Each server binds 127.0.0.1 on a
free high port, several instances side by side:

- `Dovecot` (`tests.sandbox.dovecot`): a private Dovecot IMAP server
  (``dovecot -F -c FILE``) in one temporary directory; it can be stopped and
  started again on the same port and Maildir, to play an outage.
- `SmtpSink` (`tests.sandbox.smtp_sink`): an aiosmtpd server in a thread that
  keeps every message it receives, can require AUTH, and can be told at run
  time to answer 4xx or 5xx (`TEMPFAIL`, `PERMFAIL`) to RCPT or DATA.
- `TokenEndpoint` (`tests.sandbox.oauth2`): an OAuth2 token-introspection
  endpoint (RFC 7662) that Dovecot and the sink check XOAUTH2 log-ins against.

`ImapAccount` (`tests.sandbox.imap_account`) is one user's view of an IMAP
server with the helpers tests use to drop mail in and read it back;
`tests.sandbox.ports` has `find_free_port`, `LOOPBACK` and `SandboxError`.
`python -m tests.sandbox` is the command line (`tests.sandbox.cli`), and
`python -m tests.sandbox.demo` the demo that `./demo.sh` runs.

aiosmtpd is a test dependency; it is imported only when an `SmtpSink` starts.
"""

from tests.sandbox.dovecot import DEFAULT_PASSWORD, DEFAULT_USER, Dovecot
from tests.sandbox.imap_account import ImapAccount
from tests.sandbox.oauth2 import TokenEndpoint, token_is_active
from tests.sandbox.ports import LOOPBACK, SandboxError, find_free_port
from tests.sandbox.smtp_sink import PERMFAIL, TEMPFAIL, CapturedMail, SmtpSink

__all__ = [
    "DEFAULT_PASSWORD",
    "DEFAULT_USER",
    "LOOPBACK",
    "PERMFAIL",
    "TEMPFAIL",
    "CapturedMail",
    "Dovecot",
    "ImapAccount",
    "SandboxError",
    "SmtpSink",
    "TokenEndpoint",
    "find_free_port",
    "token_is_active",
]
