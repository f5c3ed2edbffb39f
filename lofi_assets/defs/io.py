"""The IO manager for records: a JSON file beside each partition's artifacts.

Assets return a small record (paths + facts); this manager writes it atomically to
``<data_dir>/<asset>/<partition…>/record.json`` and loads it back for downstream steps,
which may run in another process or on another machine sharing the storage.

A run says which partition it makes in one of two ways: a single-partition run carries the
``dagster/partition`` tag, a backfill run (and its re-execution) a partition *range*, even
for one partition. Both are read through ``asset_partition_keys``, so a record always lands in
its own partition's folder; a run over several partitions of one record is refused rather
than written to a folder the partitions would share.
"""

import typing
from typing import Any

import dagster as dg

from lofi_assets.defs.records import RECORD_FILE, read_record, record_to_document
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.storage import write_json_atomic


class PartitionRangeError(ValueError):
    """A partitioned asset's output covers several partitions: one record cannot stand for
    them all (each partition needs its own run: ``BackfillPolicy.multi_run(1)``)."""


def output_partition_key(context: dg.OutputContext) -> str | None:
    """The one partition an output belongs to, whether the run was launched for a partition
    or for a range of one (backfills); None for an unpartitioned asset.

    Raises:
        PartitionRangeError: the output spans several partitions.
    """
    if not context.has_asset_partitions:
        return None
    keys = list(context.asset_partition_keys)
    if len(keys) != 1:
        raise PartitionRangeError(
            f"{context.asset_key.to_user_string()} was asked to store one record for "
            f"{len(keys)} partitions ({keys[0]} … {keys[-1]}): run one partition per run"
        )
    return keys[0]


class RecordIOManager(dg.ConfigurableIOManager):
    store: dg.ResourceDependency[ArtifactStore]

    def _record_path(self, asset_key: dg.AssetKey, partition_key: str | None):
        asset_name = asset_key.path[-1]
        if partition_key is None:
            return self.store.root / asset_name / RECORD_FILE
        return self.store.partition_dir(asset_name, partition_key) / RECORD_FILE

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if obj is None:
            return
        path = self._record_path(context.asset_key, output_partition_key(context))
        write_json_atomic(path, record_to_document(obj))
        context.add_output_metadata({"record": dg.MetadataValue.path(str(path))})

    def _load(self, asset_key: dg.AssetKey, partition_key: str | None) -> Any:
        path = self._record_path(asset_key, partition_key)
        if not path.exists():
            raise FileNotFoundError(
                f"No record for {asset_key.to_user_string()} partition {partition_key} at {path}: "
                "materialize it first"
            )
        return read_record(path)

    def load_input(self, context: dg.InputContext) -> Any:
        asset_key = context.asset_key
        if not context.has_asset_partitions:
            return self._load(asset_key, None)
        keys = context.asset_partition_keys
        # An input annotated dict[str, Record] receives every mapped partition by key
        # (a day's release reads all of its track slots).
        if typing.get_origin(context.dagster_type.typing_type) is dict:
            missing = sorted(k for k in keys if not self._record_path(asset_key, k).exists())
            if missing:  # name every one, not only the first: a day with no tracks yet
                raise FileNotFoundError(
                    f"No record for {asset_key.to_user_string()} partitions "
                    f"{', '.join(missing)} under {self.store.root}: materialize them first"
                )
            return {key: self._load(asset_key, key) for key in keys}
        if len(keys) != 1:
            raise ValueError(
                f"{asset_key.to_user_string()} maps {len(keys)} partitions into one input: "
                "annotate the input as dict[str, <record type>]"
            )
        return self._load(asset_key, keys[0])
