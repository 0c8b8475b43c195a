"""mailgate: a support mailbox that runs a ticket workflow by e-mail."""

__version__ = "0.1.0"  # the one place: pyproject.toml reads the package's version from here
