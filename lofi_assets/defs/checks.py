"""Asset checks: one property each, computed from the files as written to disk."""

from collections.abc import Generator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.audio.fingerprint import DUPLICATE_SIMILARITY
from lofi_assets.audio.production import SILENT_STEM_PEAK_DBFS, stem_peak_dbfs
from lofi_assets.audio.qc import MasterQc
from lofi_assets.audio.tempo import tempo_agrees
from lofi_assets.audio.wav import AudioFileError
from lofi_assets.errors import CorruptMidiError
from lofi_assets.lineage import StaleInputsError, stale_inputs
from lofi_assets.music.analysis import MidiSummary, in_key_rate, read_midi
from lofi_assets.music.arrangement import PART_ORDER
from lofi_assets.music.form import bar_duration_s
from lofi_assets.music.model.metrics import originality_rate
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.music.theory import Key
from lofi_assets.publish.identifiers import valid_isrc
from lofi_assets.visual.teaser import (
    MAX_SHORTS_S,
    MIN_TEASER_TEXT_HEIGHT_PX,
    teaser_text_problems,
)
from lofi_assets.visual.text import TextFacts
from lofi_assets.visual.thumbnail import (
    COVER_SIZE,
    MAX_THUMBNAIL_BYTES,
    MIN_CONTRAST,
    MIN_TEXT_HEIGHT_PX,
    THUMBNAIL_SIZE,
    Artwork,
    headline_problems,
)

MIN_IN_KEY_RATE = 0.85
TEMPO_TOLERANCE_BPM = 0.01

SKETCH_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "midi_parses",
        asset="midi_sketch",
        blocking=True,
        description="sketch.mid parses and has a named track with notes for every instrument",
    ),
    dg.AssetCheckSpec(
        "tempo_matches_plan",
        asset="midi_sketch",
        blocking=True,
        description="The file has one tempo and it equals the plan's BPM",
    ),
    dg.AssetCheckSpec(
        "pitched_notes_in_key",
        asset="midi_sketch",
        description=f"At least {MIN_IN_KEY_RATE:.0%} of pitched notes are in the plan's key",
    ),
    dg.AssetCheckSpec(
        "duration_matches_target",
        asset="midi_sketch",
        description="The track is within one bar of its target duration",
    ),
    dg.AssetCheckSpec(
        "melody_original",
        asset="midi_sketch",
        blocking=True,
        description="A model-written melody repeats no 8-note run (interval, duration) of the "
        "training corpus",
    ),
]


def _unreadable(check_name: str, reason: str) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(check_name=check_name, passed=False, metadata={"reason": reason})


def check_midi_parses(summary: MidiSummary) -> dg.AssetCheckResult:
    missing = [name for name in PART_ORDER if not summary.tracks.get(name)]
    return dg.AssetCheckResult(
        check_name="midi_parses",
        passed=not missing,
        metadata={
            "tracks": dg.MetadataValue.json({n: len(v) for n, v in summary.tracks.items()}),
            "missing_tracks": dg.MetadataValue.json(missing),
        },
    )


