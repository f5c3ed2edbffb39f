"""Render MIDI notes to audio, one instrument (stem) at a time.

Melodic parts play on FluidSynth from the preset the instrument library chooses for their
General MIDI program (``instruments.py``), with a tone that follows velocity: notes are spread
over channels by velocity zone and each zone's channel moves the voices' low-pass cutoff down
(``tone_octaves`` at velocity 0), on top of whatever velocity layers the font has. Drum parts
play on the one-shot sampler (``sampler.py``) with the kit their GM2 kit program names.
FluidSynth runs offline: notes are scheduled by sample position and the synthesizer writes
float samples straight into the output array, so the same notes always give the same samples.
Its own reverb and chorus are off — the lo-fi chain does that, per stem.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from lofi_assets.audio import SAMPLE_RATE_HZ, streaming
from lofi_assets.audio.instruments import StemSource, kit_choice, melodic_choice
from lofi_assets.audio.sampler import drum_blocks, render_drums
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.audio.streaming import collect
from lofi_assets.audio.synth import SYNTH_GAIN, OfflineSynth, RenderError

__all__ = [
    "SYNTH_GAIN",
    "NoteSpan",
    "RenderError",
    "RenderedPart",
    "part_source",
    "render_part",
    "render_part_blocks",
]

DRUM_BANK = 128  # General MIDI percussion lives in bank 128 of a GM SoundFont
VELOCITY_ZONE = 16  # velocities per tone zone: 8 zones, one MIDI channel each (0–7)


@dataclass(frozen=True, slots=True)
class NoteSpan:
    start_s: float
    end_s: float
    pitch: int
    velocity: int


@dataclass(frozen=True)
class RenderedPart:
    """A part's audio, float32 (2, samples), and what played it."""

    audio: np.ndarray
    source: StemSource


def zone_filter_offset_cents(zone: int, tone_octaves: float) -> float:
    """Low-pass offset (cents, ≤ 0) for velocity zone ``zone``: its middle velocity's darkening."""
    middle_velocity = min(127.0, zone * VELOCITY_ZONE + VELOCITY_ZONE / 2)
    return -1200.0 * tone_octaves * (1.0 - middle_velocity / 127.0)


def part_source(program: int, is_drums: bool, soundfont: SoundFont) -> StemSource:
    """What will play a part of GM ``program`` (drum parts: GM2 kit program), without rendering."""
    if is_drums:
        choice, spec, missing = kit_choice(program, soundfont)
        source = choice.source
        if spec.keys and missing is None:
            return StemSource(**{**_fields(source), "samples": spec.sample_dir_name})
        if missing:
            reason = f"{source.fallback}; {missing}" if source.fallback else missing
            return StemSource(**{**_fields(source), "fallback": reason})
        return source
    return melodic_choice(program, soundfont)[0].source


def _fields(source: StemSource) -> dict:
    return {name: getattr(source, name) for name in StemSource.__slots__}


def render_part_with_source(
    notes: Sequence[NoteSpan],
    program: int,
    is_drums: bool,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> RenderedPart:
    """A part's stereo float32 audio (2, round(duration_s × rate)) and its ``StemSource``.

    ``program`` is the General MIDI program, or for drums the GM2 kit program. ``soundfont``
    is the base font: it plays whatever the instrument library cannot (and everything when it
    is an override). Raises ``RenderError`` if FluidSynth is missing or a font will not load.
    """
    if is_drums:
        audio, source = render_drums(notes, program, soundfont, duration_s, sample_rate_hz)
        return RenderedPart(audio, source)
    choice, _ = melodic_choice(program, soundfont)
    audio = collect(
        render_part_blocks(notes, program, is_drums, soundfont, duration_s, sample_rate_hz)
    )
    return RenderedPart(audio, choice.source)


def render_part_blocks(
    notes: Sequence[NoteSpan],
    program: int,
    is_drums: bool,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    block_samples: int | None = None,
) -> Iterator[np.ndarray]:
    """``render_part`` as a stream of float32 (2, ≤ block_samples) blocks, round(duration_s ×
    rate) samples in all: FluidSynth (and the drum sampler) keep their voices between blocks,
    so the blocks join into exactly the whole-array render while only one is in memory."""
    block_samples = block_samples or streaming.BLOCK_SAMPLES
    if is_drums:
        yield from drum_blocks(notes, program, soundfont, duration_s, sample_rate_hz, block_samples)
        return
    choice, tone_octaves = melodic_choice(program, soundfont)
    total = round(duration_s * sample_rate_hz)
    events: list[tuple[int, int, int, int]] = []  # (sample, order, pitch, velocity)
    for note in notes:
        start = round(note.start_s * sample_rate_hz)
        end = max(start + 1, round(note.end_s * sample_rate_hz))
        if start >= total:
            continue
        events.append((start, 1, note.pitch, note.velocity))
        events.append((min(end, total), 0, note.pitch, 0))  # offs first on a shared sample
    events.sort()
    zones = sorted({velocity // VELOCITY_ZONE for _, order, _, velocity in events if order == 1})
    with OfflineSynth(sample_rate_hz) as synth:
        for zone in zones:
            synth.select(zone, str(choice.path), choice.bank, choice.program)
            synth.set_filter_offset(zone, zone_filter_offset_cents(zone, tone_octaves))
        sounding: dict[int, list[int]] = {}  # pitch -> channels of its notes, oldest first
        block_start = 0
        block = np.zeros((2, min(block_samples, total)), dtype=np.float32)
        render_until = synth.writer(block)
        cursor = 0  # within the block
        for position, order, pitch, velocity in events:
            while position >= block_start + block.shape[1] and block_start < total:
                render_until(block.shape[1], cursor)
                yield block
                block_start += block.shape[1]
                block = np.zeros((2, min(block_samples, total - block_start)), dtype=np.float32)
                render_until, cursor = synth.writer(block), 0
            cursor = render_until(position - block_start, cursor)
            if order == 1:
                channel = velocity // VELOCITY_ZONE
                sounding.setdefault(pitch, []).append(channel)
                synth.noteon(channel, pitch, velocity)
            elif sounding.get(pitch):
                synth.noteoff(sounding[pitch].pop(0), pitch)
        while block_start < total:
            render_until(block.shape[1], cursor)
            yield block
            block_start += block.shape[1]
            block = np.zeros((2, min(block_samples, total - block_start)), dtype=np.float32)
            render_until, cursor = synth.writer(block), 0


def render_part(
    notes: Sequence[NoteSpan],
    program: int,
    is_drums: bool,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> np.ndarray:
    """Stereo float32 audio (2, samples) of ``notes`` (see ``render_part_with_source``)."""
    return render_part_with_source(
        notes, program, is_drums, soundfont, duration_s, sample_rate_hz
    ).audio
