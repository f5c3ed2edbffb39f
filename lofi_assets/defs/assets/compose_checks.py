"""Checks of the compose group (``midi_sketch``), read from the written MIDI file."""

from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.defs.checks import unreadable, verdict
from lofi_assets.errors import CorruptMidiError
from lofi_assets.music.analysis import MidiSummary, in_key_rate, read_midi
from lofi_assets.music.arrangement import PART_ORDER
from lofi_assets.music.form import bar_duration_s
from lofi_assets.music.model.metrics import originality_rate
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.music.theory import Key

MIN_IN_KEY_RATE = 0.85
TEMPO_TOLERANCE_BPM = 0.01  # MIDI stores tempo as µs per beat: a rounding, not a drift


def _spec(name: str, description: str, blocking: bool = False) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset="midi_sketch", blocking=blocking, description=description)


MIDI_PARSES = _spec(
    "midi_parses",
    "sketch.mid parses and has a named track with notes for every instrument",
    blocking=True,
)
TEMPO_MATCHES_PLAN = _spec(
    "tempo_matches_plan", "The file has one tempo and it equals the plan's BPM", blocking=True
)
PITCHED_NOTES_IN_KEY = _spec(
    "pitched_notes_in_key",
    f"At least {MIN_IN_KEY_RATE:.0%} of pitched notes are in the plan's key",
)
DURATION_MATCHES_TARGET = _spec(
    "duration_matches_target", "The track is within one bar of its target duration"
)
MELODY_ORIGINAL = _spec(
    "melody_original",
    "A model-written melody repeats no 8-note run (interval, duration) of the training corpus",
    blocking=True,
)
SKETCH_CHECK_SPECS = [
    MIDI_PARSES,
    TEMPO_MATCHES_PLAN,
    PITCHED_NOTES_IN_KEY,
    DURATION_MATCHES_TARGET,
    MELODY_ORIGINAL,
]


def check_midi_parses(summary: MidiSummary) -> dg.AssetCheckResult:
    missing = [name for name in PART_ORDER if not summary.tracks.get(name)]
    return verdict(
        MIDI_PARSES,
        not missing,
        {
            "tracks": dg.MetadataValue.json({n: len(v) for n, v in summary.tracks.items()}),
            "missing_tracks": dg.MetadataValue.json(missing),
        },
    )


def check_tempo_matches_plan(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    matches = abs(summary.tempo_bpm - float(plan.bpm)) <= TEMPO_TOLERANCE_BPM
    return verdict(
        TEMPO_MATCHES_PLAN,
        matches and summary.tempo_changes == 1,
        {
            "file_bpm": summary.tempo_bpm,
            "plan_bpm": float(plan.bpm),
            "tempo_events": summary.tempo_changes,
        },
    )


def check_pitched_notes_in_key(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    key = Key(plan.tonic_pc, plan.mode)
    rate = in_key_rate(summary.pitched_notes(), key.scale_pcs)
    return verdict(
        PITCHED_NOTES_IN_KEY,
        rate >= MIN_IN_KEY_RATE,
        {"in_key_rate": round(rate, 4), "key": key.name, "minimum": MIN_IN_KEY_RATE},
        dg.AssetCheckSeverity.WARN,
    )


def check_duration_matches_target(summary: MidiSummary, plan: PlanRecord) -> dg.AssetCheckResult:
    bar_s = bar_duration_s(float(plan.bpm))
    error_s = abs(summary.length_s - plan.target_duration_s)
    return verdict(
        DURATION_MATCHES_TARGET,
        error_s <= bar_s,
        {
            "duration_s": round(summary.length_s, 3),
            "target_duration_s": plan.target_duration_s,
            "error_s": round(error_s, 3),
            "bar_s": round(bar_s, 3),
        },
        dg.AssetCheckSeverity.WARN,
    )


def check_melody_original(
    summary: MidiSummary, plan: PlanRecord, corpus_ngrams: Any | None
) -> dg.AssetCheckResult:
    generator = plan.melody_source.generator
    if generator != "model" or corpus_ngrams is None:
        return verdict(MELODY_ORIGINAL, True, {"generator": generator})
    notes = [
        (n.pitch, n.start_beats, n.end_beats - n.start_beats)
        for n in summary.tracks.get("melody", [])
    ]
    rate = originality_rate(notes, corpus_ngrams)
    return verdict(
        MELODY_ORIGINAL,
        rate == 1.0,
        {"generator": "model", "original_runs": dg.MetadataValue.float(rate)},
    )


def sketch_check_results(
    midi_path: Path, plan: PlanRecord, corpus_ngrams: Any | None = None
) -> list[dg.AssetCheckResult]:
    """Every sketch check, read from the file on disk (not from the composer's memory)."""
    try:
        summary = read_midi(midi_path)
    except (CorruptMidiError, FileNotFoundError) as error:
        return [unreadable(spec, str(error)) for spec in SKETCH_CHECK_SPECS]
    return [
        check_midi_parses(summary),
        check_tempo_matches_plan(summary, plan),
        check_pitched_notes_in_key(summary, plan),
        check_duration_matches_target(summary, plan),
        check_melody_original(summary, plan, corpus_ngrams),
    ]
