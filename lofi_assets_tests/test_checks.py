"""The failing side of every blocking asset check (project-dagster-university style): each
check function is called directly on an input that must fail it, beside one that passes.

``FAILING`` holds one failing case per blocking check name; the first test holds it to the
code location's graph, so a new blocking check fails here until its failing side is written.
A weekly asset's check has its daily twin's name and is judged by the same function.
"""

import dataclasses
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import soundfile

from lofi_assets.audio.measure import SilenceReport
from lofi_assets.audio.production import TARGET_LUFS, TRUE_PEAK_CEILING_DBTP
from lofi_assets.audio.qc import MasterQc
from lofi_assets.audio.radio_queue import QueueEntry, RadioQueue
from lofi_assets.audio.wav import write_wav
from lofi_assets.catalog.licence import CREATOR_LICENCE
from lofi_assets.catalog.packs import BuiltPack, PackMember, build_pack
from lofi_assets.catalog.samples import bar_s
from lofi_assets.definitions import defs
from lofi_assets.defs.assets.compose_checks import check_midi_parses, sketch_check_results
from lofi_assets.defs.assets.model_checks import MIN_DECODE_RATE, check_samples_decode
from lofi_assets.defs.assets.packs import sample_pack_check_results
from lofi_assets.defs.assets.produce_checks import (
    check_stems_audible,
    check_stems_complete,
    master_check_results,
)
from lofi_assets.defs.assets.publish_checks import (
    check_upload_body_valid,
    streaming_check_results,
)
from lofi_assets.defs.assets.radio_checks import radio_queue_check_results
from lofi_assets.defs.assets.release_checks import (
    MID_ROLL_MIN_S,
    check_artwork_format,
    check_headline_legible,
    check_metadata_valid,
    check_teaser_text_legible,
    release_mix_check_results,
    teaser_check_results,
    video_check_results,
)
from lofi_assets.defs.checks import INPUTS_CURRENT, check_inputs_current, check_no_problems
from lofi_assets.lineage import StaleInputsError, input_hashes
from lofi_assets.music.analysis import read_midi
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import write_sketch_midi
from lofi_assets.music.model.metrics import ngram_hashes
from lofi_assets.music.model.pipeline import SamplingReport
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.plan_record import MelodySource, record_sketch
from lofi_assets.publish.metadata import MAX_TITLE_CHARS, problems
from lofi_assets.publish.shorts import SHORTS_HASHTAG, ShortFacts, short_problems
from lofi_assets.publish.upload import body_problems
from lofi_assets.visual.teaser import MAX_SHORTS_S
from lofi_assets.visual.thumbnail import COVER_SIZE, THUMBNAIL_SIZE, draw_artwork
from lofi_assets.visual.video import AUDIO_RATE_HZ, VideoFacts

Results = Iterable[dg.AssetCheckResult]


def verdicts(results: Results) -> dict[str, bool]:
    return {result.check_name: result.passed for result in results}


# --- inputs, each good enough to pass every check ------------------------------------------


@pytest.fixture(scope="module")
def sketch(tmp_path_factory):
    """A composed sketch as the asset writes it: (MIDI path, its plan record, its summary)."""
    sketch = compose_sketch(SketchRequest(seed=19, duration_s=30.0))
    path = write_sketch_midi(sketch, tmp_path_factory.mktemp("sketch") / "sketch.mid")
    return path, record_sketch(sketch), read_midi(path)


def good_qc(**changes) -> MasterQc:
    qc = MasterQc(
        integrated_lufs=TARGET_LUFS, true_peak_dbtp=TRUE_PEAK_CEILING_DBTP - 0.5,
        loudness_range_lu=4.0, duration_s=180.0, stereo_correlation=0.6,
        mono_fold_down_loss_lu=1.0, clipped_samples=0, non_finite_samples=0,
        dc_offset_dbfs=-90.0, silence=SilenceReport(0.0, 1.0, 0.0),
        octave_bands_db={1_000: -20.0}, estimated_bpm=80.0,
    )  # fmt: skip
    return dataclasses.replace(qc, **changes)


def master_verdicts(qc: MasterQc, similarity: float = 0.1) -> dict[str, bool]:
    return verdicts(
        master_check_results(
            qc, 80.0, {1_000: (-30.0, -10.0)}, ("2026-11-27|2", similarity),
            TARGET_LUFS, TRUE_PEAK_CEILING_DBTP,
        )
    )  # fmt: skip


