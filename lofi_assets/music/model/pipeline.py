"""The three training steps as plain functions over folders (the Dagster assets call these)."""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lofi_assets.errors import ConfigError
from lofi_assets.music.model.corpus import (
    CORPUS_PRESETS,
    Melody,
    gather,
    write_melody_midi,
)
from lofi_assets.music.model.corpus import (
    statistics as corpus_statistics,
)
from lofi_assets.music.model.generate import MODEL_DIR, NGRAMS_FILE, MelodyModel
from lofi_assets.music.model.metrics import melody_metrics, ngram_hashes, summarize
from lofi_assets.music.model.tokens import (
    TOKENIZER_FILE,
    encode_file,
    load_tokenizer,
    train_tokenizer,
)
from lofi_assets.music.model.train import TrainingReport, loss_curve_png, preset, train_model
from lofi_assets.storage import write_bytes_atomic, write_json_atomic

MELODIES_FILE, REPORT_FILE, LOSS_FILE = "melodies.json", "report.json", "loss.png"


def build_corpus(folder: Path, preset_name: str) -> dict:
    """MIDI files under train/ and validation/, every melody in melodies.json, n-gram hashes."""
    if preset_name not in CORPUS_PRESETS:
        raise ConfigError(f"Unknown corpus preset {preset_name!r}: use {', '.join(CORPUS_PRESETS)}")
    melodies = gather(CORPUS_PRESETS[preset_name])
    for melody in melodies:
        write_melody_midi(melody, folder / melody.split / f"{melody.name.replace('/', '__')}.mid")
    write_json_atomic(
        folder / MELODIES_FILE,
        [
            {
                "name": m.name,
                "source": m.source,
                "mode": m.mode,
                "split": m.split,
                "notes": [list(n) for n in m.notes],
            }
            for m in melodies
        ],
    )
    hashes = np.unique(np.concatenate([ngram_hashes(m.notes) for m in melodies]))
    np.save(folder / NGRAMS_FILE, hashes)
    return corpus_statistics(melodies)


def read_melodies(folder: Path) -> list[Melody]:
    document = json.loads((folder / MELODIES_FILE).read_text(encoding="utf-8"))
    return [
        Melody(d["name"], d["source"], tuple(tuple(n) for n in d["notes"]), d["mode"])
        for d in document
    ]


def build_tokenizer(corpus: Path, out: Path, preset_name: str):
    files = sorted((corpus / "train").glob("*.mid"))
    if not files:
        raise ConfigError(f"No training MIDI files under {corpus / 'train'}")
    return train_tokenizer(files, preset(preset_name).vocab_size, out)


@dataclass(frozen=True)
class SamplingReport:
    """What ``sample_report`` found: how many 8-bar melodies were ``sampled`` and ``decoded``
    (``decode_rate`` = decoded / sampled, to 4 places), the sampling speed in tokens per
    second, and each metric's ``{"mean", "sd"}`` (``metrics.summarize``; empty when there is
    no melody) for the model's, the held-out corpus's and the engine's melodies, with the
    corpus's pitch-class entropy band (mean ± 2 sd, bits)."""

    sampled: int
    decoded: int
    decode_rate: float
    tokens_per_s: float
    model: dict[str, dict[str, float]]
    held_out_corpus: dict[str, dict[str, float]]
    engine: dict[str, dict[str, float]]
    corpus_entropy_band: tuple[float, float]

    def to_document(self) -> dict:
        """The ``samples`` part of the model's report.json."""
        return asdict(self)


@dataclass(frozen=True)
class ModelOutcome:
    report: TrainingReport
    samples: SamplingReport


def build_model(
    corpus: Path, tokenizer_path: Path, folder: Path, preset_name: str, log
) -> ModelOutcome:
    """Train into ``folder`` (model/, tokenizer.json, corpus n-grams, report, loss curve)."""
    tokenizer = load_tokenizer(tokenizer_path)
    pieces = {"train": [], "validation": []}
    for split in pieces:
        for path in sorted((corpus / split).glob("*.mid")):
            pieces[split].append(encode_file(tokenizer, path))
    special = {
        "PAD": tokenizer.pad_token_id,
        "BOS": tokenizer["BOS_None"],
        "EOS": tokenizer["EOS_None"],
    }
    report = train_model(
        pieces["train"],
        pieces["validation"] or pieces["train"][-1:],
        len(tokenizer),
        special,
        preset_name,
        folder / MODEL_DIR,
        log=log,
    )
    tokenizer.save(folder / TOKENIZER_FILE)
    (folder / NGRAMS_FILE).write_bytes((corpus / NGRAMS_FILE).read_bytes())
    write_bytes_atomic(folder / LOSS_FILE, loss_curve_png(report.curve))
    samples = sample_report(
        folder, read_melodies(corpus), count=8 if preset_name == "smoke" else 40
    )
    write_json_atomic(
        folder / REPORT_FILE, {"training": report.to_document(), "samples": samples.to_document()}
    )
    return ModelOutcome(report, samples)


def sample_melodies(model: MelodyModel, count: int, bars: int = 8) -> tuple[list, float]:
    """``count`` melodies of ``bars`` bars (majors and minors alternating; ones that fail to
    decode are left out) and the sampling speed in tokens per second."""
    import time

    melodies, tokens, seconds = [], 0, 0.0
    for index in range(count):
        model.tokens_sampled = 0
        started = time.perf_counter()
        try:
            notes = model.sample_melody(bars, minor=index % 2 == 1, seed=index)
        except Exception:
            notes = []
        seconds += time.perf_counter() - started
        tokens += model.tokens_sampled
        if notes:
            melodies.append(notes)
    return melodies, tokens / seconds if seconds else 0.0


def sample_report(model_folder: Path, corpus: list[Melody], count: int) -> SamplingReport:
    """Sample ``count`` 8-bar melodies; the same metrics for them, held-out corpus and engine."""
    model = MelodyModel(model_folder)
    # Originality here is measured against the training split only, so held-out corpus
    # melodies can be compared with engine and model ones on equal terms.
    hashes = np.unique(
        np.concatenate([ngram_hashes(m.notes) for m in corpus if m.split == "train"])
    )
    melodies, tokens_per_s = sample_melodies(model, count)
    decoded = len(melodies)
    rows = [melody_metrics(notes, hashes) for notes in melodies]
    held_out = [m for m in corpus if m.split == "validation" and m.source != "engine"]
    engine = [m for m in corpus if m.source == "engine"]
    corpus_rows = [melody_metrics(m.notes, hashes) for m in held_out]
    entropy = [r["pitch_class_entropy"] for r in corpus_rows] or [0.0]
    return SamplingReport(
        sampled=count,
        decoded=decoded,
        decode_rate=round(decoded / max(1, count), 4),
        tokens_per_s=round(tokens_per_s, 1),
        model=summarize(rows),
        held_out_corpus=summarize(corpus_rows),
        engine=summarize(melody_metrics(m.notes, hashes) for m in engine),
        corpus_entropy_band=(
            round(statistics.fmean(entropy) - 2 * statistics.pstdev(entropy), 3),
            round(statistics.fmean(entropy) + 2 * statistics.pstdev(entropy), 3),
        ),
    )
