"""Realtime factors of the audio path on a 3-minute track, with a baseline from the same run.

Phases: render (FluidSynth, every part, one core), chain (stem effects, ambience and vinyl on
one core, then the bus on two), master (loudness + true-peak limiting), and the whole
sketch→master path as production runs it (stems in parallel), in a fresh process so its peak
memory is its own.
Baseline: writing the finished master as a 24-bit WAV and reading it back (the I/O floor).

    .venv/bin/python bench/audio.py [--seconds 180] [--seed 11] [--style jazz]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from memory import peak_rss_mb

TARGET_REALTIME = 20.0
MEMORY_BUDGET_MB = 1_536


def whole_path(seconds: float, seed: int, style: str) -> dict:
    from lofi_assets.audio.memory import reuse_freed_memory

    reuse_freed_memory()
    from lofi_assets.audio.production import (
        ProductionSettings,
        production_inputs,
        render_master_file,
    )
    from lofi_assets.audio.soundfont import resolve_soundfont
    from lofi_assets.music.arrangement import compose_sketch
    from lofi_assets.music.plan import SketchRequest
    from lofi_assets.music.sketch_files import write_sketch_files
    from lofi_assets.music.styles import get_style

    start = time.perf_counter()
    sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=seconds))
    with tempfile.TemporaryDirectory() as folder:
        files = write_sketch_files(sketch, Path(folder))
        plan = files.plan
        settings = ProductionSettings.from_overrides(get_style(style).production)
        # As `lofi render` and the pipeline: streamed to a 24-bit master file.
        stats = render_master_file(
            production_inputs(files.summary, plan),
            settings,
            resolve_soundfont(),
            Path(folder) / "master.wav",
        )
    elapsed = time.perf_counter() - start
    return {
        "elapsed_s": elapsed,
        "audio_s": stats.samples / 44_100,
        "peak_rss_mb": peak_rss_mb(),
    }


def phases(seconds: float, seed: int, style: str) -> None:
    from lofi_assets.audio import SAMPLE_RATE_HZ
    from lofi_assets.audio.memory import reuse_freed_memory

    reuse_freed_memory()
    from lofi_assets.audio import effects as fx
    from lofi_assets.audio.ambience import synthesize_ambience
    from lofi_assets.audio.production import (
        RENDER_TAIL_S,
        ProductionSettings,
        _stem_chains,
        master,
        mix_bus,
        production_inputs,
    )
    from lofi_assets.audio.render import render_part
    from lofi_assets.audio.soundfont import resolve_soundfont
    from lofi_assets.audio.wav import read_wav, write_wav
    from lofi_assets.music.arrangement import compose_sketch
    from lofi_assets.music.plan import SketchRequest
    from lofi_assets.music.sketch_files import write_sketch_files
    from lofi_assets.music.styles import get_style

    sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=seconds))
    folder = Path(tempfile.mkdtemp())
    files = write_sketch_files(sketch, folder)
    plan = files.plan
    inputs = production_inputs(files.summary, plan)
    settings = ProductionSettings.from_overrides(get_style(style).production)
    soundfont = resolve_soundfont()
    length_s = inputs.duration_s + RENDER_TAIL_S
    audio_s = length_s

    start = time.perf_counter()
    rendered = {
        name: render_part(part.notes, part.program, part.is_drums, soundfont, length_s)
        for name, part in inputs.parts.items()
    }
    render_s = time.perf_counter() - start

    start = time.perf_counter()
    chains = _stem_chains(inputs, settings, SAMPLE_RATE_HZ)
    mix = sum(chains[name](audio) for name, audio in rendered.items())
    samples = mix.shape[1]
    mix = mix + synthesize_ambience(inputs.ambience, 1, samples, SAMPLE_RATE_HZ) * 0.1
    mix = mix + fx.vinyl_hiss(samples, SAMPLE_RATE_HZ, __import__("numpy").random.default_rng(1))
    bus = mix_bus(mix, settings, SAMPLE_RATE_HZ)
    chain_s = time.perf_counter() - start

    start = time.perf_counter()
    mastered = master(bus, SAMPLE_RATE_HZ)
    master_s = time.perf_counter() - start

    start = time.perf_counter()
    write_wav(folder / "baseline.wav", mastered, SAMPLE_RATE_HZ)
    read_wav(folder / "baseline.wav")
    baseline_s = time.perf_counter() - start

    result = subprocess.run(
        [sys.executable, __file__, "--whole", "--seconds", str(seconds), "--seed", str(seed), "--style", style],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    whole = json.loads(result.stdout)

    print(f"track: {style} seed {seed}, {audio_s:.1f} s of audio")
    for name, elapsed in (
        ("render (1 core)", render_s),
        ("chain + bus", chain_s),
        ("master", master_s),
    ):
        print(f"{name:<24} {elapsed:6.2f} s  {audio_s / elapsed:6.1f}x realtime")
    print(
        f"{'whole sketch→master':<24} {whole['elapsed_s']:6.2f} s  "
        f"{whole['audio_s'] / whole['elapsed_s']:6.1f}x realtime (target {TARGET_REALTIME:.0f}x)"
    )
    print(
        f"{'baseline WAV write+read':<24} {baseline_s:6.2f} s  whole path = {whole['elapsed_s'] / baseline_s:.1f}x baseline"
    )
    print(f"peak memory, whole path: {whole['peak_rss_mb']:.0f} MB (budget {MEMORY_BUDGET_MB} MB)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--style", default="jazz")
    parser.add_argument("--whole", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.whole:
        print(json.dumps(whole_path(args.seconds, args.seed, args.style)))
    else:
        phases(args.seconds, args.seed, args.style)


if __name__ == "__main__":
    main()
