"""WAV files in and out: atomic writes, and reads that refuse what the chain cannot use."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile

from lofi_assets.audio.parallel import step_threads
from lofi_assets.audio.streaming import interleaved
from lofi_assets.errors import LofiError
from lofi_assets.storage import atomic_path

# libsndfile's sndfile.h: whether float files get a PEAK chunk.
_SFC_SET_ADD_PEAK_CHUNK = 0x1050


def wav_file(path: Path | str, mode: str = "r", **kwargs) -> soundfile.SoundFile:
    """``soundfile.SoundFile(path, mode, **kwargs)``, writing no PEAK chunk.

    libsndfile adds a PEAK chunk to float WAVs that is stamped with the time of writing, so
    the same stem written twice would differ in its bytes — and in every SHA-256 the lineage
    records and the re-render tests compare. soundfile has no switch for it; the library's
    own command is sent before anything is written.
    """
    handle = soundfile.SoundFile(str(path), mode, **kwargs)
    if mode != "r":
        soundfile._snd.sf_command(handle._file, _SFC_SET_ADD_PEAK_CHUNK, soundfile._ffi.NULL, 0)
    return handle


class AudioFileError(LofiError):
    """A WAV that is missing, corrupt, empty, mono or at the wrong rate."""


# Word lengths of the PCM subtypes the project writes; anything else (FLOAT, DOUBLE) is
# written as is.
PCM_BITS = {"PCM_16": 16, "PCM_24": 24}
WRITE_BLOCK_FRAMES = 1 << 18  # about 6 s: dither and conversion never copy a whole track
STEM_SUBTYPE = "FLOAT"  # stems peak above full scale: 32-bit float keeps them unclipped


def tpdf_quantize(audio: np.ndarray, bits: int, rng: np.random.Generator) -> np.ndarray:
    """float ``(channels, samples)`` in ±1 → the nearest ``bits``-bit PCM codes, after adding
    triangular (TPDF) dither of ±1 LSB, the standard for a word-length reduction: the
    rounding error becomes a constant, signal-independent noise floor (0.5 LSB RMS: -144 dBFS
    at 24 bits, -96 dBFS at 16) instead of distortion that follows the music.

    Returns int64 codes in [-2^(bits-1), 2^(bits-1) - 1] (full-scale peaks saturate).
    """
    scale = float(2 ** (bits - 1))
    noise = rng.random(audio.shape) - rng.random(audio.shape)
    codes = np.round(np.asarray(audio, dtype=np.float64) * scale + noise)
    return np.clip(codes, -scale, scale - 1).astype(np.int64)


def write_wav(
    path: Path | str,
    audio: np.ndarray,
    sample_rate_hz: int,
    subtype: str = "PCM_24",
    dither_seed: int = 0,
) -> Path:
    """Write float ``(channels, samples)`` audio atomically; 24-bit PCM unless told otherwise.

    PCM subtypes (``PCM_BITS``) are TPDF-dithered (``tpdf_quantize``) from generators seeded
    with ``dither_seed`` (one per block, see ``write_wav_blocks``), so the same audio always
    writes the same bytes; float subtypes
    (``STEM_SUBTYPE`` for stems) keep every sample as it is, above full scale included.
    Written in blocks, so no copy of the whole track is made.
    """
    blocks = (
        audio[:, start : start + WRITE_BLOCK_FRAMES]
        for start in range(0, audio.shape[1], WRITE_BLOCK_FRAMES)
    )
    return write_wav_blocks(path, blocks, sample_rate_hz, subtype, dither_seed, audio.shape[0])


def write_wav_blocks(
    path: Path | str,
    blocks: Iterable[np.ndarray],
    sample_rate_hz: int,
    subtype: str = "PCM_24",
    dither_seed: int = 0,
    channels: int = 2,
) -> Path:
    """``write_wav`` of a stream of float ``(channels, n)`` blocks (memory stays a few blocks).

    Each block's dither comes from its own generator (``dither_seed`` and the block's index),
    so blocks are quantized side by side on ``step_threads()`` threads and the same blocks
    always write the same bytes.
    """
    target = Path(path)
    bits = PCM_BITS.get(subtype)

    def encoded(index: int, block: np.ndarray) -> np.ndarray:
        if bits is None:
            return interleaved(block)
        # libsndfile keeps the top 16 or 24 bits of an int16/int32 sample: exact codes.
        codes = tpdf_quantize(block, bits, np.random.default_rng([dither_seed, index]))
        if bits == 16:
            return interleaved(codes, np.int16)
        codes <<= 32 - bits
        return interleaved(codes, np.int32)

    with (
        atomic_path(target) as temporary,
        wav_file(
            temporary,
            "w",
            samplerate=sample_rate_hz,
            channels=channels,
            subtype=subtype,
            format="WAV",
        ) as handle,
        ThreadPoolExecutor(max_workers=min(2, step_threads())) as pool,
    ):
        in_flight: deque[Future] = deque()
        for index, block in enumerate(blocks):
            in_flight.append(pool.submit(encoded, index, block))
            if len(in_flight) > 2:  # at most three blocks in memory
                handle.write(in_flight.popleft().result())
        while in_flight:
            handle.write(in_flight.popleft().result())
    return target


def read_wav(path: Path | str, expected_rate_hz: int | None = None) -> tuple[np.ndarray, int]:
    """Read a stereo WAV as float32 (2, samples); raise AudioFileError with the fix otherwise."""
    path = Path(path)
    if not path.is_file():
        raise AudioFileError(f"{path} does not exist: materialize the upstream asset first")
    try:
        frames, sample_rate_hz = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (soundfile.LibsndfileError, RuntimeError, ValueError) as error:
        raise AudioFileError(
            f"{path} is not a readable WAV file ({error}): re-materialize it"
        ) from error
    if frames.shape[0] == 0:
        raise AudioFileError(f"{path} has no samples: re-render it")
    if frames.shape[1] != 2:
        raise AudioFileError(
            f"{path} has {frames.shape[1]} channel(s); the chain needs stereo stems"
        )
    if expected_rate_hz is not None and sample_rate_hz != expected_rate_hz:
        raise AudioFileError(f"{path} is {sample_rate_hz} Hz; expected {expected_rate_hz} Hz")
    return np.ascontiguousarray(frames.T), sample_rate_hz


def write_faded_excerpt(
    source: Path | str,
    out: Path | str,
    start_s: float,
    seconds: float,
    fade_in_s: float = 0.5,
    fade_out_s: float = 2.0,
) -> Path:
    """Copy ``seconds`` of ``source`` from ``start_s`` (clamped to the file) with short fades.

    Only the excerpt is read, so a one-hour mix costs no more than a 30-second one.
    """
    source = Path(source)
    try:
        info = soundfile.info(str(source))
    except (soundfile.LibsndfileError, RuntimeError) as error:
        raise AudioFileError(f"{source} is not a readable WAV file ({error})") from error
    rate = info.samplerate
    length = min(round(seconds * rate), info.frames)
    start = max(0, min(round(start_s * rate), info.frames - length))
    frames, _ = soundfile.read(
        str(source), start=start, frames=length, dtype="float32", always_2d=True
    )
    audio = np.ascontiguousarray(frames.T)
    fade_in = min(round(fade_in_s * rate), length // 2)
    fade_out = min(round(fade_out_s * rate), length // 2)
    audio[:, :fade_in] *= np.sin(np.linspace(0, np.pi / 2, fade_in, dtype=np.float32)) ** 2
    if fade_out:
        audio[:, -fade_out:] *= np.cos(np.linspace(0, np.pi / 2, fade_out, dtype=np.float32)) ** 2
    return write_wav(out, audio, rate)
