"""Publish group: the day's release on YouTube, and what the channel's videos did since."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.defs.assets.common import (
    PUBLISH_AUTOMATION,
    day_tracks_deps,
    png_markdown,
    release_asset_options,
)
from lofi_assets.defs.assets.publish_checks import (
    SNAPSHOT_CHECK_SPECS,
    UPLOAD_CHECK_SPECS,
    check_one_row_per_day_and_video,
    check_upload_body_valid,
)
from lofi_assets.defs.checks import check_inputs_current
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.pools import YOUTUBE_API_POOL
from lofi_assets.defs.records import (
    MetadataRecord,
    ReleaseMixRecord,
    SnapshotRecord,
    ThumbnailRecord,
    UploadRecord,
    VideoRecord,
)
from lofi_assets.defs.resources import ArtifactStore, WarehouseResource, YouTubeResource
from lofi_assets.errors import ConfigError
from lofi_assets.lineage import input_hashes
from lofi_assets.publish.analytics import (
    duplicate_daily_rows,
    fetch_snapshot,
    top_releases,
    top_releases_markdown,
    upsert_snapshot,
    views_plot_png,
)
from lofi_assets.publish.upload import (
    Publisher,
    PublishOutcome,
    ReleaseUpload,
    UploadLedger,
    body_problems,
    dry_run_manifest,
    parse_rfc3339,
)
from lofi_assets.publish.youtube import Retrier

PUBLISH_VERSION = "1"
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class UploadAttempt:
    """What ``upload_or_plan`` did: the release it built, its videos.insert body and that
    body's problems (``body_problems``), the record, and either the dry run's manifest
    (``{"requests": [...]}``, the requests not sent) and where it was written, or the live
    upload's ``PublishOutcome``."""

    release: ReleaseUpload
    body: dict[str, Any]
    body_problems: list[str]
    record: UploadRecord
    manifest: dict[str, Any] | None = None
    manifest_path: Path | None = None
    outcome: PublishOutcome | None = None


def upload_or_plan(
    context: dg.AssetExecutionContext,
    video: VideoRecord,
    thumbnail_path: str,
    metadata: MetadataRecord,
    target: Path,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
    kind: str = "daily",
    with_languages: bool = True,
) -> UploadAttempt:
    """The partition's release (``ReleaseUpload.from_metadata_document`` of ``metadata``'s
    document, with ``video`` and the thumbnail at ``thumbnail_path``, relative to the store),
    published or planned by ``publish_or_plan``. Raises what that raises."""
    inputs = input_hashes(
        artifact_store.root, [video.video_path, thumbnail_path, metadata.metadata_path]
    )
    release = ReleaseUpload.from_metadata_document(
        artifact_store.read_json(metadata.metadata_path),
        release_date=str(context.partition_key),
        video_path=artifact_store.resolve(video.video_path),
        thumbnail_path=artifact_store.resolve(thumbnail_path),
        kind=kind,
        with_languages=with_languages,
    )
    return publish_or_plan(context, release, inputs, target, youtube, warehouse, artifact_store)


def publish_or_plan(
    context: dg.AssetExecutionContext,
    release: ReleaseUpload,
    inputs: dict[str, str],
    target: Path,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
    now: dt.datetime | None = None,
) -> UploadAttempt:
    """``release`` published through the ledger when ``youtube`` is live; otherwise the
    requests a publish would send are written to ``target / MANIFEST_FILE`` and none is sent.
    Every release kind (daily, weekly, Short) goes through here. ``inputs``: the record's
    ``input_sha256`` (``lineage.input_hashes`` of the files the release was made from);
    ``now`` (UTC): the time the body is built for (its ``publishAt`` is left out once past),
    the current time when not given. Raises what ``Publisher.publish`` raises (quota,
    credentials, refusals, timeouts)."""
    now = now or dt.datetime.now(dt.UTC)
    body = release.video_body(now)
    found = body_problems(body)
    if not youtube.live:
        manifest_path = target / MANIFEST_FILE
        manifest = dry_run_manifest(youtube.clients(), release, now, manifest_path)
        count = len(manifest["requests"])
        context.log.info(
            f"Dry run: {count} request{'' if count == 1 else 's'} written to {manifest_path}, "
            "none sent (set YOUTUBE_TOKEN_FILE to publish)"
        )
        record = UploadRecord(
            "dry_run",
            artifact_store.relative(manifest_path),
            None,
            "planned",
            release.publish_at_utc,
            input_sha256=inputs,
        )
        return UploadAttempt(release, body, found, record, manifest, manifest_path)
    publisher = Publisher(
        youtube.clients(),
        UploadLedger(warehouse.client()),
        log=context.log.info,
        chunk_bytes=youtube.chunk_mb * 1024 * 1024,
    )
    outcome = publisher.publish(release)
    if outcome.thumbnail_pending:
        context.log.warning(outcome.thumbnail_pending)
    record = UploadRecord(
        "live", None, outcome.video_id, outcome.state, release.publish_at_utc, input_sha256=inputs
    )
    return UploadAttempt(release, body, found, record, outcome=outcome)


WATCH_URL = "https://www.youtube.com/watch?v={video_id}"


def live_upload_metadata(outcome: PublishOutcome, url: str = WATCH_URL) -> dict[str, Any]:
    """The UI metadata every live upload shows: its state, the video (at ``url``, a template
    with ``{video_id}``) and what this run did."""
    return {
        "mode": "live",
        "state": outcome.state,
        "video_id": outcome.video_id,
        "url": dg.MetadataValue.url(url.format(video_id=outcome.video_id)),
        "steps_done": dg.MetadataValue.json(outcome.steps_done),
    }


