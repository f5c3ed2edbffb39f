"""Growth group: what brings listeners to the releases.

Thin wiring over the domain modules: ``shorts_upload`` (``publish/shorts.py``),
``comment_replies`` and its sensor (``publish/comments.py``), ``thumbnail_experiment`` and its
sensor (``publish/experiments.py``), ``keyword_research`` (``publish/keywords.py``, weekly) and
``channel_report`` (``publish/report.py``, weekly). Every YouTube call goes through the client
stack of the release upload (``publish/youtube.py``: clients, Retrier, refusals, redaction),
dry-run without credentials (the exact requests in the partition's ``manifest.json``). Every
schedule and sensor here is stopped until switched on (README, "Growing the channel").
"""

import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
from googleapiclient.http import MediaFileUpload
from pydantic import Field, model_validator

from lofi_assets.audio.long_form import week_dates
from lofi_assets.defs.assets.common import png_markdown, release_asset_options, week_asset_options
from lofi_assets.defs.assets.publish import live_upload_metadata, publish_or_plan
from lofi_assets.defs.checks import check_inputs_current, check_no_problems, inputs_current_spec
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.pools import YOUTUBE_API_POOL
from lofi_assets.defs.records import (
    CommentRepliesRecord,
    ExperimentRecord,
    KeywordRecord,
    MetadataRecord,
    ReportRecord,
    TeaserRecord,
    ThumbnailRecord,
    UploadRecord,
)
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    ReportResource,
    WarehouseResource,
    YouTubeResource,
)
from lofi_assets.errors import ConfigError
from lofi_assets.lineage import input_hashes
from lofi_assets.publish.comments import (
    CommentManager,
    CommentQueue,
    CommentRunOutcome,
    feed_style_requests,
    load_rules,
    recent_live_releases,
    reply_request,
    thread_list_request,
    tracklist_comment,
    tracklist_request,
)
from lofi_assets.publish.experiments import (
    DEFAULT_ALPHA,
    DEFAULT_MAX_DAYS,
    DEFAULT_MAX_IMPRESSIONS,
    DEFAULT_MIN_IMPRESSIONS,
    VARIANTS,
    ExperimentOutcome,
    ExperimentStore,
    StoppingRule,
    ThumbnailExperiment,
    VariantLook,
    record_looks,
    reporting_day,
    variant_for_day,
    win_summary,
)
from lofi_assets.publish.feedback import BOOSTS_FILE
from lofi_assets.publish.keywords import (
    DEFAULT_BUDGET_UNITS,
    DEFAULT_MAX_RESULTS,
    KeywordStore,
    ResearchOutcome,
    queries_within,
    research_data,
    research_week,
    search_request,
    videos_request,
)
from lofi_assets.publish.localize import language_templates
from lofi_assets.publish.metadata import document_chapters
from lofi_assets.publish.report import (
    DRY_RUN_RECIPIENT,
    DRY_RUN_SENDER,
    ReportLedger,
    build_message,
    gather_report,
    report_plots,
    send_message,
    write_eml,
)
from lofi_assets.publish.shorts import (
    ShortFacts,
    release_url,
    short_problems,
    short_text,
    short_upload,
)
from lofi_assets.publish.upload import UploadLedger, describe_request, parse_rfc3339
from lofi_assets.publish.youtube import Retrier
from lofi_assets.storage import write_json_atomic
from lofi_assets.visual.video import probe

GROWTH_VERSION = "1"
MANIFEST_FILE = "manifest.json"
SHORTS_URL = "https://www.youtube.com/shorts/{video_id}"


def write_dry_run(
    context: dg.AssetExecutionContext,
    target: Path,
    header: Mapping[str, Any],
    requests: Sequence[tuple[str, Any]],
) -> Path:
    """A dry run's ``target / MANIFEST_FILE``: ``header`` (the partition's key and settings),
    ``"mode": "dry_run"`` and each built ``(call name, request)`` as ``describe_request``
    shows it, none sent; logged, and its path returned."""
    path = write_json_atomic(
        target / MANIFEST_FILE,
        {
            **header,
            "mode": "dry_run",
            "requests": [describe_request(name, request) for name, request in requests],
        },
    )
    context.log.info(f"Dry run: {len(requests)} requests written to {path}")
    return path


