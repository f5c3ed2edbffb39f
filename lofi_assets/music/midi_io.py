"""Write a sketch as a Standard MIDI File (type 1, one named track per instrument).

Every track opens with its program change — on the drum channel (10) too, where the program
selects the GM2 drum kit — and keys that pedal carry sustain-pedal (CC64) events.
"""

from __future__ import annotations

import io
from pathlib import Path

import mido

from lofi_assets.music.arrangement import Sketch
from lofi_assets.music.score import BEATS_PER_BAR, Part
from lofi_assets.music.theory import FLAT_NAMES, SHARP_NAMES
from lofi_assets.storage import write_bytes_atomic

TICKS_PER_BEAT = 480
SUSTAIN_PEDAL_CC = 64  # the MIDI damper pedal; ≥ 64 is down
PEDAL_DOWN, PEDAL_UP = 127, 0


def ms_to_ticks(milliseconds: float, bpm: float) -> float:
    return milliseconds * bpm * TICKS_PER_BEAT / 60_000.0


def performed_tick(start_beats: float, offset_ms: float, bpm: float) -> int:
    """Where a note lands in the file: its grid position plus its humanised offset."""
    return max(0, round(start_beats * TICKS_PER_BEAT + ms_to_ticks(offset_ms, bpm)))


def _key_signature(sketch: Sketch) -> str | None:
    """A key-signature name mido accepts (major or minor only, enharmonics tried)."""
    key = sketch.plan.key
    suffix = "m" if key.is_minor else ""
    for names in (FLAT_NAMES, SHARP_NAMES) if key.prefers_flats else (SHARP_NAMES, FLAT_NAMES):
        candidate = names[key.tonic_pc] + suffix
        try:
            mido.MetaMessage("key_signature", key=candidate)
        except ValueError:
            continue
        return candidate
    return None


def _part_track(part: Part, bpm: float, end_tick: int) -> mido.MidiTrack:
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=part.name, time=0))
    track.append(mido.MetaMessage("instrument_name", name=part.instrument_name, time=0))
    # On channel 10 the program selects the GM2 drum kit (0 Standard, 25 TR-808, 40 Brush …).
    track.append(mido.Message("program_change", channel=part.channel, program=part.program))
    spans: list[list[int]] = []  # [on, off, pitch, velocity]
    for note in part.notes:
        on = min(performed_tick(note.start_beats, note.offset_ms, bpm), end_tick - 1)
        off = performed_tick(note.start_beats + note.duration_beats, note.offset_ms, bpm)
        spans.append([on, max(on + 1, min(off, end_tick)), note.pitch, note.velocity])
    spans.sort(key=lambda span: (span[0], span[2]))
    # A repeated pitch must release before it strikes again on the same channel.
    latest_by_pitch: dict[int, list[int]] = {}
    for span in spans:
        previous = latest_by_pitch.get(span[2])
        if previous is not None and previous[1] > span[0]:
            previous[1] = max(previous[0] + 1, span[0])
            if previous[1] > span[0]:  # both start on the same tick: drop the later one
                span[0] = span[1]
        latest_by_pitch[span[2]] = span
    # (tick, order, pitch or CC value, velocity): on one tick, offs first, then the pedal,
    # then the new notes.
    events: list[tuple[int, int, int, int]] = []
    for on, off, pitch, velocity in spans:
        if off <= on:
            continue
        events.append((on, 2, pitch, velocity))
        events.append((off, 0, pitch, 0))
    for span in part.pedal:
        down = round(span.down_beats * TICKS_PER_BEAT)
        up = min(round(span.up_beats * TICKS_PER_BEAT), end_tick)
        if up > down:
            events.append((down, 1, PEDAL_DOWN, 0))
            events.append((up, 1, PEDAL_UP, 0))
    events.sort()
    now = 0
    for tick, order, value, velocity in events:
        if order == 1:
            message = mido.Message(
                "control_change",
                channel=part.channel,
                control=SUSTAIN_PEDAL_CC,
                value=value,
                time=tick - now,
            )
        else:
            kind = "note_on" if order == 2 else "note_off"
            message = mido.Message(
                kind, channel=part.channel, note=value, velocity=velocity, time=tick - now
            )
        track.append(message)
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return track


def sketch_to_midi(sketch: Sketch) -> mido.MidiFile:
    plan = sketch.plan
    end_tick = plan.bars * BEATS_PER_BAR * TICKS_PER_BEAT
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=f"lofi {plan.style.name} {plan.seed}"))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(plan.bpm)))
    conductor.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
    key_name = _key_signature(sketch)
    if key_name is not None:
        conductor.append(mido.MetaMessage("key_signature", key=key_name))
    now = 0
    for section in plan.sections:  # section markers show up in any DAW's timeline
        tick = section.start_bar * BEATS_PER_BAR * TICKS_PER_BEAT
        conductor.append(mido.MetaMessage("marker", text=section.name, time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=end_tick - now))
    midi.tracks.append(conductor)
    for part in sketch.parts:
        midi.tracks.append(_part_track(part, plan.bpm, end_tick))
    return midi


def midi_bytes(sketch: Sketch) -> bytes:
    buffer = io.BytesIO()
    sketch_to_midi(sketch).save(file=buffer)
    return buffer.getvalue()


def write_sketch_midi(sketch: Sketch, path: Path | str) -> Path:
    """Write the sketch's MIDI atomically; the same sketch always gives the same bytes."""
    return write_bytes_atomic(path, midi_bytes(sketch))
