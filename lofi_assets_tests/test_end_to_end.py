"""The commands a user types, run as subprocesses against a temporary instance and data root."""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.channel import DEFAULT_CHANNEL_START
from lofi_assets_tests.conftest import REPO_ROOT
from lofi_assets_tests.webserver import running_webserver

BIN = Path(sys.executable).parent
DATE = "2026-11-27"


def _run(command, environment, timeout=180):
    return subprocess.run(
        command, env=environment, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.slow
def test_dagster_validates_the_code_location(environment):
    result = _run(
        [BIN / "dagster", "definitions", "validate", "-m", "lofi_assets.definitions"], environment
    )
    assert result.returncode == 0, result.stderr
    assert "Validation successful" in result.stderr + result.stdout


@pytest.mark.slow
def test_dagster_asset_materialize_makes_a_master_and_the_same_sketch_again(environment):
    config = json.dumps({"ops": {"midi_sketch": {"config": {"duration_s": 20}}}})
    command = [
        BIN / "dagster", "asset", "materialize", "-m", "lofi_assets.definitions",
        "--partition", f"{DATE}|2", "--config-json", config, "--select",
    ]  # fmt: skip
    result = _run([*command, "midi_sketch,stems,mastered_wav"], environment)
    assert result.returncode == 0, result.stderr[-3000:]
    # Each step's process loads the definitions again and prints no warning of ours. The one
    # line left is the command's own notice (use `dg launch`), which click emits before the
    # code location is imported, so no filter of ours can reach it.
    warned = [line for line in result.stderr.splitlines() if "Warning" in line]
    assert all("asset_materialize_command` is superseded" in line for line in warned), warned
    data = Path(environment["LOFI_DATA_DIR"])
    master = data / "mastered_wav" / DATE / "2" / "master.wav"
    assert master.stat().st_size > 20 * 44_100 * 2 * 3
    midi = data / "midi_sketch" / DATE / "2" / "sketch.mid"
    first_bytes = midi.read_bytes()
    # The same partition and config from a new process: the same MIDI bytes.
    again = _run([*command, "midi_sketch"], environment)
    assert again.returncode == 0, again.stderr[-2000:]
    assert midi.read_bytes() == first_bytes


@pytest.mark.slow
def test_lofi_release_materializes_every_slot_into_the_instance(environment, monkeypatch):
    result = _run(
        [BIN / "lofi", "release", "--date", DATE, "--duration", "20"], environment, timeout=400
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"release {DATE}: 6/6 runs succeeded" in result.stdout
    site = Path(environment["LOFI_DATA_DIR"]) / "catalog_site"
    assert (site / DATE / "index.html").is_file() and DATE in (site / "index.html").read_text()
    monkeypatch.setenv("DAGSTER_HOME", environment["DAGSTER_HOME"])  # dagster.yaml reads it
    with dg.DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        partitions = {
            name: set(instance.get_materialized_partitions(dg.AssetKey(name)))
            for name in ("midi_sketch", "stems", "mastered_wav")
        }
        released = set(instance.get_materialized_partitions(dg.AssetKey("release_mix")))
    for name, materialized in partitions.items():
        assert {f"{DATE}|{slot}" for slot in "123"} <= materialized, name
    masters = list(
        (Path(environment["LOFI_DATA_DIR"]) / "mastered_wav" / DATE).glob("*/master.wav")
    )
    assert len(masters) == 3
    assert DATE in released
    data = Path(environment["LOFI_DATA_DIR"])
    assert (data / "release_mix" / DATE / "mix.wav").is_file()
    for artifact in (
        "release_metadata/{}/metadata.json",
        "thumbnail/{}/cover.jpg",
        "video/{}/video.mp4",
        "shorts_teaser/{}/teaser.mp4",
        "youtube_upload/{}/manifest.json",
        "streaming_release/{}/receipt.json",
        "streaming_release/{}/bundle/ern.xml",
    ):
        assert (data / artifact.format(DATE)).is_file(), artifact


@pytest.mark.slow
def test_webserver_shows_midi_sketch_as_a_daily_grid_of_three_slots(environment):
    query = (
        "{ assetNodes { assetKey { path } groupName "
        "partitionKeysByDimension { name partitionKeys } } }"
    )
    with running_webserver(environment) as webserver:
        payload = webserver.graphql(query)
    node = next(
        n for n in payload["data"]["assetNodes"] if n["assetKey"]["path"] == ["midi_sketch"]
    )
    assert node["groupName"] == "compose"
    dimensions = {d["name"]: d["partitionKeys"] for d in node["partitionKeysByDimension"]}
    assert dimensions["slot"] == ["1", "2", "3"]
    assert DATE in dimensions["date"] and dimensions["date"][0] == DEFAULT_CHANNEL_START
