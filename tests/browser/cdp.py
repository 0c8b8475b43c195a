"""A small client of Chromium's DevTools protocol: one headless browser, one tab.

Over the protocol rather than `--dump-dom` per page: one browser process
serves every page (a start costs about a second), the viewport width and
`prefers-color-scheme` are set per page by Emulation, and a page's checks are
JavaScript evaluated in it, with their answers back as JSON.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import websocket

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """The browser to use: $CHROMIUM, else the first of the usual names on PATH."""
    named = os.environ.get("CHROMIUM")
    if named:
        return named
    return next((path for name in CANDIDATES if (path := shutil.which(name))), None)


class Browser:
    """Headless Chromium with one page; `close` ends the process."""

    def __init__(self, binary: str) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="mailgate-chromium-")
        self._process = subprocess.Popen(
            [binary, "--headless=new", "--remote-debugging-port=0", "--no-first-run",
             "--no-default-browser-check", "--disable-gpu", "--no-sandbox",
             "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--disable-dev-shm-usage",
             f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        url = self._devtools_url()
        self._socket = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self._ids = itertools.count(1)
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self._session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        self.page("Page.enable")
        self.frame = self.page("Page.getFrameTree")["frameTree"]["frame"]["id"]

    def _devtools_url(self) -> str:
        """Chromium prints its address on stderr; the rest of stderr is drained by a thread
        (a full pipe would stop the browser)."""
        found: queue.Queue[str] = queue.Queue()

        def drain() -> None:
            assert self._process.stderr is not None
            for line in self._process.stderr:
                if match := re.search(r"DevTools listening on (ws://\S+)", line):
                    found.put(match.group(1))
            found.put("")  # the browser exited

        self._drain = threading.Thread(target=drain, daemon=True)
        self._drain.start()
        try:
            url = found.get(timeout=60)
        except queue.Empty:
            url = ""
        if not url:
            self._process.kill()
            raise RuntimeError("chromium did not start its DevTools server")
        return url

    def call(self, method: str, session: str | None = None, **params: Any) -> dict[str, Any]:
        """Send one command, wait for its answer; events in between are dropped."""
        number = next(self._ids)
        message: dict[str, Any] = {"id": number, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self._socket.send(json.dumps(message))
        while True:
            answer = json.loads(self._socket.recv())
            if answer.get("id") == number:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})

    def page(self, method: str, **params: Any) -> dict[str, Any]:
        return self.call(method, self._session, **params)

    def show(self, html: str, *, width: int, dark: bool) -> None:
        """Load `html` in the page at `width` CSS pixels, light or dark."""
        self.page("Emulation.setDeviceMetricsOverride", width=width, height=800,
                  deviceScaleFactor=1, mobile=width < 600)  # fmt: skip
        scheme = "dark" if dark else "light"
        self.page("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": scheme}])  # fmt: skip
        self.page("Page.setDocumentContent", frameId=self.frame, html=html)

    def evaluate(self, expression: str) -> Any:
        result = self.page("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, *, width: int) -> None:
        """A PNG of the whole page, cropped to its content's height."""
        height = self.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")
        clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        shot = self.page(
            "Page.captureScreenshot", format="png", captureBeyondViewport=True, clip=clip
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        try:
            self._socket.close()
        finally:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._drain.join(timeout=10)
            if self._process.stderr is not None:
                self._process.stderr.close()
            self._profile.cleanup()
