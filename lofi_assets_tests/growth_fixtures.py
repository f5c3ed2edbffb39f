"""A day's release as its records on disk, for the growth assets' tests: a tiny teaser MP4
made by ffmpeg, the release metadata (English + localizations, as ``release_metadata`` writes
it) and the ``youtube_upload`` record; the growth assets load them through the real IO
manager, so no track is rendered."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

from lofi_assets.defs.records import MetadataRecord, TeaserRecord, UploadRecord, record_to_document
from lofi_assets.publish.localize import DEFAULT_LANGUAGES, localized_metadata
from lofi_assets.publish.metadata import TrackFacts, build_metadata
from lofi_assets.visual.video import tool

PUBLISH_AT = "2099-01-01T15:00:00Z"  # in the future: the Short is scheduled with the release


def write_record(data: Path, asset: str, date: str, record) -> None:
    folder = data / asset / date
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "record.json").write_text(json.dumps(record_to_document(record)))


def make_teaser(path: Path, width: int = 270, height: int = 480, duration_s: float = 1.0) -> Path:
    """A small H.264 + AAC MP4 (black frames, a sine tone)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [tool("ffmpeg"), "-v", "error", "-y",
         "-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:d={duration_s}:r=10",
         "-f", "lavfi", "-i", f"sine=d={duration_s}",
         "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(path)],
        check=True, capture_output=True,
    )  # fmt: skip
    return path


def stage_release(
    data: Path,
    date: str,
    *,
    release_video_id: str | None = None,
    teaser_size: tuple[int, int] = (270, 480),
    teaser_s: float = 1.0,
    languages=DEFAULT_LANGUAGES,
) -> dict:
    """Write the records ``shorts_upload`` reads for ``date``; the upload is live (with
    ``release_video_id``) or dry-run (None). Returns the metadata document."""
    teaser = make_teaser(data / "shorts_teaser" / date / "teaser.mp4", *teaser_size, teaser_s)
    write_record(
        data, "shorts_teaser", date,
        TeaserRecord(str(teaser.relative_to(data)), 0.0, teaser_s, -14.0),
    )  # fmt: skip
    track = TrackFacts("jazz", "Jazz", "C major", 80.0, "rain_light", 0, 7)
    metadata = build_metadata(
        channel_name="Lofi Empire", artist="Lofi Empire", timezone="UTC", date=date,
        tracks=[track, track, track], chapter_starts_s=[0.0, 180.0, 360.0], duration_s=540.0,
    )  # fmt: skip
    metadata = localized_metadata(
        metadata, languages=languages, styles=["Jazz"], channel_name="Lofi Empire",
        artist="Lofi Empire", date=date,
    )  # fmt: skip
    metadata = replace(metadata, publish_at_utc=PUBLISH_AT)
    document = metadata.to_document()
    path = data / "release_metadata" / date / "metadata.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False))
    write_record(
        data, "release_metadata", date,
        MetadataRecord(str(path.relative_to(data)), metadata.title, PUBLISH_AT),
    )  # fmt: skip
    if release_video_id:
        upload = UploadRecord("live", None, release_video_id, "scheduled", PUBLISH_AT)
    else:
        manifest = f"youtube_upload/{date}/manifest.json"
        upload = UploadRecord("dry_run", manifest, None, "planned", PUBLISH_AT)
    write_record(data, "youtube_upload", date, upload)
    return document
