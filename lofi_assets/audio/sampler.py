"""A one-shot drum sampler: velocity layers, round robin and a velocity-following tone.

Each key of a kit has velocity layers (recorded WAV/FLAC files from the instrument library,
or the SoundFont kit's own sound rendered by FluidSynth at three velocities). A hit plays the
layer its velocity falls in, darkened by a low-pass that closes as the velocity falls (a soft
stroke excites fewer overtones) and scaled by the DLS velocity curve (velocity/127)².
Consecutive hits of one key never repeat the same waveform: they cycle through the layer's
files and a small set of detunings (a few cents, as two strokes of a real drum differ), chosen
by a per-key hit counter — so the same notes always give the same audio.
Hats in the choke group stop one another ringing; the reversed-cymbal key plays the kit's
crash backwards so that it swells into the note's end.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from lofi_assets.audio import streaming
from lofi_assets.audio.instruments import (
    InstrumentLibrary,
    InstrumentLibraryError,
    KitSpec,
    StemSource,
    kit_choice,
    load_library,
)
from lofi_assets.audio.soundfont import SoundFont
from lofi_assets.audio.streaming import collect
from lofi_assets.audio.synth import OfflineSynth
from lofi_assets.audio.wav import AudioFileError, wav_file
from lofi_assets.errors import LofiError

# Round-robin detunings (cents): small enough to stay one drum, large enough that two hits
# in a row differ (even a 50 Hz kick drifts a tenth of a cycle in its first 100 ms).
DETUNE_CENTS = (0.0, 21.0, -17.0, 11.0, -24.0, 15.0)
SOUNDFONT_LAYER_VELOCITIES = (40, 80, 127)  # a SoundFont key is sampled at these velocities
ONE_SHOT_MAX_S = 4.0  # longer tails (a crash) are cut with a fade
ONE_SHOT_HOLD_S = 0.25  # note length used to sample a SoundFont key
SILENCE_PEAK = 1e-5  # a rendered one-shot below this is a key the kit does not have
TONE_TOP_HZ = 20_000.0  # the tone filter's cutoff at velocity 127 (then open)
TONE_BUCKET = 8  # velocities share a tone filter in steps of 8 (16 steps in all)
CHOKE_FADE_S = 0.008
REVERSE_FADE_IN_S = 0.03


@dataclass(frozen=True)
class KeyLayers:
    """A key's layers: ``(max_velocity, samples)``, each sample float32 (2, n), ascending."""

    layers: tuple[tuple[int, tuple[np.ndarray, ...]], ...]

    def layer_index(self, velocity: int) -> int:
        for index, (max_velocity, _) in enumerate(self.layers):
            if velocity <= max_velocity:
                return index
        return len(self.layers) - 1


class DrumSampleError(InstrumentLibraryError):
    """A drum sample named by the instrument library (``instruments.yaml`` or a custom assets
    library) is missing, cut short or not audio: the message names the file, the kit and key
    it plays, and what the reader found."""


