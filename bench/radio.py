"""The 24/7 radio against a local nginx-rtmp ingest: encoder CPU, memory over time, the audio
gap at track changes and the reconnect time after an ingest restart.

- CPU: the radio's encoder (720p30 by default, looped artwork with motion, the now-playing
  overlay, x264 CBR) as a share of one core, against a baseline measured in the same run: the
  same x264 settings on ffmpeg's plain colour source with the same PCM audio (no motion, no
  overlay), so the ratio is what the radio's picture costs.
- Memory: RSS of this process (the feed and supervisor) and of the encoder, sampled each
  minute; growth = last − first sample (target ≤ 50 MB over an hour).
- Gap: the longest run of 50 ms frames under −50 dBFS in the feed across track changes
  (target 0 ms), read straight from the feed.
- Reconnect: the ingest is stopped, started again 5 s later; the time from its return to
  the encoder's first progress report (target ≤ 10 s).

    .venv/bin/python bench/radio.py [--seconds 300] [--size 1280x720] [--fps 30]
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import soundfile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lofi_assets.audio.radio_feed import RadioFeed, RadioTrack
from lofi_assets.publish.radio import RadioSettings, RadioStreamer
from lofi_assets_tests.test_radio import RtmpServer

RATE_HZ = 44_100
TARGET_CPU_PERCENT, TARGET_GROWTH_MB, TARGET_RECONNECT_S = 35.0, 50.0, 10.0


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def rss_mb(pid: int | str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def tracks(folder: Path, count: int = 4, seconds: float = 40.0) -> list[RadioTrack]:
    out = []
    for index in range(count):
        t = np.arange(int(seconds * RATE_HZ)) / RATE_HZ
        tone = (0.2 * np.sin(2 * math.pi * (220 + 110 * index) * t)).astype(np.float32)
        path = folder / f"t{index}.wav"
        soundfile.write(path, np.stack([tone, tone], 1), RATE_HZ, subtype="FLOAT")
        out.append(RadioTrack(path, f"Track {index + 1}"))
    return out


def longest_gap_ms(feed: RadioFeed, seconds: float) -> float:
    frame = int(0.05 * RATE_HZ)
    longest = run = 0
    for _ in range(int(seconds / 0.05)):
        block = feed.read(frame)
        quiet = 10 * np.log10(max(float(np.mean(block.astype(np.float64) ** 2)), 1e-20)) < -50
        run = run + 1 if quiet else 0
        longest = max(longest, run)
    return longest * 50.0


def baseline_cpu_percent(size: tuple[int, int], fps: int, kbps: int, seconds: float) -> float:
    """The same x264/AAC settings on a plain colour source, real-time paced, to a null muxer."""
    width, height = size
    argv = [
        "ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", f"color=c=0x403060:s={width}x{height}:r={fps}",
        "-re", "-f", "lavfi", "-i", f"sine=f=220:r={RATE_HZ}", "-t", str(seconds),
        "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-pix_fmt", "yuv420p",
        "-g", str(2 * fps), "-keyint_min", str(2 * fps), "-sc_threshold", "0",
        "-b:v", f"{kbps}k", "-minrate", f"{kbps}k", "-maxrate", f"{kbps}k", "-bufsize", f"{2 * kbps}k",
        "-x264-params", "nal-hrd=cbr", "-c:a", "aac", "-b:a", "160k", "-f", "null", "-",
    ]  # fmt: skip
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # children already waited for
    start = time.monotonic()
    subprocess.run(argv, check=True)
    elapsed = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return 100 * used_s / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--video-kbps", type=int, default=3000)
    args = parser.parse_args()
    width, height = (int(part) for part in args.size.split("x"))
    folder = Path(tempfile.mkdtemp(prefix="bench-radio-"))
    playlist = tracks(folder)

    gap_ms = longest_gap_ms(RadioFeed(playlist, 4.0), 4 * 36.0 + 10)
    print(f"audio gap at track changes: {gap_ms:.0f} ms (target 0 ms)")

    server = RtmpServer(folder / "nginx")
    server.start()
    settings = RadioSettings(
        rtmp_url=server.url, stream_key="bench", work_dir=folder / "radio", width_px=width,
        height_px=height, fps=args.fps, video_bitrate_kbps=args.video_kbps,
    )  # fmt: skip
    streamer = RadioStreamer(RadioFeed(playlist, 4.0), settings)
    thread = threading.Thread(target=streamer.run, kwargs={"duration_s": args.seconds + 30})
    thread.start()
    while streamer.status.state != "up":
        time.sleep(0.1)
    time.sleep(5)  # past x264's start-up
    pid = streamer.status.encoder_pid
    samples = [(time.monotonic(), rss_mb(), rss_mb(pid))]
    start_ticks, start = cpu_ticks(pid), time.monotonic()
    while time.monotonic() - start < args.seconds:
        time.sleep(min(60.0, args.seconds - (time.monotonic() - start)))
        samples.append((time.monotonic(), rss_mb(), rss_mb(pid)))
    cpu_percent = 100 * (cpu_ticks(pid) - start_ticks) / 100 / (time.monotonic() - start)

    server.stop()
    time.sleep(5)
    server.start()
    back_at = time.time()
    while not (streamer.status.state == "up" and (streamer.status.up_since or 0) >= back_at - 1):
        time.sleep(0.05)
    reconnect_s = streamer.status.up_since - back_at
    streamer.stop()
    thread.join()
    server.stop()

    baseline = baseline_cpu_percent(
        (width, height), args.fps, args.video_kbps, min(60, args.seconds)
    )
    growth_py = samples[-1][1] - samples[0][1]
    growth_enc = samples[-1][2] - samples[0][2]
    print(f"encoder CPU at {width}x{height}@{args.fps}: {cpu_percent:.1f} % of one core "
          f"(target ≤ {TARGET_CPU_PERCENT:.0f} %); baseline (colour source, same x264): "
          f"{baseline:.1f} %, radio = {cpu_percent / baseline:.2f}x baseline")  # fmt: skip
    print(f"memory over {args.seconds / 60:.0f} min: streamer {samples[0][1]:.0f} → "
          f"{samples[-1][1]:.0f} MB ({growth_py:+.1f}), encoder {samples[0][2]:.0f} → "
          f"{samples[-1][2]:.0f} MB ({growth_enc:+.1f}); target growth ≤ {TARGET_GROWTH_MB:.0f} MB")  # fmt: skip
    print(
        f"reconnect after the ingest's return: {reconnect_s:.1f} s (target ≤ {TARGET_RECONNECT_S:.0f} s)"
    )
    print(json.dumps({"gap_ms": gap_ms, "cpu_percent": round(cpu_percent, 1),
                      "baseline_cpu_percent": round(baseline, 1), "growth_mb": round(growth_py + growth_enc, 1),
                      "reconnect_s": round(reconnect_s, 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