def good_facts(size: tuple[int, int] = (1280, 720), **changes) -> VideoFacts:
    facts = VideoFacts(
        video_codec="h264", video_profile="High", pixel_format="yuv420p", width=size[0],
        height=size[1], video_duration_s=600.0, audio_codec="aac", audio_profile="LC",
        audio_rate_hz=AUDIO_RATE_HZ, audio_channels=2, audio_duration_s=600.0, faststart=True,
    )  # fmt: skip
    return dataclasses.replace(facts, **changes)


def mix_verdicts(integrated=TARGET_LUFS, gap=0.0, starts=(0.0, 200.0, 400.0)) -> dict[str, bool]:
    return verdicts(release_mix_check_results(integrated, gap, [1.0, 1.0], list(starts), 600, 3))


def artwork_facts(**thumbnail_changes) -> dict[str, dict]:
    thumbnail = {"format": "JPEG", "mode": "RGB", "size": list(THUMBNAIL_SIZE), "bytes": 300_000}
    cover = {"format": "JPEG", "mode": "RGB", "size": list(COVER_SIZE), "bytes": 2_000_000}
    return {"thumbnail_A": {**thumbnail, **thumbnail_changes}, "cover": cover}


@pytest.fixture(scope="module")
def artwork():
    return draw_artwork(THUMBNAIL_SIZE, "jazz", 19, "A")


def good_body(**snippet_changes) -> dict:
    snippet = {"title": "Rainy jazz lofi", "description": "Tracklist", "tags": ["lofi"]}
    return {
        "snippet": {**snippet, "categoryId": "10", **snippet_changes},
        "status": {"selfDeclaredMadeForKids": False, "containsSyntheticMedia": True},
    }


GOOD_AUDIO = {"subtype": "PCM_16", "sample_rate_hz": 44_100, "channels": 2,
              "true_peak_dbtp": -1.5, "isrc_tag": "QZLFE2600001"}  # fmt: skip


def store_verdicts(**changes) -> dict[str, bool]:
    inputs = {
        "audio_facts": [GOOD_AUDIO], "artwork_problems": [], "isrcs": ["QZ-LFE-26-00001"],
        "registry_duplicates": 0, "missing_metadata": [], "bundle_problems": [],
    }  # fmt: skip
    return verdicts(streaming_check_results(**{**inputs, **changes}))


def queue_verdicts(*entries: QueueEntry, earlier=(), min_length_s=100.0) -> dict[str, bool]:
    queue = RadioQueue("2026-12-02", 4.0, entries)
    return verdicts(radio_queue_check_results(queue, list(earlier), min_length_s))


def entry(track_id: str, lufs: float = -14.0) -> QueueEntry:
    return QueueEntry(track_id, f"/x/{track_id}.wav", track_id, "jazz", 60.0, lufs, False)


# --- one failing case per blocking check ---------------------------------------------------


def fail_midi_parses(sketch) -> bool:
    path, plan, summary = sketch
    assert check_midi_parses(summary).passed
    no_bass = {part: notes for part, notes in summary.tracks.items() if part != "bass"}
    assert not check_midi_parses(dataclasses.replace(summary, tracks=no_bass)).passed
    return verdicts(sketch_check_results(path.with_name("missing.mid"), plan))["midi_parses"]


def fail_tempo_matches_plan(sketch) -> bool:
    path, plan, _ = sketch
    assert verdicts(sketch_check_results(path, plan))["tempo_matches_plan"]
    faster = dataclasses.replace(plan, bpm=plan.bpm + 5)
    return verdicts(sketch_check_results(path, faster))["tempo_matches_plan"]


def fail_melody_original(sketch) -> bool:
    path, plan, summary = sketch
    by_model = dataclasses.replace(plan, melody_source=MelodySource("model"))
    melody = [
        (n.pitch, n.start_beats, n.end_beats - n.start_beats) for n in summary.tracks["melody"]
    ]
    unrelated = ngram_hashes([(60 + i % 5, i * 0.5, 0.5) for i in range(40)])
    assert verdicts(sketch_check_results(path, by_model, unrelated))["melody_original"]
    # A corpus that holds the melody's own runs: the model copied it.
    copied = ngram_hashes(melody)
    return verdicts(sketch_check_results(path, by_model, copied))["melody_original"]


