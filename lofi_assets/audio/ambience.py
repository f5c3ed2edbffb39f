"""Procedural, seeded ambience: rain, café, nature and city beds (no samples needed).

Each bed is built from filtered noise and short synthesized events placed at Poisson times,
the way a sound designer would layer them; the same seed gives the same bed.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import signal

from lofi_assets.audio.effects import rms
from lofi_assets.errors import ConfigError

AMBIENCE_LEVEL_DB = -30.0  # bed RMS before the mix sets its level


def _normalize(audio: np.ndarray, level_db: float = AMBIENCE_LEVEL_DB) -> np.ndarray:
    scale = 10 ** (level_db / 20) / max(rms(audio), 1e-12)
    return (audio * np.float32(scale)).astype(np.float32, copy=False)


def _filtered_noise(rng, samples, sample_rate_hz, low_hz, high_hz, order=2) -> np.ndarray:
    noise = rng.standard_normal((2, samples), dtype=np.float32)
    if low_hz and high_hz:
        sos = signal.butter(order, (low_hz, high_hz), "bandpass", fs=sample_rate_hz, output="sos")
    elif high_hz:
        sos = signal.butter(order, high_hz, "lowpass", fs=sample_rate_hz, output="sos")
    else:
        sos = signal.butter(order, low_hz, "highpass", fs=sample_rate_hz, output="sos")
    return signal.sosfilt(sos.astype(np.float32), noise, axis=1)


ENVELOPE_STEP = 32  # envelopes are computed every 32 samples (0.7 ms): far below audibility


def _slow_envelope(rng, samples, sample_rate_hz, rate_hz, depth) -> np.ndarray:
    """A smooth random level curve (gusts, swells) between 1−depth and 1."""
    points = max(4, int(samples / sample_rate_hz * rate_hz) + 2)
    control = rng.uniform(0, 1, points)
    coarse = -(-samples // ENVELOPE_STEP)
    curve = np.interp(np.linspace(0, points - 1, coarse), np.arange(points), control)
    return np.repeat((1 - depth * curve).astype(np.float32), ENVELOPE_STEP)[:samples]


def _events(rng, samples, sample_rate_hz, rate_per_s, make_event) -> np.ndarray:
    """Sum of short events at Poisson times, each panned at random."""
    out = np.zeros((2, samples), dtype=np.float32)
    count = rng.poisson(rate_per_s * samples / sample_rate_hz)
    for start in np.sort(rng.integers(0, samples, size=count)):
        event = make_event(rng)
        end = min(samples, start + event.size)
        position = rng.uniform(0.15, 0.85)
        out[0, start:end] += event[: end - start] * np.sqrt(1 - position)
        out[1, start:end] += event[: end - start] * np.sqrt(position)
    return out


DROPLET_BANDS_HZ = np.linspace(2_000, 6_000, 7)  # six pitch bands, each rung by one resonator
DROPLET_DECAY_PER_S = 400.0


def _droplets(rng, samples, sample_rate_hz, rate_per_s) -> np.ndarray:
    """Raindrops: Poisson impulses ringing decaying sines, as resonators over impulse trains.

    A two-pole resonator's impulse response is exactly a decaying sinusoid, so thousands of
    drops cost one filter pass per pitch band instead of one Python step per drop.
    """
    count = rng.poisson(rate_per_s * samples / sample_rate_hz)
    starts = rng.integers(0, samples, size=count)
    frequencies = rng.uniform(DROPLET_BANDS_HZ[0], DROPLET_BANDS_HZ[-1], size=count)
    amplitudes = rng.uniform(0.2, 1.0, size=count)
    positions = rng.uniform(0.15, 0.85, size=count)
    bands = np.clip(np.digitize(frequencies, DROPLET_BANDS_HZ) - 1, 0, len(DROPLET_BANDS_HZ) - 2)
    radius = np.exp(-DROPLET_DECAY_PER_S / sample_rate_hz)
    out = np.zeros((2, samples), dtype=np.float32)
    impulses = np.zeros((2, samples), dtype=np.float32)
    for band in range(len(DROPLET_BANDS_HZ) - 1):
        chosen = bands == band
        if not chosen.any():
            continue
        impulses.fill(0.0)
        np.add.at(impulses[0], starts[chosen], amplitudes[chosen] * np.sqrt(1 - positions[chosen]))
        np.add.at(impulses[1], starts[chosen], amplitudes[chosen] * np.sqrt(positions[chosen]))
        centre_hz = (DROPLET_BANDS_HZ[band] + DROPLET_BANDS_HZ[band + 1]) / 2
        omega = 2 * np.pi * centre_hz / sample_rate_hz
        resonator = np.array(
            [[np.sin(omega), 0.0, 0.0, 1.0, -2 * radius * np.cos(omega), radius**2]],
            dtype=np.float32,
        )
        out += signal.sosfilt(resonator, impulses, axis=1)
    return out


def rain(rng, samples, sample_rate_hz, intensity: str) -> np.ndarray:
    density, wash_db = {"light": (25, -6.0), "medium": (70, -3.0), "heavy": (160, 0.0)}[intensity]
    # Rain heard through a window: the wash stops at 6.5 kHz. Up to 9 kHz it filled the
    # master's top octave in every section, keys-only intros and breakdowns included (a
    # producer's review: 5–10 kHz at −31…−33 dB throughout, the 4 kHz octave above the 2 kHz).
    wash = _filtered_noise(rng, samples, sample_rate_hz, 400, 6_500)
    wash *= 10 ** (wash_db / 20) * _slow_envelope(rng, samples, sample_rate_hz, 0.2, 0.3)
    drops = _droplets(rng, samples, sample_rate_hz, density)
    return _normalize(_normalize(wash, -32) + _normalize(drops, -36))


def cafe(rng, samples, sample_rate_hz) -> np.ndarray:
    # Murmur: speech-band noise whose level follows syllable-rate envelopes of a few voices.
    # Nothing in it is above 2.5 kHz, so it is made at a quarter of the rate and upsampled.
    low_rate, low_samples = sample_rate_hz // 4, -(-samples // 4)
    murmur = np.zeros((2, low_samples), dtype=np.float32)
    for _ in range(3):
        voice = _filtered_noise(rng, low_samples, low_rate, 250, 2_500)
        syllables = _slow_envelope(rng, low_samples, low_rate, rng.uniform(3, 6), 0.9)
        phrases = _slow_envelope(rng, low_samples, low_rate, 0.3, 0.8)
        murmur += voice * syllables * phrases
    murmur = signal.resample_poly(murmur, 4, 1, axis=1)[:, :samples].astype(np.float32)

    def clink(rng):
        length = int(sample_rate_hz * 0.25)
        t = np.arange(length) / sample_rate_hz
        partials = rng.uniform(2_500, 5_500, 3)
        return sum(np.sin(2 * np.pi * f * t) for f in partials) * np.exp(-t * 30) * 0.3

    clinks = _events(rng, samples, sample_rate_hz, 0.15, clink)
    room = _filtered_noise(rng, samples, sample_rate_hz, None, 300)
    return _normalize(_normalize(murmur, -32) + _normalize(clinks, -44) + _normalize(room, -40))


def wind(rng, samples, sample_rate_hz) -> np.ndarray:
    gusts = _slow_envelope(rng, samples, sample_rate_hz, 0.1, 0.8)
    low = _filtered_noise(rng, samples, sample_rate_hz, None, 500)
    high = _filtered_noise(rng, samples, sample_rate_hz, 500, 2_000)
    return _normalize(low * gusts + 0.3 * high * gusts**2)


def birds(rng, samples, sample_rate_hz) -> np.ndarray:
    def chirp(rng):
        notes = rng.integers(2, 6)
        pieces = []
        for _ in range(notes):
            length = int(sample_rate_hz * rng.uniform(0.04, 0.12))
            t = np.arange(length) / sample_rate_hz
            start_hz, end_hz = rng.uniform(2_500, 6_000, 2)
            phase = 2 * np.pi * (start_hz * t + (end_hz - start_hz) * t**2 / (2 * t[-1]))
            pieces += [np.sin(phase) * np.hanning(length), np.zeros(int(sample_rate_hz * 0.05))]
        return np.concatenate(pieces) * 0.5

    song = _events(rng, samples, sample_rate_hz, 0.4, chirp)
    return _normalize(_normalize(song, -34) + _normalize(wind(rng, samples, sample_rate_hz), -38))


def water(rng, samples, sample_rate_hz) -> np.ndarray:
    stream = _filtered_noise(rng, samples, sample_rate_hz, 300, 3_000)
    stream *= _slow_envelope(rng, samples, sample_rate_hz, 8.0, 0.6)

    def bubble(rng):
        length = int(sample_rate_hz * rng.uniform(0.01, 0.03))
        t = np.arange(length) / sample_rate_hz
        start_hz = rng.uniform(300, 1_200)
        phase = 2 * np.pi * start_hz * (t + 40 * t**2)  # a bubble's pitch rises as it bursts
        return np.sin(phase) * np.exp(-t * 150)

    bubbles = _events(rng, samples, sample_rate_hz, 12, bubble)
    return _normalize(_normalize(stream, -32) + _normalize(bubbles, -38))


def city(rng, samples, sample_rate_hz) -> np.ndarray:
    rumble = _filtered_noise(rng, samples, sample_rate_hz, None, 180)

    def passing_car(rng):
        length = int(sample_rate_hz * rng.uniform(3, 8))
        envelope = signal.windows.gaussian(length, std=length / 6)
        body = rng.standard_normal(length)
        body = signal.sosfilt(
            signal.butter(2, (80, 900), "bandpass", fs=sample_rate_hz, output="sos"), body
        )
        return body * envelope

    cars = _events(rng, samples, sample_rate_hz, 0.12, passing_car)
    return _normalize(_normalize(rumble, -32) + _normalize(cars, -36))


AMBIENCES: dict[str, Callable[[np.random.Generator, int, int], np.ndarray]] = {
    "rain_light": lambda rng, n, sr: rain(rng, n, sr, "light"),
    "rain_medium": lambda rng, n, sr: rain(rng, n, sr, "medium"),
    "rain_heavy": lambda rng, n, sr: rain(rng, n, sr, "heavy"),
    "cafe": cafe,
    "nature_wind": wind,
    "nature_birds": birds,
    "nature_water": water,
    "city_traffic": city,
}


def synthesize_ambience(name: str, seed: int, samples: int, sample_rate_hz: int) -> np.ndarray:
    """A stereo bed of the named ambience at ``AMBIENCE_LEVEL_DB`` RMS."""
    if name not in AMBIENCES:
        raise ConfigError(f"Unknown ambience {name!r}: choose one of {', '.join(AMBIENCES)}")
    rng = np.random.default_rng(seed)
    return AMBIENCES[name](rng, samples, sample_rate_hz)
