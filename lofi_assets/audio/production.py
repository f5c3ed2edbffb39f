"""From a MIDI sketch to processed stems, and from stems to a mastered track.

Stems are rendered per instrument, then each gets its own chain (filters, pan, saturation,
space, side-chain ducking keyed from the kick's MIDI notes) and is set to its level in the
mix, so the stems on disk sum to the mix (stems are written as 32-bit float: at mix level a
drum stem peaks above full scale). The drums go through an old sampler (hold, crush against
their own peak, output filter). The bus adds tape colour, a 7-band EQ, multiband and parallel
compression, mid/side width and a tape roll-off that gives the master its lo-fi knee
(8-13 kHz); mastering hits -14 LUFS under a true-peak ceiling.

Everything streams in blocks (``streaming.BLOCK_SAMPLES``, about 6 s), so memory does not
grow with the track's length: each stem goes from the synthesizer through its chain into its
float WAV, and is levelled in place (its RMS needs the whole stem); mastering sums the stem
files block by block through the bus into a scratch file, limits it into another and writes
the master block by block (``master_stem_files_to``). ``lofi render`` takes the same path
through a temporary folder (``render_master_file``). The whole-array ``mix_bus`` and
``master`` remain as the reference the streamed path is tested against.
"""

from __future__ import annotations

import contextlib
import math
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pedalboard
import soundfile
from scipy import signal

from lofi_assets.audio import SAMPLE_RATE_HZ, TARGET_LUFS
from lofi_assets.audio import effects as fx
from lofi_assets.audio import streaming as st
from lofi_assets.audio.ambience import synthesize_ambience
from lofi_assets.audio.instruments import MissingPresetError, StemSource
from lofi_assets.audio.measure import (
    TRUE_PEAK_TAPS,
    _gated_loudness,
    _k_weighting_sos,
    _true_peak_filter,
    _windows_from_hops,
    integrated_lufs,
    to_db,
    true_peak_dbtp,
)
from lofi_assets.audio.parallel import step_threads, thread_map
from lofi_assets.audio.render import NoteSpan, part_source, render_part_blocks
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.audio.wav import (
    STEM_SUBTYPE,
    AudioFileError,
    read_wav,
    wav_file,
    write_wav_blocks,
)
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.analysis import MidiSummary
from lofi_assets.music.drums import KICK
from lofi_assets.music.plan_record import MAX_PLAN_DURATION_S, PlanRecord
from lofi_assets.seeding import stable_seed

INSTRUMENT_STEMS = ("drums", "bass", "keys", "melody", "pad")
STEM_NAMES = (*INSTRUMENT_STEMS, "ambience", "vinyl")
RENDER_TAIL_S = 2.0  # let releases and reverb tails ring past the last bar
TRUE_PEAK_CEILING_DBTP = -1.5
LIMITER_MARGIN_DB = 0.3  # the limiter aims under the ceiling; 24-bit dither stays inside
# A stem whose part has notes is silent when its peak stays under this: 26 dB under the
# quietest stem's mix level (pad, -26 dBFS RMS; an RMS is never above its peak) and near the
# floor of 12-bit audio, so no played note leaves a stem this quiet — a preset that makes no
# sound (a font without the notes' key range, an empty preset) does. A stem under it is not
# raised to its mix level (that would turn noise into a part) and fails ``stems_audible``.
SILENT_STEM_PEAK_DBFS = -70.0


class ProductionError(LofiError):
    """The sketch cannot be produced as given."""


class SilentStemError(ProductionError):
    """A part with notes rendered silent (its stem peaks under ``SILENT_STEM_PEAK_DBFS``)."""


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
    """One instrument stem's notes (seconds), its program and whether a drum kit plays it.

    ``program`` is a General MIDI program (0–127), or for drums (``is_drums``) a GM2 kit
    program. Only the drums part is drums: ``read_midi`` puts every channel-10 note there, and
    a ``drums`` track's notes on any channel (``MidiSummary.programs`` maps their program to a
    kit), so no other part holds a drum hit.
    """

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


# The longest track the product composes (plan.DURATION_LIMITS_S), plus a bar at the slowest
# tempo (BPM_LIMITS): plans round to whole bars. Music that runs past it is refused before any
# audio is allocated (each stem holds 2 × rate × duration samples).
MAX_TRACK_DURATION_S = MAX_PLAN_DURATION_S  # one definition: plan_record checks plans too


def production_duration_s(summary: MidiSummary, plan: PlanRecord) -> float:
    """The music's length in seconds: the plan's (its bars at its tempo), or the end of the
    file's last note if that is later, so nothing written is cut. Controller, meta and
    end-of-track events after the last note never count (``read_midi`` ends the music at the
    last note); the renderer adds ``RENDER_TAIL_S`` for the release tails.

    Raises ``ProductionError`` past ``MAX_TRACK_DURATION_S``, naming the limit.
    """
    duration_s = max(plan.duration_s, summary.length_s)
    if not duration_s <= MAX_TRACK_DURATION_S:
        what = (
            f"its notes run to {summary.length_s:.1f} s"
            if summary.length_s >= plan.duration_s
            else f"its plan's {plan.bars} bars at {plan.bpm} BPM last {plan.duration_s:.1f} s"
        )
        raise ProductionError(
            f"The music is too long to render: {what}, and the longest track lofi makes is "
            f"{MAX_TRACK_DURATION_S:.0f} s (MAX_TRACK_DURATION_S): shorten the MIDI file or its "
            "plan"
        )
    return duration_s


