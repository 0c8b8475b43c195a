"""`python -m mailgate`: the `mailgate` command."""

import sys

from mailgate.cli import main

if __name__ == "__main__":  # not when a tool imports every module of the package
    sys.exit(main())