@functools.cache
def _load_sample(path: str, sample_rate_hz: int) -> np.ndarray:
    """A sample file as float32 ``(2, n)`` at ``sample_rate_hz``, trimmed (``_trim``).

    Read by ``wav.wav_file``, the product's one reader: a WAV is first checked against its
    header (libsndfile alone plays a file cut to 70 % as a shorter sample); other formats
    (FLAC, AIFF, Ogg) are judged by libsndfile, and by the frames their header counts.
    Raises ``AudioFileError`` (missing, not audio, cut short, undecodable) or
    ``TruncatedWavError`` (``_recorded_keys`` names the kit and key).
    """
    import soundfile

    with wav_file(path) as handle:
        try:
            data = handle.read(dtype="float32", always_2d=True)
        except soundfile.LibsndfileError as error:  # a FLAC cut mid-frame: "lost sync"
            raise AudioFileError(
                f"{path} could not be decoded to its end ({error}): it is damaged or cut short"
            ) from error
        rate, declared_frames = handle.samplerate, handle.frames
    if data.shape[0] < declared_frames:  # a FLAC/AIFF whose header counts more frames
        raise AudioFileError(
            f"{path} is truncated: its header declares {declared_frames / rate:.2f} s "
            f"({declared_frames:,} frames), the file holds {data.shape[0] / rate:.2f} s"
        )
    audio = data.T
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    audio = audio[:2]
    if rate != sample_rate_hz:
        divisor = math.gcd(rate, sample_rate_hz)
        audio = signal.resample_poly(audio, sample_rate_hz // divisor, rate // divisor, axis=1)
    audio = np.ascontiguousarray(_trim(audio, sample_rate_hz), dtype=np.float32)
    audio.setflags(write=False)
    return audio


def _trim(audio: np.ndarray, sample_rate_hz: int) -> np.ndarray:
    """Cut trailing silence (below −80 dB of the peak) and tails beyond ONE_SHOT_MAX_S."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak <= 0.0:
        return audio[:, :0]
    loud = np.nonzero(np.max(np.abs(audio), axis=0) > peak * 1e-4)[0]
    end = min(int(loud[-1]) + 1, int(ONE_SHOT_MAX_S * sample_rate_hz))
    audio = audio[:, :end].copy()
    fade = min(end, int(0.05 * sample_rate_hz))
    audio[:, end - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return audio


@functools.cache
def _soundfont_one_shots(
    font_path: str, bank: int, program: int, keys: tuple[int, ...], sample_rate_hz: int
) -> dict[int, KeyLayers]:
    """A SoundFont kit's keys, each rendered at SOUNDFONT_LAYER_VELOCITIES (silent keys left out)."""
    length = int((ONE_SHOT_MAX_S + 0.5) * sample_rate_hz)
    hold = int(ONE_SHOT_HOLD_S * sample_rate_hz)
    found: dict[int, KeyLayers] = {}
    with OfflineSynth(sample_rate_hz) as synth:
        synth.select(9, font_path, bank, program)
        for key in keys:
            layers = []
            for velocity in SOUNDFONT_LAYER_VELOCITIES:
                audio = np.zeros((2, length), dtype=np.float32)
                render_until = synth.writer(audio)
                synth.noteon(9, key, velocity)
                cursor = render_until(hold, 0)
                synth.noteoff(9, key)
                render_until(length, cursor)
                synth.all_sounds_off(9)
                # FluidSynth starts a note at its next 64-sample block: drop that lead-in.
                sounding = np.nonzero(np.any(audio != 0.0, axis=0))[0]
                audio = _trim(audio[:, sounding[0] :] if sounding.size else audio, sample_rate_hz)
                if audio.shape[1] == 0 or float(np.max(np.abs(audio))) < SILENCE_PEAK:
                    break
                audio.setflags(write=False)
                layers.append((velocity, (audio,)))
            if len(layers) == len(SOUNDFONT_LAYER_VELOCITIES):
                found[key] = KeyLayers(tuple(layers))
            # Clear anything still ringing before the next key is sampled.
            flush = np.zeros((2, sample_rate_hz), dtype=np.float32)
            synth.writer(flush)(flush.shape[1], 0)
    return found


def _peak(audio: np.ndarray) -> float:
    return float(np.max(np.abs(audio))) if audio.size else 0.0


def _normalized(keys: KeyLayers, reference_peak: float) -> KeyLayers:
    """Every layer scaled to ``reference_peak``: velocity sets the level, layers the timbre."""
    layers = []
    for max_velocity, samples in keys.layers:
        scaled = []
        for sample in samples:
            peak = _peak(sample)
            gain = np.float32(reference_peak / peak) if peak > 0 else np.float32(0)
            scaled.append(sample * gain)
        layers.append((max_velocity, tuple(scaled)))
    return KeyLayers(tuple(layers))


@dataclass(frozen=True)
class Kit:
    """A playable kit: layers per key plus how it was assembled."""

    keys: dict[int, KeyLayers]
    source: StemSource
    tone_octaves: dict[int, float]


def build_kit(
    program: int,
    pitches: Sequence[int],
    soundfont: SoundFont,
    sample_rate_hz: int,
    library: InstrumentLibrary | None = None,
) -> Kit:
    """The kit for GM2 kit ``program`` holding the keys in ``pitches``.

    Recorded layers play the keys the library maps (at the SoundFont kit's level for that key,
    so the kit's balance is kept); the SoundFont kit plays the rest.
    """
    library = library or load_library()
    choice, spec, missing = kit_choice(program, soundfont, library)
    wanted = set(pitches)
    if library.reverse_key in wanted:
        wanted.discard(library.reverse_key)
        wanted.add(library.reverse_source_key)
    font_keys = _soundfont_one_shots(
        str(choice.path), choice.bank, choice.program, tuple(sorted(wanted)), sample_rate_hz
    )
    keys: dict[int, KeyLayers] = {}
    recorded = _recorded_keys(spec, wanted, sample_rate_hz) if missing is None else {}
    for key in sorted(wanted):
        font = font_keys.get(key)
        reference = _peak(font.layers[-1][1][0]) if font else 0.25
        if key in recorded:
            keys[key] = _normalized(recorded[key], reference)
        elif font is not None:
            keys[key] = _normalized(font, reference)
    source = choice.source
    if recorded:
        source = StemSource(**{**_as_dict(source), "samples": spec.sample_dir_name})
    if missing:
        reason = f"{source.fallback}; {missing}" if source.fallback else missing
        source = StemSource(**{**_as_dict(source), "fallback": reason})
    tone = {key: library.drum_tone_octaves_for(key) for key in keys}
    return Kit(keys, source, tone)


def _without_fix(message: str) -> str:
    """``message`` without a trailing ": re-materialize …" meant for the product's own files."""
    for fix in (": re-materialize", ": materialize the upstream"):
        if fix in message:
            return message[: message.index(fix)]
    return message


def _as_dict(source: StemSource) -> dict:
    return {name: getattr(source, name) for name in StemSource.__slots__}


def _recorded_keys(spec: KitSpec, wanted: set[int], sample_rate_hz: int) -> dict[int, KeyLayers]:
    keys = {}
    for key, layers in spec.keys.items():
        if key not in wanted:
            continue
        loaded = []
        for layer in layers:
            samples = []
            for file in layer.files:
                try:
                    samples.append(_load_sample(str(file), sample_rate_hz))
                except (LofiError, OSError, RuntimeError) as error:
                    # wav_file's own fix ("re-materialize it") is for the product's files;
                    # a sample is the user's: name the kit and key it plays.
                    problem = _without_fix(str(error))
                    where = f"kit {spec.program}"
                    if spec.sample_dir_name:
                        where += f" (samples {spec.sample_dir_name!r})"
                    raise DrumSampleError(
                        f"Drum sample {file} for key {key} of {where} cannot be used: "
                        f"{problem} — replace the file or fix the entry in "
                        "the instrument library (instruments.yaml)"
                    ) from error
            loaded.append((layer.max_velocity, tuple(samples)))
        keys[key] = KeyLayers(tuple(loaded))
    return keys


def _detuned(audio: np.ndarray, cents: float) -> np.ndarray:
    if cents == 0.0:
        return audio
    ratio = 2.0 ** (cents / 1200.0)
    length = int(audio.shape[1] / ratio)
    positions = np.arange(length, dtype=np.float64) * ratio
    source = np.arange(audio.shape[1], dtype=np.float64)
    return np.stack([np.interp(positions, source, channel) for channel in audio]).astype(np.float32)


def tone_cutoff_hz(velocity: int, octaves: float) -> float:
    """The velocity low-pass's cutoff: TONE_TOP_HZ at 127, ``octaves`` lower at velocity 0."""
    return TONE_TOP_HZ * 2.0 ** (-octaves * (1.0 - velocity / 127.0))


def _toned(audio: np.ndarray, velocity: int, octaves: float, sample_rate_hz: int) -> np.ndarray:
    cutoff = tone_cutoff_hz(velocity, octaves)
    if cutoff >= 0.45 * sample_rate_hz:
        return audio
    sos = signal.butter(2, cutoff, fs=sample_rate_hz, output="sos")
    return signal.sosfilt(sos, audio, axis=1).astype(np.float32)


def render_drums(
    notes: Sequence,
    program: int,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int,
    library: InstrumentLibrary | None = None,
) -> tuple[np.ndarray, StemSource | None]:
    """Stereo float32 (2, samples) of drum ``notes`` (NoteSpan-like) on GM2 kit ``program``,
    and what played them (None when no hit falls inside ``duration_s``: nothing played).

    Raises ``MissingPresetError`` when no font of ``soundfont.chain`` has a kit for it.
    """
    sources: list[StemSource] = []
    audio = collect(
        drum_blocks(
            notes,
            program,
            soundfont,
            duration_s,
            sample_rate_hz,
            library=library,
            on_kit=sources.append,
        )
    )
    return audio, (sources[0] if sources else None)


def drum_blocks(
    notes: Sequence,
    program: int,
    soundfont: SoundFont,
    duration_s: float,
    sample_rate_hz: int,
    block_samples: int | None = None,
    library: InstrumentLibrary | None = None,
    on_kit: Callable[[StemSource], None] | None = None,
) -> Iterator[np.ndarray]:
    """``render_drums`` as float32 (2, ≤ block_samples) blocks: hits are added in note order
    into a buffer that starts at the current block and grows to hold the longest ringing
    tail, so the blocks equal the whole-array render sample for sample."""
    library = library or load_library()
    block_samples = block_samples or streaming.BLOCK_SAMPLES
    total = round(duration_s * sample_rate_hz)
    events = sorted(
        (round(n.start_s * sample_rate_hz), n.pitch, n.velocity, round(n.end_s * sample_rate_hz))
        for n in notes
    )
    if not any(start < total and velocity > 0 for start, _, velocity, _ in events):
        # Nothing to play: no kit is needed (a font without one must not refuse a part
        # that has no hits), and the stem is silence.
        for start in range(0, total, block_samples):
            yield np.zeros((2, min(block_samples, total - start)), dtype=np.float32)
        return
    kit = build_kit(program, sorted({e[1] for e in events}), soundfont, sample_rate_hz, library)
    if on_kit is not None:
        on_kit(kit.source)
    cache: dict[tuple, np.ndarray] = {}
    counters: dict[int, int] = {}
    choke_starts = [e[0] for e in events if e[1] in library.choke_group]
    fade = int(CHOKE_FADE_S * sample_rate_hz)

    def voice(key: int, velocity: int) -> np.ndarray | None:
        layers = kit.keys.get(key)
        if layers is None:
            return None
        hit = counters.get(key, 0)
        counters[key] = hit + 1
        layer = layers.layer_index(velocity)
        samples = layers.layers[layer][1]
        variant = (layer, hit % len(samples), hit % len(DETUNE_CENTS), velocity // TONE_BUCKET)
        cached = cache.get((key, *variant))
        if cached is None:
            bucket_velocity = min(127, variant[3] * TONE_BUCKET + TONE_BUCKET // 2)
            cached = _detuned(samples[variant[1]], DETUNE_CENTS[variant[2]])
            cached = _toned(cached, bucket_velocity, kit.tone_octaves[key], sample_rate_hz)
            cache[(key, *variant)] = cached
        return cached

    buffer_start = 0  # track position of buffer[:, 0]: the start of the block being filled
    # Room for a block and the longest ringing tail after it (a detuned one-shot is at most a
    # few per cent longer than ONE_SHOT_MAX_S): hits rarely need the buffer to grow.
    capacity = block_samples + int(1.1 * ONE_SHOT_MAX_S * sample_rate_hz)
    buffer = np.zeros((2, capacity), dtype=np.float32)

    def finished_blocks(before: int) -> Iterator[np.ndarray]:
        """Hand over every whole block that ends at or before track position ``before``."""
        nonlocal buffer_start, buffer
        while buffer_start < total:
            size = min(block_samples, total - buffer_start)
            if buffer_start + size > before:
                return
            done, rest = buffer[:, :size], buffer[:, size:]
            buffer = np.zeros((2, max(capacity, rest.shape[1])), dtype=np.float32)
            buffer[:, : rest.shape[1]] = rest
            buffer_start += size
            yield done

    for start, pitch, velocity, end in events:
        if start >= total or velocity <= 0:
            continue
        gain = np.float32((velocity / 127.0) ** 2)
        if pitch == library.reverse_key:
            sample = voice(library.reverse_source_key, velocity)
            if sample is None:
                continue
            swell = sample[:, ::-1]
            length = min(swell.shape[1], max(1, end - start))
            hit = swell[:, swell.shape[1] - length :] * gain
            ramp = min(length, int(REVERSE_FADE_IN_S * sample_rate_hz))
            hit[:, :ramp] *= np.linspace(0.0, 1.0, ramp, dtype=np.float32)
            offset = max(start, end - length)
        else:
            sample = voice(pitch, velocity)
            if sample is None:
                continue
            hit = sample * gain
            offset = start
            if pitch in library.choke_group:
                following = bisect.bisect_right(choke_starts, start)
                if following < len(choke_starts) and choke_starts[following] - start < hit.shape[1]:
                    cut = choke_starts[following] - start
                    hit = hit[:, : cut + fade]
                    tail = hit.shape[1] - cut
                    hit[:, cut:] *= np.linspace(1.0, 0.0, tail, dtype=np.float32)
        # Events come in start order; a reversed swell may begin before its note, but never
        # before the earliest unfinished block as long as blocks close only up to this start.
        yield from finished_blocks(min(start, offset))
        stop = min(total, offset + hit.shape[1])
        if stop - buffer_start > buffer.shape[1]:
            buffer = np.pad(buffer, ((0, 0), (0, stop - buffer_start - buffer.shape[1])))
        buffer[:, offset - buffer_start : stop - buffer_start] += hit[:, : stop - offset]
    yield from finished_blocks(total)


__all__ = ["KeyLayers", "Kit", "build_kit", "drum_blocks", "render_drums", "tone_cutoff_hz"]