def production_inputs(summary: MidiSummary, plan: PlanRecord) -> ProductionInputs:
    """The parts of a parsed MIDI file as notes in seconds (through the file's own tempo map
    or SMPTE rate, ``MidiNote.start_s``), its length (``production_duration_s``) and the
    plan's facts.

    Raises ``ProductionError`` if no part has a note, or if the music is longer than
    ``MAX_TRACK_DURATION_S`` (checked before anything is rendered).
    """
    duration_s = production_duration_s(summary, plan)
    parts = {}
    for name in INSTRUMENT_STEMS:
        notes = summary.tracks.get(name, [])
        parts[name] = PartNotes(
            notes=tuple(NoteSpan(n.start_s, n.end_s, n.pitch, n.velocity) for n in notes),
            program=summary.programs.get(name, 0),
            # Decided by the part, never by a note's channel: a drums track exported on
            # channel 1 still plays a kit, and a keys track's one channel-10 hit is on the
            # drums part already (read_midi), not a reason to play the keys on a kit.
            is_drums=name == "drums",
        )
    if not any(part.notes for part in parts.values()):
        raise ProductionError(
            "The MIDI file has no notes on any channel: give a file with notes, or make one "
            "with `lofi sketch`"
        )
    return ProductionInputs(
        parts=parts,
        bpm=float(plan.bpm),
        duration_s=duration_s,
        ambience=plan.ambience,
        seed=plan.seed,
    )


def _level(audio: np.ndarray, level_dbfs: float) -> np.ndarray:
    level = fx.rms(audio)
    if level < 1e-9:  # a part that is silent (e.g. no melody) stays silent
        return audio
    audio *= np.float32(10 ** (level_dbfs / 20) / level)  # in place: stems are large
    return audio


def _stem_streams(
    inputs: ProductionInputs, settings: ProductionSettings, rate: int
) -> dict[str, Callable[[Iterable[np.ndarray], int], Iterable[np.ndarray]]]:
    """Each instrument's chain as ``chain(blocks, samples) -> blocks`` (effects keep their
    state across blocks; ``samples`` is the stem's whole length)."""
    kicks = inputs.kick_times_s
    delay_s = settings.delay_beats * 60.0 / inputs.bpm

    def drums(audio, samples):
        audio = st.band_limit_stream(audio, rate, 30, None)
        audio = st.lowpass_stream(audio, rate, settings.drum_lowpass_hz, order=2)
        # Saturate before the sampler: its output filter then removes the harmonics the
        # saturation makes above the reduced Nyquist, and the crush is the last level change
        # before the stem gain (which scales the steps with the signal: the depth holds).
        audio = st.stateless(lambda b: fx.tape_saturation(b, settings.saturation_drive_db), audio)
        return st.vintage_sampler_stream(
            audio, rate, settings.drum_sample_rate_hz, settings.drum_bit_depth, samples
        )

    def bass(audio, samples):
        audio = st.band_limit_stream(audio, rate, 35, 2_500)
        audio = st.stateless(lambda b: fx.tape_saturation(b, settings.saturation_drive_db), audio)
        audio = st.stateless(lambda b: fx.pan(b, settings.pans["bass"]), audio)
        return st.sidechain_stream(audio, rate, kicks, settings.sidechain_depth_db)

    def keys(audio, samples):
        audio = st.band_limit_stream(audio, rate, 120, 9_000)
        audio = st.stateless(lambda b: fx.pan(b, settings.pans["keys"]), audio)
        audio = st.plugin_stream(
            pedalboard.Chorus(rate_hz=0.6, depth=0.2, mix=settings.keys_chorus_mix), audio, rate
        )
        audio = st.wow_flutter_stream(
            audio,
            rate,
            settings.wow_rate_hz,
            settings.wow_depth_cents,
            settings.flutter_rate_hz,
            settings.flutter_depth_cents,
        )
        audio = st.plugin_stream(_reverb(settings.keys_reverb), audio, rate)
        return st.sidechain_stream(audio, rate, kicks, settings.sidechain_depth_db / 2)

    def melody(audio, samples):
        audio = st.band_limit_stream(audio, rate, 200, 10_000)
        audio = st.stateless(lambda b: fx.pan(b, settings.pans["melody"]), audio)
        if settings.melody_delay == "tape":
            audio = st.tape_delay_stream(audio, rate, delay_s)
        elif settings.melody_delay == "ping_pong":
            audio = st.ping_pong_stream(audio, rate, delay_s)
        return st.plugin_stream(_reverb(settings.melody_reverb), audio, rate)

    def pad(audio, samples):
        audio = st.band_limit_stream(audio, rate, 150, None)
        audio = st.filter_sweep_stream(
            audio,
            rate,
            settings.pad_filter_lfo_hz,
            settings.pad_filter_min_hz,
            settings.pad_filter_max_hz,
        )
        audio = st.stateless(lambda b: fx.pan(b, settings.pans["pad"]), audio)
        audio = st.haas_stream(audio, rate, settings.haas_delay_ms)
        audio = st.plugin_stream(_reverb(settings.pad_reverb), audio, rate)
        return st.sidechain_stream(audio, rate, kicks, settings.sidechain_depth_db)

    return {"drums": drums, "bass": bass, "keys": keys, "melody": melody, "pad": pad}


def _reverb(kind: str) -> pedalboard.Reverb:
    return pedalboard.Reverb(**fx.REVERB_PRESETS[kind])


def _stem_chains(
    inputs: ProductionInputs, settings: ProductionSettings, rate: int
) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """Each instrument's chain on a whole float32 (2, samples) array (the streamed chain
    run over the array's blocks: one implementation)."""
    streams = _stem_streams(inputs, settings, rate)

    def whole(chain):
        def run(audio: np.ndarray) -> np.ndarray:
            samples = audio.shape[1]
            return st.collect(st.fit_length(chain(st.blocks_of(audio), samples), samples))

        return run

    return {name: whole(chain) for name, chain in streams.items()}


# Parts whose chains keep them under 11 kHz (bass 2.5 kHz, pad's sweep 4.5 kHz, keys 9 kHz,
# melody 10 kHz; the bus rolls everything off from 10.5 kHz) are synthesized and processed
# at half the rate, then upsampled: nothing audible is lost and their synthesis and chains
# (the costliest: keys 2.2 s, pad 2.0 s of 9.3 s single-core for a 3-minute track) halve.
RENDER_RATE_DIVISORS = {"pad": 2, "bass": 2, "keys": 2, "melody": 2}

# Longest jobs first so two cores stay busy to the end (streamed, single-core seconds for a
# 3-minute jazz track: keys 2.2, pad 2.0, drums 1.5, melody 1.2, ambience 1.0, bass 0.8,
# vinyl 0.6).
PRODUCTION_ORDER = ("keys", "pad", "drums", "melody", "ambience", "bass", "vinyl")


