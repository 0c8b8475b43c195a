"""The install as applying sees it: its mailboxes, each with its rules and renderer.

One install serves one or more mailboxes (SPEC §12). A request is decided and
rendered with the services of its own mailbox; a name no longer configured
(a mailbox removed from the file) falls back to the primary one, the first
configured, which also takes over such a mailbox's leftover work.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from mailgate.decision import Rules
from mailgate.store.database import MailboxScope

if TYPE_CHECKING:
    from mailgate.config import Settings
    from mailgate.notify import Rendered


class Renders(Protocol):
    """What applying needs of a renderer (`notify.Renderer`, or `app.LazyRenderer`)."""

    def render(self, *args: Any, **kwargs: Any) -> Rendered: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class Mailbox:
    """One configured mailbox: the rules that decide its requests and the renderer
    of its notices (its templates, its From)."""

    rules: Rules
    renderer: Renders

    @property
    def settings(self) -> Settings:
        return self.rules.settings

    @property
    def name(self) -> str:
        return self.rules.settings.mailbox


@dataclass(frozen=True, slots=True)
class Install:
    """Every mailbox of one install, the primary (first configured) first."""

    mailboxes: tuple[Mailbox, ...]

    def __post_init__(self) -> None:
        if not self.mailboxes:
            raise ValueError("an install has at least one mailbox")

    def __iter__(self) -> Iterator[Mailbox]:
        return iter(self.mailboxes)

    @property
    def primary(self) -> Mailbox:
        return self.mailboxes[0]

    @property
    def several(self) -> bool:
        return len(self.mailboxes) > 1

    @property
    def settings(self) -> Settings:
        """The install-wide settings (database, limits, the reply-token secret): the
        top level of the file, which every mailbox shares."""
        return self.primary.settings

    @property
    def tag_prefixes(self) -> tuple[str, ...]:
        return tuple(m.settings.tag_prefix for m in self.mailboxes)

    def of(self, name: str) -> Mailbox:
        """The mailbox named `name`; the primary one for a name no longer configured."""
        return next((m for m in self.mailboxes if m.name == name), self.primary)

    def scope(self, name: str | None) -> MailboxScope | None:
        """The share of the work of mailbox `name` (None: all of it). The primary one
        also takes the work of mailboxes no longer configured."""
        if name is None or not self.several:
            return None
        names = tuple(m.name for m in self.mailboxes)
        primary = name == names[0]
        return MailboxScope(name, others=names[1:] if primary else (), first=primary)