def check_tempo_matches_plan(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    matches = abs(summary.tempo_bpm - float(plan.bpm)) <= TEMPO_TOLERANCE_BPM
    return dg.AssetCheckResult(
        check_name="tempo_matches_plan",
        passed=matches and summary.tempo_changes == 1,
        metadata={
            "file_bpm": summary.tempo_bpm,
            "plan_bpm": float(plan.bpm),
            "tempo_events": summary.tempo_changes,
        },
    )


def check_pitched_notes_in_key(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    key = Key(plan.tonic_pc, plan.mode)
    rate = in_key_rate(summary.pitched_notes(), key.scale_pcs)
    return dg.AssetCheckResult(
        check_name="pitched_notes_in_key",
        passed=rate >= MIN_IN_KEY_RATE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"in_key_rate": round(rate, 4), "key": key.name, "minimum": MIN_IN_KEY_RATE},
    )


def check_duration_matches_target(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    bar_s = bar_duration_s(float(plan.bpm))
    error_s = abs(summary.length_s - plan.target_duration_s)
    return dg.AssetCheckResult(
        check_name="duration_matches_target",
        passed=error_s <= bar_s,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "duration_s": round(summary.length_s, 3),
            "target_duration_s": plan.target_duration_s,
            "error_s": round(error_s, 3),
            "bar_s": round(bar_s, 3),
        },
    )


def check_melody_original(
    summary: MidiSummary, plan: PlanRecord, corpus_ngrams: Any | None
) -> dg.AssetCheckResult:
    generator = plan.melody_source.generator
    if generator != "model" or corpus_ngrams is None:
        return dg.AssetCheckResult(
            check_name="melody_original", passed=True, metadata={"generator": generator}
        )
    notes = [
        (n.pitch, n.start_beats, n.end_beats - n.start_beats)
        for n in summary.tracks.get("melody", [])
    ]
    rate = originality_rate(notes, corpus_ngrams)
    return dg.AssetCheckResult(
        check_name="melody_original",
        passed=rate == 1.0,
        metadata={"generator": "model", "original_runs": dg.MetadataValue.float(rate)},
    )


def sketch_check_results(
    midi_path: Path, plan: PlanRecord, corpus_ngrams: Any | None = None
) -> list[dg.AssetCheckResult]:
    """Every sketch check, read from the file on disk (not from the composer's memory)."""
    try:
        summary = read_midi(midi_path)
    except (CorruptMidiError, FileNotFoundError) as error:
        return [_unreadable(spec.name, str(error)) for spec in SKETCH_CHECK_SPECS]
    return [
        check_midi_parses(summary),
        check_tempo_matches_plan(summary, plan),
        check_pitched_notes_in_key(summary, plan),
        check_duration_matches_target(summary, plan),
        check_melody_original(summary, plan, corpus_ngrams),
    ]


# --- audio -------------------------------------------------------------------------------

STEMS_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "stems_complete",
        asset="stems",
        blocking=True,
        description="Every stem exists, is stereo, finite and as long as the others",
    ),
    dg.AssetCheckSpec(
        "stems_audible",
        asset="stems",
        blocking=True,
        description=f"Every stem whose part has notes peaks at or above "
        f"{SILENT_STEM_PEAK_DBFS:.0f} dBFS (a preset that made no sound fails it)",
    ),
]

LOUDNESS_TOLERANCE_LU = 0.5
MAX_DC_OFFSET_DBFS = -60.0
MIN_STEREO_CORRELATION = 0.2
MAX_MONO_LOSS_LU = 3.0
MAX_LEADING_SILENCE_S, MAX_TRAILING_SILENCE_S, MAX_INSIDE_SILENCE_S = 0.5, 3.0, 2.0


def _master_spec(name: str, description: str, blocking: bool) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset="mastered_wav", blocking=blocking, description=description)


MASTER_CHECK_SPECS = [
    _master_spec("integrated_loudness", f"-14 ± {LOUDNESS_TOLERANCE_LU} LUFS integrated", True),
    _master_spec("true_peak", "True peak (4× oversampled) at or under -1.5 dBTP", True),
    _master_spec("no_clipping", "No clipped samples, no NaN or infinite values", True),
    _master_spec("dc_offset", f"DC offset under {MAX_DC_OFFSET_DBFS:.0f} dBFS", False),
    _master_spec(
        "stereo_compatibility",
        f"L/R correlation ≥ {MIN_STEREO_CORRELATION} and mono fold-down loss ≤ {MAX_MONO_LOSS_LU} dB",
        False,
    ),
    _master_spec("silence", "Leading ≤ 0.5 s, trailing ≤ 3 s, no silence > 2 s inside", True),
    _master_spec("spectral_balance", "Octave-band levels inside the style's envelope", False),
    _master_spec(
        "tempo_agreement", "Beat-tracked tempo within ±3 % of the plan (or ½×, 2×)", False
    ),
    _master_spec("not_a_catalog_duplicate", "Chroma fingerprint unlike every other master", True),
]


