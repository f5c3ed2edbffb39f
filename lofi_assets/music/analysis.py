"""Read a MIDI file back and measure what a producer listens for.

These measurements read the written file, not the composer's memory of it, so they catch
anything lost between the score and the bytes. Asset checks and tests both use them, and the
renderer plays the notes read here: the sustain pedal (CC64) is applied to note ends the way
a piano damper works, so the renderer needs no controller support.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import mido

from lofi_assets.errors import CorruptMidiError
from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.drums import HAT_PITCHES
from lofi_assets.music.humanize import HUMANIZED_VOICE
from lofi_assets.music.midi_io import (
    SUSTAIN_PEDAL_CC,
    TICKS_PER_BEAT,
    ms_to_ticks,
    performed_tick,
)
from lofi_assets.music.score import DRUM_CHANNEL


@dataclass(frozen=True, slots=True)
class MidiNote:
    pitch: int
    velocity: int
    start_beats: float
    end_beats: float
    channel: int


@dataclass(frozen=True)
class MidiSummary:
    ticks_per_beat: int
    tempo_bpm: float
    tempo_changes: int
    length_beats: float
    tracks: dict[str, list[MidiNote]]  # by track name, conductor excluded
    programs: dict[str, int]

    @property
    def length_s(self) -> float:
        return self.length_beats * 60.0 / self.tempo_bpm

    def pitched_notes(self) -> list[MidiNote]:
        return [
            note for notes in self.tracks.values() for note in notes if note.channel != DRUM_CHANNEL
        ]

    def drum_notes(self) -> list[MidiNote]:
        return [
            note for notes in self.tracks.values() for note in notes if note.channel == DRUM_CHANNEL
        ]

    def all_notes(self) -> list[MidiNote]:
        return [note for notes in self.tracks.values() for note in notes]


def read_midi(path: Path | str) -> MidiSummary:
    """Parse a MIDI file into notes per named track; raise CorruptMidiError if unreadable."""
    try:
        midi = mido.MidiFile(str(path))
    except FileNotFoundError:
        raise
    except Exception as error:  # mido raises OSError, EOFError, ValueError, KeyError …
        raise CorruptMidiError(f"{path} is not a readable MIDI file: {error}") from error
    tempos: list[int] = []
    tracks: dict[str, list[MidiNote]] = {}
    programs: dict[str, int] = {}
    length_ticks = 0
    for index, track in enumerate(midi.tracks):
        name = f"track{index}"
        now = 0
        open_notes: dict[tuple[int, int], tuple[int, int]] = {}
        # Notes released while the pedal was down: they sound until it lifts, or until the
        # same key is struck again (a re-strike damps the string it re-hammers).
        sustained: dict[tuple[int, int], tuple[int, int]] = {}
        pedal_down: set[int] = set()  # channels whose pedal is down
        notes: list[MidiNote] = []

        def finish(key: tuple[int, int], started: tuple[int, int], end: int) -> MidiNote:
            tpb = midi.ticks_per_beat
            return MidiNote(key[1], started[1], started[0] / tpb, end / tpb, key[0])

        for message in track:
            now += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "set_tempo":
                tempos.append(message.tempo)
            elif message.type == "program_change":
                programs[name] = message.program
            elif message.type == "control_change" and message.control == SUSTAIN_PEDAL_CC:
                if message.value >= 64:
                    pedal_down.add(message.channel)
                else:
                    pedal_down.discard(message.channel)
                    for key in [k for k in sustained if k[0] == message.channel]:
                        notes.append(finish(key, sustained.pop(key), now))
            elif message.type == "note_on" and message.velocity > 0:
                key = (message.channel, message.note)
                if key in sustained:
                    notes.append(finish(key, sustained.pop(key), now))
                open_notes[key] = (now, message.velocity)
            elif message.type in ("note_off", "note_on"):
                key = (message.channel, message.note)
                started = open_notes.pop(key, None)
                if started is None:
                    continue
                if message.channel in pedal_down:
                    sustained[key] = started
                else:
                    notes.append(finish(key, started, now))
        for key, started in sustained.items():  # the pedal never lifted: sound to the end
            notes.append(finish(key, started, now))
        length_ticks = max(length_ticks, now)
        if notes:
            tracks[name] = sorted(notes, key=lambda note: (note.start_beats, note.pitch))
    tempo = tempos[0] if tempos else 500_000  # the MIDI default: 120 BPM
    return MidiSummary(
        ticks_per_beat=midi.ticks_per_beat,
        tempo_bpm=round(mido.tempo2bpm(tempo), 3),
        tempo_changes=len(tempos),
        length_beats=length_ticks / midi.ticks_per_beat,
        tracks=tracks,
        programs=programs,
    )


def in_key_rate(notes: Iterable[MidiNote], scale_pcs: frozenset[int]) -> float:
    pitches = [note.pitch for note in notes]
    if not pitches:
        return 1.0
    return sum(pitch % 12 in scale_pcs for pitch in pitches) / len(pitches)


def pitch_class_entropy(notes: Iterable[MidiNote]) -> float:
    """Shannon entropy (bits) of the pitch-class histogram: 0 for one note, 3.58 for all 12."""
    counts = Counter(note.pitch % 12 for note in notes)
    total = sum(counts.values())
    if total == 0:
        return 0.0
    return -sum(count / total * math.log2(count / total) for count in counts.values())


def swing_ratio(onsets_beats: Iterable[float]) -> float | None:
    """Median share of an 8th note taken by its first 16th, from pairs of hat onsets.

    Each 8th with a hit near its start and another later in it gives one ratio; the
    difference of the two cancels any constant push or drag of the player.
    """
    on_phase: dict[int, float] = {}
    off_phase: dict[int, float] = {}
    for onset in onsets_beats:
        position = onset * 2  # in 8th notes
        eighth = math.floor(position + 0.2)  # an on-beat hit may come a little early
        phase = position - eighth
        if phase < 0.2:
            on_phase[eighth] = phase
        elif 0.35 <= phase <= 0.8:
            off_phase[eighth] = phase
    ratios = [off_phase[k] - on_phase[k] for k in off_phase if k in on_phase]
    return statistics.median(ratios) if ratios else None


def hat_onsets(summary: MidiSummary) -> list[float]:
    return [note.start_beats for note in summary.drum_notes() if note.pitch in HAT_PITCHES]


def empty_beat_rate(notes: Iterable[MidiNote], beat_ranges: Iterable[tuple[float, float]]) -> float:
    """Share of beats in ``beat_ranges`` during which no note sounds at all."""
    spans = sorted((note.start_beats, note.end_beats) for note in notes)
    beats = [beat for start, end in beat_ranges for beat in range(int(start), int(end))]
    if not beats:
        return 0.0
    sounding = set()
    for start, end in spans:
        for beat in range(math.floor(start), math.ceil(end)):
            if start < beat + 1 and end > beat:
                sounding.add(beat)
    return sum(beat not in sounding for beat in beats) / len(beats)


def timing_deviations_ms(sketch: Sketch) -> dict[str, list[float]]:
    """Written onset minus grid position, in ms, per player (kick, snare, hats, keys …).

    Measured on the tick each note is written at, so rounding and clamping are included.
    """
    bpm = sketch.plan.bpm
    per_player: dict[str, list[float]] = {}
    for part in sketch.parts:
        for note in part.notes:
            written = performed_tick(note.start_beats, note.offset_ms, bpm)
            grid = note.start_beats * TICKS_PER_BEAT
            if grid < TICKS_PER_BEAT:  # the first beat may be clamped at tick 0
                continue
            deviation = (written - grid) / ms_to_ticks(1.0, bpm)
            per_player.setdefault(HUMANIZED_VOICE[note.voice], []).append(deviation)
    return per_player


def velocity_sd_by_part(summary: MidiSummary) -> dict[str, float]:
    return {
        name: statistics.pstdev(note.velocity for note in notes)
        for name, notes in summary.tracks.items()
        if len(notes) > 1
    }
