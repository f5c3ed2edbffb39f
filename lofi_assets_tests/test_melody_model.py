"""The melody model end to end with the smoke preset: corpus, tokenizer, GPT-2, sketches."""

import hashlib
import json

import dagster as dg
import pytest
import torch

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.model import melody_corpus, melody_model, midi_tokenizer
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.music.melody import melody_scale
from lofi_assets.music.model.corpus import normalized
from lofi_assets.music.model.generate import MelodyModel, fit_to_track, hold_prompt_tonic
from lofi_assets.music.model.metrics import (
    in_key_rate,
    melody_metrics,
    ngram_hashes,
    originality_rate,
)
from lofi_assets.music.plan import SketchRequest, resolve_plan
from lofi_assets.music.progressions import harmonic_timeline
from lofi_assets_tests.conftest import make_resources

SMOKE = {"config": {"preset": "smoke"}}
RUN_CONFIG = {"ops": {name: SMOKE for name in ("melody_corpus", "midi_tokenizer", "melody_model")}}
MODEL_ASSETS = [melody_corpus, midi_tokenizer, melody_model]

pytestmark = pytest.mark.xdist_group("melody_model")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """The three model assets materialized with the smoke preset into one data root."""
    data = tmp_path_factory.mktemp("model") / "data"
    resources = make_resources(data)
    with dg.instance_for_test() as instance:
        result = dg.materialize(
            MODEL_ASSETS, resources=resources, instance=instance, run_config=RUN_CONFIG
        )
        yield {"data": data, "resources": resources, "instance": instance, "result": result}


