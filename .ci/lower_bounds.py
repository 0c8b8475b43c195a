"""Print pip constraints that pin every runtime dependency of pyproject.toml (and of
the `postgresql` extra) to its lower bound: `name>=1.2` becomes `name==1.2`.

.ci/compat installs mailgate with them, so a bound that no longer works (code
that uses something newer than it) fails CI instead of an admin's install.
"""

import re
import sys
import tomllib
from pathlib import Path

project = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
wanted = [*project["project"]["dependencies"],
          *project["project"]["optional-dependencies"]["postgresql"]]  # fmt: skip
for requirement in wanted:
    found = re.match(r"^\s*([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*[^>]*>=\s*([^,;\s]+)", requirement)
    if found is None:
        sys.exit(f"lower_bounds: {requirement!r} has no >= bound: give it one")
    print(f"{found.group(1)}=={found.group(2)}")
