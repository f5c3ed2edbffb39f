"""The day's masters joined into one continuous mix with equal-power crossfades.

Everything streams: tracks are read and the mix written in blocks, and only the crossfade
region (at most 8 s) is ever held, so memory stays flat however long the mix gets.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

from lofi_assets.audio.measure import SILENCE_FRAME_S, integrated_lufs_of_file, short_term_lufs
from lofi_assets.audio.wav import AudioFileError, wav_file
from lofi_assets.errors import ConfigError
from lofi_assets.storage import atomic_path

BLOCK_FRAMES = 1 << 16
CROSSFADE_RANGE_S = (4.0, 8.0)
GAP_THRESHOLD_DBFS = -50.0


@dataclass(frozen=True)
class MixTrack:
    path: Path
    title: str
    crossfade_in_s: float  # overlap with the previous track (ignored for the first)


@dataclass(frozen=True)
class Chapter:
    start_s: float
    title: str


@dataclass(frozen=True)
class ReleaseMix:
    path: Path
    sample_rate_hz: int
    duration_s: float
    chapters: tuple[Chapter, ...]
    crossfade_starts_s: tuple[float, ...]  # where each crossfade begins in the mix


def _open(track: MixTrack) -> soundfile.SoundFile:
    handle = wav_file(track.path)  # refuses a master cut short, naming both lengths
    if handle.channels != 2 or handle.frames == 0:
        handle.close()
        raise AudioFileError(f"{track.path} must be a non-empty stereo master")
    return handle


def _blocks(handle: soundfile.SoundFile, frames: int) -> Iterator[np.ndarray]:
    """(2, n) float32 blocks covering the next ``frames`` frames of ``handle``."""
    remaining = frames
    while remaining > 0:
        block = handle.read(min(BLOCK_FRAMES, remaining), dtype="float32", always_2d=True)
        if block.shape[0] == 0:
            break
        remaining -= block.shape[0]
        yield np.ascontiguousarray(block.T)


def join_tracks(tracks: Sequence[MixTrack], out_path: Path) -> ReleaseMix:
    """Write the tracks as one 24-bit WAV, each crossfading into the next (equal power).

    Raises:
        ConfigError: no tracks, or a crossfade outside ``CROSSFADE_RANGE_S``.
        AudioFileError: a master is missing, unreadable, not stereo, at another rate or
            shorter than its crossfades; ``TruncatedWavError`` when it is cut short.
        DiskFullError: the mix does not fit where it goes (checked before writing).
    """
    if not tracks:
        raise ConfigError("A release mix needs at least one mastered track")
    for track in tracks[1:]:
        if not CROSSFADE_RANGE_S[0] <= track.crossfade_in_s <= CROSSFADE_RANGE_S[1]:
            raise ConfigError(f"Crossfades must be {CROSSFADE_RANGE_S[0]}–{CROSSFADE_RANGE_S[1]} s")
    handles = [_open(track) for track in tracks]
    try:
        rate = handles[0].samplerate
        if any(handle.samplerate != rate for handle in handles):
            raise AudioFileError("The masters differ in sample rate: re-master them at one rate")
        fades = [0] + [round(track.crossfade_in_s * rate) for track in tracks[1:]]
        for index, handle in enumerate(handles):
            outgoing = fades[index + 1] if index + 1 < len(handles) else 0
            if fades[index] + outgoing >= handle.frames:
                raise AudioFileError(f"{tracks[index].path} is shorter than its crossfades")
        chapters, crossfade_starts, written = [], [], 0
        total_frames = sum(handle.frames for handle in handles) - sum(fades)
        with (
            atomic_path(out_path) as temporary,
            wav_file(
                temporary,
                "w",
                expected_frames=total_frames,
                samplerate=rate,
                channels=2,
                subtype="PCM_24",
                format="WAV",
            ) as out,
        ):
            tail = np.zeros((2, 0), dtype=np.float32)
            for index, (track, handle) in enumerate(zip(tracks, handles, strict=True)):
                fade = fades[index]
                chapters.append(Chapter(round(written / rate, 3), track.title))
                if fade:
                    crossfade_starts.append(written / rate)
                    head = np.concatenate(list(_blocks(handle, fade)), axis=1)
                    theta = np.linspace(0.0, math.pi / 2, fade, dtype=np.float32)
                    out.write((tail * np.cos(theta) + head * np.sin(theta)).T)
                    written += fade
                outgoing = fades[index + 1] if index + 1 < len(tracks) else 0
                for block in _blocks(handle, handle.frames - fade - outgoing):
                    out.write(block.T)
                    written += block.shape[1]
                tail = (
                    np.concatenate(list(_blocks(handle, outgoing)), axis=1)
                    if outgoing
                    else np.zeros((2, 0), dtype=np.float32)
                )
    finally:
        for handle in handles:
            handle.close()
    return ReleaseMix(
        path=Path(out_path),
        sample_rate_hz=rate,
        duration_s=written / rate,
        chapters=tuple(chapters),
        crossfade_starts_s=tuple(crossfade_starts),
    )


def longest_gap_s(path: Path, threshold_dbfs: float = GAP_THRESHOLD_DBFS) -> float:
    """Longest run of 50 ms frames below ``threshold_dbfs``, read in blocks."""
    longest = run = 0
    with wav_file(path) as handle:
        frame = int(SILENCE_FRAME_S * handle.samplerate)
        for block in handle.blocks(blocksize=frame * 400, dtype="float32", always_2d=True):
            frames = block.shape[0] // frame
            if frames == 0:
                continue
            power = (
                np.square(block[: frames * frame].astype(np.float64))
                .reshape(frames, -1)
                .mean(axis=1)
            )
            for quiet in 10 * np.log10(np.maximum(power, 1e-20)) < threshold_dbfs:
                run = run + 1 if quiet else 0
                longest = max(longest, run)
    return longest * SILENCE_FRAME_S


def crossfade_loudness_steps_lu(
    path: Path, crossfade_starts_s: Sequence[float], crossfade_s: float
) -> list[float]:
    """Largest step between consecutive short-term loudness values (3 s windows, 1 s apart)
    around each crossfade: how abruptly the level changes as one track hands over."""
    steps = []
    with wav_file(path) as handle:
        rate = handle.samplerate
        for start_s in crossfade_starts_s:
            begin = max(0, int((start_s - 6.0) * rate))
            handle.seek(begin)
            window = handle.read(
                int((crossfade_s + 12.0) * rate), dtype="float32", always_2d=True
            ).T
            loudness = short_term_lufs(np.ascontiguousarray(window), rate, hop_s=1.0)
            steps.append(float(np.max(np.abs(np.diff(loudness)))) if loudness.size > 1 else 0.0)
    return steps


@dataclass(frozen=True)
class MixMeasurements:
    """What the mix checks judge: integrated loudness (LUFS), the longest stretch below
    ``GAP_THRESHOLD_DBFS`` (s), and the largest short-term loudness step (LU) around each
    crossfade, one per crossfade in mix order."""

    integrated_lufs: float
    longest_gap_s: float
    crossfade_steps_lu: list[float]


def measure_mix(mix: ReleaseMix, tracks: Sequence[MixTrack]) -> MixMeasurements:
    """Measure a mix ``join_tracks`` made of ``tracks`` (the same sequence, in order): each
    crossfade is judged over its own track's ``crossfade_in_s``. Raises ``AudioFileError``
    if the mix file cannot be read."""
    return MixMeasurements(
        integrated_lufs=integrated_lufs_of_file(mix.path),
        longest_gap_s=longest_gap_s(mix.path),
        crossfade_steps_lu=[
            crossfade_loudness_steps_lu(mix.path, [start], track.crossfade_in_s)[0]
            for start, track in zip(mix.crossfade_starts_s, tracks[1:], strict=True)
        ],
    )
