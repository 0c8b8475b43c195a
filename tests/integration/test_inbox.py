"""The IMAP edge on a real Dovecot: folders made once even when two workers start together."""

from __future__ import annotations

import imap_tools.folder

from mailgate.config import load_settings
from mailgate.ingest import Inbox
from tests.harness import write_config


def folders(account) -> set[str]:
    with account.connect() as box:
        return {folder.name for folder in box.folder.list()}


def test_open_creates_the_processed_and_failed_folders(tmp_path, dovecot, smtp_sink):
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///m.sqlite3")
    settings = load_settings(config).imap
    with Inbox(settings):
        pass
    assert {settings.processed_folder, settings.failed_folder} <= folders(dovecot)


def test_a_folder_another_worker_created_meanwhile_is_not_an_error(
    tmp_path, dovecot, smtp_sink, monkeypatch
):
    """The race of two `run` processes: both see no folder, one creates it first."""
    config = tmp_path / "m.toml"
    write_config(config, imap=dovecot, smtp=smtp_sink, database_url="sqlite:///m.sqlite3")
    settings = load_settings(config).imap
    real_exists = imap_tools.folder.MailBoxFolderManager.exists
    raced: list[str] = []

    def exists_then_raced(manager, folder):
        if folder not in raced:
            raced.append(folder)
            with dovecot.connect() as other:
                other.folder.create(folder)
            return False
        return real_exists(manager, folder)

    monkeypatch.setattr(imap_tools.folder.MailBoxFolderManager, "exists", exists_then_raced)
    with Inbox(settings) as inbox:
        assert inbox.waiting_uids() == []
    assert raced == [settings.processed_folder, settings.failed_folder, settings.spam_folder]
    assert {settings.processed_folder, settings.failed_folder} <= folders(dovecot)
