"""The release video: the day's artwork over the mix, encoded for YouTube with ffmpeg.

Static mode drives ffmpeg directly: one picture looped by the ``loop`` filter, x264 tuned for
still images, a closed GOP, AAC-LC at 48 kHz, ``+faststart``, and an exact ``-t`` (``-shortest``
overshoots by up to a GOP). ``probe()`` reads the result back with ffprobe for the checks,
after ``verify_mp4_length`` has compared the file with its own box sizes: ffprobe reads the
stream durations from the ``moov`` box, which a ``+faststart`` file keeps at the front, so a
copy cut short in its media data still probes as the whole video.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lofi_assets.errors import LofiError
from lofi_assets.storage import DiskFullError, TruncatedMediaError, atomic_path, free_bytes

FPS = 12  # frame times every 83 ms: the video ends within 0.1 s of the audio
AUDIO_RATE_HZ = 48_000
AUDIO_BITRATE = "192k"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080), "360p": (640, 360)}  # 360p: tests, previews
SHORTS_SIZE = (1080, 1920)  # vertical, for YouTube Shorts, Reels and TikTok


class VideoError(LofiError):
    """ffmpeg is missing or could not encode the video."""


class TruncatedVideoError(VideoError, TruncatedMediaError):
    """An MP4 whose boxes declare more bytes than the file holds, or that has no ``moov``."""


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise VideoError(f"{name} not found: install ffmpeg (apt-get install ffmpeg)")
    return path


def size_of(resolution: str) -> tuple[int, int]:
    if resolution not in SIZES:
        raise VideoError(f"Unknown resolution {resolution!r}: use one of {', '.join(SIZES)}")
    return SIZES[resolution]


def static_command(
    image: Path, audio: Path, out: Path, duration_s: float, size: tuple[int, int]
) -> list[str]:
    width, height = size
    return [
        tool("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-framerate", str(FPS), "-i", str(image), "-i", str(audio),
        "-filter_complex",
        f"[0:v]loop=loop=-1:size=1:start=0,scale={width}:{height}:flags=lanczos,"
        f"setsar=1,fps={FPS},format=yuv420p[v]",
        "-map", "[v]", "-map", "1:a",
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "stillimage", "-profile:v", "high",
        "-pix_fmt", "yuv420p", "-g", str(FPS * 2), "-flags", "+cgop",
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", AUDIO_BITRATE,
        "-ar", str(AUDIO_RATE_HZ), "-ac", "2",
        "-t", f"{duration_s:.3f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


Progress = Callable[[float], None]  # called with the fraction done, 0.0–1.0


def run_ffmpeg(
    command: list[str], out: Path, duration_s: float | None = None, progress: Progress | None = None
) -> Path:
    """Run an ffmpeg command line whose last argument is the output path, atomically.

    With ``progress`` and ``duration_s``, ffmpeg's machine-readable ``-progress`` report
    (``out_time_us`` lines, about twice a second) is turned into fractions of ``duration_s``.

    Raises:
        VideoError: ffmpeg failed; its own message is quoted.
    """
    with atomic_path(out) as temporary, tempfile.TemporaryFile("w+") as errors:
        argv = [*command[:-1], "-progress", "pipe:1", "-nostats", str(temporary)]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=errors, text=True) as process:
            for line in process.stdout:
                key, _, value = line.strip().partition("=")
                if progress and duration_s and key == "out_time_us" and value.isdigit():
                    progress(min(1.0, int(value) / 1e6 / duration_s))
        if process.returncode != 0:
            errors.seek(0)
            message = errors.read().strip()
            if os.strerror(errno.ENOSPC) in message or free_bytes(temporary) == 0:
                written = temporary.stat().st_size if temporary.exists() else 0
                raise DiskFullError(out, written, exact=False)
            raise VideoError(f"ffmpeg could not encode {out.name}: {message[-500:]}")
    return out


def encode_static(
    image: Path,
    audio: Path,
    out: Path,
    duration_s: float,
    size: tuple[int, int] = SIZES["720p"],
    progress: Progress | None = None,
) -> Path:
    """Write the MP4 atomically; raise VideoError with ffmpeg's own message on failure."""
    command = static_command(image, audio, out, duration_s, size)
    return run_ffmpeg(command, out, duration_s, progress)


@dataclass(frozen=True)
class VideoFacts:
    video_codec: str
    video_profile: str
    pixel_format: str
    width: int
    height: int
    video_duration_s: float
    audio_codec: str
    audio_profile: str
    audio_rate_hz: int
    audio_channels: int
    audio_duration_s: float
    faststart: bool  # the moov atom comes before the media data


def _moov_first(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(1 << 20)
    moov, mdat = head.find(b"moov"), head.find(b"mdat")
    return moov != -1 and (mdat == -1 or moov < mdat)


def verify_mp4_length(path: Path) -> None:
    """Refuse an MP4 that holds less than its top-level boxes declare, or has no ``moov``.

    Every top-level box starts with its size (ISO/IEC 14496-12 §4.2: 32-bit, 1 = a 64-bit
    size follows the type, 0 = to the end of the file); the sizes must add up to the file.

    Raises:
        TruncatedVideoError: naming the box cut short, its declared and present bytes.
    """
    file_bytes = path.stat().st_size
    offset, boxes = 0, []
    with path.open("rb") as handle:
        while offset + 8 <= file_bytes:
            handle.seek(offset)
            header = handle.read(16)
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1:
                size = int.from_bytes(header[8:16], "big")
            elif size == 0:
                size = file_bytes - offset
            if size < 8:
                raise TruncatedVideoError(
                    path, f"a box of at least 8 bytes at byte {offset:,}", f"{size} bytes"
                )
            boxes.append(kind)
            if offset + size > file_bytes:
                raise TruncatedVideoError(
                    path,
                    f"a {kind.decode('latin-1')!r} box of {size:,} bytes at byte {offset:,}",
                    f"{file_bytes - offset:,} bytes of it",
                )
            offset += size
    if b"moov" not in boxes:  # the index ffmpeg writes last (or first, with +faststart)
        raise TruncatedVideoError(path, "a 'moov' box (the stream index)", "none")


def probe(path: Path) -> VideoFacts:
    """What the video checks read, from ffprobe, after ``verify_mp4_length``.

    Raises:
        TruncatedVideoError: the file is cut short (see ``verify_mp4_length``).
        VideoError: ffprobe cannot read it, or it lacks a video or an audio stream.
    """
    if not path.is_file():
        raise VideoError(f"{path} does not exist: materialize the video first")
    verify_mp4_length(path)
    result = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise VideoError(f"ffprobe could not read {path}: {result.stderr.strip()}")
    streams = json.loads(result.stdout)["streams"]
    video = next((s for s in streams if s["codec_type"] == "video"), None)
    audio = next((s for s in streams if s["codec_type"] == "audio"), None)
    if video is None or audio is None:
        raise VideoError(f"{path} lacks a video or an audio stream: re-encode it")
    return VideoFacts(
        video_codec=video["codec_name"],
        video_profile=video.get("profile", ""),
        pixel_format=video.get("pix_fmt", ""),
        width=int(video["width"]),
        height=int(video["height"]),
        video_duration_s=float(video["duration"]),
        audio_codec=audio["codec_name"],
        audio_profile=audio.get("profile", ""),
        audio_rate_hz=int(audio["sample_rate"]),
        audio_channels=int(audio["channels"]),
        audio_duration_s=float(audio["duration"]),
        faststart=_moov_first(path),
    )
