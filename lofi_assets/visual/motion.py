"""Animated artwork: a seamless loop of gentle motion, drawn with moviepy and repeated by ffmpeg.

Every movement here is periodic in ``LOOP_S``: the slow zoom and pan follow one sine period, each
raindrop falls a whole number of times through the frame, dust motes sway on sines whose
periods divide the loop. So the last frame flows into the first and ffmpeg can repeat the loop
for an hour of video by stream copy (``-stream_loop``) instead of drawing and encoding every
frame again. The loop is one closed GOP run without B-frames, so each repeat starts on a
keyframe and the copied stream keeps clean timestamps.
"""

from __future__ import annotations

import math
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import proglog
from moviepy import VideoClip
from PIL import Image, ImageDraw

from lofi_assets.storage import atomic_path
from lofi_assets.visual.video import (
    AUDIO_BITRATE,
    AUDIO_RATE_HZ,
    FPS,
    Progress,
    VideoError,
    run_ffmpeg,
    tool,
)

LOOP_S = 24.0  # one period of every motion; a multiple of the 2-second GOP
ZOOM_DEPTH = 0.06  # the frame breathes between 100 % and 106 %
OVERLAYS = ("rain", "dust")


@dataclass(frozen=True)
class Particles:
    """Per-particle constants; positions at time t are pure functions of them (so they loop)."""

    x: np.ndarray  # 0..1 of the width
    y: np.ndarray  # 0..1 of the height
    laps: np.ndarray  # whole trips per loop (rain) or whole sway periods per loop (dust)
    size: np.ndarray  # drop length or mote radius, in pixels
    alpha: np.ndarray  # 0..255
    phase: np.ndarray  # radians


def make_particles(overlay: str, size: tuple[int, int], seed: int) -> Particles:
    if overlay not in OVERLAYS:
        raise VideoError(f"Unknown overlay {overlay!r}: use one of {', '.join(OVERLAYS)}")
    rng = np.random.default_rng(seed)
    width, height = size
    scale = math.sqrt(width * height / (1280 * 720))
    if overlay == "rain":
        count = int(260 * scale)
        laps = rng.integers(24, 44, count)  # ≈ 0.55–1 s to cross the frame: light rain
        length = rng.uniform(14, 34, count) * height / 720
        alpha = rng.uniform(60, 130, count)
    else:
        count = int(70 * scale)
        laps = rng.integers(1, 3, count)
        length = rng.uniform(1.2, 3.2, count) * height / 720
        alpha = rng.uniform(60, 150, count)
    return Particles(
        x=rng.uniform(0, 1, count),
        y=rng.uniform(0, 1, count),
        laps=laps.astype(np.float64),
        size=length,
        alpha=alpha,
        phase=rng.uniform(0, 2 * math.pi, count),
    )


def _zoomed(artwork: Image.Image, t: float) -> Image.Image:
    """Slow zoom in and out with a sideways drift, both one sine period per loop."""
    width, height = artwork.size
    phase = 2 * math.pi * t / LOOP_S
    zoom = 1 + ZOOM_DEPTH * (1 - math.cos(phase)) / 2
    spare_x, spare_y = width * (1 - 1 / zoom), height * (1 - 1 / zoom)
    left = spare_x * (0.5 + 0.45 * math.sin(phase))
    top = spare_y * (0.5 + 0.3 * math.sin(phase + math.pi / 3))
    return artwork.transform(
        artwork.size,
        Image.Transform.AFFINE,
        (1 / zoom, 0, left, 0, 1 / zoom, top),
        resample=Image.Resampling.BILINEAR,
    )


