"""The listening-room site (issue 18 §1): three release dates staged as their records (sketches
composed by the engine, short synthetic masters, small covers), ``catalog_site`` materialized
for each on a real instance, served by ``lofi catalog serve`` and used in headless Chromium."""

import json
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from lofi_assets.audio.wav import write_wav
from lofi_assets.catalog.licensing import LicenceRequest, LicenceRequestError, LicenceRequests
from lofi_assets.catalog.site import ATOM, PREVIEW_BITRATE_KBPS, SiteSettings, write_index
from lofi_assets.channel import Channel
from lofi_assets.defs.assets.catalog import catalog_site
from lofi_assets.defs.partitions import release_dates, track_partitions
from lofi_assets.defs.records import MasterRecord, MetadataRecord, SketchRecord, ThumbnailRecord
from lofi_assets.defs.resources import DistributorResource
from lofi_assets.music.arrangement import arrange
from lofi_assets.music.plan import resolve_plan
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.publish.distribution import recording_sha256
from lofi_assets.publish.identifiers import IsrcRegistry, RecordingIdentity
from lofi_assets.publish.metadata import TrackFacts, build_metadata
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.storage import write_json_atomic
from lofi_assets.visual.video import tool
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.growth_fixtures import write_record
from lofi_assets_tests.test_ui_browser import CHROMIUM, CHROMIUM_ARGS, _browser

DATES = ("2026-11-25", "2026-11-26", "2026-11-27")
SLOTS = ("1", "2", "3")
RATE, MASTER_S = 44_100, 4.0
ASSETS = [
    *(dg.SourceAsset(key=name, partitions_def=track_partitions, io_manager_key="record_io_manager")
      for name in ("midi_sketch", "mastered_wav")),
    *(dg.SourceAsset(key=name, partitions_def=release_dates, io_manager_key="record_io_manager")
      for name in ("release_metadata", "thumbnail")),
    catalog_site,
]  # fmt: skip
pytestmark = pytest.mark.timeout(180)


def _stage_day(data: Path, date: str, channel: Channel) -> list[Path]:
    """The records catalog_site reads for ``date``; returns the masters in slot order."""
    masters, facts = [], []
    for index, slot in enumerate(SLOTS):
        plan = resolve_plan(channel.sketch_request(date, slot, duration_s=20.0))
        files = write_sketch_files(arrange(plan), data / "midi_sketch" / date / slot)
        p = files.plan
        rel = lambda path: str(Path(path).relative_to(data))  # noqa: E731
        write_record(data, f"midi_sketch/{date}", slot, SketchRecord(
            rel(files.midi_path), rel(files.plan_path), rel(files.piano_roll_path), p.seed,
            p.style, p.key, float(p.bpm), p.bars, p.duration_s))  # fmt: skip
        t = np.arange(int(MASTER_S * RATE)) / RATE
        tone = (0.3 * np.sin(2 * np.pi * (220 + 55 * index) * t)).astype(np.float32)
        master = write_wav(data / "mastered_wav" / date / slot / "master.wav",
                           np.stack([tone, tone]), RATE)  # fmt: skip
        write_record(data, f"mastered_wav/{date}", slot, MasterRecord(
            rel(master), rel(master), rel(master), -14.0, -1.5, MASTER_S, p.style, float(p.bpm)))  # fmt: skip
        masters.append(master)
        facts.append(TrackFacts(p.style, p.style_display_name, p.key, float(p.bpm), p.ambience,
                                0, p.seed))  # fmt: skip
    metadata = build_metadata(
        channel_name=channel.name, artist=channel.artist, timezone="UTC", date=date,
        tracks=facts, chapter_starts_s=[0.0, 180.0, 360.0], duration_s=540.0,
    )  # fmt: skip
    path = data / "release_metadata" / date / "metadata.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(metadata.to_document()))
    write_record(data, "release_metadata", date,
                 MetadataRecord(str(path.relative_to(data)), metadata.title, "2099-01-01T15:00:00Z"))  # fmt: skip
    cover = data / "thumbnail" / date / "cover.jpg"
    cover.parent.mkdir(parents=True)
    Image.new("RGB", (400, 400), (90, 60, 120)).save(cover)
    write_record(data, "thumbnail", date,
                 ThumbnailRecord({}, str(cover.relative_to(data)), "rainy jazz"))  # fmt: skip
    return masters


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """Three dates staged and their site pages built; the first track of the last date has an
    ISRC (as streaming_release would have issued)."""
    data = tmp_path_factory.mktemp("catalog") / "data"
    data.mkdir()
    resources = make_resources(data)
    channel = Channel()
    results, timings = {}, {}
    with dg.instance_for_test() as instance:
        for date in DATES:
            masters = _stage_day(data, date, channel)
            if date == DATES[-1]:
                registry = IsrcRegistry(Warehouse(str(data / "warehouse.duckdb")),
                                        DistributorResource().isrc_registrant)  # fmt: skip
                identity = RecordingIdentity(date, "1", recording_sha256(masters[0], 1))
                isrc = registry.issue(identity, year=2026)
            started = time.perf_counter()
            results[date] = dg.materialize(
                ASSETS, selection=[catalog_site], partition_key=date, instance=instance,
                resources=resources,
            )  # fmt: skip
            timings[date] = time.perf_counter() - started
    return {"data": data, "results": results, "isrc": isrc, "timings": timings}


