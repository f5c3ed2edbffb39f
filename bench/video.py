"""Video encodes: static mode vs bare ffmpeg, the animated mode's realtime factor, mix memory.

Encodes the day's artwork over a mix (a synthetic one of --seconds when none is given), first
through lofi_assets.visual.video.encode_static (atomic write included), then the same ffmpeg
command line run directly, in the same run (target ratio ≤ 1.2); then the animated mode (the
moviepy loop and its stream-copied repeat) over the same mix. Unless --skip-mix, it ends with
bench/release_mix.py: the peak RSS of joining a 1-hour release mix (budget 1.5 GB).

    .venv/bin/python bench/video.py [--seconds 540] [--mix data/release_mix/2026-11-27/mix.wav]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from lofi_assets.audio.wav import write_wav
from lofi_assets.visual.motion import encode_animated
from lofi_assets.visual.thumbnail import THUMBNAIL_SIZE, draw_artwork, fitted_jpeg
from lofi_assets.visual.video import SIZES, encode_static, probe, static_command


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=540.0)
    parser.add_argument("--mix", type=Path)
    parser.add_argument("--skip-mix", action="store_true", help="skip the 1-hour mix memory run")
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
    subprocess.run(
        static_command(image, mix, folder / "bare.mp4", seconds, SIZES["720p"]), check=True
    )
    bare_s = time.perf_counter() - start
    facts = probe(ours)
    print(
        f"video: {seconds / 60:.1f} min, {facts.width}×{facts.height}, {facts.video_profile} {facts.pixel_format}"
    )
    print(f"static mode (ours):  {ours_s:6.1f} s  {seconds / ours_s:5.1f}x realtime")
    print(f"bare ffmpeg:         {bare_s:6.1f} s  {seconds / bare_s:5.1f}x realtime")
    print(f"ratio ours / bare:   {ours_s / bare_s:6.2f} (target ≤ 1.2)")
    start = time.perf_counter()
    animated = encode_animated(
        image, mix, folder / "animated.mp4", seconds, SIZES["720p"], "rain", 1
    )
    animated_s = time.perf_counter() - start
    animated_mb = animated.stat().st_size / 1e6
    print(
        f"animated mode:       {animated_s:6.1f} s  {seconds / animated_s:5.1f}x realtime"
        f"  ({animated_mb:.0f} MB, {animated_mb * 8 / seconds:.1f} Mbit/s)"
    )
    if not args.skip_mix:
        print("1-hour release mix (bench/release_mix.py):", flush=True)
        subprocess.run(
            [sys.executable, str(Path(__file__).with_name("release_mix.py"))], check=True
        )


if __name__ == "__main__":
    main()
