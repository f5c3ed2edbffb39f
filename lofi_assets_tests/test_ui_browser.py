"""The Dagster UI in a real browser: headless Chromium (Debian's) driven by Playwright."""

import os
import shutil
import time

import pytest

from lofi_assets_tests.webserver import launch_partition_run, running_webserver

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# The closed network here refuses Chromium's background traffic; these keep it quiet.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
PARTITION = "2026-11-27|1"

STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def _browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            raise AssertionError(f"no Chromium at {CHROMIUM}: scripts/dev.sh test installs it")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    return playwright_api


@pytest.mark.slow
@pytest.mark.xdist_group("process_heavy")  # takes turns with the Celery test
def test_the_ui_shows_our_assets_and_launches_a_partition(environment, tmp_path):
    playwright_api = _browser()
    date, slot = PARTITION.split("|")
    with (
        running_webserver(environment, with_daemon=True) as webserver,
        playwright_api.sync_playwright() as p,
    ):
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{webserver.url}/asset-groups", wait_until="networkidle")
        page.get_by_text("Global asset lineage").first.wait_for(timeout=60_000)
        skip = page.get_by_role("button", name="Skip")  # the community sign-up dialog
        if skip.count():
            skip.first.click()
        page.get_by_text("release").first.wait_for(timeout=60_000)
        graph = page.inner_text("body")
        groups = ("compose", "produce", "release", "publish", "model", "feedback", "long_form",
                  "radio", "catalog")  # fmt: skip
        for group in groups:
            assert group in graph, group
        page.screenshot(path=str(tmp_path / "asset_graph.png"), full_page=True)

        # The catalog renders only the rows in view (a virtualized list): a tall viewport
        # holds every asset of the code location.
        page.set_viewport_size({"width": 1600, "height": 4000})
        page.goto(f"{webserver.url}/assets", wait_until="networkidle")
        page.get_by_text("midi_sketch").first.wait_for(timeout=60_000)
        catalog = page.inner_text("body")
        for name in ("midi_sketch", "mastered_wav", "release_mix", "video", "youtube_upload",
                     "streaming_release", "melody_model", "weekly_mix", "radio_queue",
                     "radio_health", "catalog_site"):  # fmt: skip
            assert name in catalog, name

        page.goto(f"{webserver.url}/assets/midi_sketch?view=partitions", wait_until="networkidle")
        page.get_by_text("Partitions").first.wait_for(timeout=60_000)
        page.get_by_text(date).first.wait_for(timeout=60_000)
        partitions = page.inner_text("body")
        assert "Missing" in partitions and "2026-11-01" in partitions
        page.screenshot(path=str(tmp_path / "midi_sketch_partitions.png"), full_page=True)
        browser.close()

        run_id = launch_partition_run(
            webserver, ["midi_sketch"], date, slot,
            {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
        )  # fmt: skip
        deadline, status = time.monotonic() + 300, None
        while time.monotonic() < deadline:
            status = webserver.graphql(STATUS, {"id": run_id})["data"]["runOrError"]["status"]
            if status in ("SUCCESS", "FAILURE", "CANCELED"):
                break
            time.sleep(1)
        assert status == "SUCCESS"
    assert (tmp_path / "asset_graph.png").stat().st_size > 10_000
    midi = tmp_path / "data" / "midi_sketch" / date / slot / "sketch.mid"
    assert midi.is_file()
