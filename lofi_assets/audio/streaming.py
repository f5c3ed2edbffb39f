"""Audio as a stream of blocks: stateful effects, raw scratch files and block-wise sums.

A stem or a mix is an iterator of float32 ``(2, n)`` blocks (``BLOCK_SAMPLES`` long where the
source decides, any length after an effect with latency); every effect here carries its state
from one block to the next (filter memories, delay lines, LFO phases taken from the global
sample position), so a streamed render equals the whole-array one and memory does not grow
with the track's length. ``collect`` turns a stream back into one array (tests, short clips).
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import numpy as np
import pedalboard
from scipy import signal

from lofi_assets.audio import effects as fx

# 2^18 samples (5.9 s at 44.1 kHz): a multiple of pedalboard's internal 8192-sample buffer
# and of filter_sweep's 2048-sample steps, so block edges fall where the whole-array
# effects already cut their work; big enough that per-block overhead is negligible.
BLOCK_SAMPLES = 1 << 18

Blocks = Iterator[np.ndarray]


def blocks_of(audio: np.ndarray, block_samples: int | None = None) -> Blocks:
    """Views of ``audio`` (channels, samples) in consecutive blocks (``BLOCK_SAMPLES``)."""
    block_samples = block_samples or BLOCK_SAMPLES
    for start in range(0, audio.shape[1], block_samples):
        yield audio[:, start : start + block_samples]


def collect(blocks: Iterable[np.ndarray], channels: int = 2) -> np.ndarray:
    """A stream as one float32 (channels, samples) array."""
    parts = [np.asarray(block, dtype=np.float32) for block in blocks]
    if not parts:
        return np.zeros((channels, 0), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts, axis=1))


def interleaved(block: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(channels, n) → contiguous (n, channels) frames, as sound files store them.

    Column by column: ``np.ascontiguousarray(block.T)`` is ten times slower here (a 2 MB
    block: 2.1 ms against 0.22 ms), and the audio path interleaves every sample it writes.
    """
    frames = np.empty((block.shape[1], block.shape[0]), dtype=dtype)
    for channel in range(block.shape[0]):
        frames[:, channel] = block[channel]
    return frames


def fit_length(blocks: Iterable[np.ndarray], samples: int, channels: int = 2) -> Blocks:
    """Exactly ``samples`` samples: the stream cut there, or padded with silence."""
    done = 0
    for block in blocks:
        if done >= samples:
            continue  # drain the source (its generators may hold resources)
        block = block[:, : samples - done]
        done += block.shape[1]
        if block.shape[1]:
            yield block
    while done < samples:
        count = min(BLOCK_SAMPLES, samples - done)
        done += count
        yield np.zeros((channels, count), dtype=np.float32)


def stateless(function: Callable[[np.ndarray], np.ndarray], blocks: Iterable[np.ndarray]) -> Blocks:
    """A sample-by-sample effect (saturation, pan, mid/side): applied to each block."""
    for block in blocks:
        yield function(block)


def plugin_stream(
    plugin: pedalboard.Plugin, blocks: Iterable[np.ndarray], sample_rate_hz: int
) -> Blocks:
    """A pedalboard plugin over a stream, its state kept (``reset=False``).

    A plugin with latency (a limiter's look-ahead, a resampler) hands back fewer samples than
    it takes until the end; silence is fed then until every sample is out, as pedalboard does
    for a whole array (measured here: equal to the sample).
    """
    taken = given = 0
    channels = 2
    for block in blocks:
        channels = block.shape[0]
        out = plugin(np.ascontiguousarray(block, dtype=np.float32), sample_rate_hz, reset=False)
        taken += block.shape[1]
        given += out.shape[1]
        if out.shape[1]:
            yield out
    for _ in range(64):  # a latency is a few thousand samples: a couple of calls flush it
        if given >= taken:
            break
        silence = np.zeros((channels, max(8_192, taken - given)), dtype=np.float32)
        out = plugin(silence, sample_rate_hz, reset=False)[:, : taken - given]
        given += out.shape[1]
        if out.shape[1]:
            yield out