def fail_stems_complete(tmp_path: Path) -> bool:
    expected = ("drums", "bass")
    assert check_stems_complete({"drums": (2, 100), "bass": (2, 100)}, 0, expected).passed
    assert not check_stems_complete({"drums": (2, 100), "bass": (2, 99)}, 0, expected).passed
    assert not check_stems_complete({"drums": (2, 100), "bass": (2, 100)}, 3, expected).passed
    return check_stems_complete({"drums": (2, 100)}, 0, expected).passed


def fail_stems_audible(tmp_path: Path) -> bool:
    loud, silent = tmp_path / "keys.wav", tmp_path / "bass.wav"
    soundfile.write(loud, np.full((100, 2), 0.1, dtype=np.float32), 44_100, subtype="FLOAT")
    soundfile.write(silent, np.zeros((100, 2), dtype=np.float32), 44_100, subtype="FLOAT")
    assert check_stems_audible({"keys": loud, "bass": silent}, {"keys": 8, "bass": 0}).passed
    return check_stems_audible({"keys": loud, "bass": silent}, {"keys": 8, "bass": 4}).passed


def fail_master(check: str, **changes) -> Callable[[], bool]:
    def judge() -> bool:
        assert master_verdicts(good_qc())[check]
        return master_verdicts(good_qc(**changes))[check]

    return judge


def fail_not_a_catalog_duplicate() -> bool:
    assert master_verdicts(good_qc())["not_a_catalog_duplicate"]
    return master_verdicts(good_qc(), similarity=0.99)["not_a_catalog_duplicate"]


def sampling(decoded: int, decode_rate: float) -> SamplingReport:
    """A sampling report of 100 melodies, ``decoded`` of them at ``decode_rate``."""
    return SamplingReport(100, decoded, decode_rate, 0.0, {}, {}, {}, (0.0, 0.0))


def fail_samples_decode() -> bool:
    assert check_samples_decode(sampling(100, 1.0)).passed
    rate = MIN_DECODE_RATE - 0.01
    return check_samples_decode(sampling(98, rate)).passed


def fail_mix(check: str, **bad) -> Callable[[], bool]:
    def judge() -> bool:
        assert mix_verdicts()[check]
        return mix_verdicts(**bad)[check]

    return judge


def fail_metadata_valid() -> bool:
    good = {"title": "Rainy jazz lofi", "description": "", "tags": ["lofi"]}
    assert check_metadata_valid(problems(good)).passed
    too_long = {**good, "title": "x" * (MAX_TITLE_CHARS + 1)}
    return check_metadata_valid(problems(too_long)).passed


def fail_artwork_format() -> bool:
    assert check_artwork_format(artwork_facts()).passed
    assert not check_artwork_format(artwork_facts(bytes=3_000_000)).passed
    return check_artwork_format(artwork_facts(size=[1280, 719])).passed


def fail_headline_legible(artwork) -> bool:
    assert check_headline_legible({"A": artwork}).passed
    tiny = dataclasses.replace(
        artwork.text, line_heights_px=(4,) * len(artwork.text.line_heights_px)
    )
    return check_headline_legible({"A": dataclasses.replace(artwork, text=tiny)}).passed


def fail_text_legible(artwork) -> bool:
    text = artwork.text
    assert check_teaser_text_legible(text, text).passed
    missing = dataclasses.replace(text, missing=("\u2603",))
    return check_teaser_text_legible(text, missing).passed


def fail_video_streams() -> bool:
    assert verdicts(video_check_results(good_facts(), (1280, 720), 600.0, 3))["video_streams"]
    vp9 = good_facts(video_codec="vp9")
    return verdicts(video_check_results(vp9, (1280, 720), 600.0, 3))["video_streams"]


def fail_durations_match() -> bool:
    short_audio = good_facts(audio_duration_s=599.5)
    return verdicts(video_check_results(short_audio, (1280, 720), 600.0, 3))["durations_match"]