# Ambience and vinyl are stationary beds made whole by their generators; a long track gets
# them in segments of this length, each from its own seed, joined by equal-power crossfades
# (the segments are independent noise, so the level holds through the joins). A track up to
# one segment long gets exactly the bed it always had.
TEXTURE_SEGMENT_S = 60.0
TEXTURE_CROSSFADE_S = 1.0


def _texture_blocks(
    make: Callable[[int, int], np.ndarray], seed: int, samples: int, sample_rate_hz: int
) -> Iterator[np.ndarray]:
    """``make(seed, n)`` (a float32 (2, n) bed) for ``samples`` samples, a segment at a time."""
    segment = round(TEXTURE_SEGMENT_S * sample_rate_hz)
    overlap = round(TEXTURE_CROSSFADE_S * sample_rate_hz)
    if samples <= segment + overlap:
        yield from st.blocks_of(make(seed, samples))
        return
    count = -(-(samples - overlap) // segment)
    theta = np.linspace(0.0, np.pi / 2, overlap, dtype=np.float32)
    fade_out, fade_in = np.cos(theta), np.sin(theta)
    tail: np.ndarray | None = None
    for index in range(count):
        start = index * segment
        last = index == count - 1
        bed = make(stable_seed(seed, "segment", index), min(segment + overlap, samples - start))
        if tail is None:
            yield bed[:, : bed.shape[1] if last else segment]
        else:
            yield tail * fade_out + bed[:, :overlap] * fade_in
            yield bed[:, overlap : bed.shape[1] if last else segment]
        tail = bed[:, segment:]


@dataclass(frozen=True)
class StemFile:
    """A stem written at its mix level: 32-bit float WAV (``STEM_SUBTYPE``), ``samples`` long."""

    name: str
    path: Path
    samples: int
    mean_square: float  # of the stem at its mix level, both channels
    non_finite_samples: int
    # The mix-level gain: already in the file (1.0) unless it was produced with
    # ``level_in_place=False``; mastering applies it as it reads the stem.
    gain: float = 1.0
    peak_dbfs: float = -math.inf  # sample peak at mix level (the gain applied), dBFS
    notes: int = 0  # the part's notes that sound inside the stem (0 for ambience and vinyl)

    @property
    def silent(self) -> bool:
        """Notes were played but the stem peaks under ``SILENT_STEM_PEAK_DBFS``."""
        return self.notes > 0 and not self.peak_dbfs >= SILENT_STEM_PEAK_DBFS


def _sounding_notes(part: PartNotes, length_s: float, sample_rate_hz: int) -> int:
    """The notes of ``part`` the renderers play: a velocity and a start inside the stem."""
    total = round(length_s * sample_rate_hz)
    return sum(
        1 for n in part.notes if n.velocity > 0 and round(n.start_s * sample_rate_hz) < total
    )


def _render_rate(name: str, sample_rate_hz: int) -> int:
    return sample_rate_hz // RENDER_RATE_DIVISORS.get(name, 1)


def stem_sources(
    inputs: ProductionInputs, soundfont: SoundFont, sample_rate_hz: int = SAMPLE_RATE_HZ
) -> dict[str, StemSource]:
    """What plays each instrument stem that has notes (font, preset, kit, any fallback and
    why), in ``INSTRUMENT_STEMS`` order; a part without notes needs no preset and is absent.

    Raises ``MissingPresetError`` listing every part (``part bank:program``) that no font of
    ``soundfont.chain`` can play — one error, before anything is rendered.
    """
    length_s = inputs.duration_s + RENDER_TAIL_S
    sources: dict[str, StemSource] = {}
    missing: list[tuple[str, int, int]] = []
    fonts: tuple[str, ...] = ()
    for name in INSTRUMENT_STEMS:
        part = inputs.parts.get(name)
        if part is None or not _sounding_notes(part, length_s, _render_rate(name, sample_rate_hz)):
            continue
        try:
            sources[name] = part_source(part.program, part.is_drums, soundfont)
        except MissingPresetError as error:
            missing.extend((name, bank, program) for _, bank, program in error.missing)
            fonts = error.fonts
    if missing:
        raise MissingPresetError(missing, fonts)
    return sources


def _write_levelled(
    name: str,
    blocks: Iterable[np.ndarray],
    path: Path,
    samples: int,
    level_dbfs: float,
    sample_rate_hz: int,
    level_in_place: bool = True,
) -> StemFile:
    """Write a stem's blocks as float WAV, then scale the file in place to ``level_dbfs`` RMS
    (the level needs the whole stem's RMS: a second pass, block by block). Without
    ``level_in_place`` the file keeps the raw stem and the gain is returned instead. A stem
    that peaks under ``SILENT_STEM_PEAK_DBFS`` is left as it is (gain 1)."""
    squares, written, non_finite, peak = 0.0, 0, 0, 0.0
    with wav_file(
        path,
        "w",
        expected_frames=samples,  # a full disk refused before the first block
        samplerate=sample_rate_hz,
        channels=2,
        subtype=STEM_SUBTYPE,
        format="WAV",
    ) as handle:
        for block in blocks:
            if block.shape[0] != 2:
                raise ProductionError(f"Stem {name} came out with {block.shape[0]} channels")
            handle.write(st.interleaved(block))
            squares += fx.mean_square(block) * block.size
            non_finite += int(np.count_nonzero(~np.isfinite(block)))
            peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
            written += block.shape[1]
    if written != samples:
        raise ProductionError(f"Stem {name} came out (2, {written}), expected (2, {samples})")
    level = math.sqrt(squares / max(1, 2 * samples))
    # A part that is silent (no melody, or a preset that made no sound) stays silent: levelling
    # it would raise its noise floor to the mix level.
    if level < 1e-9 or not to_db(peak) >= SILENT_STEM_PEAK_DBFS:
        mean_square = squares / max(1, 2 * samples)
        return StemFile(name, path, samples, mean_square, non_finite, peak_dbfs=to_db(peak))
    gain = np.float32(10 ** (level_dbfs / 20) / level)
    mean_square = squares / (2 * samples) * float(gain) ** 2
    peak_dbfs = to_db(peak * float(gain))
    if not level_in_place:
        return StemFile(name, path, samples, mean_square, non_finite, float(gain), peak_dbfs)
    with wav_file(path, "r+") as handle:
        for start in range(0, samples, st.BLOCK_SAMPLES):
            handle.seek(start)
            block = handle.read(st.BLOCK_SAMPLES, dtype="float32", always_2d=True)
            block *= gain
            handle.seek(start)
            handle.write(block)
    return StemFile(name, path, samples, mean_square, non_finite, peak_dbfs=peak_dbfs)


def produce_stem_files(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    folder: Path | str,
    on_stem: Callable[[StemFile], None] | None = None,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    on_progress: Callable[[float], None] | None = None,
    level_in_place: bool = True,
) -> dict[str, StemFile]:
    """Produce every stem into ``folder`` as ``<name>.wav``, processed and at its mix level.

    Each stem streams from the synthesizer through its chain to its file block by block
    (``streaming.BLOCK_SAMPLES``), so memory does not grow with the track's length; the stems
    sum to the mix. ``on_stem`` gets each ``StemFile`` as it is finished (from the calling
    thread); ``on_progress`` the fraction done (0–1) after each stem is written and once it
    is levelled and handed over (two steps a stem). ``level_in_place=False`` leaves each file
    raw and its ``StemFile.gain`` to apply when mixing (a temporary render saves a pass over
    every stem; the mix is the same to the bit). Each ``StemFile`` carries its peak and its
    part's note count (``StemFile.silent``: notes, but no sound). Raises
    ``MissingPresetError`` before rendering anything when a part with notes has no preset
    in any font of ``soundfont.chain`` (``stem_sources``), ``RenderError`` when a part cannot
    be rendered, ``ProductionError`` when a chain misbehaves.
    """
    folder = Path(folder)
    stem_sources(inputs, soundfont, sample_rate_hz)  # refuse unplayable parts up front
    length_s = inputs.duration_s + RENDER_TAIL_S
    samples = round(length_s * sample_rate_hz)
    notes = {
        name: _sounding_notes(part, length_s, _render_rate(name, sample_rate_hz))
        for name, part in inputs.parts.items()
    }
    chains_by_rate = {
        rate: _stem_streams(inputs, settings, rate)
        for rate in {sample_rate_hz // d for d in (1, *RENDER_RATE_DIVISORS.values())}
    }
    steps_done, steps = 0, 2 * len(PRODUCTION_ORDER)
    progress_lock = threading.Lock()

    def step_done() -> None:
        nonlocal steps_done
        with progress_lock:
            steps_done += 1
            if on_progress is not None:
                on_progress(steps_done / steps)

    def ambience(seed: int, count: int) -> np.ndarray:
        return synthesize_ambience(inputs.ambience, seed, count, sample_rate_hz)

    def vinyl(seed: int, count: int) -> np.ndarray:
        rng = np.random.default_rng(seed)
        audio = fx.vinyl_crackle(
            count, sample_rate_hz, rng, settings.crackle_per_s, settings.pops_per_s
        )
        audio += fx.vinyl_hiss(count, sample_rate_hz, rng, settings.hiss_level_db)
        return audio

    def blocks(name: str) -> Iterable[np.ndarray]:
        if name == "ambience":
            seed = stable_seed(inputs.seed, "ambience")
            bed = _texture_blocks(ambience, seed, samples, sample_rate_hz)
            return st.band_limit_stream(bed, sample_rate_hz, 80, 12_000)
        if name == "vinyl":
            seed = stable_seed(inputs.seed, "vinyl")
            return _texture_blocks(vinyl, seed, samples, sample_rate_hz)
        part = inputs.parts[name]
        divisor = RENDER_RATE_DIVISORS.get(name, 1)
        rate = sample_rate_hz // divisor
        if notes[name]:
            audio = render_part_blocks(
                part.notes, part.program, part.is_drums, soundfont, length_s, rate
            )
        else:  # nothing sounds: no preset is chosen (a font need not have one) for silence
            audio = st.blocks_of(np.zeros((2, round(length_s * rate)), dtype=np.float32))
        audio = chains_by_rate[rate][name](audio, -(-samples // divisor))
        if divisor > 1:
            audio = st.fit_length(st.upsample_stream(audio, divisor), samples)
        return audio

    def produce(name: str) -> StemFile:
        path = folder / f"{name}.wav"
        level = settings.stem_levels_dbfs[name]
        written = _write_levelled(
            name, blocks(name), path, samples, level, sample_rate_hz, level_in_place
        )
        step_done()
        return replace(written, notes=notes.get(name, 0))

    # Stems run side by side (FluidSynth, pedalboard and numpy release the GIL), each handed
    # over as soon as it is done; with one thread they run in PRODUCTION_ORDER.
    done: dict[str, StemFile] = {}

    def hand_over(stem: StemFile) -> None:
        done[stem.name] = stem
        if on_stem is not None:
            on_stem(stem)
        step_done()

    threads = min(len(PRODUCTION_ORDER), step_threads())
    if threads == 1:
        for name in PRODUCTION_ORDER:
            hand_over(produce(name))
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            futures = [pool.submit(produce, name) for name in PRODUCTION_ORDER]
            for future in as_completed(futures):
                hand_over(future.result())
    return {name: done[name] for name in STEM_NAMES}


def produce_stems(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    on_stem: Callable[[str, np.ndarray], None],
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    on_progress: Callable[[float], None] | None = None,
) -> None:
    """``produce_stem_files`` into a temporary folder, each stem handed to ``on_stem`` as a
    float32 (2, samples) array (tests and short one-off renders: this holds a whole stem)."""
    with tempfile.TemporaryDirectory(prefix="lofi-stems-") as folder:
        produce_stem_files(
            inputs,
            settings,
            soundfont,
            folder,
            lambda stem: on_stem(stem.name, read_wav(stem.path, sample_rate_hz)[0]),
            sample_rate_hz,
            on_progress,
        )


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


def require_audible(
    stems: Mapping[str, StemFile], sources: Mapping[str, StemSource] | None = None
) -> None:
    """Raise ``SilentStemError`` naming every stem whose part has notes but that is silent
    (``StemFile.silent``), and what played it (``sources``, from ``stem_sources``): a master
    of rain and vinyl raised to -14 LUFS is not a track."""
    silent = {name: stem for name, stem in stems.items() if stem.silent}
    if not silent:
        return
    described = []
    for name, stem in silent.items():
        peak = f"peak {stem.peak_dbfs:.0f} dBFS" if stem.peak_dbfs > to_db(0.0) else "no signal"
        source = sources.get(name) if sources else None
        played = (
            f", played by {source.preset} ({source.font} {source.bank}:{source.program})"
            if source
            else ""
        )
        described.append(f"{name} ({stem.notes} notes{played}, {peak})")
    raise SilentStemError(
        f"Silent stems although their parts have notes: {', '.join(described)}; under "
        f"{SILENT_STEM_PEAK_DBFS:.0f} dBFS, the preset makes no sound for these notes (its key "
        "range, an empty preset): use a General MIDI SoundFont that covers them"
    )


def stem_peak_dbfs(path: Path | str) -> float:
    """The sample peak of the WAV at ``path`` (every channel), in dBFS, read block by block.

    Raises ``AudioFileError`` when the file cannot be read.
    """
    peak = 0.0
    try:
        with wav_file(path, "r") as handle:
            for block in handle.blocks(st.BLOCK_SAMPLES, dtype="float32", always_2d=True):
                peak = max(peak, float(np.max(np.abs(block), initial=0.0)))
    except (OSError, RuntimeError) as error:  # soundfile raises RuntimeError subclasses
        raise AudioFileError(f"Cannot read the stem {path}: {error}") from error
    return to_db(peak)


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
        return _limiter(ceiling_dbtp)(audio, sample_rate_hz, reset=True)

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


@dataclass(frozen=True)
class MasterStats:
    """What mastering measured on the master it wrote."""

    samples: int
    integrated_lufs: float
    true_peak_dbtp: float


@dataclass(frozen=True)
class _Span:
    """A part of the track one thread works on: it runs from ``start`` (a lead-in for its
    filters and gain stages to settle) and keeps ``[keep_from, stop)``."""

    start: int
    keep_from: int
    stop: int


def _spans(samples: int, sample_rate_hz: int) -> list[_Span]:
    """The halves of ``in_two_halves``: the same split, whatever the thread count."""
    preroll = int(PREROLL_S * sample_rate_hz)
    if samples < 4 * preroll:
        return [_Span(0, 0, samples)]
    middle = samples // 2
    return [_Span(0, 0, middle), _Span(middle - preroll, middle, samples)]


LOUDNESS_HOP_S = 0.1  # BS.1770 gating blocks: 400 ms windows every 100 ms


class _LoudnessMeter:
    """K-weighted energies of 100 ms hops of the track, fed block by block (``measure``'s
    definition, streamed; hops past the last whole one are left out, as there)."""

    def __init__(self, samples: int, sample_rate_hz: int):
        self.hop = round(LOUDNESS_HOP_S * sample_rate_hz)
        self.sos = _k_weighting_sos(sample_rate_hz)
        self.energies = np.zeros((2, samples // self.hop))
        self.state = np.zeros((self.sos.shape[0], 2, 2), dtype=np.float32)

    def feed(self, block: np.ndarray, position: int, keep_from: int) -> None:
        weighted, self.state = signal.sosfilt(self.sos, block, axis=1, zi=self.state)
        skip = max(0, keep_from - position)
        if skip >= block.shape[1]:
            return
        squares = np.square(weighted[:, skip:].astype(np.float64))
        start = position + skip
        first_hop = start // self.hop
        edges = np.arange((first_hop + 1) * self.hop, start + squares.shape[1], self.hop) - start
        sums = np.add.reduceat(squares, np.concatenate([[0], edges]).astype(np.int64), axis=1)
        hops = first_hop + np.arange(sums.shape[1])
        inside = hops < self.energies.shape[1]
        self.energies[:, hops[inside]] += sums[:, inside]


def _integrated(meters: Iterable[_LoudnessMeter], sample_rate_hz: int) -> float:
    energies = sum(meter.energies for meter in meters)
    return _gated_loudness(_windows_from_hops(energies, sample_rate_hz, 0.4, LOUDNESS_HOP_S))


def _stem_handles(
    stem_paths: Mapping[str, Path | str], sample_rate_hz: int
) -> tuple[list[tuple[str, soundfile.SoundFile]], int]:
    """Open every stem for block reads; refuse what cannot be mixed."""
    handles: list[tuple[str, soundfile.SoundFile]] = []
    try:
        for name, path in stem_paths.items():
            path = Path(path)
            if not path.is_file():
                raise AudioFileError(f"{path} does not exist: materialize the upstream asset first")
            handle = wav_file(path)  # refuses a stem cut short (RIFF sizes vs the file)
            handles.append((name, handle))
            if handle.frames == 0:
                raise AudioFileError(f"{path} has no samples: re-render it")
            if handle.channels != 2:
                raise AudioFileError(
                    f"{path} has {handle.channels} channel(s); the chain needs stereo stems"
                )
            if handle.samplerate != sample_rate_hz:
                raise AudioFileError(
                    f"{path} is {handle.samplerate} Hz; expected {sample_rate_hz} Hz"
                )
            first = handles[0][1]
            if handle.frames != first.frames:
                raise ProductionError(
                    f"Stem {name} is (2, {handle.frames}), the others (2, {first.frames}): "
                    "re-render the stems together"
                )
        if not handles:
            raise ProductionError("No stems to mix")
        return handles, handles[0][1].frames
    except BaseException:
        for _, handle in handles:
            handle.close()
        raise


def _summed_blocks(
    handles: list[tuple[str, soundfile.SoundFile]],
    start: int,
    stop: int,
    gains: Mapping[str, float] | None = None,
) -> Iterator[np.ndarray]:
    """The stems summed in the order given (as ``sum_stems``), block by block, each scaled by
    its ``gains`` entry first when given (as ``_write_levelled`` scales a file in place)."""
    for position in range(start, stop, st.BLOCK_SAMPLES):
        mix: np.ndarray | None = None
        for name, handle in handles:
            handle.seek(position)
            frames = handle.read(min(st.BLOCK_SAMPLES, stop - position), dtype="float32")
            if gains is not None and gains.get(name, 1.0) != 1.0:
                frames *= np.float32(gains[name])
            block = np.ascontiguousarray(frames.T)
            if mix is None:
                mix = block
            else:
                mix += block
        if not np.all(np.isfinite(mix)):
            raise ProductionError(
                "The mix contains NaN or infinite samples: check the effect settings"
            )
        yield mix


def _bus_stream(
    blocks: Iterable[np.ndarray], settings: ProductionSettings, sample_rate_hz: int
) -> Iterable[np.ndarray]:
    """``mix_bus``'s chain on a stream (every stage keeps its state across blocks)."""
    rate = sample_rate_hz
    blocks = st.stateless(lambda b: fx.tape_saturation(b, settings.saturation_drive_db / 2), blocks)
    eq = pedalboard.Pedalboard(fx.SevenBandEq(tuple(settings.bus_eq_gains_db)).plugins())
    blocks = st.plugin_stream(eq, blocks, rate)
    blocks = _multiband_stream(blocks, rate)
    crusher = pedalboard.Compressor(threshold_db=-30.0, ratio=8.0, attack_ms=2.0, release_ms=80.0)
    blend = settings.parallel_blend

    def parallel(block: np.ndarray) -> np.ndarray:
        crushed = crusher(np.ascontiguousarray(block), rate, reset=False)
        return (block + blend * crushed).astype(np.float32) / (1.0 + blend)

    blocks = st.stateless(parallel, blocks)
    blocks = st.stateless(lambda b: fx.mid_side(b, side_gain_db=settings.side_gain_db), blocks)
    return st.lowpass_stream(
        blocks, rate, settings.bus_lowpass_hz, order=settings.bus_lowpass_order
    )


def _multiband_stream(blocks: Iterable[np.ndarray], sample_rate_hz: int) -> Iterator[np.ndarray]:
    """``effects.multiband_compression`` (default bands) on a stream."""
    crossovers = []
    for crossover in fx.CROSSOVERS_HZ:
        low = signal.butter(2, crossover, "lowpass", fs=sample_rate_hz, output="sos")
        crossovers.append(np.vstack([low, low]).astype(np.float32))
    states = [np.zeros((sos.shape[0], 2, 2), dtype=np.float32) for sos in crossovers]
    compressors = [
        pedalboard.Compressor(threshold_db=t, ratio=r, attack_ms=10.0, release_ms=120.0)
        for t, r in zip((-20.0, -22.0, -24.0), (2.5, 2.0, 2.0), strict=True)
    ]
    for block in blocks:
        bands, rest = [], np.ascontiguousarray(block, dtype=np.float32)
        for index, sos in enumerate(crossovers):
            band, states[index] = signal.sosfilt(sos, rest, axis=1, zi=states[index])
            bands.append(band)
            rest = rest - band
        bands.append(rest)
        compressed = [
            compressor(np.ascontiguousarray(band), sample_rate_hz, reset=False)
            for compressor, band in zip(compressors, bands, strict=True)
        ]
        yield np.sum(compressed, axis=0).astype(np.float32)


def _fade_gains(
    samples: int, sample_rate_hz: int, fade_in_s: float = 0.01, fade_out_s: float = 1.5
) -> Callable[[np.ndarray, int], np.ndarray]:
    """``_fades`` for a block at ``position``: the same ramps, placed by track position."""
    fade_in, fade_out = int(fade_in_s * sample_rate_hz), int(fade_out_s * sample_rate_hz)
    ramp_in = np.linspace(0, 1, fade_in, dtype=np.float32)
    ramp_out = np.linspace(1, 0, fade_out, dtype=np.float32) ** 2
    out_start = samples - fade_out

    def apply(block: np.ndarray, position: int) -> np.ndarray:
        end = position + block.shape[1]
        if position < fade_in:
            block[:, : min(end, fade_in) - position] *= ramp_in[position : min(end, fade_in)]
        if end > out_start:
            lo = max(position, out_start)
            block[:, lo - position :] *= ramp_out[lo - out_start : end - out_start]
        return block

    return apply


def _limiter(ceiling_dbtp: float) -> pedalboard.BrickwallLimiter:
    """A fresh true-peak limiter (it keeps state between calls) that aims
    ``LIMITER_MARGIN_DB`` under ``ceiling_dbtp`` (dBTP)."""
    return pedalboard.BrickwallLimiter(
        ceiling_db=ceiling_dbtp - LIMITER_MARGIN_DB,
        release_ms=150.0,
        lookahead_ms=5.0,
        true_peak=True,
    )


def _write_kept(
    blocks: Iterable[np.ndarray],
    span: _Span,
    out: st.ScratchAudio,
    meter: _LoudnessMeter,
    shape: Callable[[np.ndarray, int], np.ndarray] | None = None,
) -> None:
    """Write a span's (2, n) float32 blocks, which start at sample ``span.start``, into
    ``out`` from ``span.keep_from`` on (the lead-in before it only warms the effects up),
    feeding ``meter`` as they pass. ``shape(block, position)`` (the fades) is applied to a
    float32 copy of each block first."""
    position = span.start
    for block in blocks:
        if shape is not None:
            block = shape(np.array(block, dtype=np.float32), position)
        meter.feed(block, position, span.keep_from)
        skip = max(0, span.keep_from - position)
        if skip < block.shape[1]:
            out.write(position + skip, block[:, skip:])
        position += block.shape[1]


def _bus_span(
    handles_of: Callable[[], list[tuple[str, soundfile.SoundFile]]],
    span: _Span,
    settings: ProductionSettings,
    sample_rate_hz: int,
    out: st.ScratchAudio,
    gains: Mapping[str, float] | None = None,
) -> _LoudnessMeter:
    """Stems → sum → bus → subsonic high-pass → fades into ``out`` for one span; measures."""
    handles = handles_of()
    try:
        meter = _LoudnessMeter(out.samples, sample_rate_hz)
        fades = _fade_gains(out.samples, sample_rate_hz)
        summed = _summed_blocks(handles, span.start, span.stop, gains)
        bused = _bus_stream(summed, settings, sample_rate_hz)
        # A subsonic high-pass first: DC and rumble waste headroom and upset limiters.
        hpf = pedalboard.HighpassFilter(cutoff_frequency_hz=20.0)
        filtered = st.plugin_stream(hpf, bused, sample_rate_hz)
        _write_kept(filtered, span, out, meter, fades)
        return meter
    finally:
        for _, handle in handles:
            handle.close()


def _limit_span(
    source: st.ScratchAudio,
    out: st.ScratchAudio,
    gain: float,
    span: _Span,
    ceiling_dbtp: float,
    sample_rate_hz: int,
) -> _LoudnessMeter:
    meter = _LoudnessMeter(out.samples, sample_rate_hz)
    gained = (block * gain for block in source.blocks(span.start, span.stop))
    limited = st.plugin_stream(_limiter(ceiling_dbtp), gained, sample_rate_hz)
    _write_kept(limited, span, out, meter)
    return meter


LOSS_ESTIMATES = 1  # excerpt passes before the first full one (a quarter of a pass each)
LOSS_EXCERPT_EVERY = 4  # one block in four, each after its own lead-in
LOSS_MIN_EXCERPTS = 4  # fewer: too few to stand for the track; go straight to full passes


def _limiting_loss_db(
    premaster: st.ScratchAudio, gain: float, ceiling_dbtp: float, sample_rate_hz: int
) -> float | None:
    """Integrated loudness the limiter removes at ``gain``, measured on every
    ``LOSS_EXCERPT_EVERY``-th block (each limited after a ``PREROLL_S`` lead-in); ``None``
    for a track too short to sample."""
    block, preroll = st.BLOCK_SAMPLES, int(PREROLL_S * sample_rate_hz)
    starts = list(range(2 * block, premaster.samples - block, LOSS_EXCERPT_EVERY * block))
    if len(starts) < LOSS_MIN_EXCERPTS:
        return None

    def excerpt(start: int) -> tuple[_LoudnessMeter, _LoudnessMeter]:
        limiter = _limiter(ceiling_dbtp)
        before = _LoudnessMeter(premaster.samples, sample_rate_hz)
        after = _LoudnessMeter(premaster.samples, sample_rate_hz)
        lead_in = max(0, start - preroll)
        gained = premaster.read(lead_in, start + block - lead_in) * gain
        before.feed(gained, lead_in, start)
        limited = st.collect(st.plugin_stream(limiter, iter([gained]), sample_rate_hz))
        after.feed(limited, lead_in, start)
        return before, after

    meters = thread_map(excerpt, starts)
    loudness_in = _integrated([pair[0] for pair in meters], sample_rate_hz)
    loudness_out = _integrated([pair[1] for pair in meters], sample_rate_hz)
    if not (math.isfinite(loudness_in) and math.isfinite(loudness_out)):
        return None
    return loudness_in - loudness_out


def _true_peak_of(audio: st.ScratchAudio, oversampling: int = 4) -> float:
    """``measure.true_peak_dbtp`` of a scratch file, read in overlapping chunks."""
    overlap, chunk = 256, st.BLOCK_SAMPLES
    taps = _true_peak_filter(oversampling)

    def chunk_peak(start: int) -> float:
        lo, hi = max(0, start - overlap), min(audio.samples, start + chunk + overlap)
        upsampled = signal.upfirdn(taps, audio.read(lo, hi - lo), oversampling, axis=1)
        upsampled = upsampled[:, TRUE_PEAK_TAPS // 2 :]
        keep = upsampled[
            :, (start - lo) * oversampling : (min(hi, start + chunk) - lo) * oversampling
        ]
        return float(np.max(np.abs(keep)))

    peak = max(thread_map(chunk_peak, range(0, audio.samples, chunk)), default=0.0)
    return to_db(peak)


def _master_to_scratch(
    stem_paths: Mapping[str, Path | str],
    settings: ProductionSettings,
    sample_rate_hz: int,
    folder: Path | str,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
    gains: Mapping[str, float] | None = None,
) -> tuple[st.ScratchAudio, float]:
    """Stem files → bus → master as ``master(mix_bus(sum_stems(...)))`` does, streamed.

    Returns the limited master (a scratch file the caller closes; its true-peak safety gain
    is ``_safety``'s) and its integrated loudness.
    """
    handles, samples = _stem_handles(stem_paths, sample_rate_hz)
    for _, handle in handles:
        handle.close()
    spans = _spans(samples, sample_rate_hz)

    def reopen() -> list[tuple[str, soundfile.SoundFile]]:
        return _stem_handles(stem_paths, sample_rate_hz)[0]

    with st.ScratchAudio(samples, folder=folder) as premaster:
        meters = thread_map(
            lambda span: _bus_span(reopen, span, settings, sample_rate_hz, premaster, gains),
            spans,
        )
        loudness = _integrated(meters, sample_rate_hz)
        if not math.isfinite(loudness):
            raise ProductionError("The mix is silent: nothing to master")
        mastered = st.ScratchAudio(samples, folder=folder)
        try:
            pre_loudness = loudness
            gain_db = target_lufs - pre_loudness
            # Aim the first full limiter pass past the loudness the limiter will take off, as
            # measured on excerpts: one full pass then usually lands within 0.05 LU where
            # two were needed (each full pass costs as much as the bus).
            for _ in range(LOSS_ESTIMATES):
                loss_db = _limiting_loss_db(
                    premaster, fx.db_to_gain(gain_db), ceiling_dbtp, sample_rate_hz
                )
                if loss_db is None:
                    break
                gain_db = target_lufs - pre_loudness + loss_db
            for _ in range(5):
                gain = fx.db_to_gain(gain_db)
                meters = thread_map(
                    lambda span, gain=gain: _limit_span(
                        premaster, mastered, gain, span, ceiling_dbtp, sample_rate_hz
                    ),
                    spans,
                )
                loudness = _integrated(meters, sample_rate_hz)
                error_db = target_lufs - loudness
                if abs(error_db) <= 0.05:
                    break
                gain_db += error_db
        except BaseException:
            mastered.close()
            raise
    return mastered, loudness


def _safety(
    mastered: st.ScratchAudio,
    loudness: float,
    true_peak: float,
    ceiling_dbtp: float = TRUE_PEAK_CEILING_DBTP,
) -> tuple[float | None, MasterStats]:
    """The final gain (``None``: none) that keeps a limited master under the ceiling."""
    overshoot_db = true_peak - (ceiling_dbtp - 0.05)
    if overshoot_db <= 0:
        return None, MasterStats(mastered.samples, loudness, true_peak)
    # Belt and braces: never ship over the ceiling.
    safety = fx.db_to_gain(-overshoot_db)
    return safety, MasterStats(mastered.samples, loudness - overshoot_db, true_peak - overshoot_db)


def _master_blocks(mastered: st.ScratchAudio, safety: float | None) -> Iterator[np.ndarray]:
    for block in mastered.blocks():
        yield block if safety is None else (block * safety).astype(np.float32)


def master_stem_files_to(
    stem_paths: Mapping[str, Path | str],
    settings: ProductionSettings,
    sample_rate_hz: int,
    out_path: Path | str,
    subtype: str = "PCM_24",
    gains: Mapping[str, float] | None = None,
) -> MasterStats:
    """The pipeline's master, streamed: stem files (float WAV, ``STEM_SUBTYPE``) summed in
    the order given (``STEM_NAMES`` order), the bus and mastering, written to ``out_path``
    (24-bit PCM, dithered, unless ``subtype`` says otherwise) block by block.

    Memory does not grow with the track: the pre-limiter mix and the limited master are
    scratch files beside ``out_path``. Raises ``AudioFileError`` for a missing or unreadable
    stem, ``ProductionError`` for stems of different lengths, a silent mix or non-finite
    samples. ``gains`` scale stems that were not levelled in place (``StemFile.gain``).
    """
    out_path = Path(out_path)
    mastered, loudness = _master_to_scratch(
        stem_paths, settings, sample_rate_hz, out_path.parent, gains=gains
    )
    with mastered, ThreadPoolExecutor(max_workers=1) as pool:
        # The true peak is measured while the master is written as it is; in the rare case
        # it is over the ceiling, the file is written again with the safety gain.
        true_peak = pool.submit(_true_peak_of, mastered)
        write_wav_blocks(out_path, _master_blocks(mastered, None), sample_rate_hz, subtype=subtype)
        safety, stats = _safety(mastered, loudness, true_peak.result())
        if safety is not None:
            write_wav_blocks(
                out_path, _master_blocks(mastered, safety), sample_rate_hz, subtype=subtype
            )
    return stats


def master_stem_files(
    stem_paths: Mapping[str, Path | str],
    settings: ProductionSettings,
    sample_rate_hz: int,
    gains: Mapping[str, float] | None = None,
) -> np.ndarray:
    """``master_stem_files_to`` held in memory as float32 ``(2, samples)`` (tests, short clips)."""
    with tempfile.TemporaryDirectory(prefix="lofi-master-") as folder:
        mastered, loudness = _master_to_scratch(
            stem_paths, settings, sample_rate_hz, folder, gains=gains
        )
        with mastered:
            safety, _ = _safety(mastered, loudness, _true_peak_of(mastered))
            return st.collect(_master_blocks(mastered, safety))


@contextlib.contextmanager
def _temporary_stems(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    sample_rate_hz: int,
    progress: Callable[[str], None] | None,
) -> Iterator[tuple[dict[str, Path], dict[str, float]]]:
    """Every stem, unlevelled, in a temporary folder removed on exit, as (stem name → path,
    stem name → the gain that levels it when mixing) for the master to be made from.
    ``progress`` gets each stem's name as it is finished, then ``"master"`` once the body
    of the ``with`` has made the master."""
    with tempfile.TemporaryDirectory(prefix="lofi-render-") as folder:
        stems = produce_stem_files(
            inputs,
            settings,
            soundfont,
            folder,
            (lambda stem: progress(stem.name)) if progress else None,
            sample_rate_hz,
            level_in_place=False,
        )
        require_audible(stems, stem_sources(inputs, soundfont, sample_rate_hz))
        yield (
            {name: stem.path for name, stem in stems.items()},
            {name: stem.gain for name, stem in stems.items()},
        )
        if progress:
            progress("master")


def render_master_file(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    out_path: Path | str,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    progress: Callable[[str], None] | None = None,
    subtype: str = "PCM_24",
) -> MasterStats:
    """Sketch to a master file the way the pipeline makes one (stems in a temporary folder,
    then ``master_stem_files_to``): ``lofi render`` and the benchmarks. ``progress`` gets each
    stem's name as it is finished, then ``"master"``."""
    with _temporary_stems(inputs, settings, soundfont, sample_rate_hz, progress) as (paths, gains):
        return master_stem_files_to(paths, settings, sample_rate_hz, out_path, subtype, gains=gains)


def produce_master(
    inputs: ProductionInputs,
    settings: ProductionSettings,
    soundfont: SoundFont,
    sample_rate_hz: int = SAMPLE_RATE_HZ,
    progress: Callable[[str], None] | None = None,
) -> np.ndarray:
    """Sketch to master as float32 ``(2, samples)`` in memory, made by the pipeline's streamed
    path (stems in a temporary folder, ``master_stem_files``): tests and short renders.

    Stems arrive in whatever order their threads finish, but they are summed in
    ``STEM_NAMES`` order, so the master is the same to the bit however the threads interleave.
    """
    with _temporary_stems(inputs, settings, soundfont, sample_rate_hz, progress) as (paths, gains):
        return master_stem_files(paths, settings, sample_rate_hz, gains=gains)
