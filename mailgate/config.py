"""Settings loaded from the TOML file: frozen, validated, secrets resolved.

Opens no connection. Every validation error names the key and the fix in one
line, and never contains a secret.
"""

from __future__ import annotations

import datetime as dt
import difflib
import ipaddress
import os
import re
import string
import subprocess
import tomllib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, overload
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailgate.domain import PRIORITIES, Status
from mailgate.errors import ConfigError

DEFAULT_MAILBOX = "default"  # the name of the one mailbox of a file without [[mailbox]]
SECURITY_MODES = ("tls", "starttls", "none")
CLOSED_REPLY_POLICIES = ("reject", "new_request")
LANGUAGES = ("en", "ru", "auto")
CREDENTIAL_KEYS = ("username", "password", "password_env", "password_file", "token_command")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAILBOX_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,31}"
MAILBOX_KEYS = frozenset(
    {"name", "imap", "smtp", "support_address", "support_name", "tag_prefix", "agents",
     "agent_notify", "escalation_notify", "language", "templates_dir", "agent_from",
     "client_priority"}
)  # fmt: skip
CLIENT_PRIORITY = ("ignore", "read")
DEFAULT_AGENT_FROM = "{agent} via {support}"
AGENT_FROM_FIELDS = ("agent", "support")
_DOMAIN = re.compile(r"^@[^@\s]+\.[^@\s]+$")


MASK = "***"


class Secret:
    """A password or token that never shows in repr, logs or errors. `source` is the
    key it came from and what `config show` may print of it: the name of an
    environment variable or a file, never a value."""

    __slots__ = ("_fetch", "source")

    def __init__(
        self, fetch: Callable[[], str], source: tuple[str, str] = ("password", MASK)
    ) -> None:
        self._fetch = fetch
        self.source = source

    def reveal(self) -> str:
        return self._fetch()

    def __repr__(self) -> str:
        return "Secret(***)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Credentials:
    username: str | None
    secret: Secret | None
    oauth2: bool = False  # the secret is an OAuth2 access token (XOAUTH2), not a password


@dataclass(frozen=True, slots=True, kw_only=True)
class ImapSettings:
    host: str
    port: int
    security: str
    credentials: Credentials
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    failed_folder: str = "Failed"
    spam_folder: str = "Junk"  # held spam goes here (SPEC §14): nothing is sent for it
    poll_interval: float = 60.0
    idle: bool = True
    timeout: float = 30.0
    batch_size: int = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpSettings:
    host: str
    port: int
    security: str
    credentials: Credentials
    from_address: str
    from_name: str
    timeout: float = 30.0
    connections: int = 8
    retry_seconds: float = 60.0  # the first retry after a temporary failure; it doubles


@dataclass(frozen=True, slots=True, kw_only=True)
class BusinessHoursSettings:
    timezone: str = "UTC"
    workdays: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays_country: str | None = None
    holidays: tuple[dt.date, ...] = ()
    extra_workdays: tuple[dt.date, ...] = ()
    day_start: str = "09:00"
    day_end: str = "18:00"


