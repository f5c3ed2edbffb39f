"""From a MIDI sketch to processed stems, and from stems to a mastered track.

Stems are rendered per instrument, then each gets its own chain (filters, pan, saturation,
space, side-chain ducking keyed from the kick's MIDI notes) and is set to its level in the
mix, so the stems on disk sum to the mix (stems are written as 32-bit float: at mix level a
drum stem peaks above full scale). The drums go through an old sampler (hold, crush against
their own peak, output filter). The bus adds tape colour, a 7-band EQ, multiband and parallel
compression, mid/side width and a tape roll-off that gives the master its lo-fi knee
(8-13 kHz); mastering hits -14 LUFS under a true-peak ceiling.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pedalboard
from scipy import signal

from lofi_assets.audio import SAMPLE_RATE_HZ
from lofi_assets.audio import effects as fx
from lofi_assets.audio.ambience import synthesize_ambience
from lofi_assets.audio.measure import integrated_lufs, true_peak_dbtp
from lofi_assets.audio.parallel import step_threads, thread_map
from lofi_assets.audio.render import NoteSpan, render_part
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.audio.wav import read_wav
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.analysis import MidiSummary
from lofi_assets.music.drums import KICK
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.seeding import stable_seed

INSTRUMENT_STEMS = ("drums", "bass", "keys", "melody", "pad")
STEM_NAMES = (*INSTRUMENT_STEMS, "ambience", "vinyl")
RENDER_TAIL_S = 2.0  # let releases and reverb tails ring past the last bar
TARGET_LUFS = -14.0  # streaming platforms normalise to about -14 LUFS
TRUE_PEAK_CEILING_DBTP = -1.5
LIMITER_MARGIN_DB = 0.3  # the limiter aims under the ceiling; 24-bit dither stays inside


class ProductionError(LofiError):
    """The sketch cannot be produced as given."""


@dataclass(frozen=True)
class ProductionSettings:
    """Every knob of the lo-fi chain; styles override any of them under ``production:``."""

    stem_levels_dbfs: Mapping[str, float] = field(
        default_factory=lambda: {
            "drums": -19.0,
            "bass": -20.0,
            "keys": -22.0,
            "melody": -23.0,
            "pad": -26.0,
            "ambience": -32.0,
            "vinyl": -38.0,
        }
    )
    pans: Mapping[str, float] = field(
        default_factory=lambda: {"bass": 0.0, "keys": -0.25, "melody": 0.3, "pad": 0.0}
    )
    drum_bit_depth: float = 12.0  # effective bits against the drum stem's own peak
    drum_sample_rate_hz: float = 26_000.0  # the sampler's rate: nothing survives above half
    # Drums were never low-passed and carried most of the master's 8 and 16 kHz octaves
    # (issue 13); a 12 dB/octave roll-off here is the dusty tone before the sampler.
    drum_lowpass_hz: float = 10_000.0
    wow_rate_hz: float = 0.7
    wow_depth_cents: float = 10.0
    flutter_rate_hz: float = 9.0
    flutter_depth_cents: float = 3.0
    saturation_drive_db: float = 4.0
    keys_chorus_mix: float = 0.3
    keys_reverb: str = "room"
    melody_reverb: str = "plate"
    pad_reverb: str = "hall"
    melody_delay: str = "tape"  # tape, ping_pong or none
    delay_beats: float = 0.75
    sidechain_depth_db: float = 4.0
    parallel_blend: float = 0.3
    haas_delay_ms: float = 14.0
    side_gain_db: float = 1.0
    pad_filter_lfo_hz: float = 0.06
    pad_filter_min_hz: float = 900.0
    pad_filter_max_hz: float = 4_500.0
    # No 6 and 12 kHz cuts (they were -2 and -5 dB): the roll-off below tames the top now,
    # and cutting under it too pulled the dark styles' knee below 8 kHz.
    bus_eq_gains_db: tuple[float, ...] = (1.5, 0.5, -1.0, 0.0, -0.5, 0.0, 0.0)
    # The tape/vinyl roll-off that ends the bus (after every stage that makes harmonics): a
    # Butterworth low-pass that puts the master's knee (-20 dB re its 300 Hz-3 kHz mean) in
    # 8-13 kHz, where a cassette or a worn record loses its top. 8th order (48 dB/octave), so
    # the knee stays there however bright the parts are: on 7 styles × 3 seeds 10.6-11.4 kHz
    # re the dB mean of the 300 Hz-3 kHz LTAS, 9.2-10.6 kHz re its power mean.
    bus_lowpass_hz: float = 10_500.0
    bus_lowpass_order: int = 8
    # Octave-band level (dB relative to the whole track) a master must fall inside: the tonal
    # balance of a lo-fi mix, warm lows and rolled-off highs.
    spectral_envelope_db: Mapping[int, tuple[float, float]] = field(
        default_factory=lambda: {
            63: (-22.0, -2.0),
            125: (-20.0, -2.0),
            250: (-18.0, -1.0),
            500: (-18.0, -2.0),
            1_000: (-20.0, -3.0),
            2_000: (-26.0, -5.0),
            4_000: (-30.0, -6.0),
            8_000: (-36.0, -8.0),
            # The bus roll-off leaves the 16 kHz octave (11.3-22.6 kHz) 39-45 dB under the
            # total on the seven styles; above -25 dB the lo-fi top end is gone (the hi-fi
            # masters of issue 13 sat at -20 to -23), below -60 dB the track is muffled.
            16_000: (-60.0, -25.0),
        }
    )
    crossfade_s: float = 6.0  # into this style's tracks in a release mix (4–8 s)
    crackle_per_s: float = 6.0
    pops_per_s: float = 0.3
    hiss_level_db: float = -52.0

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None) -> ProductionSettings:
        settings = cls()
        if not overrides:
            return settings
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"Unknown production settings {unknown}; known: {sorted(known)}")
        merged = dict(overrides)
        if "spectral_envelope_db" in merged:
            merged["spectral_envelope_db"] = {
                int(band): tuple(limits) for band, limits in merged["spectral_envelope_db"].items()
            }
        for name in ("stem_levels_dbfs", "pans", "spectral_envelope_db"):  # partial maps extend
            if name in merged:
                merged[name] = {**getattr(settings, name), **merged[name]}
        if "bus_eq_gains_db" in merged:
            merged["bus_eq_gains_db"] = tuple(merged["bus_eq_gains_db"])
        settings = replace(settings, **merged)
        settings.validate()
        return settings

    def validate(self) -> None:
        for kind in (self.keys_reverb, self.melody_reverb, self.pad_reverb):
            if kind not in fx.REVERB_PRESETS:
                raise ConfigError(f"Unknown reverb {kind!r}: use one of {list(fx.REVERB_PRESETS)}")
        if self.melody_delay not in ("tape", "ping_pong", "none"):
            raise ConfigError("melody_delay must be tape, ping_pong or none")
        if len(self.bus_eq_gains_db) != len(fx.EQ_BANDS_HZ):
            raise ConfigError(f"bus_eq_gains_db needs {len(fx.EQ_BANDS_HZ)} gains")
        if not 4.0 <= self.crossfade_s <= 8.0:
            raise ConfigError("crossfade_s must be 4–8 seconds")
        if not 1 <= self.drum_bit_depth <= 32:
            raise ConfigError("drum_bit_depth must be between 1 and 32 bits")
        nyquist_hz = SAMPLE_RATE_HZ / 2
        for name in ("drum_sample_rate_hz", "drum_lowpass_hz", "bus_lowpass_hz"):
            if not 1_000.0 <= getattr(self, name) <= 2 * nyquist_hz:
                raise ConfigError(f"{name} must be 1 000–{2 * nyquist_hz:.0f} Hz")
        if not 1 <= self.bus_lowpass_order <= 8:
            raise ConfigError("bus_lowpass_order must be 1–8 (6 dB/octave each)")


@dataclass(frozen=True)
class PartNotes:
    notes: tuple[NoteSpan, ...]
    program: int
    is_drums: bool


@dataclass(frozen=True)
class ProductionInputs:
    """What production needs from a sketch: the parts as timed notes, plus plan facts."""

    parts: Mapping[str, PartNotes]
    bpm: float
    duration_s: float
    ambience: str
    seed: int

    @property
    def kick_times_s(self) -> np.ndarray:
        drums = self.parts.get("drums")
        if drums is None:
            return np.array([])
        return np.array([note.start_s for note in drums.notes if note.pitch == KICK])


def production_inputs(summary: MidiSummary, plan: PlanRecord) -> ProductionInputs:
    """Read the parts of a parsed sketch; refuse a sketch that has none to play."""
    seconds_per_beat = 60.0 / summary.tempo_bpm
    parts = {}
    for name in INSTRUMENT_STEMS:
        notes = summary.tracks.get(name, [])
        parts[name] = PartNotes(
            notes=tuple(
                NoteSpan(
                    n.start_beats * seconds_per_beat,
                    n.end_beats * seconds_per_beat,
                    n.pitch,
                    n.velocity,
                )
                for n in notes
            ),
            program=summary.programs.get(name, 0),
            is_drums=bool(notes) and notes[0].channel == 9,
        )
    if not any(part.notes for part in parts.values()):
        raise ProductionError("The MIDI sketch has no notes in any of its tracks: re-compose it")
    return ProductionInputs(
        parts=parts,
        bpm=float(plan.bpm),
        duration_s=summary.length_s,
        ambience=plan.ambience,
        seed=plan.seed,
    )


def _level(audio: np.ndarray, level_dbfs: float) -> np.ndarray:
    level = fx.rms(audio)
    if level < 1e-9:  # a part that is silent (e.g. no melody) stays silent
        return audio
    audio *= np.float32(10 ** (level_dbfs / 20) / level)  # in place: stems are large
    return audio


def _stem_chains(
    inputs: ProductionInputs, settings: ProductionSettings, rate: int
) -> dict[str, Callable]:
    kicks = inputs.kick_times_s
    delay_s = settings.delay_beats * 60.0 / inputs.bpm

    def drums(audio):
        audio = fx.band_limit(audio, rate, 30, None)
        audio = fx.lowpass(audio, rate, settings.drum_lowpass_hz, order=2)
        # Saturate before the sampler: its output filter then removes the harmonics the
        # saturation makes above the reduced Nyquist, and the crush is the last level change
        # before the stem gain (which scales the steps with the signal: the depth holds).
        audio = fx.tape_saturation(audio, settings.saturation_drive_db)
        return fx.vintage_sampler(
            audio, rate, settings.drum_sample_rate_hz, settings.drum_bit_depth
        )

    def bass(audio):
        audio = fx.band_limit(audio, rate, 35, 2_500)
        audio = fx.tape_saturation(audio, settings.saturation_drive_db)
        audio = fx.pan(audio, settings.pans["bass"])
        return fx.sidechain_duck(audio, rate, kicks, settings.sidechain_depth_db)

    def keys(audio):
        audio = fx.band_limit(audio, rate, 120, 9_000)
        audio = fx.pan(audio, settings.pans["keys"])
        audio = fx.chorus(audio, rate, mix=settings.keys_chorus_mix)
        audio = fx.wow_flutter(
            audio, rate, settings.wow_rate_hz, settings.wow_depth_cents,
            settings.flutter_rate_hz, settings.flutter_depth_cents,
        )  # fmt: skip
        audio = fx.reverb(audio, rate, settings.keys_reverb)
        return fx.sidechain_duck(audio, rate, kicks, settings.sidechain_depth_db / 2)

    def melody(audio):
        audio = fx.band_limit(audio, rate, 200, 10_000)
        audio = fx.pan(audio, settings.pans["melody"])
        if settings.melody_delay == "tape":
            audio = fx.tape_delay(audio, rate, delay_s)
        elif settings.melody_delay == "ping_pong":
            audio = fx.ping_pong_delay(audio, rate, delay_s)
        return fx.reverb(audio, rate, settings.melody_reverb)

    def pad(audio):
        audio = fx.band_limit(audio, rate, 150, None)
        audio = fx.filter_sweep(
            audio,
            rate,
            settings.pad_filter_lfo_hz,
            settings.pad_filter_min_hz,
            settings.pad_filter_max_hz,
        )
        audio = fx.haas_widen(fx.pan(audio, settings.pans["pad"]), rate, settings.haas_delay_ms)
        audio = fx.reverb(audio, rate, settings.pad_reverb)
        return fx.sidechain_duck(audio, rate, kicks, settings.sidechain_depth_db)

    return {"drums": drums, "bass": bass, "keys": keys, "melody": melody, "pad": pad}


# Parts whose chains low-pass them far below 11 kHz are synthesized at half the rate and
# upsampled: nothing audible is lost and FluidSynth's costliest voices (sustained pads) halve.
RENDER_RATE_DIVISORS = {"pad": 2, "bass": 2}

# Longest jobs first so two cores stay busy to the end (pad voices are the slowest to render).
PRODUCTION_ORDER = ("pad", "drums", "keys", "ambience", "melody", "vinyl", "bass")


def produce_stems(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    on_stem: Callable[[str, np.ndarray], None],
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """Produce every stem, processed and at its mix level, handing each to ``on_stem``.

    Stems are not kept: the caller writes each one as it arrives, so memory holds only the
    stems in flight. The stems sum to the mix. ``on_progress`` gets the fraction done (0–1)
    after each stem's synthesis and once ``on_stem`` has taken it (two steps a stem).
    """
    length_s = inputs.duration_s + RENDER_TAIL_S
    samples = round(length_s * sample_rate_hz)
    chains = _stem_chains(inputs, settings, sample_rate_hz)
    steps_done, steps = 0, 2 * len(PRODUCTION_ORDER)
    progress_lock = threading.Lock()

    def step_done() -> None:
        nonlocal steps_done
        with progress_lock:
            steps_done += 1
            if on_progress is not None:
                on_progress(steps_done / steps)

    def produce(name: str) -> np.ndarray:
        if name == "ambience":
            seed = stable_seed(inputs.seed, "ambience")
            audio = synthesize_ambience(inputs.ambience, seed, samples, sample_rate_hz)
            audio = fx.band_limit(audio, sample_rate_hz, 80, 12_000)
        elif name == "vinyl":
            rng = np.random.default_rng(stable_seed(inputs.seed, "vinyl"))
            audio = fx.vinyl_crackle(
                samples, sample_rate_hz, rng, settings.crackle_per_s, settings.pops_per_s
            )
            audio += fx.vinyl_hiss(samples, sample_rate_hz, rng, settings.hiss_level_db)
        else:
            part = inputs.parts[name]
            divisor = RENDER_RATE_DIVISORS.get(name, 1)
            audio = render_part(
                part.notes,
                part.program,
                part.is_drums,
                soundfont,
                length_s,
                sample_rate_hz // divisor,
            )
            if divisor > 1:
                upsampled = signal.resample_poly(audio, divisor, 1, axis=1).astype(np.float32)
                audio = np.zeros((2, samples), dtype=np.float32)
                kept = min(samples, upsampled.shape[1])
                audio[:, :kept] = upsampled[:, :kept]
            step_done()
            audio = chains[name](audio)
        if name in ("ambience", "vinyl"):
            step_done()  # synthesized: no separate chain step
        if audio.shape != (2, samples):
            raise ProductionError(f"Stem {name} came out {audio.shape}, expected (2, {samples})")
        return _level(audio, settings.stem_levels_dbfs[name])

    # Stems run side by side (FluidSynth, pedalboard and numpy release the GIL), each handed
    # over as soon as it is done; with one thread they run in PRODUCTION_ORDER.
    threads = min(len(PRODUCTION_ORDER), step_threads())
    if threads == 1:
        for name in PRODUCTION_ORDER:
            on_stem(name, produce(name))
            step_done()
        return
    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = {pool.submit(produce, name): name for name in PRODUCTION_ORDER}
        for future in as_completed(futures):
            on_stem(futures[future], future.result())
            step_done()


def build_stems(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
) -> dict[str, np.ndarray]:
    """Every stem in memory, in ``STEM_NAMES`` order (for tests and one-off renders)."""
    stems: dict[str, np.ndarray] = {}
    produce_stems(inputs, settings, soundfont, stems.__setitem__, sample_rate_hz)
    return {name: stems[name] for name in STEM_NAMES}


def sum_stems(stems: Iterable[tuple[str, np.ndarray]]) -> np.ndarray:
    """Add stems one at a time (only the running sum and one stem are ever in memory)."""
    mix: np.ndarray | None = None
    for name, stem in stems:
        if mix is None:
            mix = stem.astype(np.float32, copy=True)
        elif stem.shape != mix.shape:
            raise ProductionError(
                f"Stem {name} is {stem.shape}, the others {mix.shape}: re-render the stems together"
            )
        else:
            mix += stem
    if mix is None:
        raise ProductionError("No stems to mix")
    return mix


PREROLL_S = 2.0  # far longer than any bus filter, compressor or limiter remembers


def in_two_halves(
    process: Callable[[np.ndarray], np.ndarray], audio: np.ndarray, sample_rate_hz: int
) -> np.ndarray:
    """Run a causal, length-keeping ``process`` on both halves of ``audio`` at once.

    The second half starts ``PREROLL_S`` early and that lead-in is dropped, so its filters
    and gain stages have settled into the state the first half leaves them in. Both cores
    work and the result is deterministic (the split point depends only on the length, not on
    how many threads run the halves).
    """
    samples = audio.shape[1]
    preroll = int(PREROLL_S * sample_rate_hz)
    if samples < 4 * preroll:
        return process(audio)
    middle = samples // 2
    first, second = thread_map(process, [audio[:, :middle], audio[:, middle - preroll :]])
    return np.concatenate([first, second[:, preroll:]], axis=1)


def mix_bus(mix: np.ndarray, settings: ProductionSettings, sample_rate_hz: int) -> np.ndarray:
    """Give the summed stems the bus's tape colour, tone, glue and width."""

    def bus(audio: np.ndarray) -> np.ndarray:
        audio = fx.tape_saturation(audio, settings.saturation_drive_db / 2)
        audio = fx.SevenBandEq(tuple(settings.bus_eq_gains_db))(audio, sample_rate_hz)
        audio = fx.multiband_compression(audio, sample_rate_hz)
        audio = fx.parallel_compression(audio, sample_rate_hz, settings.parallel_blend)
        audio = fx.mid_side(audio, side_gain_db=settings.side_gain_db)
        # Last, after the saturation and compressors that make harmonics: the tape roll-off.
        return fx.lowpass(
            audio, sample_rate_hz, settings.bus_lowpass_hz, order=settings.bus_lowpass_order
        )

    return in_two_halves(bus, mix, sample_rate_hz)


