"""The week's packs (issue 18 §2) on a real instance: one 15-second track of the week made by
the real track assets, then the MIDI, stem and sample packs; and the sample pack's blocking
checks failing on a deliberately bad loop and on a zip that no longer matches its manifest."""

import json
import shutil
import subprocess
import zipfile

import dagster as dg
import numpy as np
import pytest

from lofi_assets.audio.wav import read_wav, write_wav
from lofi_assets.catalog.drum_kit import DRUM_KIT_KEYS, DRUM_KIT_PROGRAMS, font_licence
from lofi_assets.catalog.licence import CREATOR_LICENCE, one_shot_source
from lofi_assets.catalog.packs import MANIFEST_NAME, PackMember, build_pack, manifest_problems
from lofi_assets.catalog.samples import (
    CLIPPING_CEILING_DBFS,
    LOOP_LOUDNESS_RANGE_LUFS,
    bar_s,
    cut_one_shots,
)
from lofi_assets.defs.assets.common import BlockingCheckFailedError, judge_staged
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.packs import (
    PACK_ASSETS,
    SAMPLE_PACK_CHECK_SPECS,
    sample_pack_check_results,
)
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.partitions import release_weeks, track_partition_key
from lofi_assets.visual.video import tool
from lofi_assets_tests.conftest import make_resources

WEEK, DATE = "2026-11-15", "2026-11-16"  # weeks start on Sundays (the channel's launch day)
pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    data = tmp_path_factory.mktemp("packs") / "data"
    resources = make_resources(data)
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [midi_sketch, stems, mastered_wav], partition_key=track_partition_key(DATE, "1"),
            resources=resources, instance=instance,
            run_config={"ops": {"midi_sketch": {"config": {"duration_s": 15.0}}}},
        ).success  # fmt: skip
        result = dg.materialize(
            PACK_ASSETS, partition_key=WEEK, resources=resources, instance=instance
        )
    return {"data": data, "result": result}


def _zip(week, pack):
    return week["data"] / pack / WEEK / f"{pack}_{WEEK}.zip"


def _manifest(week, pack):
    with zipfile.ZipFile(_zip(week, pack)) as archive:
        return json.loads(archive.read(MANIFEST_NAME)), set(archive.namelist())


def test_the_weeks_packs_build_with_matching_manifests_licences_and_previews(week):
    assert week["result"].success
    evaluations = week["result"].get_asset_check_evaluations()
    assert len(evaluations) == 8 and all(e.passed for e in evaluations)
    plan = json.loads((week["data"] / "midi_sketch" / DATE / "1" / "plan.json").read_text())
    for pack in ("midi_pack", "stem_pack", "sample_pack"):
        manifest, names = _manifest(week, pack)
        assert manifest_problems(_zip(week, pack)) == []
        assert names == {*manifest["files"], MANIFEST_NAME}
        assert {"LICENCE.txt", "README.txt", "preview.mp3"} <= names
        assert manifest["licence_id"] == CREATOR_LICENCE.licence_id
        assert manifest["tracks"][0]["licence_id"] == CREATOR_LICENCE.licence_id
        assert manifest["tracks"][0]["key"] == plan["key"]
    midi, _ = _manifest(week, "midi_pack")
    [midi_name] = [n for n in midi["files"] if n.endswith(".mid")]
    assert f"_{plan['bpm']:g}bpm_" in midi_name and plan["key"].split()[1] in midi_name
    stem_names = [n for n in _manifest(week, "stem_pack")[0]["files"] if n.endswith(".flac")]
    assert len(stem_names) == 7
    with zipfile.ZipFile(_zip(week, "stem_pack")) as archive:
        flac = week["data"] / "probe.flac"
        flac.write_bytes(archive.read(stem_names[0]))
    packs_page = (week["data"] / "catalog_site" / "packs" / "index.html").read_text()
    for pack in ("midi_pack", "stem_pack", "sample_pack"):  # published on the site
        published = week["data"] / "catalog_site" / "packs" / WEEK / f"{pack}_{WEEK}.zip"
        assert published.read_bytes() == _zip(week, pack).read_bytes()
        assert f'href="{WEEK}/{pack}_{WEEK}.zip"' in packs_page
    codec = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0",
         str(flac)], capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    assert codec == "flac"