def check_stems_complete(
    stem_shapes: dict[str, tuple[int, ...]], non_finite: int, expected: tuple[str, ...]
) -> dg.AssetCheckResult:
    missing = [name for name in expected if name not in stem_shapes]
    shapes = set(stem_shapes.values())
    stereo = all(shape[0] == 2 for shape in shapes)
    return dg.AssetCheckResult(
        check_name="stems_complete",
        passed=not missing and len(shapes) == 1 and stereo and non_finite == 0,
        metadata={
            "missing": dg.MetadataValue.json(missing),
            "shapes": dg.MetadataValue.json({n: list(s) for n, s in stem_shapes.items()}),
            "non_finite_samples": non_finite,
        },
    )


def check_stems_audible(
    stem_paths: Mapping[str, Path],
    note_counts: Mapping[str, int],
    played_by: Mapping[str, str] | None = None,
) -> dg.AssetCheckResult:
    """Fails when a stem whose part has notes (``note_counts``) peaks under
    ``SILENT_STEM_PEAK_DBFS``, measured from its file (``stem_paths``); an unreadable stem
    fails too. ``played_by`` (stem: what played it, and any fallback) is shown for each silent
    stem: a failing check keeps the previous stems, so its verdict is where the UI says why."""
    peaks_dbfs: dict[str, float] = {}
    unreadable: dict[str, str] = {}
    for name, path in stem_paths.items():
        if note_counts.get(name, 0) <= 0:
            continue
        try:
            peaks_dbfs[name] = round(stem_peak_dbfs(path), 1)
        except AudioFileError as error:
            unreadable[name] = str(error)
    silent = sorted(name for name, peak in peaks_dbfs.items() if peak < SILENT_STEM_PEAK_DBFS)
    return dg.AssetCheckResult(
        check_name="stems_audible",
        passed=not silent and not unreadable,
        metadata={
            "silent_stems": dg.MetadataValue.json(
                {name: note_counts[name] for name in silent}  # stem: its notes
            ),
            "silent_stems_played_by": dg.MetadataValue.json(
                {name: played_by[name] for name in silent if played_by and name in played_by}
            ),
            "peak_dbfs": dg.MetadataValue.json(peaks_dbfs),
            "threshold_dbfs": SILENT_STEM_PEAK_DBFS,
            "unreadable": dg.MetadataValue.json(unreadable),
        },
    )


def master_check_results(
    qc: MasterQc,
    planned_bpm: float,
    envelope_db: dict[int, tuple[float, float]],
    nearest_duplicate: tuple[str | None, float],
    target_lufs: float,
    ceiling_dbtp: float,
) -> list[dg.AssetCheckResult]:
    """One result per master property, from measurements of the written file."""
    outside = {
        band: level
        for band, level in qc.octave_bands_db.items()
        if not envelope_db[band][0] <= level <= envelope_db[band][1]
    }
    nearest_key, similarity = nearest_duplicate
    silence = qc.silence
    return [
        dg.AssetCheckResult(
            check_name="integrated_loudness",
            passed=abs(qc.integrated_lufs - target_lufs) <= LOUDNESS_TOLERANCE_LU,
            metadata={"integrated_lufs": round(qc.integrated_lufs, 2), "target_lufs": target_lufs},
        ),
        dg.AssetCheckResult(
            check_name="true_peak",
            passed=qc.true_peak_dbtp <= ceiling_dbtp,
            metadata={"true_peak_dbtp": round(qc.true_peak_dbtp, 2), "ceiling_dbtp": ceiling_dbtp},
        ),
        dg.AssetCheckResult(
            check_name="no_clipping",
            passed=qc.clipped_samples == 0 and qc.non_finite_samples == 0,
            metadata={
                "clipped_samples": qc.clipped_samples,
                "non_finite_samples": qc.non_finite_samples,
            },
        ),
        dg.AssetCheckResult(
            check_name="dc_offset",
            passed=qc.dc_offset_dbfs < MAX_DC_OFFSET_DBFS,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"dc_offset_dbfs": round(qc.dc_offset_dbfs, 1)},
        ),
        dg.AssetCheckResult(
            check_name="stereo_compatibility",
            passed=qc.stereo_correlation >= MIN_STEREO_CORRELATION
            and qc.mono_fold_down_loss_lu <= MAX_MONO_LOSS_LU,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "correlation": round(qc.stereo_correlation, 3),
                "mono_fold_down_loss_lu": round(qc.mono_fold_down_loss_lu, 2),
            },
        ),
        dg.AssetCheckResult(
            check_name="silence",
            passed=silence.leading_s <= MAX_LEADING_SILENCE_S
            and silence.trailing_s <= MAX_TRAILING_SILENCE_S
            and silence.longest_inside_s <= MAX_INSIDE_SILENCE_S,
            metadata={
                "leading_s": silence.leading_s,
                "trailing_s": silence.trailing_s,
                "longest_inside_s": silence.longest_inside_s,
            },
        ),
        dg.AssetCheckResult(
            check_name="spectral_balance",
            passed=not outside,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "octave_bands_db": dg.MetadataValue.json(
                    {str(k): v for k, v in qc.octave_bands_db.items()}
                ),
                "outside_envelope": dg.MetadataValue.json({str(k): v for k, v in outside.items()}),
            },
        ),
        dg.AssetCheckResult(
            check_name="tempo_agreement",
            passed=tempo_agrees(qc.estimated_bpm, planned_bpm),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"estimated_bpm": round(qc.estimated_bpm, 2), "planned_bpm": planned_bpm},
        ),
        dg.AssetCheckResult(
            check_name="not_a_catalog_duplicate",
            passed=similarity < DUPLICATE_SIMILARITY,
            metadata={
                "most_similar_partition": nearest_key or "none",
                "similarity": round(similarity, 3),
                "threshold": DUPLICATE_SIMILARITY,
            },
        ),
    ]


