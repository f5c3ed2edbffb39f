"""Compose group: ``midi_sketch``, one multi-track MIDI sketch per date and slot."""

import json

import dagster as dg
from pydantic import Field

from lofi_assets.defs.assets.common import (
    compute_timer,
    png_markdown,
    refuse_if_partition_running,
    track_asset_options,
)
from lofi_assets.defs.assets.compose_checks import SKETCH_CHECK_SPECS, sketch_check_results
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import date_and_slot
from lofi_assets.defs.records import SketchRecord
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    MelodyModelResource,
    StyleBoostStore,
)
from lofi_assets.music.analysis import pitch_class_entropy
from lofi_assets.music.arrangement import arrange
from lofi_assets.music.model.generate import ModelMelodyWriter
from lofi_assets.music.plan import BPM_LIMITS, DURATION_LIMITS_S, ENGINE_VERSION, resolve_plan
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.publish.feedback import boosted_weights


class SketchConfig(dg.Config):
    """Optional overrides; anything left empty is chosen from the partition's seed."""

    style: str | None = Field(default=None, description="Style preset, e.g. jazz or rainy_day")
    tonic: str | None = Field(default=None, description="Key tonic, e.g. F# or Bb")
    mode: str | None = Field(default=None, description="Key mode, e.g. dorian, minor")
    # Ranges are checked by the composer with the others (validate_request), so one failed
    # run names every bad value in words rather than as a pydantic traceback.
    bpm: float | None = Field(
        default=None, description=f"Tempo in BPM, {BPM_LIMITS[0]:.0f}–{BPM_LIMITS[1]:.0f}"
    )
    duration_s: float | None = Field(
        default=None,
        description=f"Target track length in seconds, "
        f"{DURATION_LIMITS_S[0]:.0f}–{DURATION_LIMITS_S[1]:.0f}",
    )


@dg.asset(
    group_name="compose",
    kinds={"python", "midi"},
    code_version=ENGINE_VERSION,
    check_specs=SKETCH_CHECK_SPECS,
    **track_asset_options(SketchRecord),
)
def midi_sketch(
    context: dg.AssetExecutionContext,
    config: SketchConfig,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
    melody_models: MelodyModelResource,
    style_boosts: StyleBoostStore,
) -> dg.MaterializeResult:
    """Multi-track MIDI sketch (keys, bass, melody, drums, pad) and plan, seeded by date × slot."""
    date, slot = date_and_slot(context.partition_key)
    with compute_timer() as timing, domain_failures(artifact_store.root):
        refuse_if_partition_running(context)  # the first step of a track: nothing written yet
        settings = channel.settings()
        boosts = style_boosts.read()
        weights = boosted_weights(settings.effective_style_weights, boosts, date)
        request = settings.sketch_request(
            date,
            slot,
            style=config.style,
            tonic=config.tonic,
            mode=config.mode,
            bpm=config.bpm,
            duration_s=config.duration_s,
            style_weights=weights,
        )
        planned = resolve_plan(request)  # validates everything before a byte is written
        wants_model = planned.style.melody_generator == "model"
        model = melody_models.load() if wants_model else None
        sketch = arrange(planned, ModelMelodyWriter(model) if model is not None else None)
        directory = artifact_store.partition_dir("midi_sketch", context.partition_key)
        files = write_sketch_files(sketch, directory)
    plan = files.plan
    context.log.info(
        f"{date} slot {slot}: {plan.style} in {plan.key} at {plan.bpm} BPM, "
        f"{plan.bars} bars ({plan.duration_s:.1f} s), form {plan.form_summary}"
    )
    record = SketchRecord(
        midi_path=artifact_store.relative(files.midi_path),
        plan_path=artifact_store.relative(files.plan_path),
        piano_roll_path=artifact_store.relative(files.piano_roll_path),
        seed=plan.seed,
        style=plan.style,
        key=plan.key,
        bpm=float(plan.bpm),
        bars=plan.bars,
        duration_s=plan.duration_s,
    )
    return dg.MaterializeResult(
        value=record,
        metadata={
            "compute_s": dg.MetadataValue.float(timing["compute_s"]),
            "style": plan.style_display_name,
            "key": plan.key,
            "bpm": dg.MetadataValue.float(float(plan.bpm)),
            "swing": dg.MetadataValue.float(plan.swing),
            "bars": dg.MetadataValue.int(plan.bars),
            "duration_s": dg.MetadataValue.float(plan.duration_s),
            "form": plan.form_summary,
            "drum_kit": plan.drum_kit.name,
            "progression_A": " – ".join(plan.chords("A")),
            "progression_B": " – ".join(plan.chords("B")),
            "roman_numerals": dg.MetadataValue.json(
                {name: list(p.romans) for name, p in plan.progressions.items()}
            ),
            "seed": dg.MetadataValue.int(plan.seed),
            "melody_generator": json.dumps(plan.melody_source.to_document(), sort_keys=True),
            "style_boosts": dg.MetadataValue.json(
                [b.style for b in boosts if b.effective_from <= date]
            ),
            "pitch_class_entropy_bits": dg.MetadataValue.float(
                round(pitch_class_entropy(files.summary.pitched_notes()), 3)
            ),
            "notes": dg.MetadataValue.int(len(files.summary.all_notes())),
            "midi_path": dg.MetadataValue.path(str(files.midi_path)),
            "piano_roll": png_markdown(files.piano_roll_path.read_bytes(), "piano roll"),
        },
        check_results=sketch_check_results(
            files.midi_path, plan, model.corpus_ngrams if model is not None else None
        ),
    )
