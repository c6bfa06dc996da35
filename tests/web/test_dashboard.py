"""The dashboard, driven in headless Chromium through Envoy against the real server.

What a user does — sign in, scan a folder (dry run, then for real) and watch it reach 100 %,
open a job and see the chosen track, cancel a running scan, retry a failed job once its file is
fixed — plus what must never happen: a hostile file name running script, the key in a URL, a
page that stays dead after the server restarts. Two figures are printed, not asserted: the
first load's transferred bytes and how long a finished job takes to reach an open page.
"""

from __future__ import annotations

import json
import re
import time
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect
from prometheus_client.parser import text_string_to_metric_families

from tests.support.arr_library import sonarr_payload_with_paths
from tests.support.media_files import file_fingerprint, make_corrupt, make_mkv, read_back
from tests.web.conftest import API_KEY, ENG_THEN_JPN, Dashboard, Watched

HOSTILE = "<img src=x onerror=alert(1)>.mkv"
WORLD = ["日本語のエピソード 第1話.mkv", "حلقة عربية.mkv", "🎬 Film night 🍿.mkv", "Ünïcödé – ñame.mkv"]


def open_page(watched: Watched, dashboard: Dashboard, fragment: str = "#/") -> None:
    watched.page.goto(f"{dashboard.url}/ui/{fragment}")


def start_scan_in_the_ui(watched: Watched, dashboard: Dashboard, folder: Path, *, dry_run: bool) -> str:
    page = watched.page
    open_page(watched, dashboard, "#/scans")
    page.fill("#scan-path", str(folder))
    if dry_run:
        page.check("#scan-dry-run")
    page.click("#start-scan-button")
    page.wait_for_url(re.compile(r"#/scans/\w+"))
    return page.url.rsplit("/", 1)[1]


def wait_scan_done(watched: Watched, status: str = "completed") -> None:
    page = watched.page
    expect(page.locator("#scan-percent")).to_have_text("100 %", timeout=60_000)
    expect(page.locator("#scan-status")).to_have_attribute("data-status", status, timeout=30_000)


def report(
    capsys: pytest.CaptureFixture[str], dashboard: Dashboard, key: str, value: float, text: str
) -> None:
    """A measured figure: printed even under pytest's capture, and kept in figures.json."""
    figures = dashboard.artifacts / "figures.json"
    known = json.loads(figures.read_text()) if figures.exists() else {}
    figures.write_text(json.dumps({**known, key: value}, indent=2) + "\n")
    with capsys.disabled():
        print(f"\nFIGURE {text}")


def test_sign_in_refuses_a_wrong_key_then_accepts_the_right_one(
    browser, dashboard: Dashboard, capsys: pytest.CaptureFixture[str]
) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(dashboard.url + "/")  # redirected to /ui/
        assert page.url.endswith("/ui/")
        page.fill("#api-key", "not-the-key")
        page.click("button[type=submit]")
        expect(page.locator("#sign-in-error")).to_contain_text("refused this API key")
        dashboard.screenshot(page, "sign-in")
        page.fill("#api-key", API_KEY)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Overview")
        assert page.evaluate("sessionStorage.getItem('arrtheaudio.apiKey')") == API_KEY
        # First load, measured by the browser itself (Resource Timing), cache empty.
        fresh = browser.new_context()
        first = fresh.new_page()
        first.goto(dashboard.url + "/ui/")
        first.wait_for_load_state("networkidle")
        transferred = first.evaluate(
            "() => performance.getEntriesByType('navigation').concat(performance.getEntriesByType('resource'))"
            ".reduce((sum, entry) => sum + entry.transferSize, 0)"
        )
        files = first.evaluate("() => performance.getEntriesByType('resource').length + 1")
        report(
            capsys,
            dashboard,
            "first_load_bytes",
            transferred,
            f"dashboard first load: {transferred} bytes transferred in {files} requests (budget 300 KB)",
        )
        fresh.close()
        assert transferred > 0
    finally:
        context.close()