# --- release -------------------------------------------------------------------------

MAX_GAP_S = 1.0
MAX_CROSSFADE_STEP_LU = 3.0
MIX_LOUDNESS_TOLERANCE_LU = 1.0
MIN_CHAPTER_S = 10.0

RELEASE_MIX_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "mix_loudness",
        asset="release_mix",
        blocking=True,
        description=f"Integrated loudness -14 ± {MIX_LOUDNESS_TOLERANCE_LU} LUFS",
    ),
    dg.AssetCheckSpec(
        "no_gaps",
        asset="release_mix",
        blocking=True,
        description=f"No stretch over {MAX_GAP_S} s below -50 dBFS",
    ),
    dg.AssetCheckSpec(
        "smooth_crossfades",
        asset="release_mix",
        description=f"Short-term loudness steps ≤ {MAX_CROSSFADE_STEP_LU} LU around each crossfade",
    ),
    dg.AssetCheckSpec(
        "chapters_valid",
        asset="release_mix",
        blocking=True,
        description=f"One chapter per track, first at 0:00, ascending, each ≥ {MIN_CHAPTER_S:.0f} s",
    ),
]


def release_mix_check_results(
    integrated: float,
    longest_gap: float,
    crossfade_steps: list[float],
    chapter_starts_s: list[float],
    duration_s: float,
    tracks: int,
) -> list[dg.AssetCheckResult]:
    ends = [*chapter_starts_s[1:], duration_s]
    lengths = [end - start for start, end in zip(chapter_starts_s, ends, strict=True)]
    return [
        dg.AssetCheckResult(
            check_name="mix_loudness",
            passed=abs(integrated + 14.0) <= MIX_LOUDNESS_TOLERANCE_LU,
            metadata={"integrated_lufs": round(integrated, 2)},
        ),
        dg.AssetCheckResult(
            check_name="no_gaps",
            passed=longest_gap <= MAX_GAP_S,
            metadata={"longest_gap_s": longest_gap},
        ),
        dg.AssetCheckResult(
            check_name="smooth_crossfades",
            passed=all(step <= MAX_CROSSFADE_STEP_LU for step in crossfade_steps),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"steps_lu": dg.MetadataValue.json([round(s, 2) for s in crossfade_steps])},
        ),
        dg.AssetCheckResult(
            check_name="chapters_valid",
            passed=len(chapter_starts_s) == tracks
            and bool(chapter_starts_s)
            and chapter_starts_s[0] == 0.0
            and all(length >= MIN_CHAPTER_S for length in lengths),
            metadata={"chapter_lengths_s": dg.MetadataValue.json([round(x, 1) for x in lengths])},
        ),
    ]


METADATA_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "metadata_valid",
        asset="release_metadata",
        blocking=True,
        description="Title ≤ 100 chars without < >, description ≤ 5000, tags ≤ 500, valid chapters",
    ),
]