def sos_stream(blocks: Iterable[np.ndarray], sos: np.ndarray, float64: bool = True) -> Blocks:
    """Second-order sections along time with their state carried across blocks.

    ``float64`` as ``effects.sos_filter`` (steep filters); otherwise the sections and state
    keep the dtype of ``sos`` (float32, as ``effects.split_bands`` runs them).
    """
    state = None
    for block in blocks:
        data = block.astype(np.float64) if float64 else block
        if state is None:
            state = np.zeros((sos.shape[0], block.shape[0], 2), dtype=np.result_type(sos, data))
        filtered, state = signal.sosfilt(sos, data, axis=1, zi=state)
        yield filtered.astype(np.float32, copy=False)


def lowpass_stream(
    blocks: Iterable[np.ndarray], sample_rate_hz: int, cutoff_hz: float, order: int = 2
) -> Iterable[np.ndarray]:
    """``effects.lowpass`` on a stream."""
    if cutoff_hz >= 0.49 * sample_rate_hz:
        return blocks
    sos = signal.butter(order, cutoff_hz, "lowpass", fs=sample_rate_hz, output="sos")
    return sos_stream(blocks, sos)


def band_limit_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    highpass_hz: float | None,
    lowpass_hz: float | None,
) -> Iterable[np.ndarray]:
    """``effects.band_limit_plugins`` on a stream (the blocks as they are when both are None)."""
    plugins = fx.band_limit_plugins(highpass_hz, lowpass_hz)
    if not plugins:
        return blocks
    return plugin_stream(pedalboard.Pedalboard(plugins), blocks, sample_rate_hz)


def upsample_stream(blocks: Iterable[np.ndarray], factor: int, margin: int = 256) -> Blocks:
    """``scipy.signal.resample_poly(x, factor, 1)`` of a stream, block by block.

    Each block is resampled with ``margin`` input samples of context either side (the
    polyphase filter is 2·10·factor + 1 taps, far shorter), so the result equals the
    whole-array one to float rounding; the output lags the input by ``margin`` samples.
    """
    history = None  # the last `margin` input samples already resampled
    pending = None  # input not yet resampled
    for block in blocks:
        pending = block if pending is None else np.concatenate([pending, block], axis=1)
        if history is None:
            history = np.zeros((block.shape[0], 0), dtype=np.float32)
        ready = pending.shape[1] - margin
        if ready <= 0:
            continue
        yield _upsampled_middle(history, pending, ready, factor)
        history = pending[:, max(0, ready - margin) : ready]
        pending = pending[:, ready:]
    if pending is not None and pending.shape[1]:
        yield _upsampled_middle(history, pending, pending.shape[1], factor)


def _upsampled_middle(
    history: np.ndarray, pending: np.ndarray, ready: int, factor: int
) -> np.ndarray:
    segment = np.concatenate([history, pending], axis=1)
    out = signal.resample_poly(segment, factor, 1, axis=1)
    start = factor * history.shape[1]
    return out[:, start : start + factor * ready].astype(np.float32)


def filter_sweep_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    lfo_rate_hz: float,
    min_cutoff_hz: float,
    max_cutoff_hz: float,
    step_samples: int = 2_048,
) -> Blocks:
    """``effects.filter_sweep`` on a stream: the cutoff moves every ``step_samples`` of the
    track (not of the block), so block edges change nothing."""
    ladder = pedalboard.LadderFilter(
        mode=pedalboard.LadderFilter.Mode.LPF12, cutoff_hz=max_cutoff_hz, resonance=0.1
    )
    position = 0
    for block in blocks:
        out = np.empty_like(block, dtype=np.float32)
        source = np.ascontiguousarray(block, dtype=np.float32)
        offset = 0
        while offset < block.shape[1]:
            step_start = (position + offset) // step_samples * step_samples
            count = min(step_start + step_samples - (position + offset), block.shape[1] - offset)
            centre_s = (step_start + step_samples / 2) / sample_rate_hz
            phase = 0.5 * (1 - math.cos(2 * math.pi * lfo_rate_hz * centre_s))
            ladder.cutoff_hz = min_cutoff_hz * (max_cutoff_hz / min_cutoff_hz) ** phase
            out[:, offset : offset + count] = ladder(
                source[:, offset : offset + count], sample_rate_hz, reset=position + offset == 0
            )
            offset += count
        position += block.shape[1]
        yield out


