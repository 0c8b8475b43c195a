"""The exit statuses of every `mailgate` command, in one place.

`check` adds its own step codes (11-15 IMAP, 21-26 SMTP: mailgate/commands/check.py).
A service manager can tell them apart: 2 and 6 need an admin, 3 passes by itself.
"""

from __future__ import annotations

OK = 0
FAILED = 1  # the command could not do what was asked (the line says why)
CONFIG = 2  # bad configuration: the line names the key and the fix
TRANSPORT = 3  # a mail server is down or refused the log-in
NOT_FOUND = 4  # no such request, message or notification
REFUSED = 5  # the rules of mail refuse it (not an agent, the request is closed)
DATABASE = 6  # the database is unreachable, not initialised, or its schema is not this version's
USAGE = 64  # the command line is wrong (EX_USAGE of sysexits.h)

MEANINGS = {
    OK: "done",
    FAILED: "could not do it (the line says why)",
    CONFIG: "bad configuration (the line names the key)",
    TRANSPORT: "a mail server is down or refused the log-in",
    NOT_FOUND: "no such request, message or notification",
    REFUSED: "refused by the rules of mail (not an agent, request closed)",
    DATABASE: "database unreachable, not initialised, or its schema not this version's",
    USAGE: "usage error on the command line",
}
