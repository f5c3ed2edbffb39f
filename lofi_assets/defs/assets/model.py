"""Model group: the melody corpus, its tokenizer and the GPT-2 that writes melodies."""

import dagster as dg
from pydantic import Field

from lofi_assets.defs.assets.common import png_markdown
from lofi_assets.defs.assets.model_checks import MODEL_CHECK_SPECS, check_samples_decode
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.pools import TRAIN_POOL
from lofi_assets.defs.records import CorpusRecord, ModelRecord, TokenizerRecord
from lofi_assets.defs.resources import MELODY_MODEL_FOLDER, ArtifactStore
from lofi_assets.music.model.pipeline import (
    LOSS_FILE,
    build_corpus,
    build_model,
    build_tokenizer,
)
from lofi_assets.music.model.tokens import TOKENIZER_FILE
from lofi_assets.storage import atomic_directory

CURRENT = "current"  # each asset's folder is replaced whole: data/<asset>/current/


class PresetConfig(dg.Config):
    preset: str = Field(
        default="default", description="smoke (seconds, for tests), default (CPU) or gpu"
    )


def _options(record_type: type) -> dict:
    return {
        "group_name": "model",
        "io_manager_key": "record_io_manager",
        "dagster_type": dg.PythonObjectDagsterType(record_type),
    }


@dg.asset(kinds={"python", "midi"}, code_version="1", **_options(CorpusRecord))
def melody_corpus(
    context: dg.AssetExecutionContext, config: PresetConfig, artifact_store: ArtifactStore
) -> dg.MaterializeResult:
    """Melodies to learn from: music21's folk tunes and chorales, and the engine's phrases,
    in C major / A minor, split into train and validation by piece."""
    target = artifact_store.root / "melody_corpus" / CURRENT
    with domain_failures(artifact_store.root), atomic_directory(target) as staging:
        stats = build_corpus(staging, config.preset)
    context.log.info(f"{stats['pieces']} melodies, {stats['notes']} notes")
    return dg.MaterializeResult(
        value=CorpusRecord(
            artifact_store.relative(target), config.preset, stats["pieces"], stats["notes"]
        ),
        metadata={
            "pieces": dg.MetadataValue.int(stats["pieces"]),
            "notes": dg.MetadataValue.int(stats["notes"]),
            "by_source": dg.MetadataValue.json(stats["by_source"]),
            "by_split": dg.MetadataValue.json(stats["by_split"]),
            "key_histogram": dg.MetadataValue.json(stats["key_histogram"]),
        },
    )


@dg.asset(kinds={"python", "miditok"}, code_version="1", **_options(TokenizerRecord))
def midi_tokenizer(
    context: dg.AssetExecutionContext,
    config: PresetConfig,
    melody_corpus: CorpusRecord,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """miditok REMI with BPE, trained on the corpus's training split."""
    target = artifact_store.root / "midi_tokenizer" / CURRENT
    with domain_failures(artifact_store.root), atomic_directory(target) as staging:
        tokenizer = build_tokenizer(
            artifact_store.resolve(melody_corpus.folder), staging / TOKENIZER_FILE, config.preset
        )
    context.log.info(f"Vocabulary of {len(tokenizer)} tokens")
    return dg.MaterializeResult(
        value=TokenizerRecord(artifact_store.relative(target / TOKENIZER_FILE), len(tokenizer)),
        metadata={"vocab_size": dg.MetadataValue.int(len(tokenizer))},
    )


@dg.asset(
    kinds={"python", "pytorch"},
    code_version="1",
    pool=TRAIN_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
    check_specs=MODEL_CHECK_SPECS,
    **_options(ModelRecord),
)
def melody_model(
    context: dg.AssetExecutionContext,
    config: PresetConfig,
    melody_corpus: CorpusRecord,
    midi_tokenizer: TokenizerRecord,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """A GPT-2 trained on the tokenized corpus (CUDA when present); midi_sketch uses it for
    styles whose melody.generator is model."""
    target = artifact_store.root / MELODY_MODEL_FOLDER
    with domain_failures(artifact_store.root), atomic_directory(target) as staging:
        outcome = build_model(
            artifact_store.resolve(melody_corpus.folder),
            artifact_store.resolve(midi_tokenizer.path),
            staging,
            config.preset,
            context.log.info,
        )
    report, samples = outcome.report, outcome.samples
    return dg.MaterializeResult(
        value=ModelRecord(
            artifact_store.relative(target),
            config.preset,
            report.parameters,
            report.validation_perplexity,
        ),
        metadata={
            "parameters": dg.MetadataValue.int(report.parameters),
            "device": report.device,
            "training_s": dg.MetadataValue.float(report.seconds),
            "training_tokens_per_s": dg.MetadataValue.float(report.tokens_per_s),
            "validation_perplexity": dg.MetadataValue.float(report.validation_perplexity),
            "loss_curve": png_markdown((target / LOSS_FILE).read_bytes(), "loss curve"),
            "sampling_tokens_per_s": dg.MetadataValue.float(samples.tokens_per_s),
            "sample_metrics": dg.MetadataValue.json(
                {
                    "model": samples.model,
                    "held_out_corpus": samples.held_out_corpus,
                    "engine": samples.engine,
                }
            ),
        },
        check_results=[check_samples_decode(samples)],
    )
