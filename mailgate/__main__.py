"""`python -m mailgate`: the `mailgate` command."""

import sys

from mailgate.cli import main

sys.exit(main())