def test_every_release_gets_pages_previews_and_a_feed_entry(site):
    data, root = site["data"], site["data"] / "catalog_site"
    for date in DATES:
        assert site["results"][date].success
        event = site["results"][date].get_asset_materialization_events()[0]
        metadata = event.step_materialization_data.materialization.metadata
        assert metadata["release_page"].value == f"http://127.0.0.1:8765/{date}/index.html"
        assert isinstance(metadata["release_page"], dg.UrlMetadataValue)
        for slot in SLOTS:
            track = root / date / "tracks" / slot
            assert (track / "index.html").is_file() and (track / "piano_roll.png").is_file()
    assert metadata["releases_listed"].value == 3
    preview = json.loads(subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json",
         str(root / DATES[0] / "tracks" / "1" / "preview.mp3")],
        capture_output=True, text=True, check=True,
    ).stdout)  # fmt: skip
    audio = next(s for s in preview["streams"] if s["codec_type"] == "audio")
    assert audio["codec_name"] == "mp3"
    assert int(audio["bit_rate"]) == PREVIEW_BITRATE_KBPS * 1000
    assert abs(float(preview["format"]["duration"]) - MASTER_S) < 0.1
    page = (root / DATES[-1] / "tracks" / "1" / "index.html").read_text()
    assert site["isrc"] in page and "Lofi Empire Creator Licence" in page
    plan = json.loads((data / "midi_sketch" / DATES[-1] / "1" / "plan.json").read_text())
    assert plan["key"] in page and f"{plan['bpm']:g} BPM" in page
    assert (
        "issued with the streaming release" in (root / DATES[0] / "tracks/1/index.html").read_text()
    )
    feed = ElementTree.parse(root / "feed.xml").getroot()
    entries = feed.findall(f"{{{ATOM}}}entry")
    links = [e.find(f"{{{ATOM}}}link").get("href") for e in entries]
    assert links == [f"http://127.0.0.1:8765/{date}/" for date in reversed(DATES)]
    assert (root / "licences" / "index.html").is_file()
    # Built in well under a minute a day (three 4-second previews, pages, index).
    assert max(site["timings"].values()) < 60, site["timings"]


