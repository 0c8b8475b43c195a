"""mailgate: a support mailbox that runs a ticket workflow by e-mail."""

__version__ = "0.1.0"
