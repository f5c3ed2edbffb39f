"""Release group: the day's tracks as one release: mix, metadata, artwork, video and teaser."""

import enum
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import dagster as dg

from lofi_assets.audio.memory import reuse_freed_memory
from lofi_assets.audio.production import ProductionSettings
from lofi_assets.audio.release_mix import (
    MixMeasurements,
    MixTrack,
    ReleaseMix,
    join_tracks,
    measure_mix,
)
from lofi_assets.audio.wav import verify_wav_length
from lofi_assets.defs.assets.common import (
    ALL_SLOTS_OF_THE_DAY,
    day_tracks_deps,
    judge_staged,
    progress_log,
    read_plan,
    release_asset_options,
    track_facts,
)
from lofi_assets.defs.assets.release_checks import (
    METADATA_CHECK_SPECS,
    RELEASE_MIX_CHECK_SPECS,
    TEASER_CHECK_SPECS,
    THUMBNAIL_CHECK_SPECS,
    VIDEO_CHECK_SPECS,
    check_artwork_format,
    check_headline_legible,
    check_metadata_valid,
    check_teaser_text_legible,
    release_mix_check_results,
    teaser_check_results,
    video_check_results,
)
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import date_and_slot
from lofi_assets.defs.pools import RENDER_POOL
from lofi_assets.defs.records import (
    MasterRecord,
    MetadataRecord,
    ReleaseMixRecord,
    SketchRecord,
    TeaserRecord,
    ThumbnailRecord,
    VideoRecord,
)
from lofi_assets.defs.resources import ArtifactStore, ChannelConfig, WarehouseResource
from lofi_assets.lineage import input_hashes
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.music.styles import get_style
from lofi_assets.publish.experiments import win_summary
from lofi_assets.publish.keywords import ranking_terms
from lofi_assets.publish.localize import localization_problems, localized_metadata
from lofi_assets.publish.metadata import ReleaseMetadata, build_metadata, problems, timestamp
from lofi_assets.publish.upload import parse_rfc3339
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import atomic_directory, write_json_atomic
from lofi_assets.visual.motion import OVERLAYS, encode_animated
from lofi_assets.visual.teaser import make_teaser, shorts_caption
from lofi_assets.visual.thumbnail import (
    COVER_FILE,
    VARIANTS,
    LookPreference,
    preview_markdown,
    variant_file,
    write_release_artwork,
)
from lofi_assets.visual.video import SHORTS_SIZE, VideoFacts, encode_static, probe, size_of

RELEASE_VERSION = "1"
MIX_FILE, CHAPTERS_FILE, VIDEO_FILE = "mix.wav", "chapters.json", "video.mp4"
TEASER_FILE = "teaser.mp4"
RAINY_SCENES = ("window_rain", "city_dusk")  # the video rains where the artwork does


def _track_title(plan: PlanRecord) -> str:
    """A working title until release_metadata names the tracks: style, key and tempo."""
    return f"{plan.style_display_name} in {plan.key}, {plan.bpm} BPM"


@dataclass(frozen=True)
class JudgedMix:
    """A mix joined in a staging folder (``MIX_FILE``, with its ``CHAPTERS_FILE``), what was
    measured of it, and the mix checks' verdicts on it (on ``release_mix``'s check specs:
    ``judge_staged`` is given the specs of the asset that made it)."""

    mix: ReleaseMix
    measured: MixMeasurements
    check_results: list[dg.AssetCheckResult]


def join_and_judge_mix(tracks: Sequence[MixTrack], staging: Path) -> JudgedMix:
    """What ``release_mix`` and ``weekly_mix`` both do in their staging folder: join the
    tracks, write the chapters, measure the mix and judge it. Raises ``AudioFileError`` for
    a master that cannot be read."""
    mix = join_tracks(tracks, staging / MIX_FILE)
    write_json_atomic(staging / CHAPTERS_FILE, [asdict(c) for c in mix.chapters])
    measured = measure_mix(mix, tracks)
    check_results = release_mix_check_results(
        measured.integrated_lufs,
        measured.longest_gap_s,
        measured.crossfade_steps_lu,
        [c.start_s for c in mix.chapters],
        mix.duration_s,
        len(tracks),
    )
    return JudgedMix(mix, measured, check_results)


