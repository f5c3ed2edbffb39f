"""The commands a user types, run as subprocesses against a temporary instance and data root."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets_tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
DATE = "2026-11-27"


@pytest.fixture
def environment(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    return {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "LOFI_DATA_DIR": str(tmp_path / "data"),
    }


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
def test_dagster_asset_materialize_writes_a_byte_identical_sketch(environment):
    command = [
        BIN / "dagster", "asset", "materialize", "-m", "lofi_assets.definitions",
        "--select", "midi_sketch", "--partition", f"{DATE}|1",
    ]  # fmt: skip
    first = _run(command, environment)
    assert first.returncode == 0, first.stderr[-2000:]
    midi = Path(environment["LOFI_DATA_DIR"]) / "midi_sketch" / DATE / "1" / "sketch.mid"
    first_bytes = midi.read_bytes()
    assert _run(command, environment).returncode == 0
    assert midi.read_bytes() == first_bytes


@pytest.mark.slow
def test_dagster_asset_materialize_makes_a_master_from_the_cli(environment):
    config = json.dumps({"ops": {"midi_sketch": {"config": {"duration_s": 20}}}})
    command = [
        BIN / "dagster", "asset", "materialize", "-m", "lofi_assets.definitions",
        "--select", "midi_sketch,stems,mastered_wav", "--partition", f"{DATE}|2",
        "--config-json", config,
    ]  # fmt: skip
    result = _run(command, environment)
    assert result.returncode == 0, result.stderr[-3000:]
    master = Path(environment["LOFI_DATA_DIR"]) / "mastered_wav" / DATE / "2" / "master.wav"
    assert master.stat().st_size > 20 * 44_100 * 2 * 3


@pytest.mark.slow
def test_lofi_release_materializes_every_slot_into_the_instance(environment, monkeypatch):
    result = _run(
        [BIN / "lofi", "release", "--date", DATE, "--duration", "20"], environment, timeout=400
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"release {DATE}: 5/5 runs succeeded" in result.stdout
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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_webserver_shows_midi_sketch_as_a_daily_grid_of_three_slots(environment):
    port = _free_port()
    server = subprocess.Popen(
        [BIN / "dagster-webserver", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        env=environment, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    query = (
        "{ assetNodes { assetKey { path } groupName "
        "partitionKeysByDimension { name partitionKeys } } }"
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/graphql",
                    data=json.dumps({"query": query}).encode(),
                    headers={"Content-Type": "application/json"},
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    payload = json.load(response)
                if payload.get("data", {}).get("assetNodes"):
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "dagster-webserver did not come up"
            time.sleep(1)
    finally:
        server.terminate()
        server.wait(timeout=30)
    node = next(
        n for n in payload["data"]["assetNodes"] if n["assetKey"]["path"] == ["midi_sketch"]
    )
    assert node["groupName"] == "compose"
    dimensions = {d["name"]: d["partitionKeys"] for d in node["partitionKeysByDimension"]}
    assert dimensions["slot"] == ["1", "2", "3"]
    assert DATE in dimensions["date"] and dimensions["date"][0] == "2025-01-01"
