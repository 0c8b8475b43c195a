"""Screenshots of every notification for docs/notifications/, from headless Chromium.

    .venv/bin/python -m tests.browser.screenshots [OUT_DIR]

writes `<language>-<template>-<width>.png` (375 px: a phone, 1024 px: a desktop
mail client's reading pane) and, for the acknowledgement and the relayed
answer, `...-375-dark.png` in dark mode, each cropped to the mail's height.
Every page is checked as tests/browser checks it first; a page with a problem
is reported and the command exits 1.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.browser.cdp import Browser, find_chromium
from tests.browser.checks import WIDTHS, inspect, problems
from tests.browser.samples import pages

OUT = Path(__file__).resolve().parents[2] / "docs" / "notifications"
DARK = ("created", "agent_answer")  # also shown in dark mode, at phone width


def main(argv: list[str]) -> int:
    out = Path(argv[0]) if argv else OUT
    out.mkdir(parents=True, exist_ok=True)
    binary = find_chromium()
    if binary is None:
        print("screenshots: no chromium on PATH (apt-get install chromium)", file=sys.stderr)
        return 2
    failed = 0
    browser = Browser(binary)
    try:
        for page in pages():
            shots = [(width, False) for width in WIDTHS]
            if page.name in DARK:
                shots.append((WIDTHS[0], True))
            for width, dark in shots:
                found = problems(page, inspect(browser, page, width=width, dark=dark),
                                 width=width, dark=dark)  # fmt: skip
                for problem in found:
                    print(f"{page.slug} {width}{' dark' if dark else ''}: {problem}")
                failed += bool(found)
                name = f"{page.slug}-{width}{'-dark' if dark else ''}.png"
                browser.screenshot(out / name, width=width)
    finally:
        browser.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
