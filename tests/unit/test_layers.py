"""The shape of the package: who may import what.

SQLAlchemy stays under `mailgate/store/`; deciding (`mailgate/decide/`) and
parsing (`mailgate/parse/`) import neither the store nor the edges (IMAP,
SMTP), so they stay pure functions over plain data.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "mailgate"
EDGES = ("mailgate.store", "mailgate.ingest", "mailgate.send", "mailgate.outbox",
         "mailgate.worker", "mailgate.app", "mailgate.apply", "sqlalchemy", "imap_tools",
         "aiosmtplib")  # fmt: skip


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def within(name: str, packages: tuple[str, ...]) -> bool:
    """Whether module `name` is one of `packages` or inside one."""
    return any(name == package or name.startswith(f"{package}.") for package in packages)


def modules(under: str = "") -> list[Path]:
    return sorted((PACKAGE / under).rglob("*.py"))


def test_sqlalchemy_is_imported_only_under_store():
    outside = [
        path.relative_to(PACKAGE).as_posix()
        for path in modules()
        if "store" not in path.relative_to(PACKAGE).parts
        and any(name.split(".")[0] == "sqlalchemy" for name in imports(path))
    ]
    assert outside == []


@pytest.mark.parametrize("layer", ["decide", "parse"])
def test_the_pure_layers_import_no_edge(layer):
    offending = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            name for name in imports(path) if name.startswith(EDGES)
        )
        for path in modules(layer)
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_html_sanitiser_is_imported_only_by_mailgate_sanitize():
    """nh3 is loaded when an agent's HTML answer is rendered, never by parsing or deciding."""
    users = [
        path.relative_to(PACKAGE).as_posix()
        for path in modules()
        if any(name.split(".")[0] == "nh3" for name in imports(path))
    ]
    assert users == ["sanitize.py"]
    pure = [path for layer in ("decide", "parse") for path in modules(layer)]
    assert not [path for path in pure if "mailgate.sanitize" in imports(path)]


# What the store may not import: it writes what it is handed, and parses, renders and
# decides nothing. The data types of a decision live in mailgate/decision.py, which
# both import.
ABOVE_THE_STORE = ("mailgate.notify", "mailgate.layout", "mailgate.sanitize", "mailgate.apply",
                   "mailgate.worker", "mailgate.app", "mailgate.config",
                   "mailgate.parse")  # fmt: skip
DECIDING = ("mailgate.decide",)


def test_the_store_imports_no_rendering_nor_deciding():
    offending = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            name for name in imports(path) if within(name, ABOVE_THE_STORE + DECIDING)
        )
        for path in modules("store")
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_layers_stand_in_order():
    """parse, decide < store < apply < worker: nothing imports a layer above its own."""
    above = {
        "parse": ("mailgate.decide", "mailgate.store", "mailgate.apply", "mailgate.worker"),
        "decide": ("mailgate.store", "mailgate.apply", "mailgate.worker"),
        "store": ("mailgate.apply", "mailgate.worker"),
        "apply": ("mailgate.worker", "mailgate.app"),
    }
    offending = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            name for name in imports(path) if within(name, names)
        )
        for layer, names in above.items()
        for path in modules(layer)
    }
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_product_imports_no_test_code():
    """The test servers, the demo and their SMTP server (aiosmtpd) stay out of the package:
    the wheel ships neither `tests` nor aiosmtpd, so an import of either would break it."""
    offending = {
        path.relative_to(PACKAGE).as_posix(): sorted(
            name for name in imports(path) if name.split(".")[0] in ("tests", "aiosmtpd")
        )
        for path in modules()
    }
    assert {path: names for path, names in offending.items() if names} == {}
    assert not (PACKAGE / "sandbox.py").exists() and not (PACKAGE / "demo.py").exists()
