"""docs/mailgate.service passes `systemd-analyze verify`, on machines that have it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[2] / "docs" / "mailgate.service"
INSTALLED = "/opt/mailgate/bin/mailgate"  # where the unit expects mailgate (docs/admin.md)
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_the_service_unit_verifies_cleanly(tmp_path):
    """The unit as shipped, except that ExecStartPre and ExecStart name this venv's
    `mailgate` instead of /opt/mailgate/bin/mailgate: verify checks that the binary
    exists and is executable, and nothing is installed at /opt here. Any complaint
    (stderr) fails the test, warnings included."""
    text = UNIT.read_text(encoding="utf-8")
    assert f"ExecStart={INSTALLED} run" in text and f"ExecStartPre={INSTALLED} init" in text
    here = Path(sys.executable).with_name("mailgate")
    assert here.is_file(), "the venv has no mailgate script: pip install -e ."
    copy = tmp_path / "mailgate.service"
    copy.write_text(text.replace(INSTALLED, str(here)), encoding="utf-8")
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert (result.returncode, result.stderr.strip()) == (0, "")


def test_the_unit_creates_files_for_the_service_user_alone():
    """SPEC §14: the database holds every client's mail and the token secret."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    assert "UMask=0077" in lines


@pytest.mark.skipif(SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed")
def test_verify_would_catch_a_broken_unit(tmp_path):
    """The check above can fail: a unit whose binary is missing does not verify."""
    copy = tmp_path / "mailgate.service"
    missing = tmp_path / "nowhere" / "mailgate"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(missing)))
    result = subprocess.run(
        [SYSTEMD_ANALYZE, "verify", str(copy)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "is not executable" in result.stderr
