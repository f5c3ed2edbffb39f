"""The weekly long-form mix at its longest (3 hours): peak memory and time of its audio path.

Joins ``--copies`` (60: three hours) copies of a 3-minute stereo master with 6 s crossfades and
measures the result as ``weekly_mix`` does (integrated loudness, longest gap, the loudness step
around every crossfade), in a fresh process whose peak RSS must stay within the 1.5 GB budget
(issue 16: memory must not grow with length). Run with ``--copies 20`` too: the peak should be
the same for one hour and three. Baseline from the same run: copying the files byte for byte.

    .venv/bin/python bench/weekly_mix.py [--copies 60]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from memory import peak_rss_mb

MEMORY_BUDGET_MB = 1_536
CROSSFADE_S = 6.0


def weekly_audio_path(master: Path, copies: int, out: Path) -> dict:
    from lofi_assets.audio.measure import integrated_lufs_of_file
    from lofi_assets.audio.release_mix import (
        MixTrack,
        crossfade_loudness_steps_lu,
        join_tracks,
        longest_gap_s,
    )

    start = time.perf_counter()
    tracks = [MixTrack(master, f"Track {i + 1}", CROSSFADE_S) for i in range(copies)]
    mix = join_tracks(tracks, out)
    joined_s = time.perf_counter() - start
    integrated_lufs_of_file(mix.path)
    longest_gap_s(mix.path)
    for start_s in mix.crossfade_starts_s:
        crossfade_loudness_steps_lu(mix.path, [start_s], CROSSFADE_S)
    return {
        "join_s": joined_s,
        "elapsed_s": time.perf_counter() - start,
        "duration_s": mix.duration_s,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=60)
    parser.add_argument("--run", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        print(json.dumps(weekly_audio_path(Path(args.run[0]), args.copies, Path(args.run[1]))))
        return

    import soundfile

    folder = Path(tempfile.mkdtemp())
    master = folder / "master.wav"
    rng = np.random.default_rng(0)
    audio = (rng.standard_normal((180 * 44_100, 2)) * 0.2).astype(np.float32)
    soundfile.write(str(master), audio, 44_100, subtype="PCM_24")
    del audio
    start = time.perf_counter()
    for _ in range(args.copies):
        shutil.copyfile(master, folder / "copy.wav")
    baseline_s = time.perf_counter() - start

    result = subprocess.run(
        [sys.executable, __file__, "--copies", str(args.copies), "--run", str(master),
         str(folder / "mix.wav")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    measured = json.loads(result.stdout)
    print(f"weekly mix: {args.copies} tracks, {measured['duration_s'] / 3600:.2f} hours")
    print(f"join:                      {measured['join_s']:7.1f} s")
    print(f"join + loudness/gaps/steps {measured['elapsed_s']:7.1f} s  "
          f"{measured['duration_s'] / measured['elapsed_s']:5.0f}x realtime")  # fmt: skip
    print(f"baseline file copy:        {baseline_s:7.1f} s  "
          f"join = {measured['join_s'] / baseline_s:.1f}x baseline")  # fmt: skip
    print(f"peak memory: {measured['peak_rss_mb']:.0f} MB (budget {MEMORY_BUDGET_MB} MB)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