def check_no_problems(check_name: str, found_problems: list[str]) -> dg.AssetCheckResult:
    """A validator's verdict: passed when it found nothing, the problems listed otherwise."""
    return dg.AssetCheckResult(
        check_name=check_name,
        passed=not found_problems,
        metadata={"problems": dg.MetadataValue.json(found_problems)},
    )


THUMBNAIL_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "artwork_format",
        asset="thumbnail",
        blocking=True,
        description="Thumbnails are 1280×720 RGB JPEGs ≤ 1 MB; the cover a 3000×3000 RGB JPEG",
    ),
    dg.AssetCheckSpec(
        "headline_legible",
        asset="thumbnail",
        blocking=True,
        description=f"Every headline character drawn by a font that has it; the drawn text "
        f"≥ {MIN_TEXT_HEIGHT_PX} px tall (at 1280 px), inside the safe area, contrast "
        f"≥ {MIN_CONTRAST}:1, duration-badge corner clear; measured on thumbnails and cover",
    ),
]


def check_artwork_format(facts: dict[str, dict]) -> dg.AssetCheckResult:
    """``facts``: file name → {"format", "mode", "size", "bytes"} read back from disk."""
    wrong = {}
    for name, fact in facts.items():
        expected = COVER_SIZE if name == "cover" else THUMBNAIL_SIZE
        too_big = name != "cover" and fact["bytes"] > MAX_THUMBNAIL_BYTES
        if (
            fact["format"] != "JPEG"
            or fact["mode"] != "RGB"
            or tuple(fact["size"]) != expected
            or too_big
        ):
            wrong[name] = fact
    return dg.AssetCheckResult(
        check_name="artwork_format",
        passed=not wrong,
        metadata={"files": dg.MetadataValue.json(facts), "wrong": dg.MetadataValue.json(wrong)},
    )


def check_headline_legible(artworks: Mapping[str, Artwork]) -> dg.AssetCheckResult:
    """``artworks``: variant (or "cover") → the artwork as drawn; its headline is judged by
    what was measured from its ink (``headline_problems``), not by a sample letter."""
    problems = {name: headline_problems(artwork) for name, artwork in artworks.items()}
    failing = {name: found for name, found in problems.items() if found}
    return dg.AssetCheckResult(
        check_name="headline_legible",
        passed=not failing,
        metadata={
            "headlines": dg.MetadataValue.json(
                {name: artwork.text.as_json() for name, artwork in artworks.items()}
            ),
            "failing": dg.MetadataValue.json(failing),
        },
    )


MAX_AV_DRIFT_S = 0.1
MID_ROLL_MIN_S = 480.0  # YouTube allows mid-roll ads from 8 minutes


def _stream_check_specs(asset: str, size: str, source: str) -> list[dg.AssetCheckSpec]:
    """video_streams and durations_match (both blocking) of an MP4 that YouTube takes."""
    return [
        dg.AssetCheckSpec(
            "video_streams",
            asset=asset,
            blocking=True,
            description=f"H.264 High yuv420p {size}, AAC-LC 48 kHz stereo, +faststart",
        ),
        dg.AssetCheckSpec(
            "durations_match",
            asset=asset,
            blocking=True,
            description=f"Video, audio and {source} agree within {MAX_AV_DRIFT_S} s",
        ),
    ]


VIDEO_CHECK_SPECS = [
    *_stream_check_specs("video", "at the configured size", "the mix"),
    dg.AssetCheckSpec(
        "mid_roll_eligible",
        asset="video",
        description="At least 8 minutes long when the day has three or more tracks",
    ),
]


def _streams_and_drift(
    facts, size: tuple[int, int], audio_duration_s: float
) -> list[dg.AssetCheckResult]:
    """video_streams and durations_match, for any asset whose file YouTube takes."""
    streams_ok = (
        facts.video_codec == "h264"
        and facts.video_profile == "High"
        and facts.pixel_format == "yuv420p"
        and (facts.width, facts.height) == size
        and facts.audio_codec == "aac"
        and facts.audio_profile == "LC"
        and facts.audio_rate_hz == 48_000
        and facts.audio_channels == 2
        and facts.faststart
    )
    drift = max(
        abs(facts.video_duration_s - facts.audio_duration_s),
        abs(facts.video_duration_s - audio_duration_s),
    )
    facts_json = dg.MetadataValue.json({k: v for k, v in vars(facts).items()})
    return [
        dg.AssetCheckResult(
            check_name="video_streams", passed=streams_ok, metadata={"ffprobe": facts_json}
        ),
        dg.AssetCheckResult(
            check_name="durations_match",
            passed=drift <= MAX_AV_DRIFT_S,
            metadata={"drift_s": round(drift, 3)},
        ),
    ]


