"""Long-form group: the week's tracks as one long release: mix, artwork, metadata, video, upload.

Partitioned by ``release_weeks``. ``weekly_mix`` reads the week's masters through the artifact
store (each date × slot whose ``mastered_wav`` and ``midi_sketch`` records exist) rather than as
mapped inputs, so a week with missing days still makes its mix: the shortfall is topped up
with tracks composed and rendered for the week (``audio/long_form.py``).
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
from pydantic import Field

from lofi_assets.audio.long_form import (
    DEFAULT_WEEKLY_DURATION_S,
    EXTRAS_FOLDER,
    MAX_WEEKLY_DURATION_S,
    crossfade_of,
    extra_track_request,
    render_extra_track,
    top_up,
    validate_extra_track_s,
    validate_weekly_duration,
    week_dates,
)
from lofi_assets.audio.memory import reuse_freed_memory
from lofi_assets.audio.release_mix import (
    MixTrack,
)
from lofi_assets.audio.wav import verify_wav_length
from lofi_assets.defs.assets.common import (
    ALL_SLOTS_OF_THE_DAY,
    judge_staged,
    progress_log,
    track_facts,
)
from lofi_assets.defs.assets.long_form_checks import (
    WEEKLY_METADATA_CHECK_SPECS,
    WEEKLY_MIX_CHECK_SPECS,
    WEEKLY_THUMBNAIL_CHECK_SPECS,
    WEEKLY_UPLOAD_CHECK_SPECS,
    WEEKLY_VIDEO_CHECK_SPECS,
    weekly_video_check_results,
)
from lofi_assets.defs.assets.publish import live_upload_metadata, upload_or_plan
from lofi_assets.defs.assets.publish_checks import check_upload_body_valid
from lofi_assets.defs.assets.release import (
    VideoConfig,
    join_and_judge_mix,
    judge_and_write_metadata,
    mix_metadata,
    video_result,
)
from lofi_assets.defs.assets.release_checks import (
    check_artwork_format,
    check_headline_legible,
)
from lofi_assets.defs.checks import check_inputs_current
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import release_weeks, track_partition_key
from lofi_assets.defs.pools import RENDER_POOL, YOUTUBE_API_POOL
from lofi_assets.defs.records import (
    MasterRecord,
    MetadataRecord,
    SketchRecord,
    ThumbnailRecord,
    UploadRecord,
    VideoRecord,
    WeeklyMixRecord,
)
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    SoundFontResource,
    WarehouseResource,
    YouTubeResource,
)
from lofi_assets.lineage import input_hashes
from lofi_assets.music.plan_record import PlanRecord, read_plan_record
from lofi_assets.publish.metadata import (
    build_weekly_metadata,
    problems,
)
from lofi_assets.publish.upload import (
    parse_rfc3339,
)
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import atomic_directory, write_bytes_atomic
from lofi_assets.visual.motion import encode_animated
from lofi_assets.visual.thumbnail import THUMBNAIL_SIZE, draw_artwork, fitted_jpeg, jpeg_file_facts
from lofi_assets.visual.video import encode_static, probe, size_of

LONG_FORM_VERSION = "1"
MIX_FILE, CHAPTERS_FILE, VIDEO_FILE = "mix.wav", "chapters.json", "video.mp4"
THUMBNAIL_FILE, METADATA_FILE = "thumbnail_A.jpg", "metadata.json"


def _week_options(record_type: type) -> dict[str, Any]:
    """Decorator options of a week asset: one week per run, its record by the IO manager."""
    return {
        "partitions_def": release_weeks,
        "io_manager_key": "record_io_manager",
        # Named apart from the daily assets' types of the same record class: Dagster wants
        # one type per name in a job (the all-assets job holds both).
        "dagster_type": dg.PythonObjectDagsterType(
            record_type, name=record_type.__name__.replace("Weekly", "") + "OfTheWeek"
        ),
        "backfill_policy": dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    }


def _track_title(plan: PlanRecord) -> str:
    """The chapter title of a track, as the daily mix names it: style, key and tempo."""
    return f"{plan.style_display_name} in {plan.key}, {plan.bpm} BPM"


def week_masters(
    store: ArtifactStore, dates: list[str], slots: tuple[str, ...]
) -> list[tuple[str, MasterRecord, SketchRecord]]:
    """The week's finished tracks in calendar order: ("<date>|<slot>", master, sketch) for each
    date × slot whose ``mastered_wav`` and ``midi_sketch`` records both exist."""
    found = []
    for date in dates:
        for slot in sorted(slots, key=lambda name: (len(name), name)):
            master = store.read_record("mastered_wav", track_partition_key(date, slot))
            sketch = store.read_record("midi_sketch", track_partition_key(date, slot))
            if isinstance(master, MasterRecord) and isinstance(sketch, SketchRecord):
                found.append((str(track_partition_key(date, slot)), master, sketch))
    return found


class WeeklyMixConfig(dg.Config):
    """How long the week's mix is, and how long the tracks made to top it up are."""

    min_duration_s: float = Field(
        default=DEFAULT_WEEKLY_DURATION_S,
        description=f"Shortest mix in seconds (default an hour, at most "
        f"{MAX_WEEKLY_DURATION_S:.0f} s = 3 hours); extra tracks are made for the week "
        "until it is reached",
    )
    extra_track_s: float | None = Field(
        default=None,
        description="Target length of each extra track in seconds (default: the channel's "
        "track length range)",
    )


