"""The release video: the day's artwork over the mix, encoded for YouTube with ffmpeg.

Static mode drives ffmpeg directly: one picture looped by the ``loop`` filter, x264 tuned for
still images, a closed GOP, AAC-LC at 48 kHz, ``+faststart``, and an exact ``-t`` (``-shortest``
overshoots by up to a GOP). ``probe()`` reads the result back with ffprobe for the checks.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lofi_assets.errors import LofiError
from lofi_assets.storage import atomic_path

FPS = 12  # frame times every 83 ms: the video ends within 0.1 s of the audio
AUDIO_RATE_HZ = 48_000
AUDIO_BITRATE = "192k"
SIZES = {"720p": (1280, 720), "1080p": (1920, 1080)}
SHORTS_SIZE = (1080, 1920)  # vertical, for YouTube Shorts, Reels and TikTok


class VideoError(LofiError):
    """ffmpeg is missing or could not encode the video."""


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
            raise VideoError(f"ffmpeg could not encode {out.name}: {errors.read().strip()[-500:]}")
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


def probe(path: Path) -> VideoFacts:
    result = subprocess.run(
        [tool("ffprobe"), "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        raise VideoError(f"ffprobe could not read {path}: {result.stderr.strip()}")
    streams = json.loads(result.stdout)["streams"]
    video = next(s for s in streams if s["codec_type"] == "video")
    audio = next(s for s in streams if s["codec_type"] == "audio")
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