def test_dry_run_then_real_scan_reach_100_percent_live(page: Watched, dashboard: Dashboard) -> None:
    folder = dashboard.folder("Show", [f"S01E{n:02}.mkv" for n in range(1, 7)])
    before = {path.name: file_fingerprint(path) for path in folder.iterdir()}
    start_scan_in_the_ui(page, dashboard, folder, dry_run=True)
    page.page.evaluate("window.__sameDocument = true")
    wait_scan_done(page)
    assert page.page.evaluate("window.__sameDocument === true")  # no reload: the stream moved the bar
    expect(page.page.locator("#scan-results tbody tr")).to_have_count(6)
    assert {path.name: file_fingerprint(path) for path in folder.iterdir()} == before
    dashboard.screenshot(page.page, "scan")

    start_scan_in_the_ui(page, dashboard, folder, dry_run=False)
    page.page.evaluate("window.__sameDocument = true")
    wait_scan_done(page)
    assert page.page.evaluate("window.__sameDocument === true")
    for path in folder.iterdir():
        assert read_back(path).default_audio_indexes == [1]  # jpn is the default now

    # Open a job from the results and see the chosen track and why.
    page.page.locator("#scan-results tbody tr a").first.click()
    page.page.wait_for_url(re.compile(r"#/jobs/\w+"))
    chosen = page.page.locator("#tracks tr.chosen")
    expect(chosen).to_have_count(1)
    expect(chosen).to_contain_text("jpn")
    expect(chosen).to_contain_text("— → default")
    rows = page.page.locator("#tracks tbody tr")
    expect(rows).to_have_count(2)  # every audio track of the file, as read
    expect(rows.first).to_contain_text("eng")
    expect(rows.first).to_contain_text("default → —")
    expect(page.page.locator("#job-details")).to_contain_text("mkvpropedit")
    expect(page.page.locator("#why")).to_contain_text("the language priority list")
    expect(page.page.locator("#job-details")).to_have_attribute("data-status", "completed")
    dashboard.screenshot(page.page, "job")
    open_page(page, dashboard, "#/scans")
    expect(page.page.locator("#scans-list tbody tr")).to_have_count(2)
    dashboard.screenshot(page.page, "scans")


def test_cancel_a_running_scan(page: Watched, dashboard: Dashboard) -> None:
    folder = dashboard.folder("Big", [f"Movie {n:03}.mkv" for n in range(40)])
    start_scan_in_the_ui(page, dashboard, folder, dry_run=False)
    cancel = page.page.locator("#cancel-scan")
    expect(cancel).to_be_visible()
    expect(page.page.locator("#scan-percent")).not_to_have_text("0 %", timeout=30_000)  # under way
    dashboard.screenshot(page.page, "scan-running")
    cancel.click()
    expect(page.page.locator("#scan-message")).to_contain_text("Cancelled")
    expect(page.page.locator("#scan-status")).to_have_attribute("data-status", "cancelled")
    cancelled = int(re.search(r"Cancelled (\d+)", page.page.locator("#scan-message").inner_text()).group(1))
    assert cancelled > 0
    batch_id = page.page.url.rsplit("/", 1)[1]
    batch = dashboard.api("GET", f"/batch/{batch_id}")["batch"]
    assert batch["status"] == "BATCH_STATUS_CANCELLED" and batch["progress"]["cancelled"] >= cancelled