def fail_shorts_length() -> bool:
    size = (1080, 1920)
    short = good_facts(size, video_duration_s=30.0, audio_duration_s=30.0)
    assert verdicts(teaser_check_results(short, size, 30.0))["shorts_length"]
    long = MAX_SHORTS_S + 1
    too_long = good_facts(size, video_duration_s=long, audio_duration_s=long)
    return verdicts(teaser_check_results(too_long, size, long))["shorts_length"]


def fail_upload_body_valid() -> bool:
    assert check_upload_body_valid(body_problems(good_body())).passed
    assert not check_upload_body_valid(body_problems(good_body(categoryId="22"))).passed
    return check_upload_body_valid(body_problems(good_body(title=""))).passed


def fail_short_valid() -> bool:
    url = "https://www.youtube.com/watch?v=abcdefghijk"
    body = good_body(title=f"Rainy jazz {SHORTS_HASHTAG}", description=f"{SHORTS_HASHTAG} {url}")
    vertical = ShortFacts(width=1080, height=1920, duration_s=30.0)
    assert check_no_problems("short_valid", short_problems(body, vertical, url)).passed
    landscape = ShortFacts(width=1920, height=1080, duration_s=30.0)
    return check_no_problems("short_valid", short_problems(body, landscape, url)).passed


LOOP_BPM, LOOP_RATE_HZ = 90.0, 22_050


def sample_pack_verdicts(folder: Path, extra_s: float = 0.0, gain: float = 0.3) -> dict:
    """The sample pack's check verdicts for one two-bar noise loop, ``extra_s`` longer than
    two bars and scaled by ``gain``."""
    frames = round((2 * bar_s(LOOP_BPM) + extra_s) * LOOP_RATE_HZ)
    noise = np.random.default_rng(7).uniform(-1, 1, (2, frames)).astype(np.float32)
    loop = folder / "loop.wav"
    write_wav(loop, noise * gain, LOOP_RATE_HZ)
    sample = {"file": loop.name, "kind": "loop", "bpm": LOOP_BPM, "bars": 2}
    pack = build_pack(
        folder / "pack.zip", "sample_pack", "2026-11-15", [PackMember(loop.name, loop)],
        CREATOR_LICENCE, "licence", "readme", loop, {"samples": [sample]},
    )  # fmt: skip
    return {r.check_name: r.passed for r in sample_pack_check_results(pack, folder)}


def fail_loops_whole_bars(tmp_path: Path) -> bool:
    assert sample_pack_verdicts(tmp_path)["loops_whole_bars"]
    return sample_pack_verdicts(tmp_path, extra_s=0.010)["loops_whole_bars"]


def fail_loop_loudness_in_range(tmp_path: Path) -> bool:
    return sample_pack_verdicts(tmp_path, gain=0.001)["loop_loudness_in_range"]  # -60 dB


def fail_manifest_matches(tmp_path: Path) -> bool:
    assert sample_pack_verdicts(tmp_path)["manifest_matches"]
    with zipfile.ZipFile(tmp_path / "pack.zip", "a") as archive:
        archive.writestr("extra.wav", b"RIFF")  # in the zip, not in its manifest
    zip_path = tmp_path / "pack.zip"
    pack = BuiltPack(zip_path, {"files": [], "samples": []}, zip_path.stat().st_size)
    results = sample_pack_check_results(pack, tmp_path)
    return next(r.passed for r in results if r.check_name == "manifest_matches")


def fail_inputs_current(tmp_path: Path) -> bool:
    (tmp_path / "mix.wav").write_bytes(b"the mix the video was made from")
    built_from = {"video": input_hashes(tmp_path, ["mix.wav"])}
    current = check_inputs_current(tmp_path, built_from)
    with pytest.raises(StopIteration) as passed:  # nothing yielded: it returns its verdict
        next(current)
    assert passed.value.value.passed
    (tmp_path / "mix.wav").write_bytes(b"a re-made mix")
    stale = check_inputs_current(tmp_path, built_from)
    result = next(stale)  # yielded before anything is sent, then the step fails
    with pytest.raises(StaleInputsError):
        next(stale)
    assert result.check_name == INPUTS_CURRENT
    return result.passed


def fail_store(check: str, **bad) -> Callable[[], bool]:
    def judge() -> bool:
        assert store_verdicts()[check]
        return store_verdicts(**bad)[check]

    return judge


