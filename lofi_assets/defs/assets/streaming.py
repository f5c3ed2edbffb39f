"""Streaming release: the day's tracks as a distributor bundle, identified and delivered."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg

from lofi_assets.defs.assets.common import (
    ALL_SLOTS_OF_THE_DAY,
    PUBLISH_AUTOMATION,
    day_tracks_deps,
    judge_staged,
    release_asset_options,
)
from lofi_assets.defs.assets.publish_checks import STREAMING_CHECK_SPECS, streaming_check_results
from lofi_assets.defs.checks import check_inputs_current
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import date_and_slot
from lofi_assets.defs.records import (
    MasterRecord,
    MetadataRecord,
    StreamingReleaseRecord,
    ThumbnailRecord,
)
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    DistributorResource,
    WarehouseResource,
)
from lofi_assets.lineage import input_hashes
from lofi_assets.publish.distribution import (
    MANIFEST_FILE,
    artwork_problems,
    build_bundle,
    bundle_problems,
    metadata_problems,
    plan_release,
    recording_sha256,
    store_wav_facts,
)
from lofi_assets.publish.identifiers import (
    IsrcRegistry,
    RecordingIdentity,
    UpcPool,
    release_key,
)
from lofi_assets.storage import atomic_directory, write_json_atomic

BUNDLE_DIR, RECEIPT_FILE = "bundle", "receipt.json"


@dg.asset(
    group_name="publish",
    kinds={"python", "wav", "xml"},
    code_version="1",
    check_specs=STREAMING_CHECK_SPECS,
    ins={"mastered_wav": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY)},
    deps=day_tracks_deps("mastered_wav"),
    **release_asset_options(StreamingReleaseRecord, PUBLISH_AUTOMATION),
)
def streaming_release(
    context: dg.AssetExecutionContext,
    mastered_wav: dict[str, MasterRecord],
    release_metadata: MetadataRecord,
    thumbnail: ThumbnailRecord,
    channel: ChannelConfig,
    distributor: DistributorResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The day's tracks for Spotify, Apple Music …: 16-bit WAVs with ISRCs, the cover, a
    manifest, a bulk CSV, a DDEX ERN message and a checklist, delivered with a receipt."""
    date = str(context.partition_key)
    release_day = dt.date.fromisoformat(date)  # its year is the ISRCs' YY
    folder = artifact_store.partition_dir("streaming_release", date)
    with domain_failures(artifact_store.root):
        # Before an ISRC is issued or a byte delivered: metadata and cover of these masters.
        current = yield from check_inputs_current(
            artifact_store.root,
            {
                "release_metadata": release_metadata.input_sha256,
                "thumbnail": thumbnail.input_sha256,
            },
        )
        settings = channel.settings()
        store = warehouse.client()
        masters = sorted(mastered_wav.items(), key=lambda item: int(date_and_slot(item[0])[1]))
        inputs = input_hashes(
            artifact_store.root,
            [record.wav_path for _, record in masters]
            + [release_metadata.metadata_path, thumbnail.cover_path],
        )
        track_titles = artifact_store.read_json(release_metadata.metadata_path)["track_titles"]
        upc_pool = UpcPool(store, distributor.upc_codes())  # a bad pool refuses before any ISRC
        registry = IsrcRegistry(store, distributor.isrc_registrant)
        # An ISRC belongs to the recording (its day, slot and sound), never to display names:
        # renaming the channel re-makes the day with the codes it had (identifiers.py).
        recordings = [
            RecordingIdentity(
                date,
                date_and_slot(key)[1],
                recording_sha256(artifact_store.resolve(record.wav_path), position),
            )
            for position, (key, record) in enumerate(masters, start=1)
        ]
        tracks = [
            (
                title,
                registry.issue(recording, year=release_day.year, channel_name=settings.name),
                record.duration_s,
            )
            for recording, (_, record), title in zip(recordings, masters, track_titles, strict=True)
        ]
        upc = upc_pool.assign(release_key(date), legacy_key=f"{settings.name}|{date}")
        plan = plan_release(
            date, thumbnail.headline.title(), upc, distributor.settings(settings.artist), tracks
        )
        cover = artifact_store.resolve(thumbnail.cover_path)
        # Built and judged in a staging folder: a bundle that fails a blocking check neither
        # replaces the previous one nor reaches the distributor.
        with atomic_directory(folder / BUNDLE_DIR) as staging:
            bundle = build_bundle(
                staging,
                plan,
                [artifact_store.resolve(record.wav_path) for _, record in masters],
                cover,
                distributor.ddex_party_id,
            )
            audio_facts = [store_wav_facts(staging / t.audio_file) for t in bundle.plan.tracks]
            isrcs = [t.isrc for t in bundle.plan.tracks]
            check_results = [
                *streaming_check_results(
                    audio_facts,
                    artwork_problems(staging / plan.artwork_file),
                    isrcs,
                    registry.duplicate_count(),
                    metadata_problems(bundle.plan, [distributor.ddex_party_id]),
                    bundle_problems(staging),
                ),
                current,
            ]
            yield from judge_staged("streaming_release", date, check_results, STREAMING_CHECK_SPECS)
        bundle_folder = folder / BUNDLE_DIR
        target = distributor.target()
        receipt = target.deliver(bundle_folder, f"{date}_{upc}")
        write_json_atomic(folder / RECEIPT_FILE, receipt.to_document())
    context.log.info(
        f"{plan.release_type} {plan.title!r} (UPC {upc}) for {plan.release_date}: "
        f"{len(isrcs)} tracks, {receipt.outcome} to {receipt.target}"
    )
    yield dg.MaterializeResult(
        value=StreamingReleaseRecord(
            bundle_path=artifact_store.relative(bundle_folder),
            manifest_sha256=bundle.manifest_sha256,
            upc=upc,
            isrcs=isrcs,
            release_date=plan.release_date,
            delivery=receipt.outcome,
            status="awaiting_manual",
            input_sha256=inputs,
        ),
        metadata={
            "title": plan.title,
            "release_type": plan.release_type,
            "store_date": plan.release_date,
            "upc": upc,
            "isrcs": dg.MetadataValue.json(isrcs),
            "manifest_sha256": bundle.manifest_sha256,
            "delivery": f"{receipt.outcome} → {receipt.target}",
            "status": "awaiting_manual (see CHECKLIST.txt)",
            "manifest": dg.MetadataValue.path(str(bundle_folder / MANIFEST_FILE)),
        },
        check_results=check_results,
    )
