"""The 24/7 radio's playlist, prepared a day ahead (``lofi radio`` plays it; Dagster never
holds the stream)."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from lofi_assets.audio.radio_queue import (
    QUEUE_FILE,
    RADIO_DAY_S,
    REPEAT_WINDOW_DAYS,
    QueueEntry,
    RadioQueue,
    build_radio_queue,
    read_radio_queue,
    render_fresh_track,
)
from lofi_assets.defs.assets.common import judge_staged, release_asset_options
from lofi_assets.defs.assets.produce import RENDER_RETRIES
from lofi_assets.defs.assets.radio_checks import RADIO_QUEUE_CHECK_SPECS, radio_queue_check_results
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.pools import RENDER_POOL
from lofi_assets.defs.records import RECORD_FILE, MasterRecord, RadioQueueRecord, read_record
from lofi_assets.defs.resources import ArtifactStore, SoundFontResource
from lofi_assets.music.styles import get_style
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import atomic_directory, write_json_atomic

RADIO_VERSION = "1"


class RadioQueueConfig(dg.Config):
    """How much air the day's queue fills and how its fresh tracks are made."""

    min_length_s: float = RADIO_DAY_S  # a whole day of air by default
    fresh_track_s: float = 180.0  # each fresh track's length
    fresh_fraction: float = 0.5  # at least this share of the queue's tracks are new
    crossfade_s: float = 4.0


def catalog_entries(store: ArtifactStore) -> list[QueueEntry]:
    """Every published master of the catalog (``mastered_wav`` records), as queue entries."""
    catalog = store.root / "mastered_wav"
    entries = []
    for record_path in sorted(catalog.glob(f"*/*/{RECORD_FILE}")):
        date, slot = record_path.relative_to(catalog).parts[:2]
        if date.startswith(".") or slot.startswith("."):  # staging: work in flight
            continue
        record = read_record(record_path)
        if not isinstance(record, MasterRecord):
            continue
        entries.append(
            QueueEntry(
                track_id=str(track_partition_key(date, slot)),
                path=str(store.resolve(record.wav_path)),
                title=f"{get_style(record.style).display_name} · {date} #{slot}",
                style=record.style,
                duration_s=record.duration_s,
                loudness_lufs=record.integrated_lufs,
                fresh=False,
            )
        )
    return entries


def plays_on(partition_key: str) -> str:
    """The day a partition's queue is played: the next one (it is prepared a day ahead)."""
    return (dt.date.fromisoformat(partition_key) + dt.timedelta(days=1)).isoformat()


def earlier_queues(store: ArtifactStore, partition_key: str) -> list[RadioQueue]:
    """The queues of the ``REPEAT_WINDOW_DAYS`` partitions before ``partition_key`` that exist."""
    day = dt.date.fromisoformat(partition_key)
    queues = []
    for back in range(1, REPEAT_WINDOW_DAYS + 1):
        path = store.root / "radio_queue" / (day - dt.timedelta(days=back)).isoformat() / QUEUE_FILE
        if path.is_file():
            queues.append(read_radio_queue(path))
    return queues


@dg.asset(
    group_name="radio",
    kinds={"python", "wav"},
    code_version=RADIO_VERSION,
    check_specs=RADIO_QUEUE_CHECK_SPECS,
    pool=RENDER_POOL,
    retry_policy=RENDER_RETRIES,
    **release_asset_options(RadioQueueRecord, automation=None),
)
def radio_queue(
    context: dg.AssetExecutionContext,
    config: RadioQueueConfig,
    artifact_store: ArtifactStore,
    soundfont: SoundFontResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Tomorrow's radio playlist: fresh tracks rendered for the stream mixed with the catalog."""
    date = plays_on(context.partition_key)
    target = artifact_store.partition_dir("radio_queue", context.partition_key)
    with domain_failures(artifact_store.root):
        catalog = catalog_entries(artifact_store)
        earlier = earlier_queues(artifact_store, context.partition_key)
        played = {entry.track_id for queue in earlier for entry in queue.entries}
        font = soundfont.resolve()
        with atomic_directory(target) as staging:

            def make_fresh(number: int) -> QueueEntry:
                name = f"fresh_{number:03d}.wav"
                entry = render_fresh_track(
                    f"radio:{date}:{number}",
                    stable_seed(date, "radio", number),
                    config.fresh_track_s,
                    staging / name,
                    font,
                )
                context.log.info(f"fresh track {number}: {entry.title}, {entry.duration_s:.0f} s")
                # The published folder's path: the staging folder is renamed into place.
                return QueueEntry(**{**entry.__dict__, "path": str(target / name)})

            queue = build_radio_queue(
                date,
                catalog,
                played,
                config.min_length_s,
                config.crossfade_s,
                make_fresh,
                config.fresh_fraction,
            )
            write_json_atomic(staging / QUEUE_FILE, queue.to_document())
            results = radio_queue_check_results(queue, earlier, config.min_length_s)
            yield from judge_staged("radio_queue", date, results, RADIO_QUEUE_CHECK_SPECS)
    record = RadioQueueRecord(
        queue_path=artifact_store.relative(target / QUEUE_FILE),
        plays_on=date,
        tracks=len(queue.entries),
        fresh_tracks=queue.fresh_count,
        length_s=round(queue.length_s, 3),
    )
    yield dg.MaterializeResult(
        value=record,
        metadata={
            "tracks": len(queue.entries),
            "fresh_tracks": queue.fresh_count,
            "length_h": round(queue.length_s / 3600, 3),
            "queue": dg.MetadataValue.path(str(target / QUEUE_FILE)),
            "playlist": dg.MetadataValue.md(
                "\n".join(f"- {e.title} ({e.duration_s:.0f} s)" for e in queue.entries[:50])
            ),
            "plays_on": date,
        },
        check_results=results,
    )