def test_retry_a_failed_job_once_its_file_is_replaced(
    page: Watched, dashboard: Dashboard, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = dashboard.media / "Broken"
    folder.mkdir()
    make_corrupt(folder / "broken.mkv", "garbage")
    start_scan_in_the_ui(page, dashboard, folder, dry_run=False)
    wait_scan_done(page)
    expect(page.page.locator("#retry-scan")).to_be_visible()  # the scan page offers a retry too
    page.page.click("#scan-failed-jobs")  # the jobs list, filtered to this scan's failed jobs
    page.page.wait_for_url(re.compile(r"#/jobs\?.*status=JOB_STATUS_FAILED"))
    expect(page.page.locator("#jobs-list tbody tr")).to_have_count(1)
    expect(page.page.locator("#f-status")).to_have_value("JOB_STATUS_FAILED")
    page.page.locator("#jobs-list tbody tr a").first.click()
    details = page.page.locator("#job-details")
    expect(details).to_have_attribute("data-status", "failed")
    expect(details).to_contain_text("corrupt")

    make_mkv(folder / "broken.mkv", ENG_THEN_JPN)  # the user replaced the file
    # Record, in the page, the moment the job is shown as completed.
    page.page.evaluate(
        """() => new MutationObserver((_, observer) => {
            const node = document.querySelector('#job-details[data-status=completed]');
            if (node) { window.__completedSeenAt = Date.now(); observer.disconnect(); }
        }).observe(document.getElementById('main'), {subtree: true, childList: true, attributes: true})"""
    )
    page.page.click("#retry-job")
    expect(details).to_have_attribute("data-status", "completed", timeout=30_000)
    expect(details).to_contain_text("success")
    expect(page.page.locator("#tracks tr.chosen")).to_contain_text("jpn")
    job_id = page.page.url.rsplit("/", 1)[1]
    job = dashboard.api("GET", f"/jobs/{job_id}")["job"]
    finished = datetime.fromisoformat(job["completed_at"].replace("Z", "+00:00")).timestamp() * 1000
    seen = page.page.evaluate("window.__completedSeenAt")
    report(
        capsys,
        dashboard,
        "finished_job_to_page_ms",
        round(seen - finished),
        f"finished job reached the open job page {seen - finished:.0f} ms after the server finished it (target 1 s)",
    )
    assert read_back(folder / "broken.mkv").default_audio_indexes == [1]


def test_file_names_render_as_text_in_any_script(page: Watched, dashboard: Dashboard) -> None:
    folder = dashboard.folder("Names", [HOSTILE, *WORLD])
    start_scan_in_the_ui(page, dashboard, folder, dry_run=True)
    wait_scan_done(page)
    results = page.page.locator("#scan-results")
    for name in (HOSTILE, *WORLD):
        expect(results).to_contain_text(name)
    assert results.locator("img").count() == 0
    rtl = results.locator("a .path", has_text="حلقة عربية.mkv")
    assert rtl.get_attribute("dir") == "auto"
    dashboard.screenshot(page.page, "names")
    hostile_link = results.locator("a", has_text=HOSTILE)
    hostile_link.click()
    expect(page.page.locator("#job-details")).to_contain_text(HOSTILE)
    page.page.wait_for_timeout(300)
    dashboard.screenshot(page.page, "hostile-job")
    assert not page.dialogs
    stray = [url for url in page.requests if url.rstrip("/").endswith("/x") or "/x?" in url]
    assert not stray, stray
    assert all(API_KEY not in url for url in page.requests)  # the key never goes into a URL


def test_overview_jobs_webhooks_and_statistics_pages(page: Watched, dashboard: Dashboard) -> None:
    folder = dashboard.folder("Sonarr", ["Episode 1.mkv", "Episode 2.mkv"])
    payload = sonarr_payload_with_paths([str(path) for path in sorted(folder.iterdir())])
    reply = httpx.post(f"{dashboard.url}/webhook/sonarr?apikey={API_KEY}", content=payload, timeout=30)
    assert reply.status_code == 200, reply.text
    webhook_id = reply.json()["webhook_id"]

    open_page(page, dashboard, "#/webhooks")
    row = page.page.locator(f"#webhooks-list tr[data-webhook-id='{webhook_id}']")
    expect(row).to_be_visible()
    # Server first (a slow machine may take a while), then the open page must follow on its own.
    deadline = time.monotonic() + 120
    while True:
        counts = dashboard.api("GET", f"/webhook/{webhook_id}")["webhook"]["counts"]
        if counts["completed"] + counts["failed"] + counts["cancelled"] == counts["total"] == 2:
            break
        assert time.monotonic() < deadline, (
            f"the delivery's jobs did not finish: {dashboard.api('GET', '/queue')}"
        )
        time.sleep(0.2)
    expect(row).to_contain_text("2/2", timeout=10_000)
    dashboard.screenshot(page.page, "webhooks")
    row.locator("a").click()
    expect(page.page.locator("#webhook-jobs tbody tr")).to_have_count(2)
    dashboard.screenshot(page.page, "webhook")

    open_page(page, dashboard, "#/jobs")
    expect(page.page.locator("#jobs-list tbody tr").first).to_be_visible()
    page.page.select_option("#f-status", "JOB_STATUS_FAILED")
    page.page.click("#job-filters button[type=submit]")
    page.page.wait_for_url(re.compile(r"status=JOB_STATUS_FAILED"))
    expect(page.page.locator("#jobs-list")).not_to_contain_text("completed")
    open_page(page, dashboard, "#/jobs")
    dashboard.screenshot(page.page, "jobs")

    open_page(page, dashboard, "#/stats")
    today = page.page.locator("#daily-chart g").last
    expect(today).to_be_attached()
    stats = dashboard.api("GET", "/stats")
    assert stats["today"]["total"] > 0
    expect(today).to_have_attribute("data-total", str(stats["today"]["total"]))
    expect(page.page.locator("#outcomes")).to_contain_text("lifetime")
    dashboard.screenshot(page.page, "stats")

    open_page(page, dashboard, "#/")
    queue = dashboard.api("GET", "/queue")["counts"]
    expect(page.page.locator("[data-count=completed] .n")).to_have_text(str(queue["completed"]))
    dashboard.screenshot(page.page, "overview")


def test_a_restarted_server_is_picked_up_by_an_open_page(page: Watched, dashboard: Dashboard) -> None:
    open_page(page, dashboard, "#/")
    completed = page.page.locator("[data-count=completed] .n")
    expect(completed).to_have_text(str(dashboard.api("GET", "/queue")["counts"]["completed"]))
    page.page.evaluate("window.__sameDocument = true")
    dashboard.server.stop()
    expect(page.page.locator("#connection")).to_be_visible(timeout=15_000)
    dashboard.server.start()
    expect(page.page.locator("#connection")).to_be_hidden(timeout=30_000)
    # The page listens again: a new job's completion shows up without a reload.
    folder = dashboard.folder("After restart", ["Late.mkv"])
    before = int(completed.inner_text())
    dashboard.api("POST", "/batch", json={"path": str(folder)})
    expect(completed).to_have_text(str(before + 1), timeout=30_000)
    assert page.page.evaluate("window.__sameDocument === true")


def test_metrics_and_security_headers_through_envoy(dashboard: Dashboard) -> None:
    assert httpx.get(dashboard.url + "/metrics").status_code == 401
    scrape = httpx.get(dashboard.url + "/metrics", headers={"Authorization": f"Bearer {API_KEY}"})
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    values = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(scrape.text)
        for sample in family.samples
    }
    counts = dashboard.api("GET", "/queue")["counts"]
    for status in ("queued", "running", "completed", "failed", "cancelled"):
        assert values[("arrtheaudio_queue_jobs", (("status", status),))] == counts[status]
    page = httpx.get(dashboard.url + "/ui/")
    policy = page.headers["content-security-policy"]
    assert (
        "default-src 'self'" in policy
        and "frame-ancestors 'none'" in policy
        and "unsafe-inline" not in policy
    )
    assert page.headers["x-content-type-options"] == "nosniff"
    assert httpx.get(dashboard.url + "/ui/js/app.js").headers["content-type"].startswith("text/javascript")


def test_every_page_is_reachable_by_keyboard(page: Watched, dashboard: Dashboard) -> None:
    open_page(page, dashboard, "#/")
    expect(page.page.locator("h1")).to_have_text("Overview")
    reached: dict[str, str] = {}
    for _ in range(12):  # skip link, brand, the five pages, sign out
        page.page.keyboard.press("Tab")
        focused = page.page.evaluate("document.activeElement.textContent.trim()")
        reached.setdefault(focused, page.page.evaluate("document.activeElement.tagName"))
    for name in (
        "Skip to content",
        "Overview",
        "Library scans",
        "Jobs",
        "Webhooks",
        "Statistics",
        "Sign out",
    ):
        assert name in reached, reached
    page.page.focus("nav a[data-page=stats]")
    page.page.keyboard.press("Enter")
    expect(page.page.locator("h1")).to_have_text("Statistics")
    # The scan form is filled and sent from the keyboard alone.
    open_page(page, dashboard, "#/scans")
    page.page.focus("#scan-path")
    page.page.keyboard.type("/not/inside/the/roots")
    page.page.keyboard.press("Enter")
    expect(page.page.locator("#start-error")).to_contain_text("outside")
