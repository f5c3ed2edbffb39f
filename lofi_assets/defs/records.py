"""Small typed records that assets hand each other: paths and facts, never arrays.

Paths are relative to the data root so a step on another machine sharing the storage can
resolve them under its own mount point. Release records also carry ``input_sha256`` (path →
SHA-256 of each file they were built from: ``lofi_assets/lineage.py``), so publishing can
refuse a video made from an older mix.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from lofi_assets.audio.release_mix import Chapter


def chapters_from_document(chapters: Any) -> tuple[Chapter, ...]:
    """Chapters as ``Chapter``s, whether given so or as read back from a record's JSON
    (``{"start_s": float, "title": str}`` each, as ``dataclasses.asdict`` wrote them)."""
    return tuple(c if isinstance(c, Chapter) else Chapter(**c) for c in chapters)


@dataclass(frozen=True)
class SketchRecord:
    midi_path: str
    plan_path: str
    piano_roll_path: str
    seed: int
    style: str
    key: str
    bpm: float
    bars: int
    duration_s: float


@dataclass(frozen=True)
class StemsRecord:
    stem_paths: dict[str, str]  # stem name → WAV path
    sample_rate_hz: int
    duration_s: float
    soundfont: str


@dataclass(frozen=True)
class MasterRecord:
    wav_path: str
    preview_path: str
    fingerprint_path: str
    integrated_lufs: float
    true_peak_dbtp: float
    duration_s: float
    style: str
    bpm: float


@dataclass(frozen=True)
class ReleaseMixRecord:
    wav_path: str
    chapters_path: str
    duration_s: float
    chapters: tuple[Chapter, ...]  # in order
    slots: list[str]
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chapters", chapters_from_document(self.chapters))


@dataclass(frozen=True)
class MetadataRecord:
    metadata_path: str
    title: str
    publish_at_utc: str
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


@dataclass(frozen=True)
class ThumbnailRecord:
    variant_paths: dict[str, str]  # "A", "B", "C" → 1280×720 JPEG
    cover_path: str  # 3000×3000 JPEG for streaming stores
    headline: str
    scene: str = ""  # variant A's scene: the video's overlay follows it (rain at a window)
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)
    # Each variant's look ("A" → palette name / scene name): the experiment records them with
    # its results so winners are known by look. Empty in records written before 2026-11-30.
    variant_palettes: dict[str, str] = field(default_factory=dict)
    variant_scenes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class VideoRecord:
    video_path: str
    duration_s: float
    width: int
    height: int
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


@dataclass(frozen=True)
class UploadRecord:
    mode: str  # dry_run | live
    manifest_path: str | None  # dry-run: the requests that would have been sent
    video_id: str | None
    state: str  # the ledger's state after this run (dry_run: "planned")
    publish_at_utc: str
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


@dataclass(frozen=True)
class SnapshotRecord:
    snapshot_date: str
    mode: str
    videos: int
    rows_upserted: int
    reason: str = ""  # why the snapshot is empty, when it is


@dataclass(frozen=True)
class StreamingReleaseRecord:
    bundle_path: str
    manifest_sha256: str
    upc: str
    isrcs: list[str]
    release_date: str  # in stores (partition date + lead time)
    delivery: str  # delivered | updated | unchanged
    status: str  # awaiting_manual: a person submits it where the distributor has no API
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


@dataclass(frozen=True)
class CorpusRecord:
    folder: str  # train/*.mid, validation/*.mid, melodies.json, corpus_ngrams.npy
    preset: str
    pieces: int
    notes: int


@dataclass(frozen=True)
class TokenizerRecord:
    path: str  # tokenizer.json
    vocab_size: int


@dataclass(frozen=True)
class ModelRecord:
    folder: str  # model/, tokenizer.json, corpus_ngrams.npy, report.json, loss.png
    preset: str
    parameters: int
    validation_perplexity: float


@dataclass(frozen=True)
class TeaserRecord:
    teaser_path: str  # 1080×1920 MP4
    start_s: float  # where the excerpt begins in the day's mix
    duration_s: float
    loudness_lufs: float  # of the chosen window
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


RECORD_TYPES: dict[str, type] = {
    record.__name__: record
    for record in (
        SketchRecord,
        StemsRecord,
        MasterRecord,
        ReleaseMixRecord,
        MetadataRecord,
        ThumbnailRecord,
        VideoRecord,
        TeaserRecord,
        UploadRecord,
        SnapshotRecord,
        StreamingReleaseRecord,
        CorpusRecord,
        TokenizerRecord,
        ModelRecord,
    )
}


def record_to_document(record: Any) -> dict[str, Any]:
    return {"record_type": type(record).__name__, "fields": asdict(record)}


RECORD_FILE = "record.json"  # beside each partition's artifacts (defs/io.py writes it)


def read_record(path: Path) -> Any:
    """The record in ``path`` (a ``record.json``), as its dataclass: the one reader of records
    on disk, for the IO manager and for assets that look up other partitions' records.

    Raises:
        FileNotFoundError: no record there; ValueError: an unknown record type.
    """
    return record_from_document(json.loads(Path(path).read_text(encoding="utf-8")))


def record_from_document(document: dict[str, Any]) -> Any:
    record_type = RECORD_TYPES.get(document.get("record_type", ""))
    if record_type is None:
        raise ValueError(f"Unknown record type {document.get('record_type')!r}")
    known = {field.name for field in fields(record_type)}
    return record_type(**{k: v for k, v in document["fields"].items() if k in known})


@dataclass(frozen=True)
class WeeklyMixRecord:
    """The week's long-form mix (``weekly_mix``): its tracks in order, masters then extras."""

    wav_path: str
    chapters_path: str
    duration_s: float
    chapters: tuple[Chapter, ...]  # one per track, in order
    # One per track: {"source": "master" | "extra", "track": "<date>|<slot>" or extra index,
    # "plan_path": plan.json under the data root}
    tracks: list[dict]
    extras: int  # how many of the tracks were composed for the week (top-up)
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)

    def __post_init__(self) -> None:
        object.__setattr__(self, "chapters", chapters_from_document(self.chapters))