class UploadConfig(dg.Config):
    thumbnail_variant: str = "A"  # which of the A/B/C thumbnails YouTube shows


@dg.asset(
    group_name="publish",
    kinds={"python", "youtube"},
    code_version=PUBLISH_VERSION,
    check_specs=UPLOAD_CHECK_SPECS,
    pool=YOUTUBE_API_POOL,
    deps=day_tracks_deps(),
    **release_asset_options(UploadRecord, PUBLISH_AUTOMATION),
)
def youtube_upload(
    context: dg.AssetExecutionContext,
    config: UploadConfig,
    release_mix: ReleaseMixRecord,
    video: VideoRecord,
    thumbnail: ThumbnailRecord,
    release_metadata: MetadataRecord,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The day's video on YouTube: uploaded, thumbnailed, playlisted, scheduled (once)."""
    date = str(context.partition_key)
    target = artifact_store.partition_dir("youtube_upload", date)
    with domain_failures(artifact_store.root):
        if config.thumbnail_variant not in thumbnail.variant_paths:
            raise ConfigError(
                f"No thumbnail variant {config.thumbnail_variant!r}: use one of "
                f"{sorted(thumbnail.variant_paths)}"
            )
        # Before a request is built: the video, artwork and metadata of one and the same mix.
        current = yield from check_inputs_current(
            artifact_store.root,
            {
                "release_mix": release_mix.input_sha256,
                "release_metadata": release_metadata.input_sha256,
                "thumbnail": thumbnail.input_sha256,
                "video": video.input_sha256,
            },
        )
        attempt = upload_or_plan(
            context,
            video,
            thumbnail.variant_paths[config.thumbnail_variant],
            release_metadata,
            target,
            youtube,
            warehouse,
            artifact_store,
        )
        release, body = attempt.release, attempt.body
        if attempt.outcome is None:
            metadata = {
                "mode": "dry_run (set YOUTUBE_TOKEN_FILE to publish)",
                "requests": dg.MetadataValue.table(
                    records=[
                        dg.TableRecord({"call": r["call"], "method": r["method"], "url": r["uri"]})
                        for r in attempt.manifest["requests"]
                    ],
                    schema=dg.TableSchema(
                        columns=[
                            dg.TableColumn("call"),
                            dg.TableColumn("method"),
                            dg.TableColumn("url"),
                        ]
                    ),
                ),
                "manifest": dg.MetadataValue.path(str(attempt.manifest_path)),
            }
        else:
            outcome = attempt.outcome
            metadata = {
                **live_upload_metadata(outcome),
                "retries": dg.MetadataValue.int(outcome.retries),
                # Pending: the channel may not use custom thumbnails yet; a later run sets it.
                "thumbnail_status": f"pending: {outcome.thumbnail_pending}"
                if outcome.thumbnail_pending
                else "set",
                "scheduled": "left private: the publish time had passed"
                if outcome.private_until_published_by_hand
                else release.publish_at_utc,
            }
    yield dg.MaterializeResult(
        value=attempt.record,
        metadata={
            **metadata,
            # What will be published, and when: the operator's view before it goes out.
            "title": release.title,
            "publish_at": dg.MetadataValue.timestamp(parse_rfc3339(release.publish_at_utc)),
            "privacy": body["status"]["privacyStatus"]
            + (
                " until publish_at"
                if "publishAt" in body["status"]
                else " (publish_at has passed: it stays private until published by hand)"
            ),
            "tags": dg.MetadataValue.json(release.tags),
            "playlists": dg.MetadataValue.json(release.playlists),
            "thumbnail_variant": config.thumbnail_variant,
            "thumbnail": dg.MetadataValue.path(str(release.thumbnail_path)),
            "video": dg.MetadataValue.path(str(release.video_path)),
        },
        check_results=[check_upload_body_valid(attempt.body_problems), current],
    )


@dg.asset(
    group_name="publish",
    kinds={"python", "youtube", "duckdb"},
    code_version=PUBLISH_VERSION,
    check_specs=SNAPSHOT_CHECK_SPECS,
    pool=YOUTUBE_API_POOL,
    deps=[youtube_upload],
    **release_asset_options(SnapshotRecord, automation=None),
)
def analytics_snapshot(
    context: dg.AssetExecutionContext,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """Every uploaded video's totals and daily figures up to this day, upserted (the last 3
    days are fetched again: YouTube revises them)."""
    date = str(context.partition_key)
    with domain_failures(artifact_store.root):
        store = warehouse.client()
        if not youtube.live:
            reason = "dry run: no YouTube credentials (set YOUTUBE_TOKEN_FILE), nothing was fetched"
            context.log.info(f"Empty snapshot for {date}: {reason}")
            videos, written = 0, 0
        else:
            uploads = UploadLedger(store).uploaded_videos()
            retrier = Retrier(context.log.info)
            snapshot = fetch_snapshot(youtube.clients(), retrier, uploads, date)
            written = upsert_snapshot(store, snapshot)
            videos, reason = len(snapshot.total_rows), "" if uploads else "no uploads yet"
            context.log.info(f"{written} rows for {videos} videos up to {date}")
        duplicates = duplicate_daily_rows(store)
        top = top_releases(store)
        plot = views_plot_png(store)
    return dg.MaterializeResult(
        value=SnapshotRecord(date, "live" if youtube.live else "dry_run", videos, written, reason),
        metadata={
            "videos": dg.MetadataValue.int(videos),
            "rows_upserted": dg.MetadataValue.int(written),
            "reason": reason or "fetched",
            "top_releases": dg.MetadataValue.md(top_releases_markdown(top)),
            "views_over_time": png_markdown(plot, "daily views"),
        },
        check_results=[check_one_row_per_day_and_video(duplicates)],
    )