def video_check_results(
    facts, size: tuple[int, int], mix_duration_s: float, tracks: int
) -> list[dg.AssetCheckResult]:
    return [
        *_streams_and_drift(facts, size, mix_duration_s),
        dg.AssetCheckResult(
            check_name="mid_roll_eligible",
            passed=tracks < 3 or facts.video_duration_s >= MID_ROLL_MIN_S,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"duration_s": round(facts.video_duration_s, 2), "tracks": tracks},
        ),
    ]


TEASER_CHECK_SPECS = [
    *_stream_check_specs("shorts_teaser", "1080×1920", "the excerpt"),
    dg.AssetCheckSpec(
        "shorts_length",
        asset="shorts_teaser",
        blocking=True,
        description=f"At most {MAX_SHORTS_S:.0f} s: longer uploads are not Shorts",
    ),
    dg.AssetCheckSpec(
        "text_legible",
        asset="shorts_teaser",
        blocking=True,
        description="Title and caption (the channel's name) drawn whole: every character by a "
        f"font that has it, ≥ {MIN_TEASER_TEXT_HEIGHT_PX} px tall, inside the safe area, "
        f"contrast ≥ {MIN_CONTRAST}:1",
    ),
]


def check_teaser_text_legible(title: TextFacts, caption: TextFacts) -> dg.AssetCheckResult:
    """The teaser's title and caption as measured from their ink (``teaser_text_problems``)."""
    problems = teaser_text_problems(title, caption)
    return dg.AssetCheckResult(
        check_name="text_legible",
        passed=not any(problems.values()),
        metadata={
            "title": dg.MetadataValue.json(title.as_json()),
            "caption": dg.MetadataValue.json(caption.as_json()),
            "problems": dg.MetadataValue.json(problems),
        },
    )


def teaser_check_results(
    facts, size: tuple[int, int], excerpt_duration_s: float
) -> list[dg.AssetCheckResult]:
    return [
        *_streams_and_drift(facts, size, excerpt_duration_s),
        dg.AssetCheckResult(
            check_name="shorts_length",
            passed=facts.video_duration_s <= MAX_SHORTS_S,
            metadata={"duration_s": round(facts.video_duration_s, 2)},
        ),
    ]


INPUTS_CURRENT = "inputs_current"


def inputs_current_spec(asset: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        INPUTS_CURRENT,
        asset=asset,
        blocking=True,
        description="Every file the upstream release records were built from is still the file "
        "upstream holds (SHA-256): no video of an older mix, no mix of re-rendered masters",
    )


def check_inputs_current(
    root: Path, built_from: dict[str, dict[str, str]]
) -> Generator[dg.AssetCheckResult, None, dg.AssetCheckResult]:
    """Judge the recorded input hashes of the upstream records (asset name → input_sha256).

    Publishing assets run it *before* anything is sent (``current = yield from …``): on a
    stale combination it yields the failed result, so the UI shows the blocking check's
    verdict beside the failure, and raises ``StaleInputsError`` (lineage.py): nothing goes
    out. Passing, it returns the result to ride with the materialization.
    """
    stale = stale_inputs(root, built_from)
    result = dg.AssetCheckResult(
        check_name=INPUTS_CURRENT,
        passed=not stale,
        metadata={
            "checked_inputs": dg.MetadataValue.int(sum(map(len, built_from.values()))),
            "stale": dg.MetadataValue.json([item.describe() for item in stale]),
        },
    )
    if stale:
        yield result
        raise StaleInputsError(stale)
    return result


UPLOAD_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "upload_body_valid",
        asset="youtube_upload",
        blocking=True,
        description="Title, description, tags within YouTube's limits; category Music; not made "
        "for kids; synthetic media declared; scheduled videos private",
    ),
    inputs_current_spec("youtube_upload"),
]