def wow_flutter_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    wow_rate_hz: float,
    wow_depth_cents: float,
    flutter_rate_hz: float,
    flutter_depth_cents: float,
) -> Blocks:
    """``effects.wow_flutter`` on a stream: the delay follows the track's sample index and
    reads from the end of the previous block (the delay is a few hundred samples at most)."""
    phase_per_sample = 2 * np.pi / sample_rate_hz
    wow_s = fx.delay_amplitude_s(wow_depth_cents, wow_rate_hz)
    flutter_s = fx.delay_amplitude_s(flutter_depth_cents, flutter_rate_hz)
    keep = math.ceil(2 * (wow_s + flutter_s) * sample_rate_hz) + 2
    history = None
    position = 0
    for block in blocks:
        block = np.ascontiguousarray(block, dtype=np.float32)
        if history is None:
            history = np.zeros((block.shape[0], 0), dtype=np.float32)
        source = np.concatenate([history, block], axis=1)
        base = position - history.shape[1]  # track index of source[:, 0]
        index = np.arange(position, position + block.shape[1])
        delay_samples = sample_rate_hz * (
            wow_s * (1 + np.sin(phase_per_sample * wow_rate_hz * index))
            + flutter_s * (1 + np.sin(phase_per_sample * flutter_rate_hz * index))
        )
        whole = np.floor(delay_samples).astype(np.int64)
        fraction = (delay_samples - whole).astype(np.float32)
        newer = np.maximum(index - whole, 0)
        older = np.maximum(newer - 1, 0)
        yield source[:, newer - base] * (1 - fraction) + source[:, older - base] * fraction
        history = source[:, -keep:]
        position += block.shape[1]


def haas_stream(blocks: Iterable[np.ndarray], sample_rate_hz: int, delay_ms: float) -> Blocks:
    """``effects.haas_widen`` on a stream: the right channel's last samples carry over."""
    lag = round(delay_ms * sample_rate_hz / 1000.0)
    carried = np.zeros(lag, dtype=np.float32)
    for block in blocks:
        widened = np.array(block, dtype=np.float32)
        right = np.concatenate([carried, widened[1]])
        carried = right[right.size - lag :].copy() if lag else carried
        widened[1] = right[: block.shape[1]]
        yield widened


def ping_pong_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    delay_s: float,
    feedback: float = 0.4,
    mix: float = 0.25,
) -> Blocks:
    """``effects.ping_pong_delay`` on a stream: echoes read the mono sum's recent past."""
    delay = round(delay_s * sample_rate_hz)
    echoes = []
    echo, gain = 1, feedback
    while gain > 1e-3:
        echoes.append(((echo - 1) % 2, echo * delay, gain))
        echo += 1
        gain *= feedback
    reach = echoes[-1][1] if echoes else 0
    history = np.zeros(0, dtype=np.float32)
    position = 0
    for block in blocks:
        mono = np.concatenate([history, block.mean(axis=0)])
        n = block.shape[1]
        wet = np.zeros_like(block, dtype=np.float32)
        for side, lag, echo_gain in echoes:
            # wet[n] += g · mono[n − lag] wherever n − lag is inside the track
            first = max(0, lag - position)
            if first >= n:
                continue
            source_start = mono.size - n + first - lag
            wet[side, first:] += echo_gain * mono[source_start : source_start + n - first]
        yield ((1 - mix) * block + mix * wet).astype(np.float32)
        history = mono[max(0, mono.size - reach) :]
        position += n


def tape_delay_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    delay_s: float,
    feedback: float = 0.35,
    mix: float = 0.25,
) -> Blocks:
    """``effects.tape_delay`` on a stream."""
    board = pedalboard.Pedalboard(
        [
            pedalboard.Delay(delay_seconds=delay_s, feedback=feedback, mix=1.0),
            pedalboard.LowpassFilter(cutoff_frequency_hz=3_000),
        ]
    )
    for block in blocks:
        wet = board(np.ascontiguousarray(block, dtype=np.float32), sample_rate_hz, reset=False)
        yield ((1 - mix) * block + mix * fx.tape_saturation(wet, drive_db=3.0)).astype(np.float32)


