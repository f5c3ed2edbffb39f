"""What every track asset shares: its partitions, how its record travels, UI previews."""

import base64
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import dagster as dg

from lofi_assets.defs.partitions import (
    DATE_DIMENSION,
    release_dates,
    release_weeks,
    track_partitions,
)
from lofi_assets.defs.records import SketchRecord
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.errors import LofiError
from lofi_assets.music.plan_record import PlanRecord, read_plan_record
from lofi_assets.publish.metadata import TrackFacts
from lofi_assets.storage import PartitionBusyError

TRACK_ASSETS = ("midi_sketch", "stems", "mastered_wav")
# A date asset reads every slot of its date.
ALL_SLOTS_OF_THE_DAY = dg.MultiToSingleDimensionPartitionMapping(
    partition_dimension_name=DATE_DIMENSION
)


def day_tracks_deps(*read: str) -> list[dg.AssetDep]:
    """Dependencies on every track asset of the date (all slots), except those the asset
    already reads as inputs: automation then sees a day whose tracks are missing or still
    being made (any slot, any step) and waits for it."""
    return [
        dg.AssetDep(name, partition_mapping=ALL_SLOTS_OF_THE_DAY)
        for name in TRACK_ASSETS
        if name not in read
    ]


# Made again once when the day's masters change; a new sketch or stems alone (a master still
# to come) triggers nothing. Waits while any track of the day is missing or in progress, so a
# re-made slot rebuilds the day's release in one run, in dependency order, from the new mix.
RELEASE_AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & (
        dg.AutomationCondition.newly_missing()
        | dg.AutomationCondition.any_deps_updated().ignore(
            dg.AssetSelection.assets(*TRACK_ASSETS[:2])
        )
    ).since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("when the day's masters are complete")

# Publishing happens once per date by automation: while the date is not yet published, when
# its release becomes complete (in the same run as the release, in dependency order). A
# re-made day is re-published only by an explicit run (the stale-input check refuses the old
# combination meanwhile).
PUBLISH_AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.missing()
    & (
        dg.AutomationCondition.newly_missing() | dg.AutomationCondition.any_deps_updated()
    ).since_last_handled()
    & ~dg.AutomationCondition.any_deps_missing()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("once, when the day's release is complete")


