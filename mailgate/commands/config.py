"""`mailgate config show [--json]`: the configuration as mailgate reads it.

Every key with its effective value, defaults filled in, in the shape of the
file (so that a copy of it is a valid config); relative paths resolved. A
secret is never printed: a password given inline shows as `***`, one from
the environment or a file as the variable's or the file's name (which the
`password_env` / `password_file` key holds anyway), a token command as `***`
(it may carry a client secret). Needs neither the database nor the secrets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailgate.urls import masked_url

if TYPE_CHECKING:
    from mailgate.config import Credentials, HookSettings, Secret, Settings

# The keys a [[mailbox]] table may set (config.MAILBOX_KEYS), in the file's order.
_MAILBOX_TOP = ("support_address", "support_name", "tag_prefix", "agents", "agent_notify",
                "escalation_notify", "language", "templates_dir", "agent_from")  # fmt: skip


def register(commands: argparse._SubParsersAction) -> None:
    config = commands.add_parser("config", help="the effective configuration, secrets masked")
    actions = config.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    show = actions.add_parser(
        "show", help="every key with its value, defaults filled in, secrets masked",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    show.add_argument("--json", action="store_true", help="print one JSON object")
    show.set_defaults(settings_handler=show_config)


def show_config(settings: Settings, args: argparse.Namespace) -> int:
    shown = effective(settings)
    print(json.dumps(shown, ensure_ascii=False, indent=2) if args.json else to_toml(shown))
    return 0


def effective(settings: Settings) -> dict[str, Any]:
    """The settings as the file's keys and tables; with several mailboxes, each one's
    own keys in a `mailbox` list after the first mailbox's (the top level)."""
    shown = _mailbox(settings)
    if len(settings.mailboxes) > 1:
        shown["mailbox"] = [
            {"name": m.mailbox, **{k: _mailbox(m)[k] for k in (*_MAILBOX_TOP, "imap", "smtp")}}
            for m in settings.mailboxes
        ]
    if settings.hooks:
        shown["hook"] = [_hook(hook) for hook in settings.hooks]
    return shown


def _hook(hook: HookSettings) -> dict[str, Any]:
    where = {"url": hook.url} if hook.url is not None else {"command": list(hook.command)}
    return {"name": hook.name, **where, "events": sorted(hook.events), **_secret(hook.secret),
            "timeout": hook.timeout, "max_attempts": hook.max_attempts,
            "pass_env": list(hook.pass_env)}  # fmt: skip


def _mailbox(s: Settings) -> dict[str, Any]:
    imap, smtp, hours, sla, trust = s.imap, s.smtp, s.business_hours, s.sla, s.trust
    return {
        "support_address": s.support_address,
        "support_name": s.support_name,
        "tag_prefix": s.tag_prefix,
        "agents": list(s.agents),
        "agent_notify": list(s.agent_notify),
        "escalation_notify": list(s.escalation_notify),
        "agent_from": s.agent_from,
        "closed_reply_policy": s.closed_reply_policy,
        "max_per_hour": s.max_per_hour,
        "auto_close_business_days": s.auto_close_business_days,
        "language": s.language,
        "client_priority": s.client_priority,
        "max_message_bytes": s.max_message_bytes,
        "max_text_bytes": s.max_text_bytes,
        "max_new_requests_per_sender": s.max_new_requests_per_sender,
        "max_acknowledgements_per_hour": s.max_acknowledgements_per_hour,
        "templates_dir": str(s.templates_dir),
        "database": {"url": masked_url(s.database_url)},
        "imap": {
            "host": imap.host, "port": imap.port, "security": imap.security,
            **_credentials(imap.credentials),
            "folder": imap.folder, "processed_folder": imap.processed_folder,
            "failed_folder": imap.failed_folder, "spam_folder": imap.spam_folder,
            "poll_interval": imap.poll_interval, "idle": imap.idle, "timeout": imap.timeout,
            "batch_size": imap.batch_size,
        },
        "smtp": {
            "host": smtp.host, "port": smtp.port, "security": smtp.security,
            **_credentials(smtp.credentials),
            "from_address": smtp.from_address, "from_name": smtp.from_name,
            "timeout": smtp.timeout, "connections": smtp.connections,
            "retry_seconds": smtp.retry_seconds,
        },
        "business_hours": {
            "timezone": hours.timezone, "workdays": list(hours.workdays),
            "holidays_country": hours.holidays_country or "",
            "holidays": [d.isoformat() for d in hours.holidays],
            "extra_workdays": [d.isoformat() for d in hours.extra_workdays],
            "day_start": hours.day_start, "day_end": hours.day_end,
        },
        "sla": {
            "first_response_hours": sla.first_response_hours or 0,
            "resolution_hours": sla.resolution_hours or 0,
            "business_hours": sla.business_hours,
            "pausing_statuses": list(sla.pausing_statuses),
            **({"priority": {name: {"first_response_hours": first or 0,
                                    "resolution_hours": resolution or 0}
                             for name, first, resolution in sla.by_priority}}
               if sla.by_priority else {}),
        },
        "attachments": {
            "max_relay_bytes": s.attachments.max_relay_bytes,
            "blocked_extensions": list(s.attachments.blocked_extensions),
        },
        "metrics": {"listen": f"{s.metrics_listen[0]}:{s.metrics_listen[1]}"
                    if s.metrics_listen else ""},
        "retention": {"purge_raw_after_days": s.retention_days or 0},
        "trust": {
            "agents": trust.agents, "authserv_id": trust.authserv_id,
            "require_authenticated_sender": trust.require_authenticated_sender,
            "reply_tokens": trust.reply_tokens,
            **_secret(trust.token_secret),
            "max_cc_participants": trust.max_cc_participants,
            "spam_headers": [f"{name}: {value}" for name, value in trust.spam_headers],
            "blocked_senders": list(trust.blocked_senders),
            "bounce_hold_days": trust.bounce_hold_days,
        },
    }  # fmt: skip


def _credentials(credentials: Credentials) -> dict[str, str]:
    shown = {"username": credentials.username} if credentials.username else {}
    return {**shown, **_secret(credentials.secret)}


def _secret(secret: Secret | None) -> dict[str, str]:
    """The key the secret came from and what may be shown of it; nothing when none."""
    if secret is None:
        return {}
    key, shown = secret.source
    return {key: shown}


def to_toml(shown: dict[str, Any]) -> str:
    """TOML of plain values, lists of strings or tables, and tables one level deep."""
    lines = [f"{key} = {_value(value)}" for key, value in shown.items()
             if not isinstance(value, dict | list) or not _tables(value)]  # fmt: skip
    for key, value in shown.items():
        if isinstance(value, dict):
            lines += ["", f"[{key}]", *(f"{k} = {_value(v)}" for k, v in value.items())]
    for key, value in shown.items():
        if isinstance(value, list) and _tables(value):
            for table in value:
                lines += ["", f"[[{key}]]"]
                lines += [f"{k} = {_value(v)}" for k, v in table.items() if not isinstance(v, dict)]
                for sub, inner in ((k, v) for k, v in table.items() if isinstance(v, dict)):
                    lines += [f"[{key}.{sub}]", *(f"{k} = {_value(v)}" for k, v in inner.items())]
    return "\n".join(lines)


def _tables(value: object) -> bool:
    return isinstance(value, dict) or (isinstance(value, list) and bool(value)
                                       and all(isinstance(v, dict) for v in value))  # fmt: skip


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):  # a table below a table: inline ([sla] priority)
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, Path | dt.date):
        value = str(value)
    return json.dumps(value, ensure_ascii=False)  # a TOML basic string is JSON's escapes
