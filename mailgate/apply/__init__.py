"""The unit of work: the one path from mail, the clock or an admin's command to the
database.

    worker --> Unit.apply (batch.py): read, parse --> locate --> decide --> write
                                                         --> plan, render (deliver.py) --> queue
           --> run_timers (timers.py)       admin commands --> act (admin.py)

Parsing and deciding are pure (mailgate/parse, mailgate/decide); the writer
(mailgate/store/writer.py) writes what it is handed: the decision's effects,
then the rendered mail. Each mailbox's rules and renderer come from the
`Install` (install.py).
"""

from mailgate.apply.admin import Acted, Merged, act, act_merge
from mailgate.apply.batch import APPLY_ATTEMPTS, APPLY_BATCH, Outcome, OutcomeState, Stored, Unit
from mailgate.apply.install import Install, Mailbox
from mailgate.apply.timers import run_timers

__all__ = [
    "APPLY_ATTEMPTS",
    "APPLY_BATCH",
    "Acted",
    "Install",
    "Mailbox",
    "Merged",
    "Outcome",
    "OutcomeState",
    "Stored",
    "Unit",
    "act",
    "act_merge",
    "run_timers",
]