def sidechain_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    trigger_times_s: np.ndarray,
    depth_db: float,
    attack_ms: float = 5.0,
    release_ms: float = 180.0,
) -> Blocks:
    """``effects.sidechain_duck`` on a stream: each block's gain curve from the kicks near it."""
    attack = max(1, int(attack_ms * sample_rate_hz / 1000))
    release = max(1, int(release_ms * sample_rate_hz / 1000))
    shape = np.concatenate(
        [np.linspace(0, 1, attack, endpoint=False), np.exp(-np.arange(release) / (release / 5))]
    ).astype(np.float32)
    starts = np.array(
        [round(t * sample_rate_hz) - attack for t in np.asarray(trigger_times_s)], dtype=np.int64
    )
    order = np.argsort(starts, kind="stable")
    starts = starts[order]
    position = 0
    for block in blocks:
        n = block.shape[1]
        reduction = np.zeros(n, dtype=np.float32)
        first = int(np.searchsorted(starts, position - len(shape), side="right"))
        last = int(np.searchsorted(starts, position + n, side="left"))
        for start in starts[first:last]:
            lo, hi = max(position, int(start)), min(position + n, int(start) + len(shape))
            if hi > lo:
                np.maximum(
                    reduction[lo - position : hi - position],
                    shape[lo - start : hi - start],
                    out=reduction[lo - position : hi - position],
                )
        gain = (10.0 ** (-depth_db * reduction / 20.0)).astype(np.float32)
        yield np.asarray(block, dtype=np.float32) * gain
        position += n


class ScratchAudio:
    """A raw float32 stereo scratch file, read and written at any sample offset.

    Positional reads and writes (``os.pread``/``os.pwrite``) let two threads fill two halves
    of one file at once. The file is deleted on ``close``.
    """

    def __init__(self, samples: int, channels: int = 2, folder: Path | str | None = None):
        self.samples, self.channels = samples, channels
        handle, name = tempfile.mkstemp(suffix=".f32", dir=folder)
        self.path, self._fd = Path(name), handle
        os.ftruncate(handle, samples * channels * 4)

    def write(self, start: int, block: np.ndarray) -> None:
        os.pwrite(self._fd, memoryview(interleaved(block)).cast("B"), start * self.channels * 4)

    def read(self, start: int, count: int) -> np.ndarray:
        count = max(0, min(count, self.samples - start))
        raw = os.pread(self._fd, count * self.channels * 4, start * self.channels * 4)
        frames = np.frombuffer(raw, dtype=np.float32).reshape(count, self.channels)
        return np.ascontiguousarray(frames.T)

    def blocks(self, start: int = 0, stop: int | None = None, size: int | None = None) -> Blocks:
        stop = self.samples if stop is None else stop
        size = size or BLOCK_SAMPLES
        for position in range(start, stop, size):
            yield self.read(position, min(size, stop - position))

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> ScratchAudio:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def vintage_sampler_stream(
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    sampler_rate_hz: float,
    bit_depth: float,
    samples: int,
    scratch_folder: Path | str | None = None,
) -> Blocks:
    """``effects.vintage_sampler`` on a stream of ``samples`` samples, in two passes.

    The converter's full scale is the peak of the whole held signal (and of its filtered
    playback), so the held signal goes to a scratch file while both peaks are measured; the
    second pass crushes and filters it block by block.
    """
    hold = pedalboard.Resample(
        target_sample_rate=sampler_rate_hz, quality=pedalboard.Resample.Quality.ZeroOrderHold
    )
    sos = fx._reconstruction_sos(sample_rate_hz, sampler_rate_hz)
    with ScratchAudio(samples, folder=scratch_folder) as held:
        full_scale, written = 0.0, 0
        state = None
        for block in fit_length(plugin_stream(hold, blocks, sample_rate_hz), samples):
            held.write(written, block)
            written += block.shape[1]
            full_scale = max(full_scale, fx.peak(block))
            if sos is not None:
                if state is None:
                    state = np.zeros((sos.shape[0], block.shape[0], 2))
                filtered, state = signal.sosfilt(sos, block.astype(np.float64), axis=1, zi=state)
                full_scale = max(full_scale, float(np.max(np.abs(filtered))))
        crushed = (fx.quantize(block, bit_depth, full_scale) for block in held.blocks())
        yield from (crushed if sos is None else sos_stream(crushed, sos))
