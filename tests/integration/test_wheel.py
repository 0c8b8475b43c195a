"""The built wheel, installed with pip into a fresh venv, is a working mailgate,
and holds nothing else: no test server, no demo, no tests.

The editable install of `.venv` reads the templates from the checkout; these
tests make sure the wheel carries them and that its commands run from the
installed copy. To stay fast the venv gets only the wheel (`--no-deps`) and
sees the dependencies through a `.pth` line naming `.venv`'s site-packages:
such a line only adds a path, so the editable mailgate's own `.pth` hook in
that directory is never run and cannot shadow the wheel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from email.parser import BytesHeaderParser
from pathlib import Path
from types import SimpleNamespace

import pytest

from mailgate.explain import explain
from tests.harness import write_config

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = ROOT / "tests" / "fixtures" / "e2e" / "applemail_quotes_approval.eml"
BUILD_INPUTS = (
    "pyproject.toml",
    "setup.py",
    "MANIFEST.in",
    "README.md",
    "LICENSE",
    "mailgate",
    "templates",
)
# Copied along, as a checkout has them, so the build must leave them out on purpose.
CHECKOUT_ONLY = ("tests", "bench", "demo.sh")
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]

NOWHERE = SimpleNamespace(host="127.0.0.1", port=1, user="support@example.org", password="unused")

# Runs inside the fresh venv: load a config that names no templates_dir, render
# the acknowledgement of a new request, report where everything came from.
RENDER = """\
import datetime as dt, json, sys
from zoneinfo import ZoneInfo
import mailgate
from mailgate.config import load_settings
from mailgate.domain import Status
from mailgate.decision import Notice
from mailgate.notify import Renderer, Sender

settings = load_settings(sys.argv[1])
renderer = Renderer(
    settings.templates_dir,
    sender=Sender(address=settings.support_address, name=settings.support_name),
    tag_prefix=settings.tag_prefix,
    timezone=ZoneInfo("UTC"),
)
notice = Notice(
    template="created", recipient="client@example.net", language="en",
    context={"status": Status.NEW},
)
rendered = renderer.render(
    notice, request_number=12, request_subject="Printer on fire", thread_ids=[],
    now=dt.datetime(2026, 12, 7, 10, 0, tzinfo=dt.UTC),
)
print(json.dumps({
    "package": mailgate.__file__,
    "templates_dir": str(settings.templates_dir),
    "text": rendered.text,
    "test_servers_loaded": [m for m in sys.modules if m.split(".")[0] in ("tests", "aiosmtpd")],
}))
"""


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"  # a copy, so the build leaves nothing in the checkout
    source.mkdir()
    for name in BUILD_INPUTS + CHECKOUT_ONLY:
        path = ROOT / name
        if path.is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "out")  # bench/out
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = base / "dist"
    build = [*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", dist, source]
    subprocess.run(build, check=True, timeout=120)
    (built,) = dist.glob("mailgate-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path) -> Path:
    base = wheel.parents[1]
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    python = venv / "bin" / "python"
    install = [*PIP, "--python", python, "install", "--no-deps", "--no-index", wheel]
    subprocess.run(install, check=True, timeout=120)
    # Written after the install, so that pip never saw .venv's editable mailgate.
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))", cwd=base)
    (Path(site.stdout.strip()) / "mailgate-test-dependencies.pth").write_text(
        sysconfig.get_path("purelib") + "\n"
    )
    write_config(base / "mailgate.toml", imap=NOWHERE, smtp=NOWHERE, database_url="sqlite://")
    return venv


def _run(*command: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Outside the checkout and without PYTHONPATH: nothing but the venv's own mailgate."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_the_installed_package_renders_notices_from_its_own_templates(venv: Path):
    done = _run(venv / "bin" / "python", "-c", RENDER, "mailgate.toml", cwd=venv.parent)
    result = json.loads(done.stdout)
    package = Path(result["package"]).parent
    assert package.is_relative_to(venv)
    assert Path(result["templates_dir"]) == package / "templates"
    assert 'registered it as [REQ-12]: "Printer on fire"' in result["text"]
    assert result["test_servers_loaded"] == []


def test_the_installed_command_parses_a_message_as_the_checkout_does(venv: Path):
    done = _run(venv / "bin" / "mailgate", "parse", FIXTURE, "--json", cwd=venv.parent)
    assert json.loads(done.stdout) == explain(FIXTURE.read_bytes())


def test_the_wheel_holds_the_product_only(wheel: Path):
    """No test server, no demo, no test or bench module: mailgate/ and its metadata."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(name.split("/")[0] for name in names if ".dist-info/" in name)
        metadata = BytesHeaderParser().parsebytes(archive.read(f"{dist_info}/METADATA"))
    assert "mailgate/cli.py" in names
    assert [name for name in names if not name.startswith(("mailgate/", f"{dist_info}/"))] == []
    test_code = re.compile(r"(^|/)(tests?|bench|sandbox|demo)(/|\.py$|\.sh$)")
    assert [name for name in names if test_code.search(name)] == []
    assert [name for name in names if "sandbox" in name or "demo" in name] == []
    # aiosmtpd (the SMTP sink's server) is a test dependency, never the product's.
    requires = metadata.get_all("Requires-Dist") or []
    assert [req for req in requires if "aiosmtpd" in req and 'extra == "test"' not in req] == []


def test_the_wheel_states_its_licence_and_keeps_psycopg_in_the_postgresql_extra(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        [metadata] = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        text = archive.read(metadata).decode()
        names = archive.namelist()
    assert "License-Expression: MIT" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "Provides-Extra: postgresql" in text
    psycopg = [line for line in text.splitlines() if line.startswith("Requires-Dist: psycopg")]
    assert psycopg == ['Requires-Dist: psycopg[binary]>=3.2.1; extra == "postgresql"']
    assert "Classifier: Programming Language :: Python :: 3.13" in text


def test_python_m_mailgate_and_the_man_page_from_the_installed_copy(venv: Path):
    python = venv / "bin" / "python"
    version = _run(python, "-m", "mailgate", "--version", cwd=venv.parent)
    assert version.stdout.startswith("mailgate ")
    page = _run(python, "-m", "mailgate", "manpage", cwd=venv.parent)
    assert page.stdout.startswith(".TH MAILGATE 1 ")
