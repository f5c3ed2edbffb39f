"""Backfills as the UI launches them: dagster-webserver + dagster-daemon on a temporary
instance, ``launchPartitionBackfill`` through GraphQL, runs made by the daemon.

Backfill runs carry a partition *range* (even of one partition), not the single-partition tag
of a launched run; every record must still land in its own partition's folder. Then a
catalog regeneration: a changed ``code_version`` makes partitions stale, and a backfill of
the stale partitions rebuilds them.
"""

import json
import time
from pathlib import Path

import pytest

from lofi_assets_tests.conftest import REPO_ROOT
from lofi_assets_tests.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, _browser
from lofi_assets_tests.webserver import Webserver, running_webserver

DATES = ["2026-11-27", "2026-11-28"]  # the analytics backfill: one run per date
# The tracks and the release of one day: three track partitions are already a backfill of
# several runs, and the release of a second day would only repeat the same runs (each run
# costs two imports of the code location on two cores).
RELEASE_DATE = DATES[1]
SLOTS = ["1", "2", "3"]
TRACK_ASSETS = ["midi_sketch", "stems", "mastered_wav"]
RELEASE_ASSETS = ["release_mix", "release_metadata", "thumbnail", "video", "shorts_teaser"]
BUMPED = "release_metadata"

LAUNCH = """
mutation Backfill($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { invalidOutputName }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    ... on PartitionBackfill { status runs { runId status tags { key value } } }
    ... on PythonError { message }
  }
}"""
STALE = """
query Stale($keys: [AssetKeyInput!], $partitions: [String!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    staleStatusByPartition(partitions: $partitions)
  }
}"""
DONE = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}

# The product's code location with one asset's code_version bumped when bump.txt says so: the
# same change a developer makes by editing the constant, loaded the way a deploy loads it.
REGENERATED_LOCATION = """
from pathlib import Path

import dagster as dg


def _deployed() -> dg.Definitions:
    from lofi_assets.definitions import defs as product

    bump = Path(__file__).with_name("bump.txt")
    if not bump.exists():
        return product
    return product.map_resolved_asset_specs(
        selection=dg.AssetSelection.assets({asset!r}),
        func=lambda spec: spec.replace_attributes(
            code_version=f"{{spec.code_version}}+{{bump.read_text().strip()}}"
        ),
    )


defs = _deployed()
"""


def _launch(webserver: Webserver, assets: list[str], partitions: list[str], config=None) -> str:
    params = {
        "assetSelection": [{"path": [name]} for name in assets],
        "partitionNames": partitions,
        "runConfigData": config or {},
    }
    launched = webserver.graphql(LAUNCH, {"params": params})["data"]["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"]


def _finished(webserver: Webserver, backfill_id: str, timeout_s: float = 600) -> list[dict]:
    """The backfill's runs once it has completed; each run's status and partition tags."""
    deadline = time.monotonic() + timeout_s
    while True:
        backfill = webserver.graphql(STATUS, {"id": backfill_id})["data"]
        backfill = backfill["partitionBackfillOrError"]
        if backfill.get("status") in DONE:
            return backfill["runs"]
        assert time.monotonic() < deadline, f"backfill {backfill_id} still {backfill}"
        time.sleep(2)


def _assert_all_succeeded(runs: list[dict], expected_runs: int) -> None:
    assert len(runs) == expected_runs, runs
    assert {run["status"] for run in runs} == {"SUCCESS"}, runs
    for run in runs:  # a backfill run names a partition range, not one partition
        tags = {tag["key"]: tag["value"] for tag in run["tags"]}
        assert "dagster/asset_partition_range_start" in tags, tags


def _record(data: Path, asset: str, *partition: str) -> dict:
    return json.loads(data.joinpath(asset, *partition, "record.json").read_text())


def _stale(webserver: Webserver, assets: list[str]) -> dict[str, list[str]]:
    payload = webserver.graphql(
        STALE, {"keys": [{"path": [name]} for name in assets], "partitions": [RELEASE_DATE]}
    )["data"]["assetNodes"]
    return {node["assetKey"]["path"][0]: node["staleStatusByPartition"] for node in payload}


