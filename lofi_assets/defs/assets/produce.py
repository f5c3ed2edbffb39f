"""Produce group: ``stems`` (rendered, processed instrument and texture layers) and
``mastered_wav`` (mixed, lo-fi bus, mastered to -14 LUFS under a -1.5 dBTP ceiling)."""

import json
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path

import dagster as dg
import numpy as np

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.fingerprint import chroma_fingerprint, fingerprint_similarity
from lofi_assets.audio.memory import reuse_freed_memory
from lofi_assets.audio.preview import render_preview
from lofi_assets.audio.production import (
    STEM_NAMES,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    ProductionSettings,
    StemFile,
    master_stem_files_to,
    produce_stem_files,
    production_inputs,
    stem_sources,
)
from lofi_assets.audio.qc import measure_master
from lofi_assets.defs.assets.common import (
    compute_timer,
    judge_staged,
    png_markdown,
    progress_log,
    read_plan,
    track_asset_options,
)
from lofi_assets.defs.assets.produce_checks import (
    MASTER_CHECK_SPECS,
    STEMS_CHECK_SPECS,
    check_stems_audible,
    check_stems_complete,
    master_check_results,
)
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.pools import RENDER_POOL
from lofi_assets.defs.records import MasterRecord, SketchRecord, StemsRecord
from lofi_assets.defs.resources import ArtifactStore, SoundFontResource
from lofi_assets.music.analysis import read_midi
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.music.styles import get_style
from lofi_assets.storage import atomic_directory, write_bytes_atomic, write_json_atomic

# 2: sampled instruments and kits, float stems, the lo-fi top end, streamed in blocks (issue 13)
AUDIO_VERSION = "2"
MASTER_FILE, PREVIEW_FILE, FINGERPRINT_FILE = "master.wav", "preview.png", "fingerprint.json"
RENDER_RETRIES = dg.RetryPolicy(max_retries=1, delay=5)


def _settings(plan: PlanRecord) -> ProductionSettings:
    return ProductionSettings.from_overrides(get_style(plan.style).production)


