"""Video encodes: static mode vs bare ffmpeg, the animated mode's realtime factor, mix memory.

Encodes the day's artwork over a mix (a synthetic one of --seconds when none is given), first
through lofi_assets.visual.video.encode_static (atomic write included), then the same ffmpeg
command line run directly, in the same run (target ratio ≤ 1.2); then the animated mode (the
moviepy loop and its stream-copied repeat) over the same mix. Unless --skip-mix, it ends with
bench/release_mix.py: the peak RSS of joining a 1-hour release mix (budget 1.5 GB).
Unless --skip-weekly, it then times the weekly long-form video (issue 16): ``--weekly-seconds``
(an hour) of animated 720p video over a synthetic mix written in blocks, as ``weekly_video``
encodes it, against the same run's bare ffmpeg AAC encode of that audio alone (the floor: the
looped picture is stream-copied, so the audio encode is what an hour costs); target ≤ 300 s.

    .venv/bin/python bench/video.py [--seconds 540] [--mix data/release_mix/2026-11-27/mix.wav]
        [--skip-mix] [--skip-weekly] [--weekly-seconds 3600]
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
    parser.add_argument("--skip-weekly", action="store_true", help="skip the weekly video run")
    parser.add_argument("--weekly-seconds", type=float, default=3600.0)
    parser.add_argument("--weekly-only", action="store_true", help="only the weekly video run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    image = folder / "thumbnail.jpg"
    image.write_bytes(fitted_jpeg(draw_artwork(THUMBNAIL_SIZE, "jazz", 1, "A").image))
    if args.weekly_only:
        weekly_video(image, folder, args.weekly_seconds)
        return
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
    if not args.skip_weekly:
        weekly_video(image, folder, args.weekly_seconds)


WEEKLY_TARGET_S = 300.0  # issue 16: a 1-hour weekly video in ≤ 5 minutes on 2 cores


def _noise_mix(path: Path, seconds: float, rate_hz: int = 44_100) -> Path:
    """A stereo 24-bit WAV of quiet noise, written a minute at a time (an hour of float32 in
    memory would be 1.3 GB)."""
    import soundfile

    rng = np.random.default_rng(0)
    with soundfile.SoundFile(
        str(path), "w", samplerate=rate_hz, channels=2, subtype="PCM_24", format="WAV"
    ) as out:
        left = int(seconds * rate_hz)
        while left > 0:
            frames = min(left, 60 * rate_hz)
            out.write((rng.standard_normal((frames, 2)) * 0.05).astype(np.float32))
            left -= frames
    return path


def weekly_video(image: Path, folder: Path, seconds: float) -> None:
    """The weekly long-form video as weekly_video makes it, and the audio-only floor."""
    import resource

    from lofi_assets.visual.video import AUDIO_BITRATE, AUDIO_RATE_HZ, tool

    mix = _noise_mix(folder / "weekly_mix.wav", seconds)
    start = time.perf_counter()
    subprocess.run(
        [tool("ffmpeg"), "-hide_banner", "-nostdin", "-y", "-loglevel", "error", "-i", str(mix),
         "-c:a", "aac", "-profile:a", "aac_low", "-b:a", AUDIO_BITRATE, "-ar", str(AUDIO_RATE_HZ),
         "-ac", "2", "-f", "mp4", str(folder / "audio_only.mp4")],
        check=True,
    )  # fmt: skip
    floor_s = time.perf_counter() - start
    start = time.perf_counter()
    out = encode_animated(image, mix, folder / "weekly.mp4", seconds, SIZES["720p"], "rain", 1)
    weekly_s = time.perf_counter() - start
    facts = probe(out)
    drift_s = abs(facts.video_duration_s - facts.audio_duration_s)
    children_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"weekly video: {seconds / 60:.0f} min at 720p, {out.stat().st_size / 1e6:.0f} MB")
    print(f"weekly video (animated, looped by stream copy): {weekly_s:6.1f} s  "
          f"(target ≤ {WEEKLY_TARGET_S:.0f} s, {seconds / weekly_s:.0f}x realtime)")  # fmt: skip
    print(f"baseline: AAC encode of the audio alone:        {floor_s:6.1f} s  "
          f"ratio weekly / audio-only {weekly_s / floor_s:.2f}")  # fmt: skip
    print(f"video/audio drift {drift_s:.3f} s; peak RSS of ffmpeg {children_mb:.0f} MB")


if __name__ == "__main__":
    main()
