"""A sketch on disk: ``sketch.mid``, ``plan.json`` and ``piano_roll.png`` in one folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lofi_assets.music.analysis import MidiSummary, read_midi
from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.midi_io import write_sketch_midi
from lofi_assets.music.piano_roll import render_piano_roll
from lofi_assets.music.plan_record import PlanRecord, record_sketch
from lofi_assets.storage import write_bytes_atomic, write_json_atomic

MIDI_NAME, PLAN_NAME, PIANO_ROLL_NAME = "sketch.mid", "plan.json", "piano_roll.png"


@dataclass(frozen=True)
class SketchFiles:
    midi_path: Path
    plan_path: Path
    piano_roll_path: Path
    summary: MidiSummary  # the MIDI as read back from disk
    plan: PlanRecord  # as written to plan.json


def write_sketch_files(sketch: Sketch, directory: Path) -> SketchFiles:
    """Write every file atomically (the previous version stays whole until replaced)."""
    midi_path = write_sketch_midi(sketch, directory / MIDI_NAME)
    plan = record_sketch(sketch)
    plan_path = write_json_atomic(directory / PLAN_NAME, plan.to_document())
    summary = read_midi(midi_path)
    piano_roll_path = write_bytes_atomic(directory / PIANO_ROLL_NAME, render_piano_roll(summary))
    return SketchFiles(midi_path, plan_path, piano_roll_path, summary, plan)
