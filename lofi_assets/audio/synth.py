"""FluidSynth, loaded once and driven offline: sample-exact float output into numpy arrays.

FluidSynth applies events at its next 64-sample block, the same way on every run, so the same
notes always give the same samples.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Callable

import numpy as np

from lofi_assets.errors import LofiError

SYNTH_GAIN = 0.4  # headroom for dense chords; stems are gain-staged in the mix
GEN_FILTERFC = 8  # SoundFont 2.04 generator 8: initial filter cutoff (absolute cents)
BLOCK_SAMPLES = 65_536


class RenderError(LofiError):
    """FluidSynth could not render a part."""


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
    lib = fluidsynth._fl
    lib.fluid_synth_write_float.argtypes = [
        ctypes.c_void_p, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
        ctypes.c_void_p, ctypes.c_int, ctypes.c_int,
    ]  # fmt: skip
    lib.fluid_synth_write_float.restype = ctypes.c_int
    lib.fluid_synth_set_gen.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_int, ctypes.c_float]
    lib.fluid_synth_set_gen.restype = ctypes.c_int
    lib.fluid_synth_all_sounds_off.argtypes = [ctypes.c_void_p, ctypes.c_int]
    lib.fluid_synth_all_sounds_off.restype = ctypes.c_int
    return fluidsynth


def fluidsynth_module():
    with _FLUIDSYNTH_INIT_LOCK:
        return _initialized_fluidsynth()


class OfflineSynth:
    """One FluidSynth instance that renders into float32 arrays (use as a context manager).

    Reverb and chorus are off (the lo-fi chain adds space per stem); samples are read from the
    font as presets are selected (``synth.dynamic-sample-loading``), so a large font costs only
    the presets a part plays.
    """

    def __init__(self, sample_rate_hz: int, polyphony: int = 256) -> None:
        self._fluidsynth = fluidsynth_module()
        self.synth = self._fluidsynth.Synth(
            gain=SYNTH_GAIN,
            samplerate=float(sample_rate_hz),
            **{
                "synth.reverb.active": 0,
                "synth.chorus.active": 0,
                "synth.polyphony": polyphony,
                "synth.dynamic-sample-loading": 1,
            },
        )
        self._lib = self._fluidsynth._fl
        self._fonts: dict[str, int] = {}

    def __enter__(self) -> OfflineSynth:
        return self

    def __exit__(self, *exc) -> None:
        self.synth.delete()

    def select(self, channel: int, font_path: str, bank: int, program: int) -> None:
        """Put ``bank:program`` of the SoundFont at ``font_path`` on ``channel``."""
        if font_path not in self._fonts:
            font_id = self.synth.sfload(font_path)
            if font_id < 0:
                raise RenderError(f"FluidSynth could not load {font_path}")
            self._fonts[font_path] = font_id
        font_id = self._fonts[font_path]
        if self.synth.program_select(channel, font_id, bank, program) != 0:
            raise RenderError(f"{font_path} has no preset {bank}:{program}")
        # FluidSynth substitutes a preset it cannot find on other paths (fluid_synth.c,
        # fluid_synth_program_change: a drum channel takes its bank's program 0, a melodic one
        # bank 0's program, then 0:0): make sure the channel holds exactly the preset asked
        # for, so a part is never played by another.
        if tuple(self.synth.program_info(channel)) != (font_id, bank, program):
            raise RenderError(
                f"FluidSynth put {self.synth.program_info(channel)} (font, bank, program) on "
                f"channel {channel}, not {font_path} {bank}:{program}"
            )

    def set_filter_offset(self, channel: int, cents: float) -> None:
        """Move every voice's low-pass cutoff on ``channel`` by ``cents`` (NRPN-style offset)."""
        self._lib.fluid_synth_set_gen(self.synth.synth, channel, GEN_FILTERFC, float(cents))

    def noteon(self, channel: int, pitch: int, velocity: int) -> None:
        self.synth.noteon(channel, pitch, velocity)

    def noteoff(self, channel: int, pitch: int) -> None:
        self.synth.noteoff(channel, pitch)

    def all_sounds_off(self, channel: int) -> None:
        self._lib.fluid_synth_all_sounds_off(self.synth.synth, channel)

    def writer(self, audio: np.ndarray) -> Callable[[int, int], int]:
        """``render_until(position, cursor) -> position``: synthesize into ``audio`` (2, n)."""
        write = self._lib.fluid_synth_write_float
        left, right = audio[0], audio[1]
        itemsize = audio.itemsize

        def render_until(position: int, cursor: int) -> int:
            while cursor < position:
                count = min(position - cursor, BLOCK_SAMPLES)
                write(
                    self.synth.synth, count,
                    left.ctypes.data + cursor * itemsize, 0, 1,
                    right.ctypes.data + cursor * itemsize, 0, 1,
                )  # fmt: skip
                cursor += count
            return cursor

        return render_until
