"""Open a page in headless Chromium over the DevTools protocol: images, console errors, screenshot.

Used by the report tests; skips cleanly where Chromium is not installed.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Page:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method: str, timeout: float = 30) -> None:
        end = time.time() + timeout
        if any(e.get("method") == method for e in self.events):
            return
        self.ws.settimeout(timeout)
        while time.time() < end:
            msg = json.loads(self.ws.recv())
            self.events.append(msg)
            if msg.get("method") == method:
                return
        raise TimeoutError(method)


def inspect_page(
    html_file: Path, screenshot: Path | None = None, width: int = 1200, probe: str | None = None
) -> dict[str, Any]:
    """Load ``html_file``; return images (total, broken), console errors, and save a screenshot.

    ``probe``, a JavaScript expression, is evaluated after the load; its value is
    ``info["probe"]`` and the page's visible text ``info["text"]``.
    """
    import websocket

    exe = chromium_path()
    if exe is None:
        raise RuntimeError("chromium not installed")
    profile = Path(tempfile.mkdtemp(prefix="ek-chromium-"))
    proc = subprocess.Popen(
        [exe, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},900", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        import urllib.request

        targets = []
        for _ in range(100):
            try:
                targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json", timeout=5).read())
                if any(t.get("type") == "page" for t in targets):
                    break
            except OSError:
                pass
            time.sleep(0.05)
        target = next(t for t in targets if t.get("type") == "page")
        ws = websocket.create_connection(target["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        page = Page(ws)
        page.call("Page.enable")
        page.call("Runtime.enable")
        page.call("Log.enable")
        page.call("Page.navigate", url=Path(html_file).resolve().as_uri())
        page.wait_event("Page.loadEventFired")
        time.sleep(0.3)
        res = page.call(
            "Runtime.evaluate",
            expression="JSON.stringify({total: document.images.length, broken: Array.from(document.images)"
            ".filter(i => !(i.complete && i.naturalWidth > 0)).length, title: document.title,"
            " height: document.body.scrollHeight})",
            returnByValue=True,
        )
        info = json.loads(res["result"]["value"])
        errors = []
        for e in page.events:
            m = e.get("method")
            if m == "Runtime.exceptionThrown":
                errors.append(str(e["params"]["exceptionDetails"].get("text")))
            elif m == "Runtime.consoleAPICalled" and e["params"].get("type") == "error":
                errors.append(str(e["params"].get("args")))
            elif m == "Log.entryAdded" and e["params"]["entry"].get("level") == "error":
                errors.append(e["params"]["entry"].get("text", ""))
        info["console_errors"] = errors
        if probe is not None:
            got = page.call("Runtime.evaluate", expression=f"JSON.stringify({{probe: {probe}, text: document.body.innerText}})",
                            returnByValue=True)
            info.update(json.loads(got["result"]["value"]))
        if screenshot is not None:
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=min(int(info["height"]), 8000), deviceScaleFactor=1, mobile=False)
            shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
            Path(screenshot).write_bytes(base64.b64decode(shot["data"]))
        ws.close()
        return info
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(profile, ignore_errors=True)