@dg.asset(
    group_name="long_form",
    kinds={"python", "wav"},
    code_version=LONG_FORM_VERSION,
    check_specs=WEEKLY_MIX_CHECK_SPECS,
    pool=RENDER_POOL,
    # Lineage only (the UI draws the week's tracks upstream): the date dimension maps each
    # week to its seven days (a time-window mapping), every slot of each. The records are read
    # through the store, so a week with missing tracks runs and is topped up.
    deps=[
        dg.AssetDep(name, partition_mapping=ALL_SLOTS_OF_THE_DAY)
        for name in ("midi_sketch", "mastered_wav")
    ],
    **_week_options(WeeklyMixRecord),
)
def weekly_mix(
    context: dg.AssetExecutionContext,
    config: WeeklyMixConfig,
    channel: ChannelConfig,
    soundfont: SoundFontResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The week's masters (topped up with tracks made for the week) joined with crossfades,
    a chapter per track, at least an hour long by default."""
    reuse_freed_memory()
    week = str(context.partition_key)
    target = artifact_store.partition_dir("weekly_mix", week)
    with domain_failures(artifact_store.root):
        min_duration_s = validate_weekly_duration(config.min_duration_s)
        extra_track_s = validate_extra_track_s(config.extra_track_s)
        settings = channel.settings()
        dates = week_dates(week)
        masters = week_masters(artifact_store, dates, settings.slots)
        inputs = input_hashes(
            artifact_store.root,
            [m.wav_path for _, m, _ in masters] + [s.plan_path for _, _, s in masters],
        )
        tracks, durations_s, sources = [], [], []
        for key, master, sketch in masters:
            plan = read_plan_record(artifact_store.resolve(sketch.plan_path))
            path = artifact_store.resolve(master.wav_path)
            tracks.append(MixTrack(path, _track_title(plan), crossfade_of(plan)))
            durations_s.append(master.duration_s)
            sources.append({"source": "master", "track": key, "plan_path": sketch.plan_path})
        context.log.info(f"{len(masters)} masters in the week {dates[0]} – {dates[-1]}")
        fonts = []  # resolved once, and only when the week needs extra tracks
        # Made and judged in a staging folder: the week's previous mix, extras and record stay
        # until the new ones pass every blocking check.
        with atomic_directory(target) as staging:

            def make_extra(index: int):
                request = extra_track_request(
                    settings.name,
                    week,
                    index,
                    settings.effective_style_weights,
                    extra_track_s,
                    settings.track_length_range_s,
                )
                if not fonts:
                    fonts.append(soundfont.resolve())
                folder = staging / EXTRAS_FOLDER / f"{index:02d}"
                extra = render_extra_track(request, fonts[0], folder, index)
                context.log.info(
                    f"extra track {index + 1}: {extra.plan.style} in {extra.plan.key}, "
                    f"{extra.duration_s:.1f} s"
                )
                return extra

            extras = top_up(tracks, durations_s, min_duration_s, make_extra, _track_title)
            for extra in extras:
                plan_path = target / extra.plan_path.relative_to(staging)
                sources.append(
                    {
                        "source": "extra",
                        "track": str(extra.index),
                        "plan_path": artifact_store.relative(plan_path),
                    }
                )
            judged = join_and_judge_mix(tracks, staging)
            # The extras' masters live on in the mix: an hour of them would double the week's
            # disk use (≈ 1 GB). Their sketch and plan stay, from which they render again.
            for extra in extras:
                extra.master_path.unlink()
            yield from judge_staged(
                "weekly_mix", week, judged.check_results, WEEKLY_MIX_CHECK_SPECS
            )
    mix, integrated = judged.mix, judged.measured.integrated_lufs
    mix_path = target / MIX_FILE
    context.log.info(
        f"{len(tracks)} tracks ({len(extras)} made for the week), "
        f"{mix.duration_s / 60:.1f} min, {integrated:.2f} LUFS"
    )
    yield dg.MaterializeResult(
        value=WeeklyMixRecord(
            wav_path=artifact_store.relative(mix_path),
            chapters_path=artifact_store.relative(target / CHAPTERS_FILE),
            duration_s=round(mix.duration_s, 3),
            chapters=mix.chapters,
            tracks=sources,
            extras=len(extras),
            input_sha256=inputs,
        ),
        metadata=mix_metadata(
            judged,
            mix_path,
            {"tracks": len(tracks), "week_masters": len(masters), "extra_tracks": len(extras)},
        ),
        check_results=judged.check_results,
    )


def _plans(store: ArtifactStore, mix: WeeklyMixRecord) -> list[PlanRecord]:
    return [read_plan_record(store.resolve(track["plan_path"])) for track in mix.tracks]


@dg.asset(
    group_name="long_form",
    kinds={"python", "jpeg"},
    code_version=LONG_FORM_VERSION,
    check_specs=WEEKLY_THUMBNAIL_CHECK_SPECS,
    **_week_options(ThumbnailRecord),
)
def weekly_thumbnail(
    context: dg.AssetExecutionContext,
    weekly_mix: WeeklyMixRecord,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The week's 1280×720 thumbnail, drawn like the daily one for the week's first track."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("weekly_thumbnail", week)
    with domain_failures(artifact_store.root):
        lead = weekly_mix.tracks[0]["plan_path"]
        inputs = input_hashes(artifact_store.root, [lead])
        plan = read_plan_record(artifact_store.resolve(lead))
        seed = stable_seed("weekly_thumbnail", channel.settings().name, week)
        artwork = draw_artwork(THUMBNAIL_SIZE, plan.style, seed, "A")
        with atomic_directory(target) as staging:
            staged = write_bytes_atomic(staging / THUMBNAIL_FILE, fitted_jpeg(artwork.image))
            facts = {"thumbnail_A": jpeg_file_facts(staged)}
            check_results = [check_artwork_format(facts), check_headline_legible({"A": artwork})]
            yield from judge_staged(
                "weekly_thumbnail", week, check_results, WEEKLY_THUMBNAIL_CHECK_SPECS
            )
    context.log.info(f"Headline {artwork.headline!r} ({artwork.scene})")
    path = artifact_store.relative(target / THUMBNAIL_FILE)
    yield dg.MaterializeResult(
        value=ThumbnailRecord(
            variant_paths={"A": path},
            cover_path=path,
            headline=artwork.headline,
            scene=artwork.scene,
            input_sha256=inputs,
            variant_palettes={"A": artwork.palette},
            variant_scenes={"A": artwork.scene},
        ),
        metadata={
            "headline": artwork.headline,
            "scene": artwork.scene,
            "path": dg.MetadataValue.path(str(target / THUMBNAIL_FILE)),
        },
        check_results=check_results,
    )


@dg.asset(
    group_name="long_form",
    kinds={"python", "json"},
    code_version=LONG_FORM_VERSION,
    check_specs=WEEKLY_METADATA_CHECK_SPECS,
    **_week_options(MetadataRecord),
)
def weekly_metadata(
    context: dg.AssetExecutionContext,
    weekly_mix: WeeklyMixRecord,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Title ("1 hour · …"), description with a chapter per track, tags, playlists and publish
    time of the week's long mix, in the daily release's style."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("weekly_metadata", week)
    with domain_failures(artifact_store.root):
        settings = channel.settings()
        inputs = input_hashes(
            artifact_store.root,
            [weekly_mix.wav_path] + [track["plan_path"] for track in weekly_mix.tracks],
        )
        tracks = [track_facts(plan) for plan in _plans(artifact_store, weekly_mix)]
        metadata = build_weekly_metadata(
            channel_name=settings.name,
            artist=settings.artist,
            timezone=settings.timezone,
            week_dates=week_dates(week),
            tracks=tracks,
            chapter_starts_s=[chapter.start_s for chapter in weekly_mix.chapters],
            duration_s=weekly_mix.duration_s,
            publish_windows=channel.publish_windows,
        )
        written = yield from judge_and_write_metadata(
            context,
            metadata,
            problems(metadata.to_document()),
            WEEKLY_METADATA_CHECK_SPECS,
            target,
            artifact_store,
            inputs,
        )
    yield dg.MaterializeResult(
        value=written.record,
        metadata={
            **written.ui_metadata,
            "playlists": dg.MetadataValue.json(metadata.playlists),
            "description": dg.MetadataValue.md(f"```\n{metadata.description}\n```"),
            "path": dg.MetadataValue.path(str(written.path)),
        },
        check_results=written.check_results,
    )


@dg.asset(
    group_name="long_form",
    kinds={"python", "mp4"},
    code_version=LONG_FORM_VERSION,
    check_specs=WEEKLY_VIDEO_CHECK_SPECS,
    pool=RENDER_POOL,
    **_week_options(VideoRecord),
)
def weekly_video(
    context: dg.AssetExecutionContext,
    config: VideoConfig,
    weekly_mix: WeeklyMixRecord,
    weekly_thumbnail: ThumbnailRecord,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """MP4 (H.264 High + AAC-LC 48 kHz) of the week's mix: the artwork's motion loop repeated
    by stream copy, so an hour of video costs one loop's drawing and the audio's encode."""
    week = str(context.partition_key)
    folder = artifact_store.partition_dir("weekly_video", week)
    target = folder / VIDEO_FILE
    with domain_failures(artifact_store.root):
        size = size_of(config.resolution)
        overlay = config.overlay_for(weekly_thumbnail.scene)
        image_path = weekly_thumbnail.variant_paths["A"]
        inputs = input_hashes(artifact_store.root, [weekly_mix.wav_path, image_path])
        image = artifact_store.resolve(image_path)
        mix = artifact_store.resolve(weekly_mix.wav_path)
        verify_wav_length(mix)
        progress = progress_log(context, f"encoding {VIDEO_FILE} ({config.motion})")
        with atomic_directory(folder) as staging:
            staged = staging / VIDEO_FILE
            if config.motion == "static":
                encode_static(image, mix, staged, weekly_mix.duration_s, size, progress)
            else:
                seed = stable_seed("weekly_video", channel.settings().name, week)
                encode_animated(
                    image, mix, staged, weekly_mix.duration_s, size, overlay, seed, progress
                )
            facts = probe(staged)
            check_results = weekly_video_check_results(facts, size, weekly_mix.duration_s)
            yield from judge_staged("weekly_video", week, check_results, WEEKLY_VIDEO_CHECK_SPECS)
    context.log.info(f"{facts.video_duration_s:.2f} s of {facts.width}×{facts.height} video")
    yield video_result(
        artifact_store, target, facts, inputs, config.motion_label(overlay), check_results
    )


@dg.asset(
    group_name="long_form",
    kinds={"python", "youtube"},
    code_version=LONG_FORM_VERSION,
    check_specs=WEEKLY_UPLOAD_CHECK_SPECS,
    pool=YOUTUBE_API_POOL,
    **_week_options(UploadRecord),
)
def weekly_upload(
    context: dg.AssetExecutionContext,
    weekly_mix: WeeklyMixRecord,
    weekly_video: VideoRecord,
    weekly_thumbnail: ThumbnailRecord,
    weekly_metadata: MetadataRecord,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The week's long mix on YouTube, once (ledger key ``weekly-<week>``); dry-run without
    credentials."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("weekly_upload", week)
    with domain_failures(artifact_store.root):
        current = yield from check_inputs_current(
            artifact_store.root,
            {
                "weekly_mix": weekly_mix.input_sha256,
                "weekly_metadata": weekly_metadata.input_sha256,
                "weekly_thumbnail": weekly_thumbnail.input_sha256,
                "weekly_video": weekly_video.input_sha256,
            },
        )
        # The weekly upload has always gone out without the document's language fields.
        attempt = upload_or_plan(
            context,
            weekly_video,
            weekly_thumbnail.variant_paths["A"],
            weekly_metadata,
            target,
            youtube,
            warehouse,
            artifact_store,
            kind="weekly",
            with_languages=False,
        )
        release = attempt.release
        metadata: dict[str, Any] = (
            {
                "mode": "dry_run (set YOUTUBE_TOKEN_FILE to publish)",
                "requests": dg.MetadataValue.int(len(attempt.manifest["requests"])),
                "manifest": dg.MetadataValue.path(str(attempt.manifest_path)),
            }
            if attempt.outcome is None
            else live_upload_metadata(attempt.outcome)
        )
    yield dg.MaterializeResult(
        value=attempt.record,
        metadata={
            **metadata,
            "ledger_key": release.ledger_key,
            "title": release.title,
            "publish_at": dg.MetadataValue.timestamp(parse_rfc3339(release.publish_at_utc)),
            "video": dg.MetadataValue.path(str(release.video_path)),
        },
        check_results=[check_upload_body_valid(attempt.body_problems), current],
    )


LONG_FORM_ASSETS = [weekly_mix, weekly_thumbnail, weekly_metadata, weekly_video, weekly_upload]

# The week's long-form release, from mix to upload, one week per run.
weekly_release_job = dg.define_asset_job(
    "weekly_release_job",
    selection=dg.AssetSelection.assets(*LONG_FORM_ASSETS),
    description="The week's long mix, its artwork, metadata, video and upload (dry-run "
    "without YouTube credentials)",
)
# Fires when a week ends (in the channel's timezone) for the week just ended, at 02:00 so
# the last day's tracks (made by the daily schedule) are in. Stopped until switched on, as
# the daily schedule is.
weekly_release_schedule = dg.build_schedule_from_partitioned_job(
    weekly_release_job,
    hour_of_day=2,
    default_status=dg.DefaultScheduleStatus.STOPPED,
)
