"""WAV files in and out: atomic writes, and reads that refuse what the chain cannot use."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile

from lofi_assets.errors import LofiError
from lofi_assets.storage import atomic_path


class AudioFileError(LofiError):
    """A WAV that is missing, corrupt, empty, mono or at the wrong rate."""


def write_wav(
    path: Path | str, audio: np.ndarray, sample_rate_hz: int, subtype: str = "PCM_24"
) -> Path:
    """Write (channels, samples) audio atomically; 24-bit PCM unless told otherwise."""
    target = Path(path)
    with atomic_path(target) as temporary:
        soundfile.write(
            str(temporary),
            np.ascontiguousarray(audio.T),
            sample_rate_hz,
            subtype=subtype,
            format="WAV",
        )
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