def release_asset_options(
    record_type: type, automation: dg.AutomationCondition | None = RELEASE_AUTOMATION
) -> dict[str, Any]:
    """Decorator options of a date asset: made by its job, or by itself under ``automation``
    (evaluated by the daemon's ``release_automation_sensor``)."""
    return {
        "partitions_def": release_dates,
        "io_manager_key": "record_io_manager",
        "dagster_type": dg.PythonObjectDagsterType(record_type),
        "automation_condition": automation,
        # One day per run: a failing day does not fail a whole backfill.
        "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    }


def week_asset_options(record_type: type) -> dict[str, Any]:
    """Decorator options of a week asset (``release_weeks``) that hands ``record_type``
    downstream, made by its job (no automation)."""
    return {
        "partitions_def": release_weeks,
        "io_manager_key": "record_io_manager",
        "dagster_type": dg.PythonObjectDagsterType(record_type),
        # One week per run: a failing week does not fail a whole backfill.
        "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    }


def track_asset_options(record_type: type) -> dict[str, Any]:
    """Decorator options of a date × slot asset that hands ``record_type`` downstream."""
    return {
        "partitions_def": track_partitions,
        "io_manager_key": "record_io_manager",
        # The value rides inside MaterializeResult (with the check results), so the output's
        # type is declared here rather than read from the return annotation.
        "dagster_type": dg.PythonObjectDagsterType(record_type),
        # One partition per run: every step works on one track's files.
        "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    }


# A run of the same partition in one of these states may be writing its files right now.
_RUNNING = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def refuse_if_partition_running(context: dg.AssetExecutionContext) -> None:
    """Fail fast, writing nothing, while another run of this partition is under way.

    Two runs of one track (a double click, a schedule overlapping a manual run) would
    otherwise interleave: a second sketch written while the first run renders stems from the
    old one. A partition is named by the ``dagster/partition`` tag of a launched run or the
    range tags of a backfill run, so both are looked for.

    Raises:
        PartitionBusyError: another run of the partition is starting or running.
    """
    key = str(context.partition_key)
    wanted = [
        {"dagster/partition": key},
        {"dagster/asset_partition_range_start": key, "dagster/asset_partition_range_end": key},
    ]
    for tags in wanted:
        for run in context.instance.get_runs(dg.RunsFilter(statuses=_RUNNING, tags=tags)):
            if run.run_id != context.run.run_id:
                raise PartitionBusyError(
                    f"{context.assets_def.key.to_user_string()} {key} is already running in "
                    f"run {run.run_id[:8]}: let it finish (or terminate it), then run again"
                )


def progress_log(context: dg.AssetExecutionContext, label: str) -> Callable[[float], None]:
    """A progress callback (fraction done, 0–1) that logs ``label`` at every 10 % step, so a
    long step (a video encode) shows in the run log that it is moving."""
    logged = -1

    def report(fraction: float) -> None:
        nonlocal logged
        tenth = min(10, int(fraction * 10 + 1e-9))
        if tenth > logged:
            logged = tenth
            context.log.info(f"{label}: {tenth * 10} %")

    return report


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG inline in the UI's metadata panel."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def read_plan(store: ArtifactStore, sketch: SketchRecord) -> PlanRecord:
    """The sketch's plan.json: style, key, BPM, form, ambience … of one track."""
    return read_plan_record(store.resolve(sketch.plan_path))


def track_facts(plan: PlanRecord) -> TrackFacts:
    """What a release's metadata says of one track (``publish.metadata.TrackFacts``)."""
    return TrackFacts(
        style=plan.style,
        style_display_name=plan.style_display_name,
        key=plan.key,
        bpm=float(plan.bpm),
        ambience=plan.ambience,
        melody_program=plan.instruments["melody"].program,
        seed=plan.seed,
    )


@contextlib.contextmanager
def compute_timer() -> Iterator[dict[str, float]]:
    """Time the domain work of a step (``timing["compute_s"]``), for the backfill benchmark's
    Dagster-overhead figure and the UI."""
    timing: dict[str, float] = {}
    started = time.perf_counter()
    try:
        yield timing
    finally:
        timing["compute_s"] = round(time.perf_counter() - started, 3)


class BlockingCheckFailedError(LofiError):
    """A blocking check failed on an asset's staged files: they were discarded and the
    previous good version of the asset (files and record) stays in place."""


def _metadata_text(metadata: dict[str, Any]) -> str:
    values = {k: getattr(v, "value", v) for k, v in metadata.items()}
    return ", ".join(f"{name}={value}" for name, value in values.items())


def judge_staged(
    asset: str,
    partition_key: str,
    results: Sequence[dg.AssetCheckResult],
    specs: Sequence[dg.AssetCheckSpec],
) -> Iterator[dg.AssetCheckResult]:
    """Judge ``results`` of files still in their staging folder, before they replace the
    previous version (non-negotiable 3: blocking checks judge staged files).

    Used as ``yield from judge_staged(…)`` inside ``with atomic_directory(…)``. All blocking
    checks passing, it yields nothing: the results ride with the materialization as usual.
    A blocking check failing (severity ERROR), it yields every result, so the UI shows the
    verdicts beside the failed step, and raises: the staging folder is discarded, the
    previous files and record stay, and no downstream asset runs.

    Raises:
        BlockingCheckFailedError: naming each failed blocking check and what it measured.
    """
    blocking = {spec.name for spec in specs if spec.blocking}
    failed = [
        result
        for result in results
        if result.check_name in blocking
        and not result.passed
        and result.severity == dg.AssetCheckSeverity.ERROR
    ]
    if not failed:
        return
    yield from results
    verdicts = "; ".join(f"{r.check_name} ({_metadata_text(r.metadata)})" for r in failed)
    raise BlockingCheckFailedError(
        f"{asset} {partition_key} was not replaced: blocking check(s) failed on the new files: "
        f"{verdicts}. The previous version stays in place; fix its inputs (re-materialize "
        "the upstream asset that is wrong) and materialize it again"
    )
