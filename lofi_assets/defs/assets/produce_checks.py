"""Checks of the produce group (``stems``, ``mastered_wav``), measured from the written WAVs."""

from collections.abc import Mapping
from pathlib import Path

import dagster as dg

from lofi_assets.audio.fingerprint import DUPLICATE_SIMILARITY
from lofi_assets.audio.production import (
    SILENT_STEM_PEAK_DBFS,
    TARGET_LUFS,
    TRUE_PEAK_CEILING_DBTP,
    stem_peak_dbfs,
)
from lofi_assets.audio.qc import MasterQc
from lofi_assets.audio.tempo import TEMPO_TOLERANCE, tempo_agrees
from lofi_assets.audio.wav import AudioFileError
from lofi_assets.defs.checks import verdict

LOUDNESS_TOLERANCE_LU = 0.5
MAX_DC_OFFSET_DBFS = -60.0
MIN_STEREO_CORRELATION = 0.2
MAX_MONO_LOSS_LU = 3.0
MAX_LEADING_SILENCE_S, MAX_TRAILING_SILENCE_S, MAX_INSIDE_SILENCE_S = 0.5, 3.0, 2.0

STEMS_COMPLETE = dg.AssetCheckSpec(
    "stems_complete",
    asset="stems",
    blocking=True,
    description="Every stem exists, is stereo, finite and as long as the others",
)
STEMS_AUDIBLE = dg.AssetCheckSpec(
    "stems_audible",
    asset="stems",
    blocking=True,
    description=f"Every stem whose part has notes peaks at or above "
    f"{SILENT_STEM_PEAK_DBFS:.0f} dBFS (a preset that made no sound fails it)",
)
STEMS_CHECK_SPECS = [STEMS_COMPLETE, STEMS_AUDIBLE]


def _master_spec(name: str, description: str, blocking: bool) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset="mastered_wav", blocking=blocking, description=description)


INTEGRATED_LOUDNESS = _master_spec(
    "integrated_loudness",
    f"{TARGET_LUFS:.0f} ± {LOUDNESS_TOLERANCE_LU} LUFS integrated",
    True,
)
TRUE_PEAK = _master_spec(
    "true_peak",
    f"True peak (4× oversampled) at or under {TRUE_PEAK_CEILING_DBTP} dBTP",
    True,
)
NO_CLIPPING = _master_spec("no_clipping", "No clipped samples, no NaN or infinite values", True)
DC_OFFSET = _master_spec("dc_offset", f"DC offset under {MAX_DC_OFFSET_DBFS:.0f} dBFS", False)
STEREO_COMPATIBILITY = _master_spec(
    "stereo_compatibility",
    f"L/R correlation ≥ {MIN_STEREO_CORRELATION} and mono fold-down loss ≤ {MAX_MONO_LOSS_LU} dB",
    False,
)
SILENCE = _master_spec(
    "silence",
    f"Leading ≤ {MAX_LEADING_SILENCE_S:g} s, trailing ≤ {MAX_TRAILING_SILENCE_S:g} s, "
    f"no silence > {MAX_INSIDE_SILENCE_S:g} s inside",
    True,
)
SPECTRAL_BALANCE = _master_spec(
    "spectral_balance", "Octave-band levels inside the style's envelope", False
)
TEMPO_AGREEMENT = _master_spec(
    "tempo_agreement",
    f"Beat-tracked tempo within ±{TEMPO_TOLERANCE * 100:g} % of the plan (or ½×, 2×)",
    False,
)
NOT_A_CATALOG_DUPLICATE = _master_spec(
    "not_a_catalog_duplicate", "Chroma fingerprint unlike every other master", True
)
MASTER_CHECK_SPECS = [
    INTEGRATED_LOUDNESS,
    TRUE_PEAK,
    NO_CLIPPING,
    DC_OFFSET,
    STEREO_COMPATIBILITY,
    SILENCE,
    SPECTRAL_BALANCE,
    TEMPO_AGREEMENT,
    NOT_A_CATALOG_DUPLICATE,
]


def check_stems_complete(
    stem_shapes: dict[str, tuple[int, ...]], non_finite: int, expected: tuple[str, ...]
) -> dg.AssetCheckResult:
    missing = [name for name in expected if name not in stem_shapes]
    shapes = set(stem_shapes.values())
    stereo = all(shape[0] == 2 for shape in shapes)
    return verdict(
        STEMS_COMPLETE,
        not missing and len(shapes) == 1 and stereo and non_finite == 0,
        {
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
    return verdict(
        STEMS_AUDIBLE,
        not silent and not unreadable,
        {
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
    warn = dg.AssetCheckSeverity.WARN
    outside = {
        band: level
        for band, level in qc.octave_bands_db.items()
        if not envelope_db[band][0] <= level <= envelope_db[band][1]
    }
    nearest_key, similarity = nearest_duplicate
    silence = qc.silence
    return [
        verdict(
            INTEGRATED_LOUDNESS,
            abs(qc.integrated_lufs - target_lufs) <= LOUDNESS_TOLERANCE_LU,
            {"integrated_lufs": round(qc.integrated_lufs, 2), "target_lufs": target_lufs},
        ),
        verdict(
            TRUE_PEAK,
            qc.true_peak_dbtp <= ceiling_dbtp,
            {"true_peak_dbtp": round(qc.true_peak_dbtp, 2), "ceiling_dbtp": ceiling_dbtp},
        ),
        verdict(
            NO_CLIPPING,
            qc.clipped_samples == 0 and qc.non_finite_samples == 0,
            {"clipped_samples": qc.clipped_samples, "non_finite_samples": qc.non_finite_samples},
        ),
        verdict(
            DC_OFFSET,
            qc.dc_offset_dbfs < MAX_DC_OFFSET_DBFS,
            {"dc_offset_dbfs": round(qc.dc_offset_dbfs, 1)},
            warn,
        ),
        verdict(
            STEREO_COMPATIBILITY,
            qc.stereo_correlation >= MIN_STEREO_CORRELATION
            and qc.mono_fold_down_loss_lu <= MAX_MONO_LOSS_LU,
            {
                "correlation": round(qc.stereo_correlation, 3),
                "mono_fold_down_loss_lu": round(qc.mono_fold_down_loss_lu, 2),
            },
            warn,
        ),
        verdict(
            SILENCE,
            silence.leading_s <= MAX_LEADING_SILENCE_S
            and silence.trailing_s <= MAX_TRAILING_SILENCE_S
            and silence.longest_inside_s <= MAX_INSIDE_SILENCE_S,
            {
                "leading_s": silence.leading_s,
                "trailing_s": silence.trailing_s,
                "longest_inside_s": silence.longest_inside_s,
            },
        ),
        verdict(
            SPECTRAL_BALANCE,
            not outside,
            {
                "octave_bands_db": dg.MetadataValue.json(
                    {str(k): v for k, v in qc.octave_bands_db.items()}
                ),
                "outside_envelope": dg.MetadataValue.json({str(k): v for k, v in outside.items()}),
            },
            warn,
        ),
        verdict(
            TEMPO_AGREEMENT,
            tempo_agrees(qc.estimated_bpm, planned_bpm),
            {"estimated_bpm": round(qc.estimated_bpm, 2), "planned_bpm": planned_bpm},
            warn,
        ),
        verdict(
            NOT_A_CATALOG_DUPLICATE,
            similarity < DUPLICATE_SIMILARITY,
            {
                "most_similar_partition": nearest_key or "none",
                "similarity": round(similarity, 3),
                "threshold": DUPLICATE_SIMILARITY,
            },
        ),
    ]
