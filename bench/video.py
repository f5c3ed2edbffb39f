"""Static-mode video encode: our pipeline vs the bare ffmpeg command with the same settings.

Encodes the day's artwork over a mix (a synthetic one of --seconds when none is given), first
through lofi_assets.visual.video.encode_static (atomic write included), then the same ffmpeg
command line run directly, in the same run. Target ratio: ≤ 1.2.

    .venv/bin/python bench/video.py [--seconds 540] [--mix data/release_mix/2026-11-27/mix.wav]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lofi_assets.audio.wav import write_wav
from lofi_assets.visual.thumbnail import THUMBNAIL_SIZE, draw_artwork, fitted_jpeg
from lofi_assets.visual.video import encode_static, probe, static_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=540.0)
    parser.add_argument("--mix", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    image = folder / "thumbnail.jpg"
    image.write_bytes(fitted_jpeg(draw_artwork(THUMBNAIL_SIZE, "jazz", 1, "A").image))
    if args.mix:
        mix, seconds = args.mix, None
    else:
        rng = np.random.default_rng(0)
        mix = write_wav(
            folder / "mix.wav",
            (rng.standard_normal((2, int(args.seconds * 44_100))) * 0.05).astype(np.float32),
            44_100,
        )
        seconds = args.seconds
    if seconds is None:
        import soundfile

        seconds = soundfile.info(str(mix)).duration

    start = time.perf_counter()
    ours = encode_static(image, mix, folder / "ours.mp4", seconds)
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run(static_command(image, mix, folder / "bare.mp4", seconds, "720p"), check=True)
    bare_s = time.perf_counter() - start
    facts = probe(ours)
    print(
        f"video: {seconds / 60:.1f} min, {facts.width}×{facts.height}, {facts.video_profile} {facts.pixel_format}"
    )
    print(f"static mode (ours):  {ours_s:6.1f} s  {seconds / ours_s:5.1f}x realtime")
    print(f"bare ffmpeg:         {bare_s:6.1f} s  {seconds / bare_s:5.1f}x realtime")
    print(f"ratio ours / bare:   {ours_s / bare_s:6.2f} (target ≤ 1.2)")
    print("animated mode (moviepy): not built yet")


if __name__ == "__main__":
    main()
