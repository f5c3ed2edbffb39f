"""How long one sketch takes to compose and write, against a baseline from the same run.

Baseline: mido parsing and re-serialising the very file we wrote (pure MIDI I/O of the same
notes), so the ratio says how much the composition itself costs on this machine.

    .venv/bin/python bench/sketch_speed.py [--seeds 5]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

import mido

from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.midi_io import midi_bytes
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.styles import style_names

BUDGET_S = 1.0  # issue 2: one sketch in under a second


def _timed(function) -> tuple[float, object]:
    start = time.perf_counter()
    value = function()
    return time.perf_counter() - start, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    args = parser.parse_args()
    compose_sketch(SketchRequest(seed=0))  # load presets and warm imports outside the timing
    sketch_times, baseline_times = [], []
    for style in style_names():
        for seed in range(args.seeds):
            request = SketchRequest(seed=seed, style=style)
            elapsed, payload = _timed(lambda r=request: midi_bytes(compose_sketch(r)))
            sketch_times.append(elapsed)

            def round_trip(data=payload):
                buffer = io.BytesIO()
                mido.MidiFile(file=io.BytesIO(data)).save(file=buffer)
                return buffer.getvalue()

            baseline_times.append(_timed(round_trip)[0])
    mean_s = statistics.mean(sketch_times)
    worst_s = max(sketch_times)
    baseline_s = statistics.mean(baseline_times)
    print(f"sketches measured:        {len(sketch_times)} ({len(style_names())} styles)")
    print(f"compose + MIDI, mean:     {mean_s * 1000:8.1f} ms")
    print(f"compose + MIDI, worst:    {worst_s * 1000:8.1f} ms")
    print(f"baseline mido round trip: {baseline_s * 1000:8.1f} ms")
    print(f"ratio to baseline:        {mean_s / baseline_s:8.2f}x")
    print(f"worst / 1 s budget:       {worst_s / BUDGET_S:8.2f}")


if __name__ == "__main__":
    main()