def _free_port() -> int:
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def test_the_served_site_plays_filters_and_is_labelled_in_chromium(site):
    playwright_api = _browser()
    port = _free_port()
    environment = {**os.environ, "LOFI_DATA_DIR": str(site["data"])}
    server = subprocess.Popen(
        [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", str(port)],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = server.stdout.readline()
        assert f"at http://127.0.0.1:{port}/" in line, line + server.stderr.read()
        url = f"http://127.0.0.1:{port}"
        errors: list[str] = []
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=CHROMIUM,
                args=[*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"],
            )
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{url}/index.html", wait_until="networkidle")
            releases = page.locator("li.release")
            assert releases.count() == 3
            assert page.locator("#count").inner_text() == "3 releases"

            # The filter narrows: a key only some tracks are in.
            keys = page.locator("#key option").all_inner_texts()[1:]
            tracks_in = {k: page.locator(f'li.track[data-key="{k}"]').count() for k in keys}
            key = min(tracks_in, key=tracks_in.get)
            page.select_option("#key", key)
            assert page.locator("li.track:visible").count() == tracks_in[key] < 9
            page.select_option("#key", "")
            page.fill("#bpm-min", "500")
            assert page.locator("li.release:visible").count() == 0
            assert page.locator("#count").inner_text() == "0 releases"
            _assert_accessible(page)

            page.goto(f"{url}/{DATES[0]}/tracks/1/index.html", wait_until="networkidle")
            _assert_accessible(page)
            page.evaluate("document.getElementById('player').play()")
            page.wait_for_function(
                "document.getElementById('player').currentTime > 0.5", timeout=15_000
            )
            assert page.evaluate("document.getElementById('player').error") is None
            page.goto(f"{url}/{DATES[0]}/index.html", wait_until="networkidle")
            _assert_accessible(page)
            page.goto(f"{url}/licences/index.html", wait_until="networkidle")
            _assert_accessible(page)
            page.fill("#request-name", "Sam")
            page.fill("#request-email", "sam@example.com")
            page.fill("#request-project", "A short film festival entry")
            page.select_option("#request-use", "sync")
            page.fill("#request-tracks", f"{url}/{DATES[0]}/tracks/1/index.html")
            page.click("button[type=submit]")
            page.wait_for_selector("text=Request received")
            assert "LR00001" in page.inner_text("main")
            browser.close()
        assert errors == []
    finally:
        server.terminate()
        server.wait(timeout=10)


def _assert_accessible(page) -> None:
    """Every image has alt text; every form control and player has a label."""
    missing_alt = page.evaluate(
        "[...document.images].filter(i => !(i.getAttribute('alt') || '').trim()).length"
    )
    assert missing_alt == 0
    unlabelled = page.evaluate(
        """[...document.querySelectorAll('input, select, audio, textarea')].filter(c =>
             !(c.labels && c.labels.length) && !c.getAttribute('aria-label')
             && !(c.getAttribute('aria-labelledby') || '').split(' ').some(
                  id => id && document.getElementById(id))).map(c => c.outerHTML)"""
    )
    assert unlabelled == []
    assert page.evaluate("document.documentElement.lang") == "en"


def test_a_licence_request_is_answered_from_its_uses_template(site):
    """The request the browser test sent from the licences page (or one recorded here when
    run alone), answered by `lofi licence answer` from the sync template, and stored."""
    warehouse = Warehouse(str(site["data"] / "warehouse.duckdb"))
    requests = LicenceRequests(warehouse)
    if not requests.open_requests():
        requests.record(LicenceRequest("Sam", "sam@example.com", "A short film", "sync", "x"))
    environment = {**os.environ, "LOFI_DATA_DIR": str(site["data"])}
    lofi = [sys.executable, "-m", "lofi_assets.cli", "licence"]
    listing = subprocess.run([*lofi, "list"], env=environment, capture_output=True, text=True)
    assert listing.stdout.startswith("LR00001\t") and "\tsync\t" in listing.stdout
    assert "sam@example.com" not in listing.stdout
    answer = subprocess.run([*lofi, "answer", "LR00001"], env=environment, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.startswith("Subject: Your licence request LR00001")
    assert "Hello Sam" in answer.stdout and "sync licence request LR00001" in answer.stdout
    assert requests.row("LR00001")["status"] == "answered"
    assert requests.open_requests() == []
    with pytest.raises(LicenceRequestError, match="Unknown use"):
        requests.record(LicenceRequest("Sam", "sam@example.com", "x", "piracy", "x"))
    missing = subprocess.run([*lofi, "answer", "LR09999"], env=environment, capture_output=True,
                             text=True, timeout=120)  # fmt: skip
    assert missing.returncode == 2
    assert missing.stderr.startswith("lofi: error: No licence request LR09999")


def test_serving_a_data_root_without_a_site_is_one_error_line(tmp_path):
    environment = {**os.environ, "LOFI_DATA_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", "0"],
        env=environment, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith("lofi: error: No catalog site at ")
    assert "materialize catalog_site" in result.stderr and len(result.stderr.splitlines()) == 1


def test_serving_on_a_taken_port_is_one_error_line(site):
    environment = {**os.environ, "LOFI_DATA_DIR": str(site["data"])}
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "lofi_assets.cli", "catalog", "serve", "--port", str(port)],
            env=environment, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.startswith(f"lofi: error: Cannot listen on 127.0.0.1:{port} ")
    assert "--port" in result.stderr and len(result.stderr.splitlines()) == 1


def test_a_title_with_markup_or_control_characters_is_text_on_the_pages_and_in_the_feed(tmp_path):
    """Titles and descriptions come from templates and models: markup in them is shown as
    text, and a character XML cannot carry is left out of the feed rather than break it."""
    evil = '"><script>alert(1)</script>\x00\x1b & ]]>'
    root = tmp_path / "catalog_site"
    track = {"slot": "1", "title": evil, "style": '"><b>', "style_name": "<i>", "key": 'C"',
             "bpm": 80.0, "duration_s": 60.0, "start_s": 0.0, "isrc": None}  # fmt: skip
    write_json_atomic(root / DATES[0] / "release.json", {
        "date": DATES[0], "title": evil, "description": evil,
        "mood": '" onmouseover="alert(1)', "tracks": [track]})  # fmt: skip
    write_index(root, SiteSettings("<b>Lofi</b>", "A & B", "http://127.0.0.1:8765/"))
    page = (root / "index.html").read_text()
    assert "<script>alert" not in page and '" onmouseover' not in page and "<b>Lofi" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    feed = ElementTree.parse(root / "feed.xml").getroot()
    [entry] = feed.findall(f"{{{ATOM}}}entry")
    assert entry.find(f"{{{ATOM}}}title").text == '"><script>alert(1)</script> & ]]>'