def test_the_sample_pack_holds_whole_bar_loops_and_drum_hits(week):
    manifest, _ = _manifest(week, "sample_pack")
    loops = [s for s in manifest["samples"] if s["kind"] == "loop"]
    hits = [s for s in manifest["samples"] if s["kind"] == "one_shot"]
    assert {s["bars"] for s in loops} == {2, 4}
    plan = json.loads((week["data"] / "midi_sketch" / DATE / "1" / "plan.json").read_text())
    source = one_shot_source(plan["drum_kit"]["program"])
    assert manifest["one_shot_sources"] == {f"{DATE}|1": source.reason}
    assert bool(hits) == source.allowed  # none from a kit whose samples are GPL (LICENSES.md)
    files = week["data"] / "sample_pack" / WEEK / "files"
    for loop in loops:
        assert f"_{loop['bpm']:g}bpm_" in loop["file"] and f"_{loop['bars']}bar_" in loop["file"]
        audio, rate = read_wav(files / loop["file"])
        assert abs(audio.shape[1] / rate - loop["bars"] * bar_s(loop["bpm"])) < 1e-3
        assert abs(20 * np.log10(np.abs(audio).max()) + 1.0) < 0.05  # normalized to -1 dBFS
        assert np.abs(audio[:, 0]).max() < 1e-3  # faded in: no click at the start


@pytest.fixture
def bad_pack(week, tmp_path):
    """The sample pack's files plus a loop 10 ms longer than two bars and clipped, and a
    whole-bar loop 60 dB too quiet."""
    files = tmp_path / "files"
    shutil.copytree(week["data"] / "sample_pack" / WEEK / "files", files)
    manifest, _ = _manifest(week, "sample_pack")
    good = next(s for s in manifest["samples"] if s["kind"] == "loop" and s["bars"] == 2)
    audio, rate = read_wav(files / good["file"])
    extra = int(0.010 * rate)
    bad = np.concatenate([audio, audio[:, :extra]], axis=1) * 4.0  # far past full scale
    write_wav(files / "bad_loop.wav", np.clip(bad, -1, 1).astype(np.float32), rate)
    write_wav(files / "quiet_loop.wav", (audio * 1e-3).astype(np.float32), rate)  # -60 dB
    samples = [
        *manifest["samples"], {**good, "file": "bad_loop.wav"}, {**good, "file": "quiet_loop.wav"}
    ]  # fmt: skip
    members = [PackMember(s["file"], files / s["file"]) for s in samples]
    pack = build_pack(
        tmp_path / "bad.zip", "sample_pack", WEEK, members, CREATOR_LICENCE, "licence", "readme",
        files / good["file"], {"samples": samples},
    )  # fmt: skip
    return pack, files


def test_a_bad_loop_fails_the_blocking_loop_length_clipping_and_loudness_checks(bad_pack):
    pack, files = bad_pack
    results = {r.check_name: r for r in sample_pack_check_results(pack, files)}
    assert results["manifest_matches"].passed
    assert not results["loops_whole_bars"].passed
    assert results["loops_whole_bars"].metadata["worst_error_ms"].value == pytest.approx(
        10, abs=0.1
    )
    assert not results["no_clipping"].passed
    assert results["no_clipping"].metadata["peak_dbfs"].value >= CLIPPING_CEILING_DBFS
    assert not results["loop_loudness_in_range"].passed
    quietest = results["loop_loudness_in_range"].metadata["quietest_lufs"].value
    assert quietest < LOOP_LOUDNESS_RANGE_LUFS[0]
    assert results["loop_loudness_in_range"].metadata["problems"].value == [
        f"quiet_loop.wav: {quietest:.1f} LUFS is outside "
        f"{LOOP_LOUDNESS_RANGE_LUFS[0]:g}…{LOOP_LOUDNESS_RANGE_LUFS[1]:g} LUFS"
    ]
    with pytest.raises(BlockingCheckFailedError, match=r"loops_whole_bars.*no_clipping"):
        list(judge_staged("sample_pack", WEEK, list(results.values()), SAMPLE_PACK_CHECK_SPECS))


def test_a_zip_changed_after_its_manifest_fails_the_manifest_check(bad_pack, tmp_path):
    pack, files = bad_pack
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(pack.zip_path) as source, zipfile.ZipFile(tampered, "w") as target:
        for name in source.namelist():
            payload = source.read(name)
            target.writestr(name, payload + b"x" if name == "LICENCE.txt" else payload)
        target.writestr("extra.wav", b"RIFF")
    problems = manifest_problems(tampered)
    assert problems == ["extra.wav: in the zip, not in the manifest",
                        "LICENCE.txt: SHA-256 differs from the manifest"]  # fmt: skip
    results = {r.check_name: r for r in sample_pack_check_results(
        type(pack)(tampered, pack.manifest, tampered.stat().st_size), files)}  # fmt: skip
    assert not results["manifest_matches"].passed


