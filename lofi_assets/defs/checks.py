"""Asset checks: one property each, computed from the files as written to disk."""

from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.errors import CorruptMidiError
from lofi_assets.music.analysis import MidiSummary, in_key_rate, read_midi
from lofi_assets.music.arrangement import PART_ORDER
from lofi_assets.music.form import bar_duration_s
from lofi_assets.music.theory import Key

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


def check_tempo_matches_plan(summary: MidiSummary, plan: dict[str, Any]) -> dg.AssetCheckResult:
    matches = abs(summary.tempo_bpm - float(plan["bpm"])) <= TEMPO_TOLERANCE_BPM
    return dg.AssetCheckResult(
        check_name="tempo_matches_plan",
        passed=matches and summary.tempo_changes == 1,
        metadata={
            "file_bpm": summary.tempo_bpm,
            "plan_bpm": float(plan["bpm"]),
            "tempo_events": summary.tempo_changes,
        },
    )


def check_pitched_notes_in_key(summary: MidiSummary, plan: dict[str, Any]) -> dg.AssetCheckResult:
    key = Key(int(plan["tonic_pc"]), plan["mode"])
    rate = in_key_rate(summary.pitched_notes(), key.scale_pcs)
    return dg.AssetCheckResult(
        check_name="pitched_notes_in_key",
        passed=rate >= MIN_IN_KEY_RATE,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"in_key_rate": round(rate, 4), "key": key.name, "minimum": MIN_IN_KEY_RATE},
    )


def check_duration_matches_target(
    summary: MidiSummary, plan: dict[str, Any]
) -> dg.AssetCheckResult:
    bar_s = bar_duration_s(float(plan["bpm"]))
    error_s = abs(summary.length_s - float(plan["target_duration_s"]))
    return dg.AssetCheckResult(
        check_name="duration_matches_target",
        passed=error_s <= bar_s,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "duration_s": round(summary.length_s, 3),
            "target_duration_s": float(plan["target_duration_s"]),
            "error_s": round(error_s, 3),
            "bar_s": round(bar_s, 3),
        },
    )


def sketch_check_results(midi_path: Path, plan: dict[str, Any]) -> list[dg.AssetCheckResult]:
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
    ]