def _fades(
    audio: np.ndarray, sample_rate_hz: int, fade_in_s: float = 0.01, fade_out_s: float = 1.5
) -> np.ndarray:
    faded = audio.copy()
    fade_in, fade_out = int(fade_in_s * sample_rate_hz), int(fade_out_s * sample_rate_hz)
    faded[:, :fade_in] *= np.linspace(0, 1, fade_in, dtype=np.float32)
    faded[:, -fade_out:] *= np.linspace(1, 0, fade_out, dtype=np.float32) ** 2
    return faded


def master(
    mix: np.ndarray,
    sample_rate_hz: int,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> np.ndarray:
    """Gain to the target loudness into a true-peak limiter, iterating until both hold."""
    if not np.all(np.isfinite(mix)):
        raise ProductionError("The mix contains NaN or infinite samples: check the effect settings")
    # A subsonic high-pass first: DC and rumble waste headroom and upset limiters.
    mix = pedalboard.HighpassFilter(cutoff_frequency_hz=20.0)(mix, sample_rate_hz)
    mix = _fades(mix, sample_rate_hz)
    loudness = integrated_lufs(mix, sample_rate_hz)
    if not math.isfinite(loudness):
        raise ProductionError("The mix is silent: nothing to master")

    def limit(audio: np.ndarray) -> np.ndarray:
        limiter = pedalboard.BrickwallLimiter(
            ceiling_db=ceiling_dbtp - LIMITER_MARGIN_DB,
            release_ms=150.0,
            lookahead_ms=5.0,
            true_peak=True,
        )
        return limiter(audio, sample_rate_hz, reset=True)

    gain_db = target_lufs - loudness
    mastered = mix
    for _ in range(5):
        mastered = in_two_halves(limit, mix * fx.db_to_gain(gain_db), sample_rate_hz)
        error_db = target_lufs - integrated_lufs(mastered, sample_rate_hz)
        if abs(error_db) <= 0.05:
            break
        gain_db += error_db
    overshoot_db = true_peak_dbtp(mastered) - (ceiling_dbtp - 0.05)
    if overshoot_db > 0:  # belt and braces: never ship over the ceiling
        mastered = mastered * fx.db_to_gain(-overshoot_db)
    return mastered.astype(np.float32)


def produce_master(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Sketch to master in memory (no stem files): for one-off renders and benchmarks.

    Stems arrive in whatever order their threads finish, but float addition is not
    associative: they are summed in ``STEM_NAMES`` order, an early one waiting for those
    before it, so the master is the same to the bit however the threads interleave.
    """
    waiting: dict[str, np.ndarray] = {}
    mix: np.ndarray | None = None
    summed = 0  # how many of STEM_NAMES are in the mix

    def add(name: str, stem: np.ndarray) -> None:
        nonlocal mix, summed
        waiting[name] = stem
        while summed < len(STEM_NAMES) and STEM_NAMES[summed] in waiting:
            next_stem = waiting.pop(STEM_NAMES[summed])
            mix = next_stem.copy() if mix is None else np.add(mix, next_stem, out=mix)
            summed += 1
        if progress:
            progress(name)

    produce_stems(inputs, settings, soundfont, add, sample_rate_hz)
    mastered = master(mix_bus(mix, settings, sample_rate_hz), sample_rate_hz)
    if progress:
        progress("master")
    return mastered


def master_stem_files(
    stem_paths: Mapping[str, Path | str], settings: ProductionSettings, sample_rate_hz: int
) -> np.ndarray:
    """The pipeline's master: stem files (float WAV, ``STEM_SUBTYPE``) summed in the order given
    (``STEM_NAMES`` order, as ``produce_master`` sums them), then the bus and mastering.

    Float stems read back bit-exact, so this equals ``produce_master`` of the same sketch.
    Raises ``AudioFileError`` for a missing or unreadable stem, ``ProductionError`` for stems
    of different lengths. Returns float32 ``(2, samples)``.
    """
    mix = sum_stems(
        (name, read_wav(path, expected_rate_hz=sample_rate_hz)[0])
        for name, path in stem_paths.items()
    )
    bused = mix_bus(mix, settings, sample_rate_hz)
    del mix  # only the bus output is needed while mastering: long tracks are large
    return master(bused, sample_rate_hz)
