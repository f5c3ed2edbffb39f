"""Streaming bundles: identifiers, audio, DDEX, delivery to a drop folder and a real SFTP server."""

import csv
import io
import json
import multiprocessing
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pyloudnorm
import pytest
import soundfile
from lxml import etree

from lofi_assets.audio.wav import write_wav
from lofi_assets.publish.delivery import DeliveryError, DropFolder, SftpTarget
from lofi_assets.publish.distribution import (
    ERN_NAMESPACE,
    DistributionError,
    ReleaseSettings,
    build_bundle,
    bundle_problems,
    plan_release,
    store_wav_facts,
)
from lofi_assets.publish.identifiers import (
    IdentifierError,
    InvalidProductCodeError,
    IsrcRegistry,
    UpcPool,
    gtin_check_digit,
    valid_isrc,
    valid_product_code,
)
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.visual.thumbnail import COVER_SIZE, draw_artwork, jpeg_bytes
from lofi_assets_tests.sftp_server import PASSWORD, USERNAME, LocalSftp

RATE = 44_100
UPCS = ["2000000000015", "2000000000022"]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Two 20-second masters at about -14 LUFS and a 3000×3000 cover."""
    folder = tmp_path_factory.mktemp("streaming")
    masters = []
    for index in range(2):
        rng = np.random.default_rng(index)
        t = np.arange(20 * RATE) / RATE
        tone = 0.25 * np.sin(2 * np.pi * (220 + 110 * index) * t)
        audio = np.stack([tone, tone]) + 0.02 * rng.standard_normal((2, t.size))
        masters.append(write_wav(folder / f"master_{index}.wav", audio.astype(np.float32), RATE))
    cover = folder / "cover.jpg"
    cover.write_bytes(jpeg_bytes(draw_artwork(COVER_SIZE, "jazz", 1, "A").image, 90))
    return {"masters": masters, "cover": cover}


def _plan(isrcs=("QZ-LFE-26-00001", "QZ-LFE-26-00002"), upc=UPCS[0]):
    settings = ReleaseSettings(artist="Lofi Empire", label="Lofi Empire Records")
    tracks = [(f"Track {i + 1}", isrc, 20.0) for i, isrc in enumerate(isrcs)]
    return plan_release("2026-11-27", "Jazz & Rain", upc, settings, tracks)


def _bundle(folder, inputs, plan=None):
    folder.mkdir(parents=True, exist_ok=True)
    return build_bundle(
        folder, plan or _plan(), inputs["masters"], inputs["cover"], "PADPIDA0000000001X"
    )


def test_isrcs_are_stable_formatted_and_never_reused(tmp_path):
    registry = IsrcRegistry(Warehouse(str(tmp_path / "w.duckdb")), "qz-lfe")
    first = [registry.issue(f"track|{n}", year=2026) for n in range(3)]
    assert first == ["QZ-LFE-26-00001", "QZ-LFE-26-00002", "QZ-LFE-26-00003"]
    assert [registry.issue(f"track|{n}", year=2026) for n in range(3)] == first
    assert registry.issue("track|9", year=2027) == "QZ-LFE-27-00001"
    assert all(map(valid_isrc, first)) and not valid_isrc("QZLFE2600001")
    with pytest.raises(Exception, match="registrant prefix"):
        IsrcRegistry(Warehouse(str(tmp_path / "w.duckdb")), "Q-LONGER")


def _issue_many(url, worker, count, queue):
    registry = IsrcRegistry(Warehouse(url), "QZ-LFE")
    queue.put([registry.issue(f"worker{worker}|{n}", year=2026) for n in range(count)])


def _issue_in_parallel(url):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_issue_many, args=(url, w, 15, queue)) for w in range(2)]
    for process in workers:
        process.start()
    issued = [code for _ in workers for code in queue.get(timeout=120)]
    for process in workers:
        process.join(60)
    return issued


def test_two_parallel_runs_issue_no_duplicate_isrc(tmp_path):
    issued = _issue_in_parallel(str(tmp_path / "parallel.duckdb"))
    assert len(issued) == 30 and len(set(issued)) == 30


def test_parallel_isrcs_on_postgresql_are_unique(postgres_url):
    issued = _issue_in_parallel(postgres_url)
    assert len(issued) == 30 and len(set(issued)) == 30
    registry = IsrcRegistry(Warehouse(postgres_url), "QZ-LFE")
    assert registry.issue("worker0|0", year=2026) in issued


def test_upcs_come_from_the_pool_once_each(tmp_path):
    assert valid_product_code("4006381333931") and not valid_product_code("4006381333932")
    assert gtin_check_digit("200000000001") == 5
    pool = UpcPool(Warehouse(str(tmp_path / "w.duckdb")), UPCS)
    assert [pool.assign("a"), pool.assign("b"), pool.assign("a")] == [UPCS[0], UPCS[1], UPCS[0]]
    with pytest.raises(IdentifierError, match="exhausted"):
        pool.assign("c")
    with pytest.raises(InvalidProductCodeError, match="2000000000016 fails the GS1 check digit"):
        UpcPool(Warehouse(str(tmp_path / "w.duckdb")), ["2000000000016"])


def test_store_wavs_are_dithered_16_bit_with_loudness_and_isrc_kept(inputs, tmp_path):
    bundle = _bundle(tmp_path / "b", inputs)
    meter = pyloudnorm.Meter(RATE)  # an independent loudness meter
    for master, track in zip(inputs["masters"], bundle.plan.tracks, strict=True):
        facts = store_wav_facts(tmp_path / "b" / track.audio_file)
        assert facts["subtype"] == "PCM_16" and facts["sample_rate_hz"] == RATE
        assert facts["channels"] == 2 and facts["true_peak_dbtp"] <= -1.0
        assert facts["isrc_tag"] == track.isrc.replace("-", "")
        before = meter.integrated_loudness(soundfile.read(str(master))[0])
        after = meter.integrated_loudness(soundfile.read(str(tmp_path / "b" / track.audio_file))[0])
        assert after == pytest.approx(before, abs=0.05)
    again = _bundle(tmp_path / "again", inputs)
    assert again.manifest_sha256 == bundle.manifest_sha256  # same inputs, same bytes
    assert bundle_problems(tmp_path / "b") == []
    (tmp_path / "b" / "metadata.csv").write_text("tampered")
    assert bundle_problems(tmp_path / "b") == ["metadata.csv does not match its checksum"]


def test_metadata_files_are_a_ddex_message_and_a_bulk_sheet(inputs, tmp_path):
    bundle = _bundle(tmp_path / "b", inputs)
    root = etree.parse(str(tmp_path / "b" / "ern.xml")).getroot()
    assert root.tag == f"{{{ERN_NAMESPACE}}}NewReleaseMessage"
    recordings = root.findall("ResourceList/SoundRecording")
    assert len(recordings) == 2
    references = {r.findtext("ResourceReference") for r in recordings}
    items = root.findall("ReleaseList/Release/ResourceGroup/ResourceGroupContentItem")
    assert {i.findtext("ReleaseResourceReference") for i in items} == references
    assert [r.findtext("SoundRecordingEdition/ResourceId/ISRC") for r in recordings] == [
        "QZLFE2600001", "QZLFE2600002",
    ]  # fmt: skip
    assert root.findtext("ReleaseList/Release/ReleaseId/ICPN") == UPCS[0]
    assert root.findtext("DealList/ReleaseDeal/DealReleaseReference") == "R0"
    assert (
        root.findtext("DealList/ReleaseDeal/Deal/DealTerms/ValidityPeriod/StartDate")
        == "2026-12-11"
    )
    hashes = [r.findtext("TechnicalDetails/File/HashSum/HashSumValue") for r in recordings]
    assert hashes == [bundle.files[t.audio_file] for t in bundle.plan.tracks]
    rows = list(csv.DictReader(io.StringIO((tmp_path / "b" / "metadata.csv").read_text())))
    assert [(r["track_number"], r["isrc"], r["explicit"], r["ai_generated"]) for r in rows] == [
        ("1", "QZ-LFE-26-00001", "no", "yes"), ("2", "QZ-LFE-26-00002", "no", "yes"),
    ]  # fmt: skip
    assert "awaiting_manual" in (tmp_path / "b" / "CHECKLIST.txt").read_text()
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert [t["licence_id"] for t in manifest["release"]["tracks"]] == [
        "lofi-empire-creator-1.0", "lofi-empire-creator-1.0",
    ]  # fmt: skip
    assert (
        bundle.plan.release_type == "Single" and bundle.plan.p_line == "℗ 2026 Lofi Empire Records"
    )


def test_bad_inputs_fail_clearly(inputs, tmp_path):
    with pytest.raises(DistributionError, match="missing"):
        build_bundle(tmp_path, _plan(), [inputs["masters"][0], tmp_path / "gone.wav"],
                     inputs["cover"], "P")  # fmt: skip
    small = tmp_path / "small.jpg"
    small.write_bytes(jpeg_bytes(draw_artwork((1280, 720), "jazz", 1, "A").image))
    with pytest.raises(DistributionError, match="3000×3000"):
        build_bundle(tmp_path / "x", _plan(), inputs["masters"], small, "P")
    with pytest.raises(Exception, match="lead_days"):
        ReleaseSettings(artist="a", label="b", lead_days=2)


def test_drop_folder_delivers_once_and_updates_a_changed_bundle(inputs, tmp_path):
    bundle = _bundle(tmp_path / "b", inputs)
    drop = DropFolder(tmp_path / "drop")
    assert drop.deliver(bundle.folder, "rel").outcome == "delivered"
    assert drop.deliver(bundle.folder, "rel").outcome == "unchanged"
    (tmp_path / "drop" / ".rel.partial-dead").mkdir()  # a killed delivery's leftovers
    changed = _bundle(tmp_path / "c", inputs, _plan(upc=UPCS[1]))
    receipt = drop.deliver(changed.folder, "rel")
    assert receipt.outcome == "updated" and receipt.manifest_sha256 == changed.manifest_sha256
    assert sorted(p.name for p in (tmp_path / "drop").iterdir()) == ["rel"]
    assert bundle_problems(tmp_path / "drop" / "rel") == []


def _sftp_target(server, **overrides):
    options = {"host": "127.0.0.1", "port": server.port, "username": USERNAME,
               "remote_dir": "incoming", "password": PASSWORD, "known_hosts": str(server.known_hosts)}  # fmt: skip
    return SftpTarget(**{**options, **overrides})


def test_sftp_delivery_survives_a_kill_and_leaves_one_bundle(inputs, tmp_path):
    bundle = _bundle(tmp_path / "b", inputs)
    with LocalSftp(tmp_path / "sftp") as server:
        server.hold_after_bytes = 1_000_000  # hang partway through the first WAV
        target = _sftp_target(server)
        script = textwrap.dedent(f"""
            from pathlib import Path
            from lofi_assets.publish.delivery import SftpTarget
            SftpTarget(**{target.__dict__!r}).deliver(Path({str(bundle.folder)!r}), "rel")
        """)
        child = subprocess.Popen([sys.executable, "-c", script])
        try:
            assert server.holding.wait(60), "the upload never started"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()
        incoming = tmp_path / "sftp" / "incoming"
        (leftover,) = incoming.iterdir()  # only the killed run's partial copy, no bundle
        assert leftover.name.startswith(".rel.partial-")
        server.hold_after_bytes = None
        receipt = target.deliver(bundle.folder, "rel")
        assert receipt.outcome == "delivered"
        assert sorted(p.name for p in incoming.iterdir()) == ["rel"]
        assert bundle_problems(incoming / "rel") == []
        assert target.deliver(bundle.folder, "rel").outcome == "unchanged"
        assert "password" not in repr(target) and PASSWORD not in repr(target)


def test_unreachable_or_refusing_sftp_fails_clearly(inputs, tmp_path):
    bundle = _bundle(tmp_path / "b", inputs)
    with LocalSftp(tmp_path / "sftp") as server:
        with pytest.raises(DeliveryError, match="credentials"):
            _sftp_target(server, password="wrong").deliver(bundle.folder, "rel")
        port = server.port
    with pytest.raises(DeliveryError, match="SFTP delivery to"):
        _sftp_target(server, port=port).deliver(bundle.folder, "rel")