@dataclass(frozen=True, slots=True, kw_only=True)
class SlaSettings:
    first_response_hours: float | None = None
    resolution_hours: float | None = None
    business_hours: bool = True  # count working hours of [business_hours]; else wall-clock
    pausing_statuses: tuple[str, ...] = ("waiting_for_client",)
    # [sla.priority.NAME]: (first_response_hours, resolution_hours) of requests of that
    # priority, None for no target; a priority not named here has the targets above.
    by_priority: tuple[tuple[str, float | None, float | None], ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AttachmentSettings:
    """What a notification may carry of a message's files (SPEC §10)."""

    max_relay_bytes: int = 10 * 1024 * 1024  # the sum of the files attached to one notification
    blocked_extensions: tuple[str, ...] = ()  # lower-case, without the dot: never attached


AGENT_PROOFS = ("proof", "from")
# Keys that moved under [trust]: an old file gets an error naming the new key.
MOVED_TO_TRUST = {
    "require_authenticated_sender": "require_authenticated_sender",
    "authserv_id": "authserv_id",
    "reply_tokens": "reply_tokens",
    "reply_token_secret": "token_secret",
    "reply_token_secret_env": "token_secret_env",
    "reply_token_secret_file": "token_secret_file",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustSettings:
    """Whom mailgate believes, and how much a stranger can make it do (SPEC §14)."""

    # "proof": an agent's mail counts only with a proof (its reply token, or an
    # aligned DMARC/DKIM pass from our MX); "from": the From address alone.
    agents: str = "proof"
    authserv_id: str = ""  # of our own MX's Authentication-Results; "": none read
    require_authenticated_sender: bool = False  # every sender, clients too, must pass
    reply_tokens: bool = False  # clients' notices carry a per-participant Reply-To token
    # Signs the agents' and clients' reply tokens and VERP return paths; None: the
    # secret `mailgate init` generated and keeps in the database.
    token_secret: Secret | None = None
    max_cc_participants: int = 10  # CC addresses of a first message that become participants
    spam_headers: tuple[tuple[str, str], ...] = ()  # (header name, value prefix), lower case
    blocked_senders: tuple[str, ...] = ()  # addresses or @domains, lower case
    bounce_hold_days: int = 7  # how long a proven bounce silences an address


HOOK_EVENTS = (
    "request.created",
    "request.status_changed",
    "message.received",
    "escalation.accepted",
    "sla.breached",
    "delivery.failed",
)
HOOK_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}"
MAX_HOOK_TIMEOUT = 120.0
HOOK_KEYS = frozenset(
    {"name", "url", "command", "events", "secret", "secret_env", "secret_file", "timeout",
     "max_attempts", "pass_env"}
)  # fmt: skip
# The environment a command hook always gets (besides its `pass_env`): nothing else of
# the worker's, whose variables hold the mail servers' passwords.
COMMAND_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")


@dataclass(frozen=True, slots=True, kw_only=True)
class HookSettings:
    """One `[[hook]]` (SPEC §16): where the events it wants are sent, and how hard to try."""

    name: str
    url: str | None = None  # an HTTP POST of the JSON event; https, or http on loopback
    command: tuple[str, ...] = ()  # argv of a program given the JSON on stdin
    events: frozenset[str] = frozenset()
    secret: Secret | None = None  # signs the body (HMAC-SHA256); required for a url
    timeout: float = 10.0  # seconds for one call, connecting included; a command is killed
    max_attempts: int = 24  # then the call is failed (kept; `mailgate hooks retry`)
    pass_env: tuple[str, ...] = ()  # variables of the worker's environment a command also gets


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    database_url: str
    imap: ImapSettings
    smtp: SmtpSettings
    support_address: str
    support_name: str = "Support"
    agent_from: str = DEFAULT_AGENT_FROM  # the From name of a relayed agent answer (SPEC §13)
    tag_prefix: str = "REQ"
    agents: tuple[str, ...] = ()
    agent_notify: tuple[str, ...] = ()
    escalation_notify: tuple[str, ...] = ()
    closed_reply_policy: str = "reject"
    max_per_hour: int = 20
    auto_close_business_days: int = 3
    language: str = "en"
    client_priority: str = "ignore"  # "read": a first message's X-Priority / Importance counts
    trust: TrustSettings = field(default_factory=TrustSettings)
    max_new_requests_per_sender: int = 5  # acknowledgements to one sender an hour
    max_acknowledgements_per_hour: int = 300  # acknowledgements an hour, to everyone
    max_message_bytes: int = 25 * 1024 * 1024
    # The decoded text of all text parts of one message together (SPEC §14); the
    # same default as mailgate.parse.limits.DEFAULT_MAX_TEXT_BYTES (not imported:
    # reading the config must not load the parser).
    max_text_bytes: int = 2 * 1024 * 1024
    templates_dir: Path = field(default_factory=lambda: DEFAULT_TEMPLATES_DIR)
    business_hours: BusinessHoursSettings = field(default_factory=BusinessHoursSettings)
    sla: SlaSettings = field(default_factory=lambda: SlaSettings())
    metrics_listen: tuple[str, int] | None = None  # [metrics] listen: (host, port) of /metrics
    retention_days: int | None = None  # [retention]: days after a close; None keeps everything
    # SPEC §12: the mailbox these settings are for, the own addresses of the
    # install's other mailboxes, and (on the first mailbox only) those mailboxes.
    mailbox: str = DEFAULT_MAILBOX
    peer_addresses: frozenset[str] = frozenset()
    other_mailboxes: tuple[Settings, ...] = ()
    attachments: AttachmentSettings = field(default_factory=AttachmentSettings)
    hooks: tuple[HookSettings, ...] = ()  # install-wide: every mailbox's events

    @property
    def own_addresses(self) -> frozenset[str]:
        """Every address of the install: mail from any of them is never answered."""
        mine = {self.support_address, self.smtp.from_address, self.imap_address}
        return frozenset(mine) | self.peer_addresses

    @property
    def mailboxes(self) -> tuple[Settings, ...]:
        """Every mailbox of the install, this (the first) one first."""
        return (self, *self.other_mailboxes)

    @property
    def tag_prefixes(self) -> dict[str, str]:
        """Each mailbox's tag prefix, by mailbox name, this one first."""
        return {m.mailbox: m.tag_prefix for m in self.mailboxes}

    @property
    def imap_address(self) -> str:
        username = self.imap.credentials.username or ""
        return username.lower() if "@" in username else self.support_address

    def is_staff(self, address: str) -> bool:
        """Agents and the team addresses: exempt from the per-address rate limit."""
        return (
            self.is_agent(address)
            or address in self.agent_notify
            or address in self.escalation_notify
        )

    def is_agent(self, address: str) -> bool:
        address = address.lower()
        domain = "@" + address.rpartition("@")[2]
        return address in self.agents or domain in self.agents


def _shipped_templates() -> Path:
    """The wheel carries the templates inside the package (setup.py copies them
    there); a source checkout, installed editable or not, has them at the top."""
    package = Path(__file__).resolve().parent
    inside = package / "templates"
    return inside if inside.is_dir() else package.parent / "templates"


DEFAULT_TEMPLATES_DIR: Path = _shipped_templates()


def load_settings(path: str | os.PathLike[str]) -> Settings:
    """Read and validate a config file. Raises ConfigError naming the bad key."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8-sig"))  # -sig: a BOM is no error
    except FileNotFoundError:
        raise ConfigError("--config", f"file {path} not found; pass an existing file") from None
    except OSError as exc:
        raise ConfigError("--config", f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError("--config", f"{path} is not UTF-8 text (byte {exc.start} of it; "
                          "saved as UTF-16?): save it as UTF-8") from None  # fmt: skip
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("--config", f"{path} is not valid TOML: {exc}") from None
    return settings_from_mapping(data, base_dir=path.parent)


def settings_from_mapping(data: Mapping[str, Any], *, base_dir: Path) -> Settings:
    """The settings of the first mailbox, carrying the others (`Settings.mailboxes`).

    Without `[[mailbox]]` tables the file is one mailbox, `default` (SPEC §9).
    """
    tables = data.get("mailbox")
    if tables is None:
        return _mailbox_settings(data, base_dir=base_dir)
    if (
        not isinstance(tables, list)
        or not tables
        or not all(isinstance(t, Mapping) for t in tables)
    ):
        raise ConfigError("mailbox", "must be [[mailbox]] tables, one per support mailbox")
    # Hooks are the install's, read once: the first mailbox's settings carry them.
    shared = {key: value for key, value in data.items() if key not in ("mailbox", "hook")}
    built = [_one_of_several(table, shared, index, base_dir) for index, table in enumerate(tables)]
    _check_distinct(built)
    every = frozenset().union(*(m.own_addresses for m in built))
    built = [replace(m, peer_addresses=every - m.own_addresses) for m in built]
    return replace(built[0], other_mailboxes=tuple(built[1:]),
                   hooks=_hooks(data.get("hook"), base_dir))  # fmt: skip


def _one_of_several(
    table: Mapping[str, Any], shared: dict[str, Any], index: int, base_dir: Path
) -> Settings:
    """One `[[mailbox]]`: its keys over the top-level ones, sub-table by sub-table."""
    name = table.get("name")
    if not isinstance(name, str) or not re.fullmatch(MAILBOX_NAME, name):
        raise ConfigError(
            f"mailbox[{index}].name", f"give each mailbox a name of the form {MAILBOX_NAME}"
        )
    for key in table:
        if key not in MAILBOX_KEYS:
            raise ConfigError(
                f"mailbox.{name}.{key}",
                "not a mailbox key: set it at the top level, for every mailbox"
                + _did_you_mean(key, MAILBOX_KEYS, " (or did you mean `{}`?)"),
            )
    merged = {**shared, **{key: value for key, value in table.items() if key != "name"}}
    for sub in ("imap", "smtp"):
        inherited = dict(shared.get(sub) or {}) if isinstance(shared.get(sub), Mapping) else {}
        if sub == "smtp" and "support_address" in table:  # its own address is its From
            inherited.pop("from_address", None)
        if sub == "smtp" and "support_name" in table:
            inherited.pop("from_name", None)
        own = table.get(sub, {})
        if isinstance(own, Mapping) and (own or inherited):
            merged[sub] = {**inherited, **own}
    try:
        return replace(_mailbox_settings(merged, base_dir=base_dir), mailbox=name)
    except ConfigError as exc:
        if _given_at_top(exc.key, table, shared):
            raise
        raise ConfigError(f"mailbox.{name}.{exc.key}", exc.problem) from None


def _given_at_top(key: str, table: Mapping[str, Any], shared: Mapping[str, Any]) -> bool:
    """Whether the value of a bad key came from the top level, not the mailbox's table
    (a key given nowhere belongs to the mailbox: that is where it is missing)."""
    first, _, rest = key.partition(".")
    name = rest.split(".")[0] if rest else first
    mine = table.get(first) if rest else table
    theirs = shared.get(first) if rest else shared
    given_here = isinstance(mine, Mapping) and name in mine
    return not given_here and isinstance(theirs, Mapping) and name in theirs


def _check_distinct(mailboxes: list[Settings]) -> None:
    """Names and tag prefixes differ (a tag must name one mailbox); so do the folders read."""
    for index, mailbox in enumerate(mailboxes):
        for earlier in mailboxes[:index]:
            if earlier.mailbox == mailbox.mailbox:
                raise ConfigError(f"mailbox.{mailbox.mailbox}.name", "two mailboxes have this name")
            if earlier.tag_prefix.lower() == mailbox.tag_prefix.lower():
                raise ConfigError(
                    f"mailbox.{mailbox.mailbox}.tag_prefix",
                    f"{mailbox.tag_prefix!r} is also the tag prefix of mailbox "
                    f"{earlier.mailbox!r}; give each mailbox its own",
                )
            if _folder_read(earlier) == _folder_read(mailbox):
                raise ConfigError(
                    f"mailbox.{mailbox.mailbox}.imap",
                    f"reads the folder of mailbox {earlier.mailbox!r}; give it its own account",
                )


def _folder_read(settings: Settings) -> tuple[str, int, str | None, str]:
    imap = settings.imap
    return (imap.host.lower(), imap.port, imap.credentials.username, imap.folder)


def _mailbox_settings(data: Mapping[str, Any], *, base_dir: Path) -> Settings:
    top = _Table(data, "")
    database = top.table("database")
    imap = top.table("imap", required=True)
    smtp = top.table("smtp", required=True)
    hours = top.table("business_hours")
    sla = top.table("sla")
    support_address = top.address("support_address", required=True)
    settings = Settings(
        database_url=_database_url(database.string("url", "sqlite:///mailgate.sqlite3"), base_dir),
        imap=ImapSettings(
            host=imap.string("host", required=True),
            port=imap.port("port", 993),
            security=imap.choice("security", SECURITY_MODES, "tls"),
            credentials=_credentials(imap, base_dir, required=True),
            folder=imap.string("folder", "INBOX"),
            processed_folder=imap.string("processed_folder", "Processed"),
            failed_folder=imap.string("failed_folder", "Failed"),
            spam_folder=imap.string("spam_folder", "Junk"),
            poll_interval=imap.number("poll_interval", 60.0, minimum=1),
            idle=imap.boolean("idle", True),
            timeout=imap.number("timeout", 30.0, minimum=1),
            batch_size=int(imap.number("batch_size", 500, minimum=1)),
        ),
        smtp=SmtpSettings(
            host=smtp.string("host", required=True),
            port=smtp.port("port", 587),
            security=smtp.choice("security", SECURITY_MODES, "starttls"),
            credentials=_credentials(smtp, base_dir, required=False),
            from_address=smtp.address("from_address", support_address),
            from_name=smtp.string("from_name", top.string("support_name", "Support")),
            timeout=smtp.number("timeout", 30.0, minimum=1),
            connections=int(smtp.number("connections", 8, minimum=1)),
            retry_seconds=smtp.number("retry_seconds", 60.0, minimum=1),
        ),
        support_address=support_address,
        support_name=top.string("support_name", "Support"),
        agent_from=_agent_from(top),
        tag_prefix=top.pattern("tag_prefix", r"[A-Za-z][A-Za-z0-9]{0,15}", "REQ"),
        agents=top.address_list("agents", allow_domains=True),
        agent_notify=top.address_list("agent_notify"),
        escalation_notify=top.address_list("escalation_notify"),
        closed_reply_policy=top.choice("closed_reply_policy", CLOSED_REPLY_POLICIES, "reject"),
        max_per_hour=int(top.number("max_per_hour", 20, minimum=1)),
        auto_close_business_days=int(top.number("auto_close_business_days", 3, minimum=1)),
        language=top.choice("language", LANGUAGES, "en"),
        client_priority=top.choice("client_priority", CLIENT_PRIORITY, "ignore"),
        trust=_trust(top.table("trust"), base_dir),
        max_new_requests_per_sender=int(top.number("max_new_requests_per_sender", 5, minimum=1)),
        max_acknowledgements_per_hour=int(
            top.number("max_acknowledgements_per_hour", 300, minimum=1)
        ),
        max_message_bytes=int(top.number("max_message_bytes", 25 * 1024 * 1024, minimum=1024)),
        max_text_bytes=int(top.number("max_text_bytes", 2 * 1024 * 1024, minimum=65536)),
        templates_dir=_templates_dir(top, base_dir),
        business_hours=_business_hours(hours),
        sla=_sla(sla),
        metrics_listen=_metrics_listen(top.table("metrics")),
        retention_days=_retention_days(top.table("retention")),
        attachments=_attachments(top.table("attachments")),
        hooks=_hooks(data.get("hook"), base_dir),
    )
    _clear_text_only_on_loopback(imap, settings.imap.host, settings.imap.security)
    _clear_text_only_on_loopback(smtp, settings.smtp.host, settings.smtp.security)
    for old, new in MOVED_TO_TRUST.items():
        if old in top:
            raise ConfigError(old, f"moved: write it as [trust] {new}")
    database.reject_unknown({"url"})
    imap.reject_unknown(
        {"host", "port", "security", "folder", "processed_folder", "failed_folder", "spam_folder",
         "poll_interval", "idle", "timeout", "batch_size", *CREDENTIAL_KEYS}
    )  # fmt: skip
    smtp.reject_unknown(
        {"host", "port", "security", "from_address", "from_name", "timeout", "connections",
         "retry_seconds", *CREDENTIAL_KEYS}
    )  # fmt: skip
    top.reject_unknown(
        {"database", "imap", "smtp", "business_hours", "support_address", "support_name",
         "tag_prefix", "agents", "agent_notify", "escalation_notify", "closed_reply_policy",
         "max_per_hour", "auto_close_business_days", "language", "templates_dir", "sla",
         "metrics", "retention", "trust", "max_message_bytes", "max_text_bytes",
         "max_new_requests_per_sender", "max_acknowledgements_per_hour", "attachments",
         "agent_from", "client_priority", "hook"}
    )  # fmt: skip
    return settings


def _clear_text_only_on_loopback(table: _Table, host: str, security: str) -> None:
    """`security = "none"` sends the login and every mail unencrypted: only to a server
    on this machine (SPEC §14), never across a network someone else can read."""
    if security == "none" and not is_loopback(host):
        raise ConfigError(
            table.key("security"),
            f'"none" would send the password and the mail in clear text over the network to '
            f'{host}; use "tls" or "starttls" ("none" is for a server on loopback only: '
            "127.0.0.1, ::1 or localhost)",
        )


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 (also IPv4-mapped) or `localhost`; a name that merely resolves
    there (`localhost.localdomain`, a hosts-file alias) is not taken on trust."""
    host = host.strip().strip("[]").lower()
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _hooks(tables: object, base_dir: Path) -> tuple[HookSettings, ...]:
    """The `[[hook]]` tables; errors name the hook (`hook.NAME.KEY`, or `hook[N]`
    while its name is unknown)."""
    if tables is None:
        return ()
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise ConfigError("hook", "must be [[hook]] tables, one per hook")
    hooks: list[HookSettings] = []
    for index, data in enumerate(tables):
        name = data.get("name")
        if not isinstance(name, str) or not re.fullmatch(HOOK_NAME, name):
            raise ConfigError(f"hook[{index}].name",
                              f"give each hook a name of the form {HOOK_NAME}")  # fmt: skip
        if any(hook.name == name for hook in hooks):
            raise ConfigError(f"hook.{name}.name", "two hooks have this name")
        hooks.append(_hook(_Table(data, f"hook.{name}."), name, base_dir))
    return tuple(hooks)


def _hook(table: _Table, name: str, base_dir: Path) -> HookSettings:
    table.reject_unknown(set(HOOK_KEYS))
    url = table.string("url", "") or None
    command = tuple(table.string_list("command", []))
    if (url is None) == (not command):
        raise ConfigError(table.key("url"), "give either url (an HTTPS endpoint) or command (a "
                          'program and its arguments, e.g. ["/usr/local/bin/relay"])')  # fmt: skip
    if url is not None:
        _check_hook_url(table, url)
    events = table.string_list("events", [])
    if not events:
        raise ConfigError(table.key("events"),
                          f"missing: list the events, from {', '.join(HOOK_EVENTS)}")  # fmt: skip
    for event in events:
        if event not in HOOK_EVENTS:
            raise ConfigError(table.key("events"),
                              f"{event!r} is not one of {', '.join(HOOK_EVENTS)}")  # fmt: skip
    secret = _secret(table, "secret", base_dir)
    if url is not None and secret is None:
        raise ConfigError(table.key("secret_env"), "missing: a url hook signs every call; give "
                          "secret_env, secret_file or secret (at least 16 characters)")  # fmt: skip
    pass_env = tuple(table.string_list("pass_env", []))
    if pass_env and url is not None:
        raise ConfigError(table.key("pass_env"), "only a command hook gets an environment")
    return HookSettings(
        name=name,
        url=url,
        command=command,
        events=frozenset(events),
        secret=secret,
        timeout=_hook_timeout(table),
        max_attempts=int(table.number("max_attempts", 24, minimum=1)),
        pass_env=pass_env,
    )


def _hook_timeout(table: _Table) -> float:
    """Seconds for one call; at most MAX_HOOK_TIMEOUT, so that a call ends long before
    the claim on it does (mailgate/hooks/pump.py LEASE)."""
    seconds = table.number("timeout", 10.0, minimum=0.1)
    if seconds > MAX_HOOK_TIMEOUT:
        raise ConfigError(table.key("timeout"), f"must be at most {MAX_HOOK_TIMEOUT:g} seconds")
    return seconds


def _check_hook_url(table: _Table, url: str) -> None:
    """https anywhere; http only to loopback, as `security = "none"` is (SPEC §14): the
    events carry clients' addresses and texts, which the signature does not hide."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as exc:
        raise ConfigError(table.key("url"), f"{url!r} is not a URL: {exc}") from None
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigError(table.key("url"), f"{url!r}: give an https:// URL")
    if parts.username or parts.password:
        raise ConfigError(table.key("url"), "no credentials in the URL: the signature "
                          "authenticates the call")  # fmt: skip
    if parts.scheme == "http" and not is_loopback(host):
        raise ConfigError(table.key("url"), f"http:// would send clients' addresses and texts "
                          f"in clear text to {host}; use https:// (http is for a receiver on "
                          "loopback only: 127.0.0.1, ::1 or localhost)")  # fmt: skip


def _metrics_listen(table: _Table) -> tuple[str, int] | None:
    """`listen = "127.0.0.1:9464"`: where `run` serves /metrics and /healthz; absent: nowhere."""
    value = table.string("listen", "")
    table.reject_unknown({"listen"})
    if not value:
        return None
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(table.key("listen"), f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:9464")
    return host.strip("[]"), int(port)


def _retention_days(table: _Table) -> int | None:
    """`purge_raw_after_days`: drop raw mail of requests closed this long ago; absent: never."""
    days = table.number("purge_raw_after_days", 0, minimum=0)
    table.reject_unknown({"purge_raw_after_days"})
    if days != int(days):
        raise ConfigError(table.key("purge_raw_after_days"), f"must be whole days, got {days}")
    return int(days) or None


def state_directory() -> Path | None:
    """systemd's `StateDirectory=`, as the service manager passes it: `$STATE_DIRECTORY`
    (the first directory, when the unit names several); None outside such a unit."""
    first = os.environ.get("STATE_DIRECTORY", "").split(":")[0]
    return Path(first) if first else None


def _database_url(url: str, base_dir: Path) -> str:
    """A relative SQLite path is taken relative to `$STATE_DIRECTORY` under a systemd
    unit that has `StateDirectory=` (the config's directory is read-only there), else
    relative to the config file; never to the cwd. `postgresql://` and `postgres://`
    mean the psycopg driver (SQLAlchemy's default for them is psycopg2, which mailgate
    does not use)."""
    for alias in ("postgresql://", "postgres://"):
        if url.startswith(alias):
            url = "postgresql+psycopg://" + url[len(alias) :]
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        base = state_directory() or base_dir
        return prefix + str((base / url[len(prefix) :]).resolve())
    if not url.startswith(("sqlite:", "postgresql")):
        raise ConfigError("database.url", "must start with sqlite:/// or postgresql+psycopg://")
    return url


def _agent_from(top: _Table) -> str:
    """`{agent} via {support}`: only those two placeholders, without format specs
    (`"{support}"` alone keeps agents' names out of the From)."""
    pattern = top.string("agent_from", DEFAULT_AGENT_FROM)
    try:
        fields = [(name, spec, conversion)
                  for _, name, spec, conversion in string.Formatter().parse(pattern)
                  if name is not None]  # fmt: skip
    except ValueError as exc:
        raise ConfigError(
            "agent_from", f"{pattern!r} is not a pattern ({exc}); write {{{{ for a brace"
        ) from None
    for name, spec, conversion in fields:
        if name not in AGENT_FROM_FIELDS:
            raise ConfigError(
                "agent_from", f"unknown placeholder {{{name}}}: use {{agent}} and {{support}}"
            )
        if spec or conversion:
            raise ConfigError("agent_from", f"write {{{name}}} without a format or conversion")
    return pattern


def _templates_dir(top: _Table, base_dir: Path) -> Path:
    value = top.string("templates_dir", "")
    path = (base_dir / value).resolve() if value else DEFAULT_TEMPLATES_DIR
    if not path.is_dir():
        raise ConfigError("templates_dir", f"{path} is not a directory")
    return path


def _credentials(table: _Table, base_dir: Path, *, required: bool) -> Credentials:
    username = table.string("username", None if required else "", required=required) or None
    sources = [key for key in CREDENTIAL_KEYS[1:] if key in table]
    if len(sources) > 1:
        raise ConfigError(table.key(sources[1]), f"give only one of {', '.join(sources)}")
    if not sources:
        if username is not None:
            raise ConfigError(
                table.key("password_env"),
                "missing: give password_env, password_file, token_command or password",
            )
        return Credentials(username=None, secret=None)
    source = sources[0]
    key = table.key(source)
    value = table.string(source, required=True)
    if source == "password":
        return Credentials(username=username, secret=Secret(lambda: value))
    if source == "password_env":
        secret = Secret(_environment_reader(value, key), (source, value))
        return Credentials(username=username, secret=secret)
    if source == "password_file":
        path = base_dir / value
        secret = Secret(_file_reader(path, key), (source, str(path)))
        return Credentials(username=username, secret=secret)
    secret = Secret(_token_runner(value, key), (source, MASK))  # it may hold a client secret
    return Credentials(username=username, secret=secret, oauth2=True)


def _environment_reader(name: str, key: str) -> Callable[[], str]:
    """Read when a log-in needs it, not when the config is loaded: commands that
    never log in (`status`, `requests`, `init`, …) run without the mail passwords."""

    def read() -> str:
        if name not in os.environ:
            raise ConfigError(key, f"environment variable {name} is not set")
        value = os.environ[name].strip()
        if not value:
            raise ConfigError(key, f"environment variable {name} is empty")
        return value

    return read


def _file_reader(path: Path, key: str) -> Callable[[], str]:
    """As `_environment_reader`; the file holds the password alone, as UTF-8 text."""

    def read() -> str:
        return read_secret_file(path, key)

    return read


def read_secret_file(path: Path, key: str) -> str:
    """A secret file's text, stripped; a missing, binary or empty file is a config
    error naming `key` and the file (never its content)."""
    try:
        value = path.read_bytes().decode("utf-8").strip()
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(key, f"{path} is not UTF-8 text (binary, or saved as UTF-16?): "
                          "write the secret alone in it as UTF-8") from None  # fmt: skip
    if not value:
        raise ConfigError(key, f"{path} is empty")
    return value


def verify_secrets(settings: Settings) -> None:
    """Read every password now, for the commands that log in (`run`, `check`): a
    missing one stops them at the start, named, not at the first log-in. OAuth2
    token commands are left to the log-in, which runs them anyway."""
    several = len(settings.mailboxes) > 1
    for mailbox in settings.mailboxes:
        for credentials in (mailbox.imap.credentials, mailbox.smtp.credentials):
            if credentials.secret is None or credentials.oauth2:
                continue
            try:
                credentials.secret.reveal()
            except ConfigError as exc:
                if not several:
                    raise
                raise ConfigError(f"mailbox.{mailbox.mailbox}.{exc.key}", exc.problem) from None


def _trust(table: _Table, base_dir: Path) -> TrustSettings:
    settings = TrustSettings(
        agents=table.choice("agents", AGENT_PROOFS, "proof"),
        authserv_id=table.string("authserv_id", "").strip().lower(),
        require_authenticated_sender=table.boolean("require_authenticated_sender", False),
        reply_tokens=table.boolean("reply_tokens", False),
        token_secret=_token_secret(table, base_dir),
        max_cc_participants=int(table.number("max_cc_participants", 10, minimum=0)),
        spam_headers=_spam_headers(table),
        blocked_senders=table.address_list("blocked_senders", allow_domains=True),
        bounce_hold_days=int(table.number("bounce_hold_days", 7, minimum=1)),
    )
    table.reject_unknown(
        {"agents", "authserv_id", "require_authenticated_sender", "reply_tokens", "token_secret",
         "token_secret_env", "token_secret_file", "max_cc_participants", "spam_headers",
         "blocked_senders", "bounce_hold_days"}
    )  # fmt: skip
    if settings.require_authenticated_sender and not settings.authserv_id:
        raise ConfigError(
            table.key("authserv_id"),
            "missing: require_authenticated_sender needs the authserv-id your mail server "
            "writes in Authentication-Results",
        )
    return settings


def _spam_headers(table: _Table) -> tuple[tuple[str, str], ...]:
    """`["X-Spam-Verdict: spam", "X-Rspamd-Action: reject"]`: a header whose value
    starts with the text after the colon (any case) is a spam verdict."""
    found = []
    for entry in table.string_list("spam_headers", []):
        name, colon, value = entry.partition(":")
        if not colon or not re.fullmatch(r"[!-9;-~]+", name.strip()) or not value.strip():
            raise ConfigError(
                table.key("spam_headers"), f"{entry!r} is not 'Header-Name: value', e.g. "
                "'X-Spam-Verdict: spam'"
            )  # fmt: skip
        found.append((name.strip().lower(), value.strip().lower()))
    return tuple(found)


def _token_secret(table: _Table, base_dir: Path) -> Secret | None:
    """The admin's own secret for reply tokens, if given; else the database keeps one."""
    return _secret(table, "token_secret", base_dir, what="token secret")


def _secret(table: _Table, name: str, base_dir: Path, *, what: str = "secret") -> Secret | None:
    """A secret given as `name`, `name_env` or `name_file`, of 16 characters or more;
    None when none of them is given."""
    key = table.key(name)
    source = (name, MASK)
    if f"{name}_env" in table:
        key = table.key(f"{name}_env")
        variable = table.string(f"{name}_env", required=True)
        if not os.environ.get(variable):
            raise ConfigError(key, f"environment variable {variable} is not set")
        value = os.environ[variable].strip()
        source = (f"{name}_env", variable)
    elif f"{name}_file" in table:
        key = table.key(f"{name}_file")
        path = base_dir / table.string(f"{name}_file", required=True)
        value = read_secret_file(path, key)
        source = (f"{name}_file", str(path))
    elif name in table:
        value = table.string(name, "")
    else:
        return None
    if len(value) < 16:
        raise ConfigError(key, f"the {what} needs at least 16 characters")
    return Secret(lambda: value, source)


def _token_runner(command: str, key: str) -> Callable[[], str]:
    """Run the admin's command at every log-in: OAuth2 access tokens expire."""

    def run() -> str:
        result = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=60)
        if result.returncode != 0 or not result.stdout.strip():
            raise ConfigError(key, f"command exited {result.returncode} without printing a token")
        return result.stdout.strip()

    return run


def _business_hours(table: _Table) -> BusinessHoursSettings:
    timezone = table.string("timezone", "UTC")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(table.key("timezone"), f"unknown time zone {timezone!r}") from None
    workdays = tuple(table.string_list("workdays", ["mon", "tue", "wed", "thu", "fri"]))
    for day in workdays:
        if day not in WEEKDAYS:
            raise ConfigError(table.key("workdays"), f"{day!r} is not one of {', '.join(WEEKDAYS)}")
    settings = BusinessHoursSettings(
        timezone=timezone,
        workdays=workdays,
        holidays_country=table.string("holidays_country", "") or None,
        holidays=table.date_list("holidays"),
        extra_workdays=table.date_list("extra_workdays"),
        day_start=table.pattern("day_start", r"\d\d:\d\d", "09:00"),
        day_end=table.pattern("day_end", r"\d\d:\d\d", "18:00"),
    )
    table.reject_unknown(
        {"timezone", "workdays", "holidays_country", "holidays", "extra_workdays", "day_start",
         "day_end"}
    )  # fmt: skip
    return settings


def _attachments(table: _Table) -> AttachmentSettings:
    settings = AttachmentSettings(
        max_relay_bytes=int(table.number("max_relay_bytes", 10 * 1024 * 1024, minimum=0)),
        blocked_extensions=tuple(
            extension.strip(" .").lower()
            for extension in table.string_list("blocked_extensions", [])
            if extension.strip(" .")
        ),
    )
    table.reject_unknown({"max_relay_bytes", "blocked_extensions"})
    return settings


def _sla(table: _Table) -> SlaSettings:
    def hours(name: str) -> float | None:
        """A target in hours; absent or 0 means no target."""
        return table.number(name, 0, minimum=0) or None

    pausing = tuple(table.string_list("pausing_statuses", ["waiting_for_client"]))
    for status in pausing:
        if status not in {s.value for s in Status if s.is_open}:
            raise ConfigError(
                table.key("pausing_statuses"), f"{status!r} is not an open status name"
            )
    first_response, resolution = hours("first_response_hours"), hours("resolution_hours")
    settings = SlaSettings(
        first_response_hours=first_response,
        resolution_hours=resolution,
        business_hours=table.boolean("business_hours", True),
        pausing_statuses=pausing,
        by_priority=_sla_by_priority(table.table("priority"), first_response, resolution),
    )
    table.reject_unknown(
        {"first_response_hours", "resolution_hours", "business_hours", "pausing_statuses",
         "priority"}
    )  # fmt: skip
    return settings


def _sla_by_priority(
    table: _Table, first_response: float | None, resolution: float | None
) -> tuple[tuple[str, float | None, float | None], ...]:
    """`[sla.priority.NAME]` tables: a key left out is the `[sla]` one, 0 is no target."""
    table.reject_unknown(set(PRIORITIES))
    targets = []
    for name in PRIORITIES:
        if name not in table:
            continue
        sub = table.table(name)
        sub.reject_unknown({"first_response_hours", "resolution_hours"})
        targets.append((
            name,
            sub.number("first_response_hours", first_response or 0, minimum=0) or None,
            sub.number("resolution_hours", resolution or 0, minimum=0) or None,
        ))  # fmt: skip
    return tuple(targets)


def unknown_key(name: str, known: Collection[str]) -> str:
    return "unknown key: " + (_did_you_mean(name, known, "did you mean `{}`?")
                              or "remove it or check its spelling")  # fmt: skip


def _did_you_mean(name: str, known: Collection[str], pattern: str) -> str:
    """`pattern` with the known key closest to a misspelt one, or "" when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.6)
    return pattern.format(close[0]) if close else ""


class _Table:
    """A TOML table with typed getters whose errors carry the dotted key."""

    def __init__(self, data: Mapping[str, Any], prefix: str) -> None:
        self._data = data
        self._prefix = prefix

    def __contains__(self, name: str) -> bool:
        return name in self._data

    def key(self, name: str) -> str:
        return f"{self._prefix}{name}"

    def table(self, name: str, *, required: bool = False) -> _Table:
        value = self._data.get(name)
        if value is None:
            if required:
                raise ConfigError(self.key(name), f"missing: add a [{self.key(name)}] table")
            return _Table({}, f"{self.key(name)}.")
        if not isinstance(value, Mapping):
            raise ConfigError(self.key(name), f"must be a table ([{self.key(name)}])")
        return _Table(value, f"{self.key(name)}.")

    def _get(self, name: str, default: Any, required: bool) -> Any:
        if name not in self._data:
            if required:
                raise ConfigError(self.key(name), "missing: this key is required")
            return default
        return self._data[name]

    @overload
    def string(self, name: str, default: str, *, required: bool = False) -> str: ...
    @overload
    def string(self, name: str, default: None = None, *, required: Literal[True]) -> str: ...
    @overload
    def string(self, name: str, default: None = None, *, required: bool = False) -> str | None: ...
    def string(
        self, name: str, default: str | None = None, *, required: bool = False
    ) -> str | None:
        value = self._get(name, default, required)
        if value is not None and not isinstance(value, str):
            raise ConfigError(self.key(name), f"must be a string, got {type(value).__name__}")
        if required and not value:
            raise ConfigError(self.key(name), "must not be empty")
        return value

    def number(self, name: str, default: float, *, minimum: float) -> float:
        value = self._get(name, default, False)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(self.key(name), f"must be a number, got {type(value).__name__}")
        if value < minimum:
            raise ConfigError(self.key(name), f"must be at least {minimum:g}, got {value}")
        return value

    def port(self, name: str, default: int) -> int:
        value = self._get(name, default, False)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            raise ConfigError(self.key(name), f"must be a port number 1-65535, got {value!r}")
        return value

    def boolean(self, name: str, default: bool) -> bool:
        value = self._get(name, default, False)
        if not isinstance(value, bool):
            raise ConfigError(self.key(name), "must be true or false")
        return value

    def choice(self, name: str, choices: tuple[str, ...], default: str) -> str:
        value = self.string(name, default)
        if value not in choices:
            raise ConfigError(
                self.key(name), f"must be one of {', '.join(map(repr, choices))}, got {value!r}"
            )
        return value

    def pattern(self, name: str, regex: str, default: str) -> str:
        value = self.string(name, default)
        if not re.fullmatch(regex, value):
            raise ConfigError(self.key(name), f"{value!r} does not have the form {regex}")
        return value

    def address(self, name: str, default: str | None = None, *, required: bool = False) -> str:
        value = self.string(name, default, required=required)
        if value is None or not _ADDRESS.match(value):
            raise ConfigError(self.key(name), f"{value!r} is not an e-mail address")
        return value.lower()

    def string_list(self, name: str, default: list[str]) -> list[str]:
        value = self._get(name, default, False)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(name), "must be a list of strings")
        return value

    def address_list(self, name: str, *, allow_domains: bool = False) -> tuple[str, ...]:
        values = self.string_list(name, [])
        for value in values:
            if not (_ADDRESS.match(value) or (allow_domains and _DOMAIN.match(value))):
                hint = " or @domain" if allow_domains else ""
                raise ConfigError(self.key(name), f"{value!r} is not an e-mail address{hint}")
        return tuple(value.lower() for value in values)

    def date_list(self, name: str) -> tuple[dt.date, ...]:
        values = self._get(name, [], False)
        if not isinstance(values, list):
            raise ConfigError(self.key(name), "must be a list of dates like 2026-12-31")
        dates = []
        for value in values:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                dates.append(value)
                continue
            try:
                dates.append(dt.date.fromisoformat(str(value)))
            except ValueError:
                raise ConfigError(
                    self.key(name), f"{value!r} is not a date like 2026-12-31"
                ) from None
        return tuple(dates)

    def reject_unknown(self, known: set[str]) -> None:
        for name in self._data:
            if name not in known:
                raise ConfigError(self.key(name), unknown_key(name, known))