def mix_metadata(judged: JudgedMix, mix_path: Path, counts: dict[str, int]) -> dict[str, Any]:
    """The UI metadata of a mix asset: duration, ``counts`` (tracks and the like, in the
    order given), loudness, the chapters as a code block and the mix's path."""
    mix = judged.mix
    chapter_lines = "\n".join(f"{timestamp(c.start_s)} {c.title}" for c in mix.chapters)
    return {
        "duration_s": dg.MetadataValue.float(round(mix.duration_s, 2)),
        "duration": timestamp(mix.duration_s),
        **{name: dg.MetadataValue.int(count) for name, count in counts.items()},
        "integrated_lufs": dg.MetadataValue.float(round(judged.measured.integrated_lufs, 2)),
        "chapters": dg.MetadataValue.md(f"```\n{chapter_lines}\n```"),
        "path": dg.MetadataValue.path(str(mix_path)),
    }


@dg.asset(
    group_name="release",
    kinds={"python", "wav"},
    code_version=RELEASE_VERSION,
    check_specs=RELEASE_MIX_CHECK_SPECS,
    pool=RENDER_POOL,
    ins={
        "mastered_wav": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY),
        "midi_sketch": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY),
    },
    deps=day_tracks_deps("mastered_wav", "midi_sketch"),
    **release_asset_options(ReleaseMixRecord),
)
def release_mix(
    context: dg.AssetExecutionContext,
    mastered_wav: dict[str, MasterRecord],
    midi_sketch: dict[str, SketchRecord],
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The day's masters joined with equal-power crossfades, with a chapter per track."""
    reuse_freed_memory()
    by_slot = sorted(mastered_wav, key=lambda key: int(date_and_slot(key)[1]))
    target = artifact_store.partition_dir("release_mix", context.partition_key)
    with domain_failures(artifact_store.root):
        inputs = input_hashes(
            artifact_store.root,
            [mastered_wav[key].wav_path for key in by_slot]
            + [midi_sketch[key].plan_path for key in by_slot],
        )
        tracks = []
        for key in by_slot:
            plan = read_plan(artifact_store, midi_sketch[key])
            settings = ProductionSettings.from_overrides(get_style(plan.style).production)
            tracks.append(
                MixTrack(
                    artifact_store.resolve(mastered_wav[key].wav_path),
                    _track_title(plan),
                    settings.crossfade_s,
                )
            )
        # Made and judged in a staging folder: the day's previous mix, chapters and record
        # stay until the new ones pass every blocking check.
        with atomic_directory(target) as staging:
            judged = join_and_judge_mix(tracks, staging)
            yield from judge_staged(
                "release_mix", context.partition_key, judged.check_results, RELEASE_MIX_CHECK_SPECS
            )
    mix, integrated = judged.mix, judged.measured.integrated_lufs
    mix_path = target / MIX_FILE
    context.log.info(f"{len(tracks)} tracks, {mix.duration_s / 60:.1f} min, {integrated:.2f} LUFS")
    record = ReleaseMixRecord(
        wav_path=artifact_store.relative(mix_path),
        chapters_path=artifact_store.relative(target / CHAPTERS_FILE),
        duration_s=round(mix.duration_s, 3),
        chapters=mix.chapters,
        slots=[date_and_slot(key)[1] for key in by_slot],
        input_sha256=inputs,
    )
    yield dg.MaterializeResult(
        value=record,
        metadata=mix_metadata(judged, mix_path, {"tracks": len(tracks)}),
        check_results=judged.check_results,
    )


METADATA_FILE = "metadata.json"


@dataclass(frozen=True)
class WrittenMetadata:
    """A metadata document judged and written: its record, its path, the check results, and
    the UI metadata every metadata asset shows (title, publish time UTC and local)."""

    record: MetadataRecord
    path: Path
    check_results: list[dg.AssetCheckResult]
    ui_metadata: dict[str, Any]


def judge_and_write_metadata(
    context: dg.AssetExecutionContext,
    metadata: ReleaseMetadata,
    found_problems: list[str],
    specs: Sequence[dg.AssetCheckSpec],
    target: Path,
    artifact_store: ArtifactStore,
    inputs: dict[str, str],
) -> Generator[dg.AssetCheckResult, None, WrittenMetadata]:
    """What ``release_metadata`` and ``weekly_metadata`` both do with their document, used as
    ``written = yield from …``: judge ``found_problems`` before anything is written (a
    document that fails keeps the last good one; raises ``BlockingCheckFailedError``), then
    write it to ``target / METADATA_FILE``."""
    check_results = [check_metadata_valid(found_problems)]
    asset = context.asset_key.to_user_string()
    yield from judge_staged(asset, str(context.partition_key), check_results, specs)
    path = write_json_atomic(target / METADATA_FILE, metadata.to_document())
    context.log.info(f"{metadata.title!r}, publishing {metadata.publish_at_local}")
    record = MetadataRecord(
        metadata_path=artifact_store.relative(path),
        title=metadata.title,
        publish_at_utc=metadata.publish_at_utc,
        input_sha256=inputs,
    )
    ui_metadata = {
        "title": metadata.title,
        "publish_at": dg.MetadataValue.timestamp(parse_rfc3339(metadata.publish_at_utc)),
        "publish_at_local": metadata.publish_at_local,
    }
    return WrittenMetadata(record, path, check_results, ui_metadata)


@dg.asset(
    group_name="release",
    kinds={"python", "json"},
    code_version=RELEASE_VERSION,
    check_specs=METADATA_CHECK_SPECS,
    ins={"midi_sketch": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY)},
    deps=day_tracks_deps("midi_sketch"),
    **release_asset_options(MetadataRecord),
)
def release_metadata(
    context: dg.AssetExecutionContext,
    release_mix: ReleaseMixRecord,
    midi_sketch: dict[str, SketchRecord],
    channel: ChannelConfig,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Title, description with chapters, tags, playlists and publish time of the day's release,
    in every configured language, preferring the terms keyword research found ranking."""
    target = artifact_store.partition_dir("release_metadata", context.partition_key)
    with domain_failures(artifact_store.root):
        settings = channel.settings()
        date = str(context.partition_key)
        keys = [
            next(k for k in midi_sketch if date_and_slot(k)[1] == slot)
            for slot in release_mix.slots
        ]
        inputs = input_hashes(
            artifact_store.root,
            [release_mix.wav_path] + [midi_sketch[key].plan_path for key in keys],
        )
        tracks = [track_facts(read_plan(artifact_store, midi_sketch[key])) for key in keys]
        # The research of a week that ended before the date: the same whenever it is re-made.
        ranking = ranking_terms(warehouse.client(), before=date)
        metadata = build_metadata(
            channel_name=settings.name,
            artist=settings.artist,
            timezone=settings.timezone,
            date=date,
            tracks=tracks,
            chapter_starts_s=[chapter.start_s for chapter in release_mix.chapters],
            duration_s=release_mix.duration_s,
            publish_windows=channel.publish_windows,
            ranking_tags=ranking.tags,
            ranking_title_words=ranking.title_words,
        )
        metadata = localized_metadata(
            metadata, languages=channel.languages,
            styles=[track.style_display_name for track in tracks],
            channel_name=settings.name, artist=settings.artist, date=date,
        )  # fmt: skip
        found = problems(metadata.to_document()) + localization_problems(metadata.localizations)
        written = yield from judge_and_write_metadata(
            context, metadata, found, METADATA_CHECK_SPECS, target, artifact_store, inputs
        )
    yield dg.MaterializeResult(
        value=written.record,
        metadata={
            **written.ui_metadata,
            "tags": dg.MetadataValue.json(metadata.tags),
            "playlists": dg.MetadataValue.json(metadata.playlists),
            "description": dg.MetadataValue.md(f"```\n{metadata.description}\n```"),
            "default_audio_language": metadata.default_audio_language,
            "ranking_terms_week": ranking.week or "none (no keyword research yet)",
            "localized_titles": dg.MetadataValue.json(
                {language: text["title"] for language, text in metadata.localizations.items()}
            ),
            "path": dg.MetadataValue.path(str(written.path)),
        },
        check_results=written.check_results,
    )


@dg.asset(
    group_name="release",
    kinds={"python", "jpeg"},
    code_version=RELEASE_VERSION,
    check_specs=THUMBNAIL_CHECK_SPECS,
    ins={"midi_sketch": dg.AssetIn(partition_mapping=ALL_SLOTS_OF_THE_DAY)},
    deps=day_tracks_deps("midi_sketch"),
    **release_asset_options(ThumbnailRecord),
)
def thumbnail(
    context: dg.AssetExecutionContext,
    midi_sketch: dict[str, SketchRecord],
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
    warehouse: WarehouseResource,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """Three 1280×720 thumbnail variants (A/B/C) and a 3000×3000 cover, drawn for the day.
    The palettes and scenes that won earlier releases' thumbnail experiments (the warehouse's
    ``thumbnail_variants``, releases before this date only, so a re-run of the date draws the
    same) make variant A; B and C explore (``visual/thumbnail.py``, ``LookPreference``)."""
    date = str(context.partition_key)
    target = artifact_store.partition_dir("thumbnail", context.partition_key)
    with domain_failures(artifact_store.root):
        lead = min(midi_sketch, key=lambda key: int(date_and_slot(key)[1]))
        inputs = input_hashes(artifact_store.root, [midi_sketch[lead].plan_path])
        plan = read_plan(artifact_store, midi_sketch[lead])
        seed = stable_seed("thumbnail", channel.settings().name, date)
        wins = win_summary(warehouse.client(), before=date)
        preference = LookPreference(wins.favoured_palettes, wins.favoured_scenes)
        with atomic_directory(target) as staging:
            drawn = write_release_artwork(staging, plan.style, seed, preference)
            # Judged as staged: the previous artwork stays until the new passes.
            check_results = [
                check_artwork_format(drawn.file_facts()),
                check_headline_legible(drawn.artworks),
            ]
            yield from judge_staged("thumbnail", date, check_results, THUMBNAIL_CHECK_SPECS)
    artwork, legibility = drawn.artworks["A"], drawn.legibility()
    previews = [preview_markdown(drawn.artworks[v].image, f"variant {v}") for v in VARIANTS]
    context.log.info(f"Headline {artwork.headline!r}, {len(VARIANTS)} variants and a cover")
    yield dg.MaterializeResult(
        value=ThumbnailRecord(
            variant_paths={v: artifact_store.relative(target / variant_file(v)) for v in VARIANTS},
            cover_path=artifact_store.relative(target / COVER_FILE),
            headline=artwork.headline,
            scene=legibility["A"]["scene"],
            input_sha256=inputs,
            variant_palettes={v: drawn.artworks[v].palette for v in VARIANTS},
            variant_scenes={v: drawn.artworks[v].scene for v in VARIANTS},
        ),
        metadata={
            "headline": artwork.headline,
            "favoured_looks": dg.MetadataValue.json(
                {
                    "experiments": wins.experiments,
                    "palettes": list(preference.palettes),
                    "scenes": list(preference.scenes),
                }
            ),
            "variants": dg.MetadataValue.md("\n\n".join(previews)),
            "legibility": dg.MetadataValue.json(legibility),
            "path": dg.MetadataValue.path(str(target)),
        },
        check_results=check_results,
    )


class Motion(enum.StrEnum):
    """How a video moves: enum fields make the launchpad list the choices and refuse others."""

    animated = "animated"  # a slow zoom/pan with a rain or dust overlay
    static = "static"  # one still


# "auto" (rain when the artwork's scene is rainy, else dust) or one of the domain's overlays.
OverlayChoice = enum.StrEnum("OverlayChoice", {name: name for name in ("auto", *OVERLAYS)})


class MotionConfig(dg.Config):
    """How the day's artwork moves in its videos."""

    motion: Motion = Motion.animated
    overlay: OverlayChoice = OverlayChoice.auto

    def overlay_for(self, scene: str) -> str:
        if self.overlay == "auto":
            return "rain" if scene in RAINY_SCENES else "dust"
        return str(self.overlay)

    def motion_label(self, overlay: str) -> str:
        """What the UI shows of the motion: "static", or "animated, <overlay>"."""
        return str(self.motion) if self.motion == Motion.static else f"animated, {overlay}"


