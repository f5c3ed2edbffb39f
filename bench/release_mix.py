"""A 1-hour release mix: join time, realtime factor and peak memory (streaming must keep it flat).

Renders one 3-minute master, then joins 20 copies (one hour) with 6 s crossfades in a fresh
process. Baseline from the same run: copying the same 20 files byte for byte (the I/O floor).

    .venv/bin/python bench/release_mix.py [--copies 20]
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

sys.path.insert(0, str(Path(__file__).parent))
from memory import peak_rss_mb

MEMORY_BUDGET_MB = 1_536


def join(master: Path, copies: int, out: Path) -> dict:
    from lofi_assets.audio.release_mix import MixTrack, join_tracks

    start = time.perf_counter()
    mix = join_tracks([MixTrack(master, f"Track {i + 1}", 6.0) for i in range(copies)], out)
    return {
        "elapsed_s": time.perf_counter() - start,
        "duration_s": mix.duration_s,
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--join", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.join:
        print(json.dumps(join(Path(args.join[0]), args.copies, Path(args.join[1]))))
        return

    from lofi_assets.audio import SAMPLE_RATE_HZ
    from lofi_assets.audio.memory import reuse_freed_memory
    from lofi_assets.audio.production import ProductionSettings, produce_master, production_inputs
    from lofi_assets.audio.soundfont import resolve_soundfont
    from lofi_assets.audio.wav import write_wav
    from lofi_assets.music.arrangement import compose_sketch
    from lofi_assets.music.plan import SketchRequest
    from lofi_assets.music.sketch_files import write_sketch_files

    reuse_freed_memory()
    folder = Path(tempfile.mkdtemp())
    sketch = compose_sketch(SketchRequest(seed=3, style="study", duration_s=180))
    files = write_sketch_files(sketch, folder)
    mastered = produce_master(
        production_inputs(files.summary, files.plan),
        ProductionSettings(),
        resolve_soundfont(),
    )
    master = write_wav(folder / "master.wav", mastered, SAMPLE_RATE_HZ)
    del mastered

    start = time.perf_counter()
    for index in range(args.copies):
        shutil.copyfile(master, folder / f"copy{index}.wav")
    baseline_s = time.perf_counter() - start

    result = subprocess.run(
        [sys.executable, __file__, "--copies", str(args.copies), "--join", str(master), str(folder / "mix.wav")],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    joined = json.loads(result.stdout)
    print(f"mix: {args.copies} tracks, {joined['duration_s'] / 60:.1f} minutes")
    print(f"join (stream, crossfade, write): {joined['elapsed_s']:6.2f} s  "
          f"{joined['duration_s'] / joined['elapsed_s']:6.0f}x realtime")  # fmt: skip
    print(
        f"baseline file copy:              {baseline_s:6.2f} s  join = {joined['elapsed_s'] / baseline_s:.1f}x baseline"
    )
    print(f"peak memory of the join: {joined['peak_rss_mb']:.0f} MB (budget {MEMORY_BUDGET_MB} MB)")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
