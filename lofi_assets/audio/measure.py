"""Measurements a mastering engineer reads off a meter, and the QC facts the checks use.

Loudness follows ITU-R BS.1770 through pyloudnorm; true peak is the sample peak of a 4×
oversampled signal; loudness range follows EBU Tech 3342 (short-term loudness, gated).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from pyloudnorm.iirfilter import IIRfilter
from scipy import signal

from lofi_assets.audio.effects import mean_square
from lofi_assets.audio.parallel import thread_map
from lofi_assets.audio.wav import wav_file

CHUNK = 1 << 18  # samples per chunk when summing in float64
SILENCE_DBFS = -60.0
SILENCE_FRAME_S = 0.05
OCTAVE_BANDS_HZ = (63, 125, 250, 500, 1_000, 2_000, 4_000, 8_000, 16_000)


def to_db(value: float, floor_db: float = -200.0) -> float:
    return 20.0 * math.log10(value) if value > 0 else floor_db


# The BS.1770-4 K-weighting as pyloudnorm's Meter builds it ("K-weighting" filter class):
# (gain_db, Q, centre_hz, kind) of the +4 dB high shelf and the 38 Hz RLB high pass.
K_WEIGHTING_STAGES = ((4.0, 1 / math.sqrt(2), 1500.0, "high_shelf"), (0.0, 0.5, 38.0, "high_pass"))


@functools.cache
def _k_weighting_sos(sample_rate_hz: int) -> np.ndarray:
    # pyloudnorm's public IIRfilter (module pyloudnorm.iirfilter) designs each stage for any
    # rate; the Meter keeps its own only in a private attribute, so we build the same two.
    # As float32 second-order sections long tracks filter fast; test_sound_measures holds
    # our integrated loudness to pyloudnorm.Meter's.
    stages = [
        signal.tf2sos(stage.b, stage.a)
        for stage in (
            IIRfilter(gain_db, q, centre_hz, sample_rate_hz, kind)
            for gain_db, q, centre_hz, kind in K_WEIGHTING_STAGES
        )
    ]
    return np.vstack(stages).astype(np.float32)


def _hop_energies(audio: np.ndarray, sample_rate_hz: int, hop_s: float) -> np.ndarray:
    """(channels, hops): summed squares of the K-weighted signal over consecutive hops.

    Channels are filtered in parallel; squares are summed in float64 a few rows at a time so
    no full-length float64 copy is ever made.
    """
    sos = _k_weighting_sos(sample_rate_hz)
    hop = round(hop_s * sample_rate_hz)

    def channel_hops(channel: np.ndarray) -> np.ndarray:
        weighted = signal.sosfilt(sos, channel.astype(np.float32))
        hops = weighted.size // hop
        rows = weighted[: hops * hop].reshape(hops, hop)
        return np.concatenate(
            [np.square(rows[i : i + 64].astype(np.float64)).sum(axis=1) for i in range(0, hops, 64)]
            or [np.zeros(0)]
        )

    return np.stack(thread_map(channel_hops, audio))


def _block_loudness(
    audio: np.ndarray, sample_rate_hz: int, window_s: float, hop_s: float
) -> np.ndarray:
    """Loudness (LUFS) of windows every ``hop_s``: channel mean squares summed (L, R weight 1)."""
    return _windows_from_hops(
        _hop_energies(audio, sample_rate_hz, hop_s), sample_rate_hz, window_s, hop_s
    )


def _windows_from_hops(
    energies: np.ndarray, sample_rate_hz: int, window_s: float, hop_s: float
) -> np.ndarray:
    hops_per_window = round(window_s / hop_s)
    hop = round(hop_s * sample_rate_hz)
    if energies.shape[1] < hops_per_window:  # shorter than one window: one block of it all
        mean_square = energies.sum(axis=1, keepdims=True) / max(1, energies.shape[1] * hop)
    else:
        cumulative = np.concatenate(
            [np.zeros((energies.shape[0], 1)), np.cumsum(energies, axis=1)], axis=1
        )
        sums = cumulative[:, hops_per_window:] - cumulative[:, :-hops_per_window]
        mean_square = sums / (hops_per_window * hop)
    return -0.691 + 10 * np.log10(np.maximum(mean_square.sum(axis=0), 1e-20))


def integrated_lufs(audio: np.ndarray, sample_rate_hz: int) -> float:
    """BS.1770-4 integrated loudness: 400 ms blocks, 75 % overlap, absolute and relative gates."""
    return _gated_loudness(_block_loudness(audio, sample_rate_hz, 0.4, 0.1))


def _hop_energies_of_file(path, hop_s: float, block_frames: int) -> tuple[np.ndarray, int]:
    """``_hop_energies`` of a WAV streamed block by block, the filter state carried across.

    Raises:
        AudioFileError: the file is missing or unreadable; TruncatedWavError: cut short.
    """
    with wav_file(path) as handle:
        rate = handle.samplerate
        sos = _k_weighting_sos(rate)
        hop = round(hop_s * rate)
        state = np.zeros((handle.channels, sos.shape[0], 2), dtype=np.float32)
        carry = np.zeros((handle.channels, 0), dtype=np.float32)
        energies: list[np.ndarray] = []
        for block in handle.blocks(blocksize=block_frames, dtype="float32", always_2d=True):
            weighted = np.empty((handle.channels, block.shape[0]), dtype=np.float32)
            for channel in range(handle.channels):
                weighted[channel], state[channel] = signal.sosfilt(
                    sos, block[:, channel], zi=state[channel]
                )
            pending = np.concatenate([carry, weighted], axis=1)
            hops = pending.shape[1] // hop
            rows = pending[:, : hops * hop].reshape(handle.channels, hops, hop)
            energies.append(np.square(rows.astype(np.float64)).sum(axis=2))
            carry = pending[:, hops * hop :]
    return np.concatenate(energies, axis=1), rate


def integrated_lufs_of_file(path, block_frames: int = 1 << 18) -> float:
    """Integrated loudness of a WAV of any length, streamed: memory does not grow with it."""
    energies, rate = _hop_energies_of_file(path, 0.1, block_frames)
    return _gated_loudness(_windows_from_hops(energies, rate, 0.4, 0.1))


def loudest_window_of_file(
    path, window_s: float, hop_s: float = 0.5, block_frames: int = 1 << 18
) -> tuple[float, float]:
    """(start in seconds, loudness in LUFS) of the loudest ``window_s`` of a WAV, streamed.

    The whole file when it is shorter than one window (start 0).
    """
    energies, rate = _hop_energies_of_file(path, hop_s, block_frames)
    windows = _windows_from_hops(energies, rate, window_s, hop_s)
    best = int(np.argmax(windows))
    return best * hop_s, float(windows[best])


def _gated_loudness(blocks: np.ndarray) -> float:
    gated = blocks[blocks > -70.0]
    if gated.size == 0:
        return float("-inf")
    relative_gate = 10 * np.log10(np.mean(10 ** (gated / 10))) - 10.0
    gated = gated[gated > relative_gate]
    return float(10 * np.log10(np.mean(10 ** (gated / 10))))


TRUE_PEAK_TAPS = 48  # BS.1770-4 Annex 2 suggests a 48-tap, 4-phase interpolator


@functools.cache
def _true_peak_filter(oversampling: int) -> np.ndarray:
    # A windowed-sinc low-pass at the original Nyquist, gain = oversampling (zero-stuffing
    # divides the level by it).
    return (signal.firwin(TRUE_PEAK_TAPS, 1.0 / oversampling) * oversampling).astype(np.float32)


def true_peak_dbtp(audio: np.ndarray, oversampling: int = 4, chunk_samples: int = 1 << 20) -> float:
    """Peak of the signal reconstructed at 4× the rate: the peaks a DAC or codec will make.

    Works in overlapping chunks so a long master never needs a 4× copy in memory.
    """
    overlap = 256
    source = audio.astype(np.float32)

    def chunk_peak(start: int) -> float:
        lo, hi = max(0, start - overlap), min(source.shape[1], start + chunk_samples + overlap)
        upsampled = signal.upfirdn(
            _true_peak_filter(oversampling), source[:, lo:hi], oversampling, axis=1
        )
        upsampled = upsampled[:, TRUE_PEAK_TAPS // 2 :]  # the filter's group delay
        keep = upsampled[
            :, (start - lo) * oversampling : (min(hi, start + chunk_samples) - lo) * oversampling
        ]
        return float(np.max(np.abs(keep)))

    # scipy's polyphase filter releases the GIL: chunks run side by side.
    peak = max(thread_map(chunk_peak, range(0, source.shape[1], chunk_samples)), default=0.0)
    return to_db(peak)


def short_term_lufs(audio: np.ndarray, sample_rate_hz: int, hop_s: float = 1.0) -> np.ndarray:
    """Loudness of 3 s windows every ``hop_s`` (EBU short-term loudness)."""
    return _block_loudness(audio, sample_rate_hz, 3.0, hop_s)


def loudness_range_lu(audio: np.ndarray, sample_rate_hz: int) -> float:
    """EBU Tech 3342 LRA: spread (10th–95th percentile) of gated short-term loudness."""
    short_term = short_term_lufs(audio, sample_rate_hz, hop_s=0.1)
    gated = short_term[short_term > -70.0]
    if gated.size == 0:
        return 0.0
    relative_gate = 10 * np.log10(np.mean(10 ** (gated / 10))) - 20.0
    gated = gated[gated > relative_gate]
    return float(np.percentile(gated, 95) - np.percentile(gated, 10)) if gated.size else 0.0


def stereo_correlation(audio: np.ndarray) -> float:
    left, right = audio[0], audio[1]
    cross = sum(
        float(np.sum(left[i : i + CHUNK].astype(np.float64) * right[i : i + CHUNK]))
        for i in range(0, left.size, CHUNK)
    )
    denominator = math.sqrt(mean_square(left) * mean_square(right)) * left.size
    return cross / denominator if denominator > 0 else 1.0


def mono_fold_down_loss_lu(audio: np.ndarray, sample_rate_hz: int) -> float:
    """How much quieter the track gets on a mono speaker (phase cancellation), in LU."""
    mono = audio.mean(axis=0)
    return integrated_lufs(audio, sample_rate_hz) - integrated_lufs(
        np.stack([mono, mono]), sample_rate_hz
    )


def dc_offset_dbfs(audio: np.ndarray) -> float:
    return to_db(float(np.max(np.abs(audio.mean(axis=1)))))


@dataclass(frozen=True)
class SilenceReport:
    leading_s: float
    trailing_s: float
    longest_inside_s: float


def silence(
    audio: np.ndarray, sample_rate_hz: int, threshold_dbfs: float = SILENCE_DBFS
) -> SilenceReport:
    """Silent stretches: 50 ms frames whose RMS is below ``threshold_dbfs``."""
    frame = int(SILENCE_FRAME_S * sample_rate_hz)
    frames = audio.shape[1] // frame
    if frames == 0:
        return SilenceReport(0.0, 0.0, 0.0)
    power = (
        (audio[:, : frames * frame].astype(np.float64) ** 2)
        .reshape(2, frames, frame)
        .mean(axis=(0, 2))
    )
    quiet = 10 * np.log10(np.maximum(power, 1e-20)) < threshold_dbfs
    if quiet.all():
        length = frames * SILENCE_FRAME_S
        return SilenceReport(length, length, length)
    loud = np.flatnonzero(~quiet)
    leading, trailing = int(loud[0]), int(frames - 1 - loud[-1])
    longest = run = 0
    for is_quiet in quiet[loud[0] : loud[-1] + 1]:
        run = run + 1 if is_quiet else 0
        longest = max(longest, run)
    return SilenceReport(
        leading * SILENCE_FRAME_S, trailing * SILENCE_FRAME_S, longest * SILENCE_FRAME_S
    )


def octave_band_levels_db(audio: np.ndarray, sample_rate_hz: int) -> dict[int, float]:
    """Energy in each octave band relative to the total, in dB (the track's tonal balance)."""
    mono = audio.mean(axis=0).astype(np.float64)
    frequencies, power = signal.welch(mono, fs=sample_rate_hz, nperseg=8_192)
    total = float(np.sum(power)) or 1e-20
    levels = {}
    for centre in OCTAVE_BANDS_HZ:
        in_band = (frequencies >= centre / math.sqrt(2)) & (frequencies < centre * math.sqrt(2))
        levels[centre] = round(
            10 * math.log10(max(float(np.sum(power[in_band])) / total, 1e-20)), 2
        )
    return levels


def clipped_samples(audio: np.ndarray, full_scale: float = 1.0) -> int:
    return int(np.count_nonzero(np.abs(audio) >= full_scale))


def non_finite_samples(audio: np.ndarray) -> int:
    return int(np.count_nonzero(~np.isfinite(audio)))


@dataclass(frozen=True)
class LoudnessReport:
    integrated_lufs: float
    true_peak_dbtp: float
    loudness_range_lu: float
    duration_s: float
    stereo_correlation: float


def loudness_report(audio: np.ndarray, sample_rate_hz: int) -> LoudnessReport:
    return LoudnessReport(
        integrated_lufs=integrated_lufs(audio, sample_rate_hz),
        true_peak_dbtp=true_peak_dbtp(audio),
        loudness_range_lu=loudness_range_lu(audio, sample_rate_hz),
        duration_s=audio.shape[1] / sample_rate_hz,
        stereo_correlation=stereo_correlation(audio),
    )