def test_drum_hits_are_cut_at_their_transients(tmp_path):
    """Four decaying noise bursts at known times: four one-shots, each starting within 12 ms
    before its burst, trimmed, faded and at -1 dBFS."""
    rate, starts_s = 44_100, (0.25, 0.75, 1.25, 1.75)
    rng = np.random.default_rng(3)
    audio = np.zeros((2, 2 * rate), dtype=np.float32)
    for index, start_s in enumerate(starts_s):
        length = int(0.15 * rate)
        burst = rng.standard_normal(length) * np.exp(-np.arange(length) / (0.03 * rate))
        start = int(start_s * rate)
        audio[:, start : start + length] += (0.5 / (index + 1)) * burst.astype(np.float32)
    drums = write_wav(tmp_path / "drums.wav", audio, rate)
    hits = cut_one_shots(drums, tmp_path, "test")
    assert len(hits) == len(starts_s)
    for hit in hits:
        cut, _ = read_wav(hit.path)
        assert 0.03 < hit.duration_s <= 0.5
        assert abs(20 * np.log10(np.abs(cut).max()) + 1.0) < 0.05
        assert np.abs(cut[:, -1]).max() < 1e-3  # faded out


def test_the_weekly_catalog_job_makes_the_packs_then_the_newsletter():
    from lofi_assets.definitions import defs

    job = defs.resolve_job_def("weekly_catalog_job")
    keys = {key.to_user_string() for key in job.asset_layer.executable_asset_keys}
    assert keys == {"midi_pack", "stem_pack", "sample_pack", "drum_kit", "newsletter"}
    assert job.partitions_def == release_weeks
    schedule = defs.resolve_schedule_def("weekly_catalog_job_schedule")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    assert defs.resolve_assets_def("newsletter").asset_deps[dg.AssetKey("newsletter")] >= {
        dg.AssetKey("sample_pack"), dg.AssetKey("catalog_site")
    }  # fmt: skip


def test_the_drum_kit_ships_only_kits_whose_sources_may_be_redistributed(week):
    manifest, names = _manifest(week, "drum_kit")
    assert manifest_problems(_zip(week, "drum_kit")) == []
    verdicts = {kit["folder"]: kit for kit in manifest["kits"]}
    assert set(verdicts) == set(DRUM_KIT_PROGRAMS.values())
    for folder, kit in verdicts.items():
        shipped = sorted(n for n in names if n.startswith(f"{folder}/"))
        assert kit["shipped"] == bool(shipped)
        assert bool(kit["licence"]) == kit["shipped"]  # a shipped kit names its licence
        if kit["shipped"]:
            assert font_licence(kit["source"].split("(")[1].split()[0]) == kit["licence"]
            assert {n.split("_", 1)[1][:-4] for n in shipped} <= set(DRUM_KIT_KEYS.values())
    assert any(kit["shipped"] for kit in verdicts.values())
    with zipfile.ZipFile(_zip(week, "drum_kit")) as archive:
        assert "MuseScore General" in archive.read("LICENCE.txt").decode()
        first = next(n for n in names if n.endswith(".wav"))
        (week["data"] / "hit.wav").write_bytes(archive.read(first))
    audio, _ = read_wav(week["data"] / "hit.wav")
    assert abs(20 * np.log10(np.abs(audio).max()) + 1.0) < 0.05


def test_a_week_built_again_gives_the_same_zips_byte_for_byte(week):
    """Packs are deterministic: the same week's tracks give the same zips (sorted members,
    zip-epoch dates, bit-exact previews and FLAC), so a re-run changes no published download."""
    packs = ("midi_pack", "stem_pack", "sample_pack")
    before = {pack: _zip(week, pack).read_bytes() for pack in packs}
    with dg.instance_for_test() as instance:
        again = dg.materialize(
            [a for a in PACK_ASSETS if a.key.path[-1] in packs], partition_key=WEEK,
            resources=make_resources(week["data"]), instance=instance,
        )  # fmt: skip
    assert again.success
    for pack in packs:
        assert _zip(week, pack).read_bytes() == before[pack], pack