def _draw_particles(frame: Image.Image, overlay: str, particles: Particles, t: float) -> None:
    width, height = frame.size
    draw = ImageDraw.Draw(frame, "RGBA")
    progress = t / LOOP_S
    if overlay == "rain":
        span = height + 2 * particles.size.max()
        ys = np.mod(particles.y + particles.laps * progress, 1.0) * span - particles.size
        xs = particles.x * width - 0.18 * ys  # slanted by the wind, still a function of y
        thickness = max(2, width // 640)
        for x, y, length, alpha in zip(xs, ys, particles.size, particles.alpha, strict=True):
            draw.line(
                [(x, y), (x - 0.18 * length, y + length)],
                fill=(225, 232, 245, int(alpha)),
                width=thickness,
            )
        return
    sway = 2 * math.pi * particles.laps * progress + particles.phase
    xs = particles.x * width + 0.03 * width * np.sin(sway)
    ys = particles.y * height + 0.02 * height * np.sin(sway * 2 + 1.0)
    twinkle = particles.alpha * (0.65 + 0.35 * np.cos(sway))
    for x, y, radius, alpha in zip(xs, ys, particles.size, twinkle, strict=True):
        draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius], fill=(255, 240, 210, int(alpha))
        )


def animated_frame(
    artwork: Image.Image, overlay: str, particles: Particles, t: float
) -> np.ndarray:
    """The frame at ``t`` seconds (any t: the motion repeats every LOOP_S)."""
    frame = _zoomed(artwork, t % LOOP_S)
    _draw_particles(frame, overlay, particles, t % LOOP_S)
    return np.asarray(frame)


class _FrameProgress(proglog.ProgressBarLogger):
    """moviepy's frame counter as fractions of the loop."""

    def __init__(self, progress: Progress):
        super().__init__()
        self.progress = progress

    def bars_callback(self, bar, attr, value, old_value=None) -> None:
        total = self.bars[bar].get("total")
        if attr == "index" and total:
            self.progress(min(1.0, (value + 1) / total))


def render_loop(
    image: Path,
    out: Path,
    size: tuple[int, int],
    overlay: str,
    seed: int,
    preset: str = "medium",
    progress: Progress | None = None,
) -> Path:
    """Draw LOOP_S seconds of motion over ``image`` (scaled to ``size``) into an H.264 MP4."""
    with Image.open(image) as source:
        artwork = source.convert("RGB").resize(size, Image.Resampling.LANCZOS)
    particles = make_particles(overlay, size, seed)
    clip = VideoClip(
        lambda t: animated_frame(artwork, overlay, particles, t), duration=LOOP_S
    ).with_fps(FPS)
    with atomic_path(out) as temporary:
        clip.write_videofile(
            str(temporary),
            codec="libx264",
            preset=preset,
            audio=False,
            logger=_FrameProgress(progress) if progress else None,
            threads=2,
            ffmpeg_params=[
                "-profile:v", "high", "-pix_fmt", "yuv420p", "-crf", "26",
                "-g", str(FPS * 2), "-keyint_min", str(FPS * 2), "-sc_threshold", "0",
                "-flags", "+cgop", "-bf", "0", "-f", "mp4",
            ],
        )  # fmt: skip
    return out


def looped_command(loop: Path, audio: Path, out: Path, duration_s: float) -> list[str]:
    """Repeat the loop's video by stream copy under the encoded audio, cut at exactly ``-t``."""
    return [
        tool("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error",
        "-stream_loop", "-1", "-i", str(loop), "-i", str(audio),
        "-map", "0:v", "-map", "1:a", "-c:v", "copy",
        "-c:a", "aac", "-profile:a", "aac_low", "-b:a", AUDIO_BITRATE,
        "-ar", str(AUDIO_RATE_HZ), "-ac", "2",
        "-t", f"{duration_s:.3f}", "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip


def encode_animated(
    image: Path,
    audio: Path,
    out: Path,
    duration_s: float,
    size: tuple[int, int],
    overlay: str,
    seed: int,
    progress: Progress | None = None,
) -> Path:
    """The artwork in gentle motion over ``audio``, written atomically.

    ``progress`` sees the loop's drawing as the first half and the muxing as the second (on
    two cores they take about as long as each other for a 9-minute mix).
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    first = (lambda done: progress(done / 2)) if progress else None
    second = (lambda done: progress(0.5 + done / 2)) if progress else None
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".loop.") as scratch:
        loop = render_loop(image, Path(scratch) / "loop.mp4", size, overlay, seed, progress=first)
        return run_ffmpeg(looped_command(loop, audio, out, duration_s), out, duration_s, second)
