"""The configuration file of a sandbox `Dovecot`: a pure function of where it lives and who
it runs as (plus the OAuth2 passdb's args file, written next to it when asked for)."""

from __future__ import annotations

import os
from pathlib import Path


def render_config(
    *,
    root: Path,
    host: str,
    port: int,
    uid: int,
    gid: int,
    owner_name: str,
    token: str,
    oauth2: tuple[str, str] | None,
) -> str:
    """``dovecot.conf`` for a server whose every file is under `root`.

    `token` goes into the greeting, so the server can be told from another on
    the port; `oauth2` is ``(introspection_url, mode)`` or None.
    """
    mechanisms, oauth2_passdb, passwords_only = _render_oauth2(root, oauth2)
    # Non-root Dovecot runs every process as the caller and cannot chroot.
    unprivileged = (
        ""
        if os.geteuid() == 0
        else f"""
default_login_user = {owner_name}
default_internal_user = {owner_name}
service imap-login {{
  chroot =
}}
service anvil {{
  chroot =
}}
"""
    )
    return f"""\
# Written by tests.sandbox: a private, throw-away Dovecot. Do not edit.
instance_name = mailgate-sandbox-{token}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
login_greeting = mailgate sandbox {token} ready.
protocols = imap
listen = {host}
ssl = no
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
auth_verbose = yes
# Failed logins: answer after 0.5 s (the floor), not 2 s.
auth_failure_delay = 0
first_valid_uid = {uid}
first_valid_gid = {gid}
mail_location = maildir:~/Maildir
mail_max_userip_connections = 100
# Seconds, not the default 30, when inotify cannot wake an IDLE client.
mailbox_idle_check_interval = 1 secs
namespace inbox {{
  inbox = yes
  separator = /
}}
{oauth2_passdb}passdb {{
  driver = passwd-file{passwords_only}
  args = scheme=PLAIN {root}/passwd/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
# No anvil penalty socket, no auth penalty: after one wrong password Dovecot
# would otherwise delay every login from 127.0.0.1 by 2 to 15 s.
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
{unprivileged}"""


def _render_oauth2(root: Path, oauth2: tuple[str, str] | None) -> tuple[str, str, str]:
    """The auth mechanisms, the oauth2 passdb (its args file written) and what limits
    the passwd-file to passwords, if OAuth2 was asked for."""
    if oauth2 is None:
        return "plain login", "", ""
    url, mode = oauth2
    args = root / "dovecot-oauth2.conf.ext"
    args.write_text(
        f"introspection_mode = {mode}\nintrospection_url = {url}\n"
        "username_attribute = username\nactive_attribute = active\nactive_value = true\n",
        encoding="utf-8",
    )
    args.chmod(0o644)
    # A token is never tried as a password, nor a password as a token.
    passdb = f"""passdb {{
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = {args}
}}
"""
    return "plain login xoauth2 oauthbearer", passdb, "\n  mechanisms = plain login"
