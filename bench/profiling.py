"""Profile one `mailgate run --once` with pyinstrument and say where the time goes.

pyinstrument is a bench-only tool (``.venv/bin/pip install pyinstrument``,
into the venv of the mailgate being measured); it is not a dependency of
mailgate. It samples the worker's wall clock, so time spent waiting shows up
too: in `socket`/`ssl`/`imaplib` frames for the IMAP server, in
`multiprocessing` frames for the SMTP pump (whose own process is not
profiled). Writes the pyinstrument session (``PATH.pyisession``, to open with
``pyinstrument --load PATH.pyisession -r html``) and a text report to PATH:
self time by package, by module and by function (a C function's time is
its Python caller's; everything below the import machinery is "importing
modules"), and the mailgate functions with the most time below them.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from bench.mailgate_cli import Mailgate
from bench.measure import Run

if TYPE_CHECKING:
    from pyinstrument.frame import Frame

_LIBRARY_ROOT = re.compile(r".*/(?:site-packages|dist-packages|lib/python3\.\d+)/")
_PROJECT_ROOT = re.compile(r".*/(?=mailgate/)")
_BUILTIN = "built-in"
_IMPORTS = "(importing modules)"
_TEMPLATES = "(Jinja2 templates)"
_UNKNOWN = "(unknown)"


def profile_run_once(mailgate: Mailgate, report_path: Path, *, top: int = 15) -> tuple[Run, str]:
    """Run `run --once` under pyinstrument; the run and the summary written to `report_path`."""
    from pyinstrument.session import Session

    session_path = report_path.with_suffix(".pyisession")
    profiler = [mailgate.python, "-m", "pyinstrument", "-r", "pyisession"]
    command = mailgate.command("run", "--once")
    run = mailgate.run([*profiler, "-o", str(session_path), *command[1:]])
    root = Session.load(str(session_path)).root_frame()
    summary = summarize(root, top=top) if root is not None else "(no samples)"
    report_path.write_text(summary, encoding="utf-8")
    return run, summary


def summarize(root: Frame, *, top: int) -> str:
    """Tables of the profile's self time and of mailgate's inclusive time."""
    tally = _Tally()
    _visit(root, tally, _Where())
    total = root.time
    return "\n".join(
        [
            f"wall time sampled: {total:.2f} s, of which importing modules: "
            f"{tally.imports:.2f} s ({100 * tally.imports / total:.0f} %)\n",
            _table("self time by package", tally.by_package, total, top),
            _table("self time by module", tally.by_module, total, top),
            _table("self time by function", tally.by_function, total, top),
            _table(
                "time in SQLAlchemy, by the mailgate function that called it",
                tally.database_by_caller,
                total,
                top,
            ),
            _table("mailgate functions, time including callees", tally.inclusive, total, 2 * top),
        ]
    )


def module_name(file_path: str | None) -> str:
    """`…/site-packages/sqlalchemy/orm/session.py` -> `sqlalchemy.orm`; mailgate's in full."""
    if not file_path:
        return _UNKNOWN
    if file_path.startswith("<"):  # <built-in>, <frozen os>, <sqlalchemy generated …>
        return file_path.strip("<>").split()[-1 if file_path.startswith("<frozen") else 0]
    if "/templates/" in file_path:
        return _TEMPLATES
    relative = _LIBRARY_ROOT.sub("", file_path)
    if relative == file_path:
        relative = _PROJECT_ROOT.sub("", file_path)
    parts = relative.removesuffix(".py").split("/")
    if parts[-1] == "__init__":
        parts.pop()
    if parts[0] != "mailgate":
        parts = parts[:2]
    return ".".join(part for part in parts if part) or _UNKNOWN


@dataclass(slots=True)
class _Tally:
    by_package: Counter[str] = field(default_factory=Counter)
    by_module: Counter[str] = field(default_factory=Counter)
    by_function: Counter[str] = field(default_factory=Counter)
    inclusive: Counter[str] = field(default_factory=Counter)
    database_by_caller: Counter[str] = field(default_factory=Counter)
    imports: float = 0.0


@dataclass(frozen=True, slots=True)
class _Where:
    """What a frame is called from, as the walk goes down the tree."""

    caller: str = _UNKNOWN
    """The module charged for the caller's self time."""
    mailgate_function: str = _UNKNOWN
    """The innermost mailgate function above."""
    open_names: frozenset[str] = frozenset()
    """The mailgate functions above, so that recursion is counted once."""
    importing: bool = False
    in_database: bool = False


def _visit(frame: Frame, tally: _Tally, above: _Where) -> None:
    """Count one frame and its callees.

    A C function's time is its Python caller's (`sqlite3` time shows as the
    SQLAlchemy module that called it); anything below the import machinery
    counts as importing, whoever's module is being imported.
    """
    if frame.is_synthetic:  # its time is in its parent's total_self_time already
        return
    module = module_name(frame.file_path)
    here = above
    if module.startswith("importlib") and not above.importing:
        here = replace(here, importing=True, mailgate_function=_IMPORTS)
        tally.imports += frame.time
    where = _IMPORTS if here.importing else above.caller if module == _BUILTIN else module
    here = replace(here, caller=where)
    self_time = frame.total_self_time
    tally.by_package[where.split(".", 1)[0]] += self_time
    tally.by_module[where] += self_time
    tally.by_function[where if here.importing else f"{where}:{frame.function}"] += self_time
    if module.startswith("sqlalchemy") and not here.in_database:
        # Counted at the outermost entry: SQLAlchemy → contextlib → SQLAlchemy is in it.
        tally.database_by_caller[here.mailgate_function] += frame.time
        here = replace(here, in_database=True)
    name = f"{module}:{frame.function}"
    if module.startswith("mailgate") and not here.importing:
        if name not in here.open_names:
            tally.inclusive[name] += frame.time
        here = replace(here, mailgate_function=name, open_names=here.open_names | {name})
    for child in frame.children:
        _visit(child, tally, here)


def _table(title: str, seconds: Counter[str], total: float, top: int) -> str:
    lines = [f"{title}:", f"  {'seconds':>8}  {'share':>6}  where"]
    for name, value in seconds.most_common(top):
        lines.append(f"  {value:8.2f}  {100 * value / total:5.1f} %  {name}")
    return "\n".join(lines) + "\n"