class VideoConfig(MotionConfig):
    resolution: str = "720p"  # or 1080p


def video_result(
    artifact_store: ArtifactStore,
    target: Path,
    facts: VideoFacts,
    inputs: dict[str, str],
    motion: str,
    check_results: list[dg.AssetCheckResult],
) -> dg.MaterializeResult:
    """The materialization of a video asset (daily ``video``, ``weekly_video``): its
    ``VideoRecord`` and the metadata the UI shows, from ``probe``'s facts of ``target``."""
    return dg.MaterializeResult(
        value=VideoRecord(
            video_path=artifact_store.relative(target),
            duration_s=round(facts.video_duration_s, 3),
            width=facts.width,
            height=facts.height,
            input_sha256=inputs,
        ),
        metadata={
            "duration_s": dg.MetadataValue.float(round(facts.video_duration_s, 2)),
            "resolution": f"{facts.width}×{facts.height}",
            "motion": motion,
            "size_mb": dg.MetadataValue.float(round(target.stat().st_size / 1e6, 1)),
            "path": dg.MetadataValue.path(str(target)),
        },
        check_results=check_results,
    )


@dg.asset(
    group_name="release",
    kinds={"python", "mp4"},
    code_version=RELEASE_VERSION,
    check_specs=VIDEO_CHECK_SPECS,
    pool=RENDER_POOL,
    deps=day_tracks_deps(),
    **release_asset_options(VideoRecord),
)
def video(
    context: dg.AssetExecutionContext,
    config: VideoConfig,
    release_mix: ReleaseMixRecord,
    thumbnail: ThumbnailRecord,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """MP4 (H.264 High + AAC-LC 48 kHz) of the day's mix over its artwork, ready for YouTube."""
    folder = artifact_store.partition_dir("video", context.partition_key)
    target = folder / VIDEO_FILE
    with domain_failures(artifact_store.root):
        size = size_of(config.resolution)
        overlay = config.overlay_for(thumbnail.scene)
        inputs = input_hashes(
            artifact_store.root, [release_mix.wav_path, thumbnail.variant_paths["A"]]
        )
        image = artifact_store.resolve(thumbnail.variant_paths["A"])
        mix = artifact_store.resolve(release_mix.wav_path)
        verify_wav_length(mix)  # ffmpeg would encode a mix cut short without a word
        progress = progress_log(context, f"encoding {VIDEO_FILE} ({config.motion})")
        # Encoded and judged in a staging folder: the previous video stays until the new one
        # passes every blocking check.
        with atomic_directory(folder) as staging:
            staged = staging / VIDEO_FILE
            if config.motion == "static":
                encode_static(image, mix, staged, release_mix.duration_s, size, progress)
            else:
                seed = stable_seed("video", channel.settings().name, str(context.partition_key))
                encode_animated(
                    image, mix, staged, release_mix.duration_s, size, overlay, seed, progress
                )
            facts = probe(staged)
            check_results = video_check_results(
                facts, size, release_mix.duration_s, len(release_mix.slots)
            )
            yield from judge_staged(
                "video", context.partition_key, check_results, VIDEO_CHECK_SPECS
            )
    context.log.info(
        f"{facts.video_duration_s:.2f} s of {facts.width}×{facts.height} video ({config.motion})"
    )
    yield video_result(
        artifact_store, target, facts, inputs, config.motion_label(overlay), check_results
    )


@dg.asset(
    group_name="release",
    kinds={"python", "mp4"},
    code_version=RELEASE_VERSION,
    check_specs=TEASER_CHECK_SPECS,
    pool=RENDER_POOL,
    deps=day_tracks_deps(),
    **release_asset_options(TeaserRecord),
)
def shorts_teaser(
    context: dg.AssetExecutionContext,
    config: MotionConfig,
    release_mix: ReleaseMixRecord,
    release_metadata: MetadataRecord,
    thumbnail: ThumbnailRecord,
    channel: ChannelConfig,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """A 1080×1920 teaser of the day's loudest 30 s for Shorts, Reels and TikTok."""
    folder = artifact_store.partition_dir("shorts_teaser", context.partition_key)
    target = folder / TEASER_FILE
    with domain_failures(artifact_store.root):
        overlay = config.overlay_for(thumbnail.scene)
        inputs = input_hashes(
            artifact_store.root,
            [release_mix.wav_path, thumbnail.cover_path, release_metadata.metadata_path],
        )
        name = channel.settings().name
        # Encoded and judged in a staging folder: the previous teaser stays until the new one
        # passes every blocking check.
        with atomic_directory(folder) as staging:
            teaser = make_teaser(
                mix=artifact_store.resolve(release_mix.wav_path),
                cover=artifact_store.resolve(thumbnail.cover_path),
                out=staging / TEASER_FILE,
                title=release_metadata.title,
                caption=shorts_caption(name),
                seed=stable_seed("shorts_teaser", name, str(context.partition_key)),
                motion=config.motion,
                overlay=overlay,
            )
            facts = probe(staging / TEASER_FILE)
            check_results = [
                *teaser_check_results(facts, SHORTS_SIZE, teaser.duration_s),
                check_teaser_text_legible(teaser.title_text, teaser.caption_text),
            ]
            yield from judge_staged(
                "shorts_teaser", context.partition_key, check_results, TEASER_CHECK_SPECS
            )
    context.log.info(
        f"Teaser from {timestamp(teaser.start_s)} ({teaser.loudness_lufs:.1f} LUFS), "
        f"{facts.video_duration_s:.1f} s"
    )
    yield dg.MaterializeResult(
        value=TeaserRecord(
            teaser_path=artifact_store.relative(target),
            start_s=teaser.start_s,
            duration_s=round(facts.video_duration_s, 3),
            loudness_lufs=round(teaser.loudness_lufs, 2),
            input_sha256=inputs,
        ),
        metadata={
            "excerpt": f"{timestamp(teaser.start_s)} + {teaser.duration_s:.0f} s",
            "loudness_lufs": dg.MetadataValue.float(round(teaser.loudness_lufs, 2)),
            "title_contrast": dg.MetadataValue.float(round(teaser.text_contrast, 2)),
            "size_mb": dg.MetadataValue.float(round(target.stat().st_size / 1e6, 1)),
            "path": dg.MetadataValue.path(str(target)),
        },
        check_results=check_results,
    )
