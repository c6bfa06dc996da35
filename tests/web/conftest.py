"""The dashboard in a real headless Chromium (Debian's ``chromium``, driven by the playwright
wheel; ``playwright install`` is never run) through the real Envoy and the real server
process, on real generated MKV files.

One browser, one server and one Envoy for the whole module (the tests share them and keep to
their own folders under the media root), so the module runs in well under a minute or two.
Screenshots of every page at 1280 px and 390 px go to ``tmp/artifacts/dashboard/`` (or
``$ARRTHEAUDIO_ARTIFACTS``).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.envoy import EnvoyProcess, envoy_binary, running_envoy
from tests.support.media_files import AudioSpec, make_mkv, tools_available
from tests.support.server import REPO_ROOT, ServerProcess, running_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WIDE = {"width": 1280, "height": 900}
NARROW = {"width": 390, "height": 844}
API_KEY = "dashboard-test-key-0123456789"
ENG_THEN_JPN = (AudioSpec(lang="eng", default=True), AudioSpec(lang="jpn"))

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extras install it
    pytest.skip("playwright is not installed", allow_module_level=True)
if not CHROMIUM.exists() or not tools_available():  # pragma: no cover - bootstrap --test installs them
    pytest.skip(
        "chromium or ffmpeg/mkvtoolnix missing (run scripts/bootstrap.sh --test)", allow_module_level=True
    )
try:
    envoy_binary()
except Exception:  # noqa: BLE001 - pragma: no cover - the dev extras install it
    pytest.skip("envoy is not installed", allow_module_level=True)

pytestmark = pytest.mark.envoy


@dataclass
class Dashboard:
    """Everything a browser test needs: where things are and how to reach them."""

    server: ServerProcess
    envoy: EnvoyProcess
    media: Path
    template: Path  # a good MKV (eng default, jpn second) to copy
    artifacts: Path

    @property
    def url(self) -> str:
        return self.envoy.base_url

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        """A JSON call through Envoy with the key, as curl would make it."""
        reply = httpx.request(method, self.url + path, headers={"X-Api-Key": API_KEY}, timeout=30, **kwargs)
        reply.raise_for_status()
        return reply.json()

    def folder(self, name: str, files: list[str]) -> Path:
        """A folder of good MKVs (copies of one generated file) under the media root."""
        folder = self.media / name
        folder.mkdir(parents=True)
        for file_name in files:
            shutil.copyfile(self.template, folder / file_name)
        return folder

    def screenshot(self, page: Page, name: str) -> None:
        """The page at both widths (full height), e.g. overview-1280.png / overview-390.png, and a
        first-screen-only copy of each (``*-screen.png``, the size the README shows)."""
        for size in (WIDE, NARROW):
            page.set_viewport_size(size)
            page.wait_for_timeout(150)  # layout settles
            stem = self.artifacts / f"{name}-{size['width']}"
            page.screenshot(path=f"{stem}.png", full_page=True)
            page.screenshot(path=f"{stem}-screen.png")
            # Usable at this width: the page itself never scrolls sideways (wide tables scroll
            # inside their own box).
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{name} at {size['width']} px is {overflow} px too wide"
        page.set_viewport_size(WIDE)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    base = tmp_path_factory.mktemp("dashboard")
    media = base / "media"
    media.mkdir()
    template = make_mkv(base / "template.mkv", ENG_THEN_JPN)
    settings = {
        "media_roots": [str(media)],
        "language_priority": ["jpn", "eng"],
        "processing": {
            "worker_count": 1,
            "poll_interval_seconds": 0.05,
            "retry_attempts": 0,
            "retry_delay_seconds": 0,
            "heartbeat_seconds": 0.5,
            "lease_seconds": 5,
            "shutdown_grace_seconds": 2,
        },
        "logging": {"format": "json", "level": "WARNING"},
    }
    artifacts = Path(os.environ.get("ARRTHEAUDIO_ARTIFACTS", REPO_ROOT / "tmp" / "artifacts")) / "dashboard"
    artifacts.mkdir(parents=True, exist_ok=True)
    with (
        running_server(base / "server", settings, api_key=API_KEY) as server,
        running_envoy(base, server.port) as envoy,
    ):
        yield Dashboard(server=server, envoy=envoy, media=media, template=template, artifacts=artifacts)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Watched:
    """A page plus what it did that it must not: script dialogs, failed scripts, stray requests."""

    page: Page
    dialogs: list[str]
    errors: list[str]
    requests: list[str]


@pytest.fixture
def page(browser: Browser, dashboard: Dashboard) -> Iterator[Watched]:
    """A fresh tab, already signed in (the key put in sessionStorage before any script runs)."""
    context = browser.new_context(viewport=WIDE)
    context.add_init_script(f"sessionStorage.setItem('arrtheaudio.apiKey', {API_KEY!r});")
    tab = context.new_page()
    watched = Watched(tab, [], [], [])
    tab.on("dialog", lambda dialog: (watched.dialogs.append(dialog.message), dialog.dismiss()))
    tab.on("pageerror", lambda error: watched.errors.append(str(error)))
    tab.on("request", lambda request: watched.requests.append(request.url))
    tab.set_default_timeout(20_000)
    yield watched
    context.close()
    assert not watched.dialogs, watched.dialogs
    assert not watched.errors, watched.errors  # no uncaught exception in the page's scripts
