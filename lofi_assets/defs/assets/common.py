"""What every track asset shares: its partitions, how its record travels, UI previews."""

import base64
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import dagster as dg

from lofi_assets.defs.partitions import release_dates, track_partitions
from lofi_assets.defs.records import SketchRecord
from lofi_assets.defs.resources import ArtifactStore


def release_asset_options(record_type: type, eager: bool = True) -> dict[str, Any]:
    """Decorator options of a date asset: made by its job, or (``eager``) by itself once the
    day's inputs exist (AutomationCondition.eager, evaluated by the daemon)."""
    return {
        "partitions_def": release_dates,
        "io_manager_key": "record_io_manager",
        "dagster_type": dg.PythonObjectDagsterType(record_type),
        "automation_condition": dg.AutomationCondition.eager() if eager else None,
        # One day per run: a failing day does not fail a whole backfill.
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


def png_markdown(png: bytes, alt: str) -> dg.MetadataValue:
    """A PNG inline in the UI's metadata panel."""
    encoded = base64.b64encode(png).decode("ascii")
    return dg.MetadataValue.md(f"![{alt}](data:image/png;base64,{encoded})")


def read_plan(store: ArtifactStore, sketch: SketchRecord) -> dict[str, Any]:
    """The sketch's plan.json: style, key, BPM, ambience … of one track."""
    return store.read_json(sketch.plan_path)


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
