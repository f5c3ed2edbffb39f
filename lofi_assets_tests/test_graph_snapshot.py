"""The asset graph against a checked-in snapshot (as dagster-open-platform does), so any change
to assets, groups, partitions, dependencies, checks, jobs, schedules or sensors is a visible
diff in review.

After a deliberate change to the graph, rewrite the snapshot and commit it with the change:

    LOFI_UPDATE_GRAPH_SNAPSHOT=1 pytest lofi_assets_tests/test_graph_snapshot.py
"""

import os
from pathlib import Path

import dagster as dg

from lofi_assets.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.txt"
UPDATE_ENV = "LOFI_UPDATE_GRAPH_SNAPSHOT"


def _partitions(partitions_def: dg.PartitionsDefinition | None) -> str:
    """The partitioning's kind and shape; no start date, weekday or timezone, which come from
    the environment ($LOFI_CHANNEL_START, $LOFI_CHANNEL_TIMEZONE), not from the graph."""
    if partitions_def is None:
        return "unpartitioned"
    if isinstance(partitions_def, dg.MultiPartitionsDefinition):
        dimensions = ", ".join(
            f"{dimension.name}: {_partitions(dimension.partitions_def)}"
            for dimension in partitions_def.partitions_defs
        )
        return f"multi({dimensions})"
    if isinstance(partitions_def, dg.StaticPartitionsDefinition):
        return f"static({', '.join(partitions_def.get_partition_keys())})"
    return type(partitions_def).__name__


def graph_snapshot() -> str:
    """The graph as sorted lines of text: one an asset, check, job, schedule or sensor."""
    repository = defs.get_repository_def()
    asset_graph = defs.resolve_asset_graph()
    lines = []
    for key in sorted(asset_graph.get_all_asset_keys()):
        node = asset_graph.get(key)
        upstream = ", ".join(sorted(parent.to_user_string() for parent in node.parent_keys))
        lines.append(
            f"asset {key.to_user_string()}: group={node.group_name}"
            f" partitions={_partitions(node.partitions_def)} upstream=[{upstream}]"
        )
    for assets_def in {id(a): a for a in repository.assets_defs_by_key.values()}.values():
        for spec in assets_def.check_specs:
            blocking = " blocking" if spec.blocking else ""
            lines.append(f"check {spec.asset_key.to_user_string()}.{spec.name}{blocking}")
    for job in repository.get_all_jobs():
        if job.name.startswith("__ASSET_JOB"):
            continue
        selected = sorted(key.to_user_string() for key in job.asset_layer.executable_asset_keys)
        lines.append(f"job {job.name}: [{', '.join(selected)}]")
    for schedule in repository.schedule_defs:
        # No cron: the release hour and timezone come from the environment.
        lines.append(f"schedule {schedule.name}: job={schedule.job_name}")
    for sensor in repository.sensor_defs:
        lines.append(f"sensor {sensor.name}")
    return "\n".join(sorted(lines)) + "\n"


def test_the_asset_graph_matches_its_checked_in_snapshot():
    current = graph_snapshot()
    if os.environ.get(UPDATE_ENV):
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert current == SNAPSHOT.read_text(encoding="utf-8"), (
        f"The asset graph changed: review the diff and rewrite the snapshot ({UPDATE_ENV}=1)"
    )