SNAPSHOT_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "one_row_per_day_and_video",
        asset="analytics_snapshot",
        description="Re-fetched days replaced their rows instead of adding to them",
    ),
]


def check_one_row_per_day_and_video(duplicates: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="one_row_per_day_and_video",
        passed=duplicates == 0,
        metadata={"duplicate_rows": dg.MetadataValue.int(duplicates)},
    )


STREAMING_CHECK_SPECS = [
    dg.AssetCheckSpec(name, asset="streaming_release", blocking=True, description=description)
    for name, description in (
        ("audio_format", "16-bit PCM, 44.1 kHz, stereo, true peak ≤ -1 dBTP, ISRC in the tags"),
        ("artwork_valid", "3000×3000 RGB JPEG cover"),
        ("isrc_valid", "Every ISRC is CC-XXX-YY-NNNNN (ISO 3901) and issued to one track only"),
        (
            "metadata_complete",
            "Title, UPC (UPC-A or EAN-13 with its GS1 check digit), artist, label, genre, "
            "dates, ℗/© present; text and DDEX party ids in the stores' formats",
        ),
        ("manifest_matches_files", "Every file in the bundle matches the manifest's SHA-256"),
    )
] + [inputs_current_spec("streaming_release")]


def streaming_check_results(
    audio_facts: list[dict],
    artwork_problems: list[str],
    isrcs: list[str],
    registry_duplicates: int,
    missing_metadata: list[str],
    bundle_problems: list[str],
) -> list[dg.AssetCheckResult]:
    audio_ok = all(
        f["subtype"] == "PCM_16"
        and f["sample_rate_hz"] == 44_100
        and f["channels"] == 2
        and f["true_peak_dbtp"] <= -1.0
        and f["isrc_tag"]
        for f in audio_facts
    )
    isrc_ok = all(map(valid_isrc, isrcs)) and len(set(isrcs)) == len(isrcs)
    return [
        dg.AssetCheckResult(
            check_name="audio_format",
            passed=audio_ok,
            metadata={"files": dg.MetadataValue.json(audio_facts)},
        ),
        check_no_problems("artwork_valid", artwork_problems),
        dg.AssetCheckResult(
            check_name="isrc_valid",
            passed=isrc_ok and registry_duplicates == 0,
            metadata={
                "isrcs": dg.MetadataValue.json(isrcs),
                "registry_duplicates": dg.MetadataValue.int(registry_duplicates),
            },
        ),
        check_no_problems("metadata_complete", missing_metadata),
        check_no_problems("manifest_matches_files", bundle_problems),
    ]


def _same_checks_for(asset: str, specs: list[dg.AssetCheckSpec]) -> list[dg.AssetCheckSpec]:
    """The daily release's checks (same names, blocking and descriptions) on a weekly asset."""
    return [
        dg.AssetCheckSpec(
            spec.name, asset=asset, blocking=spec.blocking, description=spec.description
        )
        for spec in specs
    ]


# The weekly long-form release is judged like the daily one (issue 16 §1).
WEEKLY_MIX_CHECK_SPECS = _same_checks_for("weekly_mix", RELEASE_MIX_CHECK_SPECS)
WEEKLY_THUMBNAIL_CHECK_SPECS = _same_checks_for("weekly_thumbnail", THUMBNAIL_CHECK_SPECS)
WEEKLY_METADATA_CHECK_SPECS = _same_checks_for("weekly_metadata", METADATA_CHECK_SPECS)
WEEKLY_VIDEO_CHECK_SPECS = _stream_check_specs("weekly_video", "at the configured size", "the mix")
WEEKLY_UPLOAD_CHECK_SPECS = [
    *_same_checks_for("weekly_upload", UPLOAD_CHECK_SPECS[:1]),
    inputs_current_spec("weekly_upload"),
]


def weekly_video_check_results(
    facts, size: tuple[int, int], mix_duration_s: float
) -> list[dg.AssetCheckResult]:
    """video_streams and durations_match of the weekly video, as for the daily video."""
    return _streams_and_drift(facts, size, mix_duration_s)
