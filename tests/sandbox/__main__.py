"""``python -m tests.sandbox serve|append ...``, from the checkout: see `tests.sandbox.cli`."""

import sys

from tests.sandbox.cli import main

sys.exit(main())