def require_live_release(date: str, youtube_upload: UploadRecord, why: str = "") -> str:
    """The video id of the day's release; ``ConfigError`` (ending with ``why``) while
    ``youtube_upload`` has not put it on YouTube (a dry run, or no video yet)."""
    if youtube_upload.mode != "live" or not youtube_upload.video_id:
        raise ConfigError(
            f"The release of {date} is not on YouTube yet (youtube_upload ran in "
            f"{youtube_upload.mode}): publish it live first{why}"
        )
    return youtube_upload.video_id


SHORTS_CHECK_SPECS = [
    dg.AssetCheckSpec(
        "short_valid",
        asset="shorts_upload",
        blocking=True,
        description="The Short's body within YouTube's limits (every language), #Shorts in its "
        "title and description, the full release linked, the teaser vertical and ≤ 60 s",
    ),
    inputs_current_spec("shorts_upload"),
]


@dg.asset(
    group_name="growth",
    kinds={"python", "youtube"},
    code_version=GROWTH_VERSION,
    check_specs=SHORTS_CHECK_SPECS,
    pool=YOUTUBE_API_POOL,
    **{
        **release_asset_options(UploadRecord, automation=None),
        # Named apart from youtube_upload's type of the same record class: Dagster wants one
        # type per name in a job (the all-assets job holds both).
        "dagster_type": dg.PythonObjectDagsterType(UploadRecord, name="ShortUploadRecord"),
    },
)
def shorts_upload(
    context: dg.AssetExecutionContext,
    shorts_teaser: TeaserRecord,
    release_metadata: MetadataRecord,
    youtube_upload: UploadRecord,
    channel: ChannelConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> Iterator[dg.AssetCheckResult | dg.MaterializeResult]:
    """The day's teaser on YouTube as a Short, once (ledger key ``short-<date>``), linking to
    the full release and published with it; dry-run without credentials."""
    date = str(context.partition_key)
    target = artifact_store.partition_dir("shorts_upload", date)
    with domain_failures(artifact_store.root):
        current = yield from check_inputs_current(
            artifact_store.root,
            {
                "shorts_teaser": shorts_teaser.input_sha256,
                "release_metadata": release_metadata.input_sha256,
            },
        )
        if youtube.live:
            require_live_release(date, youtube_upload, ", the Short links to it")
        teaser_path = artifact_store.resolve(shorts_teaser.teaser_path)
        video_facts = probe(teaser_path)
        facts = ShortFacts(video_facts.width, video_facts.height, video_facts.video_duration_s)
        document = artifact_store.read_json(release_metadata.metadata_path)
        localizations = document.get("localizations", {})
        url = release_url(youtube_upload.video_id if youtube.live else None)
        text = short_text(
            title=document["title"],
            channel_name=channel.settings().name,
            url=url,
            localizations=localizations,
            full_mix_leads={lang: language_templates(lang).full_mix for lang in localizations},
        )
        release = short_upload(
            release_date=date,
            teaser_path=teaser_path,
            text=text,
            tags=document["tags"],
            publish_at_utc=document["publish_at_utc"],
            default_language=document.get("default_language", "en"),
            default_audio_language=document.get("default_audio_language"),
        )
        inputs = input_hashes(
            artifact_store.root, [shorts_teaser.teaser_path, release_metadata.metadata_path]
        )
        now = dt.datetime.now(dt.UTC)
        body = release.video_body(now)
        found = short_problems(body, facts, url)
        validity = check_no_problems("short_valid", found)
        if found:  # blocking: nothing is built or sent for a Short that is not one
            yield validity
            raise ConfigError(f"The Short of {date} cannot be published: {'; '.join(found)}")
        attempt = publish_or_plan(
            context, release, inputs, target, youtube, warehouse, artifact_store, now
        )
        if attempt.outcome is None:
            metadata: dict[str, Any] = {
                "mode": "dry_run (set YOUTUBE_TOKEN_FILE to publish)",
                "manifest": dg.MetadataValue.path(str(attempt.manifest_path)),
            }
        else:
            metadata = {
                **live_upload_metadata(attempt.outcome, SHORTS_URL),
                "retries": dg.MetadataValue.int(attempt.outcome.retries),
            }
    yield dg.MaterializeResult(
        value=attempt.record,
        metadata={
            **metadata,
            "ledger_key": release.ledger_key,
            "title": release.title,
            "links_to": dg.MetadataValue.url(url) if youtube.live else url,
            "publish_at": dg.MetadataValue.timestamp(parse_rfc3339(release.publish_at_utc)),
            "teaser": dg.MetadataValue.path(str(teaser_path)),
            "duration_s": dg.MetadataValue.float(round(facts.duration_s, 2)),
            "languages": dg.MetadataValue.json(sorted(release.localizations)),
        },
        check_results=[validity, current],
    )


class CommentsConfig(dg.Config):
    """Operator decisions and limits of one ``comment_replies`` run."""

    approve: list[str] = []  # comment ids whose drafted reply may be posted
    reject: list[str] = []  # comment ids never to answer
    # commentThreads.list pages of 100 read per run (1 unit each)
    max_pages: int = Field(default=5, ge=1, le=100)
    # requests of a style that add one style boost
    style_request_threshold: int = Field(default=5, ge=1)


@dg.asset(
    group_name="growth",
    kinds={"python", "youtube", "duckdb"},
    code_version=GROWTH_VERSION,
    pool=YOUTUBE_API_POOL,
    **release_asset_options(CommentRepliesRecord, automation=None),
)
def comment_replies(
    context: dg.AssetExecutionContext,
    config: CommentsConfig,
    release_metadata: MetadataRecord,
    youtube_upload: UploadRecord,
    channel: ChannelConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The release's comments: new ones classified and queued with drafted replies, the
    approved replies posted (never without approval), the tracklist comment posted once, style
    requests counted into the style boosts; dry-run writes the requests it would send."""
    date = str(context.partition_key)
    target = artifact_store.partition_dir("comment_replies", date)
    with domain_failures(artifact_store.root):
        queue = CommentQueue(warehouse.client())
        if config.approve:
            context.log.info(f"Approved {queue.decide(config.approve, approve=True)}")
        if config.reject:
            context.log.info(f"Rejected {queue.decide(config.reject, approve=False)}")
        document = artifact_store.read_json(release_metadata.metadata_path)
        tracklist = tracklist_comment(document["title"], document_chapters(document))
        rules = load_rules()
        name = channel.settings().name
        clients = youtube.clients()
        # The day's Short draws comments too ("song name?"): read with the release's.
        short_row = UploadLedger(warehouse.client()).load(f"short-{date}")
        short_ids = [short_row.video_id] if short_row and short_row.video_id else []
        if not youtube.live:
            video_id = youtube_upload.video_id or "{video_id}"
            requests = [
                ("channels.list", clients.youtube.channels().list(part="id", mine=True)),
                ("commentThreads.list", thread_list_request(clients.youtube, video_id)),
                *(
                    ("commentThreads.list", thread_list_request(clients.youtube, short_id))
                    for short_id in short_ids
                ),
                (
                    "commentThreads.insert",
                    tracklist_request(clients.youtube, "{channel_id}", video_id, tracklist),
                ),
            ] + [
                ("comments.insert", reply_request(clients.youtube, row["comment_id"], row["draft"]))
                for row in queue.rows(date, "approved")
            ]
            manifest_path = write_dry_run(context, target, {"release_date": date}, requests)
            outcome = CommentRunOutcome({}, [], "planned", [])
            mode, manifest = "dry_run", artifact_store.relative(manifest_path)
        else:
            video_id = require_live_release(date, youtube_upload)
            manager = CommentManager(
                clients.youtube,
                queue,
                Retrier(context.log.info).execute,
                log=context.log.info,
                max_pages=config.max_pages,
            )
            outcome = manager.run(
                release_date=date,
                video_id=video_id,
                title=document["title"],
                channel=name,
                tracklist=tracklist,
                rules=rules,
                other_video_ids=short_ids,
            )
            mode, manifest = "live", None
        requests_by_style = queue.style_requests()
        next_day = (dt.date.fromisoformat(date) + dt.timedelta(days=1)).isoformat()
        boosts = feed_style_requests(
            requests_by_style,
            artifact_store.root / BOOSTS_FILE,
            config.style_request_threshold,
            next_day,
        )
        pending = queue.rows(date, "pending")
    table = "\n".join(
        ["| comment | category | draft |", "|---|---|---|"]
        + [f"| {r['comment_id']} | {r['category']} | {(r['draft'] or '')[:80]} |" for r in pending]
    )
    return dg.MaterializeResult(
        value=CommentRepliesRecord(
            mode,
            manifest,
            None if mode == "dry_run" else video_id,
            outcome.queued,
            len(pending),
            outcome.posted,
            outcome.tracklist,
            requests_by_style,
        ),
        metadata={
            "mode": mode,
            "short_read": short_ids[0] if short_ids else "no Short on YouTube",
            "queued": dg.MetadataValue.json(outcome.queued),
            "pending_approval": dg.MetadataValue.int(len(pending)),
            "pending": dg.MetadataValue.md(table if pending else "nothing waits for approval"),
            "posted": dg.MetadataValue.json(outcome.posted),
            "tracklist_comment": outcome.tracklist,
            "style_requests": dg.MetadataValue.json(requests_by_style),
            "style_boosts_added": dg.MetadataValue.json(boosts),
        },
    )


class KeywordConfig(dg.Config):
    """How much of the day's quota keyword research may spend, and how deep it looks."""

    search_budget_units: int = Field(default=DEFAULT_BUDGET_UNITS, ge=0)  # 101 units a query
    # top videos read per query (search.list's maxResults and videos.list's ids: 1 to 50)
    max_results: int = Field(default=DEFAULT_MAX_RESULTS, ge=1, le=50)


@dg.asset(
    group_name="growth",
    kinds={"python", "youtube", "duckdb"},
    code_version=GROWTH_VERSION,
    pool=YOUTUBE_API_POOL,
    **week_asset_options(KeywordRecord),
)
def keyword_research(
    context: dg.AssetExecutionContext,
    config: KeywordConfig,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The niche's queries searched once a week within a quota budget; the tags and title
    words of the top results scored and stored in the warehouse for metadata to prefer."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("keyword_research", week)
    with domain_failures(artifact_store.root):
        queries, stopwords = research_data()
        planned = queries_within(queries, config.search_budget_units)
        store = KeywordStore(warehouse.client())
        clients = youtube.clients()
        if not youtube.live:
            requests = [
                ("search.list", search_request(clients.youtube, q, config.max_results))
                for q in planned
            ]
            requests.append(("videos.list", videos_request(clients.youtube, ["{result_ids}"])))
            write_dry_run(
                context,
                target,
                {"week": week, "budget_units": config.search_budget_units},
                requests,
            )
            outcome = ResearchOutcome([], [], 0)
            mode = "dry_run"
        else:
            outcome = research_week(
                clients.youtube,
                Retrier(context.log.info).execute,
                store,
                week,
                planned,
                stopwords,
                config.max_results,
                log=context.log.info,
            )
            mode = "live"
        tags = store.top_terms(week, "tag", 15)
        words = store.top_terms(week, "title_word", 15)
    table = "\n".join(
        ["| term | kind | videos | score |", "|---|---|---:|---:|"]
        + [f"| {t.term} | {t.kind} | {t.videos} | {t.score:.1f} |" for t in [*tags, *words]]
    )
    return dg.MaterializeResult(
        value=KeywordRecord(
            week=week,
            mode=mode,
            searched=outcome.searched,
            skipped=outcome.skipped,
            units=outcome.units,
            top_tags=[t.term for t in tags],
            top_title_words=[t.term for t in words],
        ),
        metadata={
            "mode": mode,
            "queries_planned": dg.MetadataValue.json(planned),
            "searched": dg.MetadataValue.json(outcome.searched),
            "quota_units_this_run": dg.MetadataValue.int(outcome.units),
            "quota_units_this_week": dg.MetadataValue.int(store.units(week)),
            "top_terms": dg.MetadataValue.md(table if tags or words else "no research yet"),
        },
    )


keyword_research_job = dg.define_asset_job(
    "keyword_research_job",
    selection=dg.AssetSelection.assets(keyword_research),
    description="Search the niche's queries within the quota budget; store what ranks",
)
# Stopped until switched on: 03:00 after each week.
keyword_research_schedule = dg.build_schedule_from_partitioned_job(
    keyword_research_job, hour_of_day=3, default_status=dg.DefaultScheduleStatus.STOPPED
)


class ExperimentConfig(dg.Config):
    """The stopping rule's settings (publish/experiments.py) and the day the run acts for."""

    as_of: str = ""  # YYYY-MM-DD the run acts for; empty: today in Pacific Time (the reports')
    alpha: float = Field(default=DEFAULT_ALPHA, gt=0.0, lt=0.5)
    min_impressions: int = Field(default=DEFAULT_MIN_IMPRESSIONS, ge=1)
    max_impressions: int = Field(default=DEFAULT_MAX_IMPRESSIONS, ge=1)
    max_days: int = Field(default=DEFAULT_MAX_DAYS, ge=1)  # then it ends (module docstring)

    @model_validator(mode="after")
    def _consistent(self) -> "ExperimentConfig":
        if self.as_of:
            try:
                dt.date.fromisoformat(self.as_of)
            except ValueError:
                raise ValueError(f"as_of {self.as_of!r} is not a day: use YYYY-MM-DD") from None
        if self.max_impressions < self.min_impressions:
            raise ValueError(
                f"max_impressions ({self.max_impressions}) is below min_impressions "
                f"({self.min_impressions})"
            )
        return self


@dg.asset(
    group_name="growth",
    kinds={"python", "youtube", "duckdb"},
    code_version=GROWTH_VERSION,
    pool=YOUTUBE_API_POOL,
    **{
        **release_asset_options(ExperimentRecord, automation=None),
        "dagster_type": dg.PythonObjectDagsterType(ExperimentRecord),
    },
)
def thumbnail_experiment(
    context: dg.AssetExecutionContext,
    config: ExperimentConfig,
    thumbnail: ThumbnailRecord,
    youtube_upload: UploadRecord,
    youtube: YouTubeResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The release's A/B/C thumbnails rotated one a day until the sequential test stops; the
    winner kept unless it lowers the average view duration (then A). Results in the warehouse
    (``thumbnail_experiments``; each variant's palette, scene and result in
    ``thumbnail_variants``) and here, with which palettes and scenes win over every finished
    experiment (what ``thumbnail`` draws from); dry-run writes the requests it would send."""
    date = str(context.partition_key)
    today = config.as_of or reporting_day()
    rule = StoppingRule(
        config.alpha, config.min_impressions, config.max_impressions, config.max_days
    )
    target = artifact_store.partition_dir("thumbnail_experiment", date)
    with domain_failures(artifact_store.root):
        paths = {v: str(artifact_store.resolve(p)) for v, p in thumbnail.variant_paths.items()}
        missing = sorted(set(VARIANTS) - set(paths))
        if missing:
            raise ConfigError(f"The thumbnail of {date} lacks variants {missing}: re-make it")
        store = ExperimentStore(warehouse.client())
        clients = youtube.clients()
        if not youtube.live:
            row = store.experiment(date)
            variant = variant_for_day(str(row["started_on"]) if row else today, today)
            video_id = youtube_upload.video_id or "{video_id}"
            requests = [
                ("jobs.list", clients.reporting.jobs().list()),
                (
                    "jobs.reports.list",
                    clients.reporting.jobs()
                    .reports()
                    .list(jobId="{job_id}", startTimeAtOrAfter=f"{today}T00:00:00Z"),
                ),
                (
                    "thumbnails.set",
                    clients.youtube.thumbnails().set(
                        videoId=video_id,
                        media_body=MediaFileUpload(paths[variant], mimetype="image/jpeg"),
                    ),
                ),
            ]
            write_dry_run(context, target, {"release_date": date, "variant": variant}, requests)
            outcome = ExperimentOutcome("planned", variant, 0, None)
        else:
            video_id = require_live_release(date, youtube_upload)
            experiment = ThumbnailExperiment(
                clients,
                store,
                Retrier(context.log.info).execute,
                log=context.log.info,
                rule=rule,
            )
            outcome = experiment.run(
                release_date=date,
                video_id=video_id,
                today=today,
                variant_paths=paths,
            )
            looks = {
                v: VariantLook(thumbnail.variant_palettes[v], thumbnail.variant_scenes[v])
                for v in VARIANTS
                if v in thumbnail.variant_palettes and v in thumbnail.variant_scenes
            }
            record_looks(store, date, looks, outcome)
        wins = win_summary(store.warehouse)
    arms = outcome.arms
    table = "\n".join(
        ["| variant | impressions | clicks | CTR | avg view (s) |", "|---|---:|---:|---:|---:|"]
        + [
            f"| {a.variant} | {a.impressions:,} | {a.clicks:,} | {a.ctr:.2%} | "
            f"{'' if a.average_view_duration_s is None else f'{a.average_view_duration_s:.0f}'} |"
            for a in arms
        ]
    )
    return dg.MaterializeResult(
        value=ExperimentRecord(
            release_date=date,
            mode="live" if youtube.live else "dry_run",
            state=outcome.state,
            variant=outcome.variant,
            kept=outcome.kept,
            reason=outcome.reason,
            impressions={a.variant: a.impressions for a in arms},
            clicks={a.variant: a.clicks for a in arms},
        ),
        metadata={
            "state": outcome.state,
            "showing": outcome.variant,
            "kept": outcome.kept or "undecided",
            "reason": outcome.reason or "dry run",
            "probability_leader_better": dg.MetadataValue.float(
                round(outcome.decision.probability, 6) if outcome.decision else 0.0
            ),
            "arms": dg.MetadataValue.md(table if arms else "no reach data yet"),
            "reach_rows_read": dg.MetadataValue.int(outcome.reach_rows),
            "looks_that_win": dg.MetadataValue.md(wins.markdown()),
            "favoured_palettes": dg.MetadataValue.json(list(wins.favoured_palettes)),
            "favoured_scenes": dg.MetadataValue.json(list(wins.favoured_scenes)),
        },
    )


thumbnail_experiment_job = dg.define_asset_job(
    "thumbnail_experiment_job",
    selection=dg.AssetSelection.assets(thumbnail_experiment),
    description="Advance a release's thumbnail experiment by a day (rotate, read reach, stop)",
)


@dg.sensor(
    job=thumbnail_experiment_job,
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Once a day, advances every running thumbnail experiment and starts one for "
    "the newest live release",
)
def thumbnail_experiment_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """One run per running experiment per day, and one for the newest live release."""
    today = reporting_day()  # a new day begins at midnight in Los Angeles, as the reports'
    store = ExperimentStore(warehouse.client())
    running = store.warehouse.query(
        "SELECT release_date FROM thumbnail_experiments WHERE state = 'running'"
    )
    dates = {str(row["release_date"]) for row in running}
    newest = recent_live_releases(store.warehouse, 1)
    if newest and store.experiment(newest[0]) is None:
        dates.add(newest[0])
    for date in sorted(dates):
        yield dg.RunRequest(run_key=f"thumbnails-{date}-{today}", partition_key=date)


REPORT_FILE = "report.eml"


@dg.asset(
    group_name="growth",
    kinds={"python", "email"},
    code_version=GROWTH_VERSION,
    **week_asset_options(ReportRecord),
)
def channel_report(
    context: dg.AssetExecutionContext,
    channel: ChannelConfig,
    report: ReportResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The owner's e-mail about the week (views, watch time, subscribers, releases best and
    worst, experiments, quota, radio uptime, inline plots): sent once over SMTP, or written as
    ``channel_report/<week>/report.eml`` in a dry run."""
    week = str(context.partition_key)
    target = artifact_store.partition_dir("channel_report", week) / REPORT_FILE
    with domain_failures(artifact_store.root):
        settings = report.settings()
        store = warehouse.client()
        weekly = gather_report(store, channel.settings().name, week, week_dates(week))
        sender = settings.sender if settings else DRY_RUN_SENDER
        recipient = settings.recipient if settings else DRY_RUN_RECIPIENT
        message = build_message(weekly, sender, recipient, dt.datetime.now(dt.UTC))
        write_eml(message, target)
        sent_at = ""
        if settings is None:
            context.log.info(f"Dry run: the report is in {target} (set LOFI_SMTP_HOST to send it)")
        else:
            ledger = ReportLedger(store)
            earlier = ledger.sent(week)
            if earlier is not None:
                sent_at = str(earlier["sent_at"])
                context.log.info(
                    f"The report of {week} went to {earlier['recipient']} at {sent_at}"
                )
            else:
                send_message(message, settings)
                ledger.record(week, str(message["Message-ID"]), settings.recipient)
                sent_at = str(ledger.sent(week)["sent_at"])
                context.log.info(f"Sent the report of {week} to {settings.recipient}")
    plots = report_plots(weekly)
    return dg.MaterializeResult(
        value=ReportRecord(
            week=week,
            mode="live" if settings else "dry_run",
            eml_path=artifact_store.relative(target),
            message_id=str(message["Message-ID"]),
            recipient=recipient,
            sent_at=sent_at,
            views=weekly.views,
            watch_hours=weekly.watch_hours,
        ),
        metadata={
            "mode": "live" if settings else "dry_run (set LOFI_SMTP_HOST to send)",
            "sent_at": sent_at or "not sent",
            "views": dg.MetadataValue.int(weekly.views),
            "watch_hours": dg.MetadataValue.float(weekly.watch_hours),
            "subscribers_gained": dg.MetadataValue.int(weekly.subscribers_gained),
            "releases": dg.MetadataValue.int(len(weekly.releases)),
            "quota_units": dg.MetadataValue.int(weekly.quota_units),
            "radio_uptime_pct": weekly.radio_uptime_pct
            if weekly.radio_uptime_pct is not None
            else "off",
            "daily_views": png_markdown(plots["daily_views"], "views per day"),
            "eml": dg.MetadataValue.path(str(target)),
        },
    )


GROWTH_DAILY_ASSETS = [shorts_upload, comment_replies, thumbnail_experiment]

shorts_job = dg.define_asset_job(
    "shorts_job",
    selection=dg.AssetSelection.assets(shorts_upload),
    description="The day's teaser as a YouTube Short linking to the release (dry-run without "
    "credentials; live, it needs the day's youtube_upload live first)",
)
# Stopped until switched on: 07:00 UTC, after the daily release (06:00) has been made and
# uploaded, the Short of the same day goes up scheduled for the release's publish time.
shorts_schedule = dg.build_schedule_from_partitioned_job(
    shorts_job, hour_of_day=7, default_status=dg.DefaultScheduleStatus.STOPPED
)

channel_report_job = dg.define_asset_job(
    "channel_report_job",
    selection=dg.AssetSelection.assets(channel_report),
    description="The owner's weekly e-mail (an .eml without LOFI_SMTP_HOST)",
)
# Stopped until switched on: 09:00 after each week, once the last day's analytics are in.
channel_report_schedule = dg.build_schedule_from_partitioned_job(
    channel_report_job, hour_of_day=9, default_status=dg.DefaultScheduleStatus.STOPPED
)

comment_replies_job = dg.define_asset_job(
    "comment_replies_job",
    selection=dg.AssetSelection.assets(comment_replies),
    description="Read and queue a release's comments, post the approved replies and the "
    "tracklist comment (dry-run without credentials)",
)
RECENT_RELEASES = 3  # the newest releases whose comments the sensor reads every hour


@dg.sensor(
    job=comment_replies_job,
    minimum_interval_seconds=900,
    default_status=dg.DefaultSensorStatus.STOPPED,
    description="Every hour, reads the comments of the newest live releases; at once, posts "
    "replies an operator approved (`lofi comments approve`). Never posts without approval.",
)
def comment_replies_sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):
    """One run request per release date a run is owed, at most one per date an hour: a date
    whose replies wait (approved, or left ``posting`` by a run that died), and each recent
    live release (its new comments). The run key names the hour and the waiting replies, so
    a new approval is acted on at once and a run that failed (quota, 5xx) is tried again the
    next hour, whichever release the replies belong to."""
    queue = CommentQueue(warehouse.client())
    waiting: dict[str, list[str]] = {}
    for status in ("approved", "posting"):
        for row in queue.rows(status=status):
            waiting.setdefault(row["release_date"], []).append(f"{row['comment_id']}:{status}")
    hour = _utc_hour()
    dates = set(waiting) | set(recent_live_releases(warehouse.client(), RECENT_RELEASES))
    for date in sorted(dates):
        ids = sorted(waiting.get(date, []))
        tag = hashlib.sha256(",".join(ids).encode()).hexdigest()[:16] if ids else "read"
        yield dg.RunRequest(run_key=f"comments-{date}-{hour}-{tag}", partition_key=date)


def _utc_hour() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%d%H")


GROWTH_ASSETS = [*GROWTH_DAILY_ASSETS, keyword_research, channel_report]
GROWTH_JOBS = [
    shorts_job,
    comment_replies_job,
    thumbnail_experiment_job,
    keyword_research_job,
    channel_report_job,
]
GROWTH_SCHEDULES = [shorts_schedule, keyword_research_schedule, channel_report_schedule]
GROWTH_SENSORS = [comment_replies_sensor, thumbnail_experiment_sensor]