RECORD_TYPES[WeeklyMixRecord.__name__] = WeeklyMixRecord


@dataclass(frozen=True)
class RadioQueueRecord:
    queue_path: str  # queue.json: the playlist of ``plays_on`` (the day after the partition)
    plays_on: str
    tracks: int
    fresh_tracks: int
    length_s: float


RECORD_TYPES[RadioQueueRecord.__name__] = RadioQueueRecord


@dataclass(frozen=True)
class RadioHealthRecord:
    """One day of the radio (``radio_health``), as upserted into the warehouse's
    ``radio_health`` table (durations in seconds, ``uptime_pct`` of the time it ran)."""

    day: str
    uptime_s: float
    downtime_s: float
    uptime_pct: float
    reconnects: int
    encoder_restarts: int
    stalls: int
    alerts: int
    broadcast_id: str  # the YouTube Live broadcast bound at the reading ("" when none)
    updated_at: str


RECORD_TYPES[RadioHealthRecord.__name__] = RadioHealthRecord


@dataclass(frozen=True)
class ReportRecord:
    """The owner's weekly report (``channel_report``): sent over SMTP (``live``) or written as
    an .eml (``dry_run``); ``message_id`` is the same for every attempt of the week."""

    week: str
    mode: str  # dry_run | live
    eml_path: str  # the message as built, under the data root (in both modes)
    message_id: str
    recipient: str
    sent_at: str  # when it was sent ("" in a dry run)
    views: int
    watch_hours: float


RECORD_TYPES[ReportRecord.__name__] = ReportRecord


@dataclass(frozen=True)
class CommentRepliesRecord:
    """One run of ``comment_replies``: new comments queued by category, pending approvals,
    replies posted this run, the tracklist comment's state, style requests counted so far."""

    mode: str  # dry_run | live
    manifest_path: str | None  # dry-run: the requests that would have been sent
    video_id: str | None
    queued: dict[str, int]
    pending: int
    posted: list[str]
    tracklist: str  # posted | adopted | already | planned (dry run)
    style_requests: dict[str, int]


RECORD_TYPES[CommentRepliesRecord.__name__] = CommentRepliesRecord


@dataclass(frozen=True)
class KeywordRecord:
    """One week of keyword research: queries searched this run (``skipped``: done before),
    quota units spent this run, and the week's best tags and title words."""

    week: str
    mode: str  # dry_run | live
    searched: list[str]
    skipped: list[str]
    units: int
    top_tags: list[str]
    top_title_words: list[str]


RECORD_TYPES[KeywordRecord.__name__] = KeywordRecord


@dataclass(frozen=True)
class ExperimentRecord:
    """A release's thumbnail experiment after a run: ``state`` running | decided | planned
    (dry run), the variant shown now, the one kept and why, totals per variant so far."""

    release_date: str
    mode: str
    state: str
    variant: str
    kept: str | None
    reason: str
    impressions: dict[str, int]
    clicks: dict[str, int]


RECORD_TYPES[ExperimentRecord.__name__] = ExperimentRecord


@dataclass(frozen=True)
class CatalogSiteRecord:
    """A day's release on the listening-room site (``catalog_site``): its page (path under the
    data root and URL where ``lofi catalog serve`` shows it), its track pages in slot order and
    their ISRCs ("" until ``streaming_release`` issued one)."""

    page_path: str
    page_url: str
    track_pages: list[str]
    isrcs: list[str]
    input_sha256: dict[str, str] = field(default_factory=dict)  # built from (lineage.py)


RECORD_TYPES[CatalogSiteRecord.__name__] = CatalogSiteRecord


@dataclass(frozen=True)
class PackRecord:
    """A week's pack (``midi_pack``, ``stem_pack``, ``sample_pack``): the zip under the data
    root, how many files its manifest lists, its size, the tracks it was cut from
    ("<date>|<slot>") and the licence it carries."""

    zip_path: str
    files: int
    size_bytes: int
    tracks: list[str]
    licence_id: str


RECORD_TYPES[PackRecord.__name__] = PackRecord


@dataclass(frozen=True)
class NewsletterRecord:
    """A week's newsletter (``newsletter``): ``mode`` live | dry_run, the preview .eml (to a
    placeholder address), how many confirmed subscribers there were, how many got it this run
    and how many had it already; counts only, never an address."""

    week: str
    mode: str
    eml_path: str
    confirmed: int
    sent: int
    already_sent: int
    releases: int
    pack_url: str


RECORD_TYPES[NewsletterRecord.__name__] = NewsletterRecord
