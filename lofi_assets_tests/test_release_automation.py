"""The release and publish automation, evaluated by Dagster's own evaluator over real runs.

The conditions and the asset graph are the product's (``lofi_assets.definitions``). What makes
the events are stand-ins with the same keys, partitions and dependencies whose runs are real
Dagster runs that write nothing: the automation reads only the instance (which partitions
exist, which runs are in flight and what they target), never the audio, so a tick that would
take minutes of rendering takes milliseconds.
"""

import datetime as dt

import dagster as dg
import pytest

from lofi_assets.definitions import defs
from lofi_assets.defs.partitions import track_partition_key

DAY = "2026-11-25"
# The channel's daily release window: the latest partition is the evaluation's own day.
NOON = dt.datetime(2026, 11, 25, 12, tzinfo=dt.UTC)
TRACKS = ["midi_sketch", "stems", "mastered_wav"]
RELEASE = ["release_mix", "release_metadata", "thumbnail", "video", "shorts_teaser"]
PUBLISH = ["youtube_upload", "streaming_release"]


def _stand_ins() -> list[dg.AssetsDefinition]:
    """Every materializable asset of the product's graph, computing nothing."""
    graph = defs.resolve_asset_graph()
    made = []
    for node in graph.asset_nodes:
        if not node.is_materializable:
            continue
        deps = [
            dg.AssetDep(parent, partition_mapping=graph.get_partition_mapping(node.key, parent))
            for parent in node.parent_keys
        ]

        @dg.asset(key=node.key, partitions_def=node.partitions_def, deps=deps)
        def stand_in() -> None:
            return None

        made.append(stand_in)
    return made


class Ticks:
    """The automation sensor's ticks, one evaluation at a time, its cursor carried over."""

    def __init__(self, instance: dg.DagsterInstance):
        self.instance, self.cursor = instance, None
        self.selection = dg.AssetSelection.groups("release", "publish")

    def __call__(self) -> dict[str, list[str]]:
        """What this tick requests: partition key → asset names (one run per partition)."""
        result = dg.evaluate_automation_conditions(
            defs=defs,
            instance=self.instance,
            asset_selection=self.selection,
            evaluation_time=NOON,
            cursor=self.cursor,
        )
        self.cursor = result.cursor
        requested: dict[str, list[str]] = {}
        for key in self.selection.resolve(defs.resolve_asset_graph()):
            for partition in result.get_requested_partitions(key):
                requested.setdefault(str(partition), []).append(key.to_user_string())
        return {partition: sorted(names) for partition, names in requested.items()}


@pytest.fixture
def world(instance):
    stand_ins = _stand_ins()

    def make(names: list[str], partition_key) -> None:
        assert dg.materialize(
            stand_ins,
            selection=names,
            partition_key=partition_key,
            instance=instance,
        ).success

    return stand_ins, make, Ticks(instance)


def _in_progress_run(instance, stand_ins, names, partition_key) -> dg.DagsterRun:
    """A run of ``names`` that has started and not yet materialized anything (a slot whose
    stems are rendering)."""
    job = dg.Definitions(assets=stand_ins).resolve_implicit_global_asset_job_def()
    keys = {dg.AssetKey(name) for name in names}
    return instance.create_run_for_job(
        job_def=job.get_subset(asset_selection=keys),
        asset_selection=keys,
        tags={
            "dagster/partition": str(partition_key),
            **{f"dagster/partition/{d}": k for d, k in partition_key.keys_by_dimension.items()},
        },
        status=dg.DagsterRunStatus.STARTED,
    )


def test_the_release_waits_for_every_slot_then_runs_once_with_its_upload(world, instance):
    stand_ins, make, tick = world
    assert tick() == {}
    for slot in ("1", "2"):
        make(TRACKS, track_partition_key(DAY, slot))
    assert tick() == {}, "slot 3 is missing"

    rendering = _in_progress_run(instance, stand_ins, TRACKS, track_partition_key(DAY, "3"))
    assert tick() == {}, "slot 3 is in progress"
    make(["midi_sketch"], track_partition_key(DAY, "3"))
    assert tick() == {}, "slot 3 has a sketch, its master is still rendering"
    instance.report_run_canceled(rendering)
    make(["stems", "mastered_wav"], track_partition_key(DAY, "3"))

    assert tick() == {DAY: sorted(RELEASE + PUBLISH)}, "the whole day, in one tick"
    make(RELEASE + PUBLISH, DAY)
    assert tick() == {}
    assert tick() == {}


def test_a_remade_slot_rebuilds_the_release_once_and_never_republishes(world):
    _, make, tick = world
    assert tick() == {}  # the sensor is running before the day's tracks are made
    for slot in ("1", "2", "3"):
        make(TRACKS, track_partition_key(DAY, slot))
    assert tick() == {DAY: sorted(RELEASE + PUBLISH)}
    make(RELEASE + PUBLISH, DAY)
    assert tick() == {}

    # A new sketch alone is not a new track yet: its master has not been made.
    make(["midi_sketch"], track_partition_key(DAY, "2"))
    assert tick() == {}
    make(["stems", "mastered_wav"], track_partition_key(DAY, "2"))
    assert tick() == {DAY: sorted(RELEASE)}, "rebuilt once, not published again"
    make(RELEASE, DAY)
    assert tick() == {}
    assert tick() == {}


def test_a_past_day_is_left_to_backfills(world):
    _, make, tick = world
    assert tick() == {}
    for slot in ("1", "2", "3"):
        make(TRACKS, track_partition_key("2026-11-24", slot))
    assert tick() == {}