@dg.asset(
    group_name="produce",
    kinds={"python", "wav"},
    code_version=AUDIO_VERSION,
    check_specs=STEMS_CHECK_SPECS,
    pool=RENDER_POOL,
    retry_policy=RENDER_RETRIES,
    **track_asset_options(StemsRecord),
)
def stems(
    context: dg.AssetExecutionContext,
    midi_sketch: SketchRecord,
    artifact_store: ArtifactStore,
    soundfont: SoundFontResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """One processed WAV per layer (drums, bass, keys, melody, pad, ambience, vinyl) at mix
    level, 32-bit float (a stem may peak above full scale; PCM would clip it)."""
    reuse_freed_memory()
    target = artifact_store.partition_dir("stems", context.partition_key)
    shapes: dict[str, tuple[int, ...]] = {}
    levels_dbfs: dict[str, float] = {}
    non_finite = 0
    with compute_timer() as timing, domain_failures(artifact_store.root):
        plan = read_plan(artifact_store, midi_sketch)
        inputs = production_inputs(read_midi(artifact_store.resolve(midi_sketch.midi_path)), plan)
        font = soundfont.resolve()
        context.log.info(f"Rendering with {font.describe()}: {font.path}")
        # What plays each instrument stem with notes (font, preset, recorded kit, any fallback
        # and why); a part no font of the chain can play is refused here, before rendering.
        sources = stem_sources(inputs, font)
        for name, source in sources.items():
            log = context.log.warning if source.fallback else context.log.info
            log(f"{name}: {source.describe()}")
        notes: dict[str, int] = {}
        with atomic_directory(target) as staging:

            def keep(stem: StemFile) -> None:
                nonlocal non_finite
                shapes[stem.name] = (2, stem.samples)
                non_finite += stem.non_finite_samples
                levels_dbfs[stem.name] = round(float(10 * np.log10(stem.mean_square + 1e-20)), 1)
                notes[stem.name] = stem.notes
                context.log.info(f"stem {len(shapes)}/{len(STEM_NAMES)}: {stem.name}")

            # Each stem streams to its float WAV (STEM_SUBTYPE) in the staging folder.
            produce_stem_files(
                inputs,
                _settings(plan),
                font,
                staging,
                keep,
                on_progress=progress_log(context, "stems"),
            )
            # Measured from the staged files as written (before they replace the last ones).
            audible = check_stems_audible(
                {name: staging / f"{name}.wav" for name in STEM_NAMES},
                notes,
                {name: source.describe() for name, source in sources.items()},
            )
            check_results = [check_stems_complete(shapes, non_finite, STEM_NAMES), audible]
            # Judged as staged: stems that fail keep the last good ones (and their record).
            yield from judge_staged(
                "stems", context.partition_key, check_results, STEMS_CHECK_SPECS
            )
    duration_s = next(iter(shapes.values()))[1] / SAMPLE_RATE_HZ
    record = StemsRecord(
        stem_paths={name: artifact_store.relative(target / f"{name}.wav") for name in STEM_NAMES},
        sample_rate_hz=SAMPLE_RATE_HZ,
        duration_s=round(duration_s, 3),
        soundfont=f"{font.name} ({font.source})",
    )
    yield dg.MaterializeResult(
        value=record,
        metadata={
            "compute_s": dg.MetadataValue.float(timing["compute_s"]),
            "soundfont": record.soundfont,
            "stem_sources": dg.MetadataValue.json(
                {name: asdict(source) for name, source in sources.items()}
            ),
            # Stems a font other than the library's choice played, and why (empty: none).
            "stem_fallbacks": dg.MetadataValue.json(
                {name: source.fallback for name, source in sources.items() if source.fallback}
            ),
            "stem_notes": dg.MetadataValue.json(notes),
            "duration_s": dg.MetadataValue.float(record.duration_s),
            "stem_rms_dbfs": dg.MetadataValue.json(levels_dbfs),
            "path": dg.MetadataValue.path(str(target)),
        },
        check_results=check_results,
    )


def _nearest_master(
    store: ArtifactStore, own_dir: Path, fingerprint: np.ndarray
) -> tuple[str | None, float]:
    """The most similar other master in the catalog, by chroma fingerprint.

    Only published partition folders count: a hidden staging or retired folder is work in
    flight (or a killed run's leftover), never a catalog entry.
    """
    best_key, best = None, 0.0
    catalog = store.root / "mastered_wav"
    for path in sorted(catalog.glob(f"*/*/{FINGERPRINT_FILE}")):
        in_flight = any(part.startswith(".") for part in path.relative_to(catalog).parts)
        if path.parent == own_dir or in_flight:
            continue
        other = np.asarray(json.loads(path.read_text(encoding="utf-8")), dtype=np.float32)
        similarity = fingerprint_similarity(fingerprint, other)
        if similarity > best:
            best_key, best = f"{path.parent.parent.name}|{path.parent.name}", similarity
    return best_key, best


@dg.asset(
    group_name="produce",
    kinds={"python", "wav"},
    code_version=AUDIO_VERSION,
    check_specs=MASTER_CHECK_SPECS,
    pool=RENDER_POOL,
    retry_policy=RENDER_RETRIES,
    **track_asset_options(MasterRecord),
)
def mastered_wav(
    context: dg.AssetExecutionContext,
    midi_sketch: SketchRecord,
    stems: StemsRecord,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The mixed, lo-fi processed track mastered to -14 LUFS (≤ -1.5 dBTP), 44.1 kHz 24-bit."""
    reuse_freed_memory()
    target = artifact_store.partition_dir("mastered_wav", context.partition_key)
    with compute_timer() as timing, domain_failures(artifact_store.root):
        plan = read_plan(artifact_store, midi_sketch)
        settings = _settings(plan)
        with atomic_directory(target) as staging:
            # Streamed: the master is written block by block, memory does not grow with it.
            master_stem_files_to(
                {name: artifact_store.resolve(path) for name, path in stems.stem_paths.items()},
                settings,
                stems.sample_rate_hz,
                staging / MASTER_FILE,
            )
            qc, audio, sample_rate_hz = measure_master(staging / MASTER_FILE)
            fingerprint = chroma_fingerprint(audio, sample_rate_hz)
            write_json_atomic(staging / FINGERPRINT_FILE, np.round(fingerprint, 4).tolist())
            preview = render_preview(audio, sample_rate_hz)
            write_bytes_atomic(staging / PREVIEW_FILE, preview)
            check_results = master_check_results(
                qc,
                float(plan.bpm),
                dict(settings.spectral_envelope_db),
                _nearest_master(artifact_store, target, fingerprint),
                TARGET_LUFS,
                TRUE_PEAK_CEILING_DBTP,
            )
            # Judged as staged: a master that fails keeps the last good one (and its record).
            yield from judge_staged(
                "mastered_wav", context.partition_key, check_results, MASTER_CHECK_SPECS
            )
    context.log.info(
        f"{qc.integrated_lufs:.2f} LUFS, {qc.true_peak_dbtp:.2f} dBTP, LRA {qc.loudness_range_lu:.1f} LU, "
        f"{qc.duration_s:.1f} s"
    )
    record = MasterRecord(
        wav_path=artifact_store.relative(target / MASTER_FILE),
        preview_path=artifact_store.relative(target / PREVIEW_FILE),
        fingerprint_path=artifact_store.relative(target / FINGERPRINT_FILE),
        integrated_lufs=round(qc.integrated_lufs, 3),
        true_peak_dbtp=round(qc.true_peak_dbtp, 3),
        duration_s=round(qc.duration_s, 3),
        style=plan.style,
        bpm=float(plan.bpm),
    )
    yield dg.MaterializeResult(
        value=record,
        metadata={
            "compute_s": dg.MetadataValue.float(timing["compute_s"]),
            "integrated_lufs": dg.MetadataValue.float(round(qc.integrated_lufs, 2)),
            "true_peak_dbtp": dg.MetadataValue.float(round(qc.true_peak_dbtp, 2)),
            "loudness_range_lu": dg.MetadataValue.float(round(qc.loudness_range_lu, 2)),
            "duration_s": dg.MetadataValue.float(round(qc.duration_s, 2)),
            "stereo_correlation": dg.MetadataValue.float(round(qc.stereo_correlation, 3)),
            "soundfont": stems.soundfont,
            "style": plan.style,
            "path": dg.MetadataValue.path(str(target / MASTER_FILE)),
            "preview": png_markdown(preview, "waveform and spectrogram"),
        },
        check_results=check_results,
    )