@pytest.mark.slow
@pytest.mark.xdist_group("process_heavy")  # takes turns with the other server tests
def test_backfills_from_the_ui_write_every_partition_to_its_own_folder(environment, tmp_path):
    data = Path(environment["DAGSTER_HOME"]).parent / "data"
    location = tmp_path / "location"
    location.mkdir()
    (location / "regenerated.py").write_text(REGENERATED_LOCATION.format(asset=BUMPED))
    workspace = tmp_path / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - python_file:\n"
        f"      relative_path: {location / 'regenerated.py'}\n"
        f"      location_name: lofi_assets\n      working_directory: {REPO_ROOT}\n"
    )
    tracks = [f"{RELEASE_DATE}|{slot}" for slot in SLOTS]
    static = {"motion": "static"}
    with running_webserver(
        environment, with_daemon=True, workspace=workspace, backfill_interval_s=2
    ) as webserver:
        # (a) the day's tracks and (c) an analytics snapshot per date, side by side
        track_backfill = _launch(
            webserver,
            TRACK_ASSETS,
            tracks,
            {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
        )
        analytics_backfill = _launch(webserver, ["analytics_snapshot"], DATES)
        _assert_all_succeeded(_finished(webserver, track_backfill), len(tracks))
        _assert_all_succeeded(_finished(webserver, analytics_backfill), len(DATES))
        # (b) the release assets of the day
        release_backfill = _launch(
            webserver,
            RELEASE_ASSETS,
            [RELEASE_DATE],
            {"ops": {"video": {"config": static}, "shorts_teaser": {"config": static}}},
        )
        _assert_all_succeeded(_finished(webserver, release_backfill), 1)

        page_png = tmp_path / "midi_sketch_partitions_after_backfill.png"
        _screenshot(webserver, "/assets/midi_sketch?view=partitions", page_png)
        assert page_png.stat().st_size > 10_000

    for asset in TRACK_ASSETS:
        assert not (data / asset / "record.json").exists(), "a record in the shared folder"
        for key in tracks:
            record = _record(data, asset, *key.split("|"))
            paths = [v for v in record["fields"].values() if isinstance(v, str) and "/" in v]
            paths += [
                v for d in record["fields"].values() if isinstance(d, dict) for v in d.values()
            ]
            assert paths and all(p.startswith(f"{asset}/{key.replace('|', '/')}/") for p in paths)
    for asset in RELEASE_ASSETS:
        assert not (data / asset / "record.json").exists(), "a record in the shared folder"
        assert _record(data, asset, RELEASE_DATE)["fields"]  # its own folder, its own record
    assert not (data / "analytics_snapshot" / "record.json").exists()
    for date in DATES:
        assert _record(data, "analytics_snapshot", date)["fields"]["snapshot_date"] == date
    assert _record(data, "release_mix", RELEASE_DATE)["fields"]["slots"] == SLOTS
    before = _record(data, BUMPED, RELEASE_DATE)
    record_time = (data / BUMPED / RELEASE_DATE / "record.json").stat().st_mtime_ns

    # Regeneration: the code changes (a new code_version), the servers are redeployed.
    (location / "bump.txt").write_text("regenerated")
    with running_webserver(
        environment, with_daemon=True, workspace=workspace, backfill_interval_s=2
    ) as webserver:
        stale = _stale(webserver, RELEASE_ASSETS)
        assert stale == {
            name: ["STALE"] if name == BUMPED else ["FRESH"] for name in RELEASE_ASSETS
        }
        # The stale partition and what is made from it (the teaser shows the title).
        regenerate = _launch(
            webserver, [BUMPED, "shorts_teaser"], [RELEASE_DATE],
            {"ops": {"shorts_teaser": {"config": static}}},
        )  # fmt: skip
        _assert_all_succeeded(_finished(webserver, regenerate), 1)
        assert _stale(webserver, RELEASE_ASSETS) == {name: ["FRESH"] for name in RELEASE_ASSETS}
    assert (data / BUMPED / RELEASE_DATE / "record.json").stat().st_mtime_ns > record_time
    # Same inputs, same metadata: regenerating is deterministic.
    assert _record(data, BUMPED, RELEASE_DATE) == before


def _screenshot(webserver: Webserver, path: str, out: Path) -> None:
    """The page as a person sees it, in headless Chromium."""
    playwright_api = _browser()
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        page.goto(f"{webserver.url}{path}", wait_until="networkidle")
        skip = page.get_by_role("button", name="Skip")  # the community sign-up dialog
        if skip.count():
            skip.first.click()
        page.get_by_text(RELEASE_DATE).first.wait_for(timeout=60_000)
        page.screenshot(path=str(out), full_page=True)
        browser.close()
