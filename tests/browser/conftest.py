"""One headless Chromium for the whole browser tier; skipped only where none is installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.cdp import Browser, find_chromium


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    binary = find_chromium()
    if binary is None:
        pytest.skip("no chromium binary (apt-get install chromium; .ci/setup installs it)")
    started = Browser(binary)
    yield started
    started.close()