def fail_queue_length() -> bool:
    assert queue_verdicts(entry("a"), entry("b"))["queue_length"]
    return queue_verdicts(entry("a"), min_length_s=3600.0)["queue_length"]


def fail_no_repeats() -> bool:
    return queue_verdicts(entry("a"), entry("a"))["no_repeats"]


def fail_track_loudness() -> bool:
    return queue_verdicts(entry("a"), entry("b", lufs=-9.0))["track_loudness"]


PEAK_OVER = TRUE_PEAK_CEILING_DBTP + 0.5
FAILING: dict[str, Callable[..., bool]] = {
    "midi_parses": fail_midi_parses,
    "tempo_matches_plan": fail_tempo_matches_plan,
    "melody_original": fail_melody_original,
    "stems_complete": fail_stems_complete,
    "stems_audible": fail_stems_audible,
    "integrated_loudness": fail_master("integrated_loudness", integrated_lufs=TARGET_LUFS + 1),
    "true_peak": fail_master("true_peak", true_peak_dbtp=PEAK_OVER),
    "no_clipping": fail_master("no_clipping", clipped_samples=12),
    "silence": fail_master("silence", silence=SilenceReport(0.0, 1.0, 2.5)),
    "not_a_catalog_duplicate": fail_not_a_catalog_duplicate,
    "samples_decode": fail_samples_decode,
    "mix_loudness": fail_mix("mix_loudness", integrated=TARGET_LUFS - 1.5),
    "no_gaps": fail_mix("no_gaps", gap=1.5),
    "chapters_valid": fail_mix("chapters_valid", starts=(0.0, 5.0, 400.0)),
    "metadata_valid": fail_metadata_valid,
    "artwork_format": fail_artwork_format,
    "headline_legible": fail_headline_legible,
    "text_legible": fail_text_legible,
    "video_streams": fail_video_streams,
    "durations_match": fail_durations_match,
    "shorts_length": fail_shorts_length,
    "upload_body_valid": fail_upload_body_valid,
    "short_valid": fail_short_valid,
    "loops_whole_bars": fail_loops_whole_bars,
    "loop_loudness_in_range": fail_loop_loudness_in_range,
    "manifest_matches": fail_manifest_matches,
    "inputs_current": fail_inputs_current,
    "audio_format": fail_store("audio_format", audio_facts=[{**GOOD_AUDIO, "subtype": "PCM_24"}]),
    "artwork_valid": fail_store("artwork_valid", artwork_problems=["cover is 2999×3000"]),
    "isrc_valid": fail_store("isrc_valid", isrcs=["QZ-LFE-26-00001", "QZ-LFE-26-00001"]),
    "metadata_complete": fail_store("metadata_complete", missing_metadata=["label"]),
    "manifest_matches_files": fail_store("manifest_matches_files", bundle_problems=["a.wav"]),
    "queue_length": fail_queue_length,
    "no_repeats": fail_no_repeats,
    "track_loudness": fail_track_loudness,
}


def test_every_blocking_check_of_the_graph_has_a_failing_case():
    blocking = {
        spec.name
        for assets_def in defs.get_repository_def().assets_defs_by_key.values()
        for spec in assets_def.check_specs
        if spec.blocking
    }
    assert blocking - set(FAILING) == set()
    assert set(FAILING) - blocking == set()  # no case for a check that is gone


FIXTURES = {"sketch", "artwork", "tmp_path"}


@pytest.mark.parametrize("check", sorted(FAILING))
def test_blocking_check_fails_on_its_failing_input(check, request):
    judge = FAILING[check]
    wanted = judge.__code__.co_varnames[: judge.__code__.co_argcount]
    assert set(wanted) <= FIXTURES
    passed = judge(*[request.getfixturevalue(name) for name in wanted])
    assert passed is False


def test_the_video_is_mid_roll_eligible_only_when_long_enough():
    short = good_facts(video_duration_s=MID_ROLL_MIN_S - 1, audio_duration_s=MID_ROLL_MIN_S - 1)
    assert not verdicts(video_check_results(short, (1280, 720), MID_ROLL_MIN_S - 1, 3))[
        "mid_roll_eligible"
    ]
    assert verdicts(video_check_results(short, (1280, 720), MID_ROLL_MIN_S - 1, 2))[
        "mid_roll_eligible"
    ]
