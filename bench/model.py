"""The melody model's report: the same metrics on held-out corpus, engine and model melodies.

Trains nothing: it reads a materialized melody_model (default: data/melody_model/current, made
by `dagster asset materialize --select 'group:model'`, or by this script with --train) and
samples --count 8-bar melodies, then prints

* decode rate, sampling speed (tokens/s with the KV cache) and training throughput;
* pitch-class entropy, scale consistency, in-key rate, pitch range, empty-beat rate and
  8-note n-gram originality (against the training split) for (a) held-out corpus melodies,
  (b) engine melodies, (c) model melodies — before the engine's filters (raw) and after
  (fitted to a key and its chords, as midi_sketch writes them);
* the acceptance targets: ≥ 99 % decode, in-key ≥ 0.85, entropy within the corpus mean ± 2 sd.

    .venv/bin/python bench/model.py [--folder data/melody_model/current] [--count 200]
    .venv/bin/python bench/model.py --train default --data /tmp/model   # corpus → model, timed
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from lofi_assets.music.melody import melody_scale
from lofi_assets.music.model.generate import MelodyModel, fit_to_track
from lofi_assets.music.model.metrics import C_MAJOR, melody_metrics, ngram_hashes, summarize
from lofi_assets.music.model.pipeline import (
    build_corpus,
    build_model,
    build_tokenizer,
    sample_melodies,
)
from lofi_assets.music.plan import SketchRequest, resolve_plan
from lofi_assets.music.progressions import harmonic_timeline


def train(preset: str, root: Path) -> Path:
    started = time.perf_counter()
    stats = build_corpus(root / "corpus", preset)
    corpus_s = time.perf_counter() - started
    print(
        f"corpus: {stats['pieces']} melodies, {stats['notes']} notes in {corpus_s:.0f} s",
        flush=True,
    )
    started = time.perf_counter()
    build_tokenizer(root / "corpus", root / "tokenizer.json", preset)
    print(f"tokenizer: {time.perf_counter() - started:.1f} s", flush=True)
    outcome = build_model(root / "corpus", root / "tokenizer.json", root / "model", preset, print)
    report = outcome.report
    print(
        f"training: {report.parameters / 1e6:.2f} M parameters, {report.steps} steps in "
        f"{report.seconds:.0f} s on {report.device} ({report.tokens_per_s:.0f} tokens/s), "
        f"validation perplexity {report.validation_perplexity:.2f}"
    )
    return root / "model"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, default=Path("data/melody_model/current"))
    parser.add_argument("--corpus", type=Path, default=Path("data/melody_corpus/current"))
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--train", choices=["smoke", "default", "gpu"])
    parser.add_argument("--data", type=Path, default=Path("/tmp/lofi_model_bench"))
    args = parser.parse_args()
    folder = train(args.train, args.data) if args.train else args.folder
    if not (folder / "model").is_dir():
        sys.exit(f"No trained model in {folder}: materialize melody_model or pass --train")
    report = json.loads((folder / "report.json").read_text())["training"]
    model = MelodyModel(folder)
    corpus_folder = args.data / "corpus" if args.train else args.corpus
    corpus = json.loads((corpus_folder / "melodies.json").read_text())
    train_hashes = np.unique(np.concatenate(
        [ngram_hashes([tuple(n) for n in m["notes"]]) for m in corpus if m["split"] == "train"]
    ))  # fmt: skip
    held_out = [
        [tuple(n) for n in m["notes"]]
        for m in corpus
        if m["split"] == "validation" and m["source"] != "engine"
    ]
    engine = [[tuple(n) for n in m["notes"]] for m in corpus if m["source"] == "engine"]

    plan = resolve_plan(SketchRequest(seed=11, style="study", tonic="D", mode="dorian"))
    timeline = harmonic_timeline(list(plan.sections), plan.progressions, plan.key)
    scale = melody_scale(plan.key, plan.style)
    melodies, tokens_per_s = sample_melodies(model, args.count)
    decoded = len(melodies)
    raw_rows = [melody_metrics(notes, train_hashes, C_MAJOR) for notes in melodies]
    fitted_rows = [
        melody_metrics(
            fit_to_track(notes, plan.key, plan.style, timeline, 0.0), train_hashes, scale
        )
        for notes in melodies
    ]
    table = {
        "held-out corpus": summarize(melody_metrics(m, train_hashes) for m in held_out),
        "engine": summarize(melody_metrics(m, train_hashes) for m in engine),
        "model (raw)": summarize(raw_rows),
        "model (fitted)": summarize(fitted_rows),
    }
    names = list(next(iter(table.values())))
    print(f"\n{'metric':22}" + "".join(f"{k:>22}" for k in table))
    for name in names:
        cells = "".join(
            f"{table[k][name]['mean']:>13.3f} ± {table[k][name]['sd']:<6.3f}" for k in table
        )
        print(f"{name:22}{cells}")
    entropies = [melody_metrics(m, train_hashes)["pitch_class_entropy"] for m in held_out]  # 8 bars
    low = statistics.fmean(entropies) - 2 * statistics.pstdev(entropies)
    high = statistics.fmean(entropies) + 2 * statistics.pstdev(entropies)
    model_entropy = table["model (fitted)"]["pitch_class_entropy"]["mean"]
    print(f"\ndecoded: {decoded}/{args.count} ({decoded / args.count:.1%}, target ≥ 99 %)")
    print(
        f"in-key rate (fitted): {table['model (fitted)']['in_key_rate']['mean']:.3f} (target ≥ 0.85)"
    )
    print(f"pitch-class entropy (fitted): {model_entropy:.2f} (corpus band {low:.2f} … {high:.2f})")
    print(f"sampling: {tokens_per_s:.0f} tokens/s with the KV cache (target ≥ 200)")
    print(f"training: {report['tokens_per_s']:.0f} tokens/s on {report['device']}, "
          f"{report['seconds']:.0f} s, validation perplexity {report['validation_perplexity']:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
