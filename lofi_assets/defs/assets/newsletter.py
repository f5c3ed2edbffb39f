"""Catalog group, weekly: the subscribers' newsletter (issue 18 §4), sent with the owner's
report stack (``ReportResource``: SMTP from ``LOFI_SMTP_*``, or a dry run's .eml)."""

import datetime as dt
from pathlib import Path

import dagster as dg

from lofi_assets.audio.long_form import week_dates
from lofi_assets.catalog.newsletter import (
    UNSUBSCRIBE_PATH,
    NewsletterError,
    NewsletterRelease,
    SubscriberList,
    link,
    newsletter_message,
)
from lofi_assets.catalog.site import PACKS_FOLDER, read_releases
from lofi_assets.defs.assets.catalog import SITE_FOLDER
from lofi_assets.defs.assets.packs import PACK_ASSETS, PACK_RECORD_TYPE
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.partitions import release_weeks
from lofi_assets.defs.records import NewsletterRecord, PackRecord
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    ReportResource,
    WarehouseResource,
)
from lofi_assets.publish.report import DRY_RUN_SENDER, ReportError, send_message, write_eml

PREVIEW_FILE = "newsletter.eml"
PREVIEW_RECIPIENT = "subscriber@localhost"  # the preview's placeholder: never a subscriber


@dg.asset(
    group_name="catalog",
    kinds={"python", "email"},
    code_version="1",
    partitions_def=release_weeks,
    io_manager_key="record_io_manager",
    dagster_type=dg.PythonObjectDagsterType(NewsletterRecord),
    backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
    ins={"sample_pack": dg.AssetIn(dagster_type=PACK_RECORD_TYPE)},
    deps=["catalog_site"],
)
def newsletter(
    context: dg.AssetExecutionContext,
    sample_pack: PackRecord,
    channel: ChannelConfig,
    report: ReportResource,
    warehouse: WarehouseResource,
    artifact_store: ArtifactStore,
) -> dg.MaterializeResult:
    """The week's releases and its sample pack (free, on the site) e-mailed to every
    confirmed subscriber once, with their own unsubscribe link; a preview .eml either way."""
    week = str(context.partition_key)
    settings_channel = channel.settings()
    site_url = channel.site_url
    site_root = artifact_store.root / SITE_FOLDER
    with domain_failures(artifact_store.root):
        smtp = report.settings()
        # The lead magnet: the week's sample pack, on the site since sample_pack published it.
        pack_relative = f"{PACKS_FOLDER}/{week}/{Path(sample_pack.zip_path).name}"
        if not (site_root / pack_relative).is_file():
            raise NewsletterError(
                f"The sample pack of {week} is not on the site ({site_root / pack_relative}): "
                "materialize sample_pack for the week again"
            )
        pack_url = site_url.rstrip("/") + "/" + pack_relative
        dates = set(week_dates(week))
        releases = [
            NewsletterRelease(
                r["date"], r["title"], f"{site_url.rstrip('/')}/{r['date']}/index.html",
                len(r["tracks"]),
            )
            for r in reversed(read_releases(site_root))
            if r["date"] in dates
        ]  # fmt: skip
        now = dt.datetime.now(dt.UTC)

        def message_to(recipient: str, token: str, subscriber: str):
            return newsletter_message(
                channel=settings_channel.name, week=week, releases=releases, pack_url=pack_url,
                site_url=site_url, sender=smtp.sender if smtp else DRY_RUN_SENDER,
                recipient=recipient, unsubscribe_url=link(site_url, UNSUBSCRIBE_PATH, token),
                subscriber=subscriber, now=now,
            )  # fmt: skip

        preview = artifact_store.partition_dir("newsletter", week) / PREVIEW_FILE
        write_eml(message_to(PREVIEW_RECIPIENT, "preview", "preview"), preview)
        subscribers = SubscriberList(warehouse.client())
        confirmed = subscribers.confirmed()
        sent = already = 0
        if smtp is None:
            context.log.info(
                f"Dry run: the newsletter is in {preview}; {len(confirmed)} confirmed "
                "subscribers would get it (set LOFI_SMTP_HOST to send)"
            )
        else:
            for subscriber in confirmed:
                message = message_to(subscriber.email, subscriber.token, subscriber.subscriber_id)
                # Claimed before it is sent: never twice a week, even from two runs at once.
                if not subscribers.claim(
                    week, subscriber.subscriber_id, str(message["Message-ID"])
                ):
                    already += 1
                    continue
                try:
                    send_message(message, smtp, recipient=subscriber.email)
                except ReportError:
                    subscribers.release(week, subscriber.subscriber_id)
                    raise
                sent += 1
            context.log.info(
                f"Newsletter of {week}: sent to {sent} subscribers, {already} had it already"
            )
    mode = "live" if smtp else "dry_run"
    return dg.MaterializeResult(
        value=NewsletterRecord(
            week=week,
            mode=mode,
            eml_path=artifact_store.relative(preview),
            confirmed=len(confirmed),
            sent=sent,
            already_sent=already,
            releases=len(releases),
            pack_url=pack_url,
        ),
        metadata={
            "mode": mode if smtp else "dry_run (set LOFI_SMTP_HOST to send)",
            "confirmed_subscribers": dg.MetadataValue.int(len(confirmed)),
            "sent": dg.MetadataValue.int(sent),
            "already_sent": dg.MetadataValue.int(already),
            "releases": dg.MetadataValue.int(len(releases)),
            "free_pack": dg.MetadataValue.url(pack_url),
            "preview_eml": dg.MetadataValue.path(str(preview)),
        },
    )


weekly_catalog_job = dg.define_asset_job(
    "weekly_catalog_job",
    selection=dg.AssetSelection.assets(*PACK_ASSETS, newsletter),
    description="The week's MIDI, stem and sample packs, then the newsletter that offers the "
    "sample pack (one week per run).",
)

# After the week's last day (stopped until the operator turns it on, as the weekly release is).
weekly_catalog_schedule = dg.build_schedule_from_partitioned_job(
    weekly_catalog_job, hour_of_day=3, default_status=dg.DefaultScheduleStatus.STOPPED
)
