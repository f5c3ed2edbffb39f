"""Render MIDI notes to audio with FluidSynth, one instrument (stem) at a time.

FluidSynth runs offline here: notes are scheduled by sample position and the synthesizer
writes float samples straight into the output array, so the same notes always give the same
samples. Its own reverb and chorus are off — the lo-fi chain does that, per stem.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.errors import LofiError

DRUM_BANK = 128  # General MIDI percussion lives in bank 128 of a GM SoundFont
SYNTH_GAIN = 0.4  # headroom for dense chords; stems are gain-staged in the mix


class RenderError(LofiError):
    """FluidSynth could not render a part."""


@dataclass(frozen=True, slots=True)
class NoteSpan:
    start_s: float
    end_s: float
    pitch: int
    velocity: int


_FLUIDSYNTH_INIT_LOCK = threading.Lock()


@functools.cache
def _initialized_fluidsynth():
    try:
        import fluidsynth
    except (ImportError, OSError) as error:  # OSError: libfluidsynth missing
        raise RenderError(
            f"FluidSynth is not available ({error}): install libfluidsynth3 "
            "(apt-get install libfluidsynth3) and the pyfluidsynth package"
        ) from error
    # FluidSynth fills its global lookup tables when the first synth is created, without a
    # lock: two threads creating the first synths together can render from half-built tables
    # (seen here as a stem that differed between two identical renders). Build them once here.
    fluidsynth.Synth().delete()
    return fluidsynth


def _fluidsynth():
    with _FLUIDSYNTH_INIT_LOCK:
        return _initialized_fluidsynth()


def _float_writer(fluidsynth) -> Callable:
    write = fluidsynth._fl.fluid_synth_write_float
    write.argtypes = [
        ctypes.c_void_p, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
    ]  # fmt: skip
    write.restype = ctypes.c_int
    return write


def render_part(
    notes: Sequence[NoteSpan],
    program: int,
    is_drums: bool,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> np.ndarray:
    """Stereo float32 audio (2, samples) of ``notes`` played by one General MIDI program."""
    fluidsynth = _fluidsynth()
    total = round(duration_s * sample_rate_hz)
    audio = np.zeros((2, total), dtype=np.float32)
    synth = fluidsynth.Synth(
        gain=SYNTH_GAIN,
        samplerate=float(sample_rate_hz),
        **{"synth.reverb.active": 0, "synth.chorus.active": 0, "synth.polyphony": 256},
    )
    try:
        font_id = synth.sfload(str(soundfont.path))
        if font_id < 0:
            raise RenderError(f"FluidSynth could not load {soundfont.path}")
        channel = 9 if is_drums else 0
        synth.program_select(
            channel, font_id, DRUM_BANK if is_drums else 0, 0 if is_drums else program
        )
        events: list[tuple[int, int, int, int]] = []  # (sample, order, pitch, velocity)
        for note in notes:
            start = round(note.start_s * sample_rate_hz)
            end = max(start + 1, round(note.end_s * sample_rate_hz))
            if start >= total:
                continue
            events.append((start, 1, note.pitch, note.velocity))
            events.append((min(end, total), 0, note.pitch, 0))  # offs first on a shared sample
        events.sort()
        write = _float_writer(fluidsynth)
        left, right = audio[0], audio[1]
        itemsize = audio.itemsize

        def render_until(position: int, cursor: int) -> int:
            while cursor < position:
                count = min(position - cursor, 65_536)
                write(
                    synth.synth, count,
                    left.ctypes.data + cursor * itemsize, 0, 1,
                    right.ctypes.data + cursor * itemsize, 0, 1,
                )  # fmt: skip
                cursor += count
            return cursor

        cursor = 0
        for position, order, pitch, velocity in events:
            cursor = render_until(position, cursor)
            if order == 1:
                synth.noteon(channel, pitch, velocity)
            else:
                synth.noteoff(channel, pitch)
        render_until(total, cursor)
    finally:
        synth.delete()
    return audio