def test_the_three_model_assets_materialize_with_the_smoke_preset(trained):
    result = trained["result"]
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    events = {
        e.materialization.asset_key.path[-1]: e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert events["melody_corpus"]["pieces"].value > 50
    assert set(events["melody_corpus"]["by_split"].value) == {"train", "validation"}
    assert events["midi_tokenizer"]["vocab_size"].value == 300
    metadata = events["melody_model"]
    assert metadata["validation_perplexity"].value > 1.0
    assert metadata["loss_curve"].value.startswith("![loss curve](data:image/png")
    assert metadata["sampling_tokens_per_s"].value > 0
    folder = trained["data"] / "melody_model" / "current"
    assert sorted(p.name for p in folder.iterdir()) == [
        "corpus_ngrams.npy", "loss.png", "model", "report.json", "tokenizer.json"
    ]  # fmt: skip


def test_corpus_split_is_by_piece_and_melodies_are_normalized(trained):
    document = json.loads(
        (trained["data"] / "melody_corpus" / "current" / "melodies.json").read_text()
    )
    train = {m["name"] for m in document if m["split"] == "train"}
    validation = {m["name"] for m in document if m["split"] == "validation"}
    assert train and validation and not train & validation
    assert {m["source"] for m in document} >= {"oneills1850", "engine"}
    files = trained["data"] / "melody_corpus" / "current"
    assert len(list((files / "train").glob("*.mid"))) == len(train)
    # a tune in D major becomes a tune in C major, in the melody register
    melody = normalized("t", "test", [(62 + i % 5, i * 0.5, 0.5) for i in range(16)], 2, False)
    pitches = [p for p, _, _ in melody.notes]
    assert {p % 12 for p in pitches} == {0, 1, 2, 3, 4}  # D..F# moved down to C..E
    assert min(pitches) >= 60 and max(pitches) <= 84


def test_sampled_melodies_decode_and_fit_the_key(trained):
    model = MelodyModel(trained["data"] / "melody_model" / "current")
    decoded = 0
    for seed in range(10):
        notes = model.sample_melody(bars=4, minor=seed % 2 == 1, seed=seed)
        decoded += bool(notes)
    assert decoded >= 9
    plan = resolve_plan(SketchRequest(seed=3, style="study", tonic="F#", mode="minor"))
    timeline = harmonic_timeline(list(plan.sections), plan.progressions, plan.key)
    raw = model.sample_melody(bars=4, minor=True, seed=1)
    fitted = fit_to_track(raw, plan.key, plan.style, timeline, 16.0)
    assert in_key_rate(fitted, melody_scale(plan.key, plan.style)) == 1.0
    assert all(start >= 16.0 for _, start, _ in fitted)
    assert model.sample_melody(4, True, 1) == raw  # same seed, same melody


def test_the_kv_sampler_computes_the_libraries_logits(trained):
    """Our cached forward pass is GPT2LMHeadModel's arithmetic, whole or token by token."""
    model = MelodyModel(trained["data"] / "melody_model" / "current")
    ids = model._prompt(False) + model.sample_tokens(False, seed=5, max_new_tokens=60)
    with torch.no_grad():
        expected = model.model(torch.tensor([ids])).logits[0]
    whole, _ = model.sampler.logits(ids, None)
    pieces, cache = model.sampler.logits(ids[:10], None)
    rows = [pieces]
    for start in range(10, len(ids), 7):  # several tokens at a time, then one at a time
        step = 7 if start < 40 else 1
        for first in range(start, min(start + 7, len(ids)), step):
            logits, cache = model.sampler.logits(ids[first : first + step], cache)
            rows.append(logits)
    assert torch.allclose(whole, expected, atol=1e-4)
    assert torch.allclose(torch.cat(rows), expected, atol=1e-4)


def test_sampling_is_seeded_and_respects_its_lengths(trained):
    model = MelodyModel(trained["data"] / "melody_model" / "current")
    eos = model.tokenizer["EOS_None"]
    first = model.sample_tokens(True, seed=11, max_new_tokens=50, min_new_tokens=20)
    assert first == model.sample_tokens(True, seed=11, max_new_tokens=50, min_new_tokens=20)
    assert 20 <= len(first) <= 50 and eos not in first
    assert first != model.sample_tokens(True, seed=12, max_new_tokens=50, min_new_tokens=20)
    limit = model.model.config.n_positions - len(model._prompt(True))
    assert (
        len(model.sample_tokens(True, seed=1, max_new_tokens=10_000, min_new_tokens=10_000))
        == limit
    )


def test_the_prompts_tonic_holds_until_the_models_first_note():
    # The model often starts at the next bar line: the tonic fills the bar instead of silence.
    assert hold_prompt_tonic([(72, 0.0, 1.0), (84, 4.0, 1.0)], minor=False) == [
        (72, 0.0, 4.0), (84, 4.0, 1.0),
    ]  # fmt: skip
    # Within the bar it holds to the first onset, never past a bar; other notes are the model's.
    assert hold_prompt_tonic([(69, 0.0, 1.0), (64, 0.0, 0.5), (71, 2.5, 1.0)], minor=True) == [
        (69, 0.0, 2.5), (64, 0.0, 0.5), (71, 2.5, 1.0),
    ]  # fmt: skip
    assert hold_prompt_tonic([(72, 0.0, 1.0), (74, 9.0, 1.0)], minor=False)[0] == (72, 0.0, 4.0)
    assert hold_prompt_tonic([(72, 0.0, 1.0)], minor=False) == [(72, 0.0, 1.0)]


def test_originality_is_measured_on_interval_and_duration_runs():
    tune = [(60 + (i * 7) % 12, i * 0.5, 0.5) for i in range(20)]
    corpus = ngram_hashes(tune)
    assert originality_rate(tune, corpus) == 0.0
    transposed = [(p + 5, s, d) for p, s, d in tune]  # the same run in another key is a copy
    assert originality_rate(transposed, corpus) == 0.0
    other = [(60 + (i * 5) % 9, i * 0.25, 0.25) for i in range(20)]
    assert originality_rate(other, corpus) == 1.0
    metrics = melody_metrics(tune, corpus)
    assert set(metrics) == {
        "pitch_class_entropy", "scale_consistency", "in_key_rate", "pitch_range",
        "empty_beat_rate", "originality_rate",
    }  # fmt: skip


def test_midi_sketch_uses_the_model_for_styles_that_ask(trained):
    resources, instance = trained["resources"], trained["instance"]
    run_config = {"ops": {"midi_sketch": {"config": {"style": "study", "duration_s": 40.0}}}}

    def sketch():
        result = dg.materialize(
            [midi_sketch], partition_key=track_partition_key("2026-11-27", "1"),
            resources=resources, instance=instance, run_config=run_config,
        )  # fmt: skip
        assert result.success
        folder = trained["data"] / "midi_sketch" / "2026-11-27" / "1"
        plan = json.loads((folder / "plan.json").read_text())
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        digest = hashlib.sha256((folder / "sketch.mid").read_bytes()).hexdigest()
        return plan["melody_source"], checks, digest

    source, checks, digest = sketch()
    assert source["generator"] in ("model", "engine")
    if source["generator"] == "engine":  # the smoke model may fail; the reason must be said
        assert source["reason"]
    assert checks["melody_original"] and checks["midi_parses"]
    assert sketch() == (source, checks, digest)  # deterministic with the model too
    jazz = {"ops": {"midi_sketch": {"config": {"style": "jazz", "duration_s": 40.0}}}}
    result = dg.materialize(
        [midi_sketch], partition_key=track_partition_key("2026-11-27", "2"),
        resources=resources, instance=instance, run_config=jazz,
    )  # fmt: skip
    plan = json.loads(
        (trained["data"] / "midi_sketch" / "2026-11-27" / "2" / "plan.json").read_text()
    )
    assert result.success and plan["melody_source"] == {"generator": "engine"}
