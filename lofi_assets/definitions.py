"""The one Definitions object of the lofi-empire code location."""

import os
from pathlib import Path

import dagster as dg

from lofi_assets.channel import channel_timezone
from lofi_assets.defs.assets.catalog import CATALOG_ASSETS, catalog_site_job
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.feedback import breakout_feedback
from lofi_assets.defs.assets.growth import (
    GROWTH_ASSETS,
    GROWTH_JOBS,
    GROWTH_SCHEDULES,
    GROWTH_SENSORS,
)
from lofi_assets.defs.assets.long_form import (
    LONG_FORM_ASSETS,
    weekly_release_job,
    weekly_release_schedule,
)
from lofi_assets.defs.assets.model import melody_corpus, melody_model, midi_tokenizer
from lofi_assets.defs.assets.newsletter import (
    newsletter,
    weekly_catalog_job,
    weekly_catalog_schedule,
)
from lofi_assets.defs.assets.packs import PACK_ASSETS
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.publish import analytics_snapshot, youtube_upload
from lofi_assets.defs.assets.radio import radio_queue
from lofi_assets.defs.assets.radio_health import (
    RADIO_HEALTH_ASSETS,
    RADIO_JOBS,
    RADIO_SCHEDULES,
    RADIO_SENSORS,
)
from lofi_assets.defs.assets.release import (
    release_metadata,
    release_mix,
    shorts_teaser,
    thumbnail,
    video,
)
from lofi_assets.defs.assets.streaming import streaming_release
from lofi_assets.defs.automation import (
    analytics_job,
    analytics_schedule,
    analytics_threshold_sensor,
    breakout_feedback_job,
    daily_release_job,
    daily_release_schedule,
    daily_tracks_job,
    publish_job,
    release_automation_sensor,
    train_melody_model_job,
)
from lofi_assets.defs.executor import forked_multiprocess_executor
from lofi_assets.defs.io import RecordIOManager
from lofi_assets.defs.resources import (
    SFTP_PASSWORD_ENV,
    WAREHOUSE_FILE,
    WAREHOUSE_URL_ENV,
    ArtifactStore,
    ChannelConfig,
    DistributorResource,
    MelodyModelResource,
    ReportResource,
    SoundFontResource,
    StyleBoostStore,
    WarehouseResource,
    YouTubeResource,
    default_data_dir,
)
from lofi_assets.defs.scale_out import celery_tracks_job
from lofi_assets.publish.youtube import ENDPOINT_ENV, TOKEN_FILE_ENV


def _from_environment(name: str, default: str | None = None) -> str | dg.EnvVar | None:
    """dg.EnvVar when the variable is set (read at run time, never logged), else ``default``."""
    return dg.EnvVar(name) if os.environ.get(name) else default


def resources_from_environment() -> dict[str, object]:
    """Every resource, configured from the environment as the code location is.

    A secret-bearing setting ($LOFI_WAREHOUSE_URL, $LOFI_SFTP_PASSWORD, the token file) is a
    ``dg.EnvVar``: Dagster stores and shows the variable's name, and reads the value when the
    run uses it. A literal would be kept in the job's snapshot in the run storage and shown
    in the UI's resource config (Dagster docs, "Using environment variables and secrets").
    """
    artifact_store = ArtifactStore(data_dir=default_data_dir())
    return {
        "channel": ChannelConfig(timezone=channel_timezone()),
        "soundfont": SoundFontResource(),
        "artifact_store": artifact_store,
        "record_io_manager": RecordIOManager(store=artifact_store),
        "melody_models": MelodyModelResource(store=artifact_store),
        "style_boosts": StyleBoostStore(store=artifact_store),
        "youtube": YouTubeResource(
            token_file=_from_environment(TOKEN_FILE_ENV),
            endpoint=_from_environment(ENDPOINT_ENV),
        ),
        "distributor": DistributorResource(
            drop_folder=str(Path(default_data_dir()) / "distributor_dropbox"),
            sftp_password=_from_environment(SFTP_PASSWORD_ENV),
        ),
        "report": ReportResource(),
        "warehouse": WarehouseResource(
            url=_from_environment(WAREHOUSE_URL_ENV, str(Path(default_data_dir()) / WAREHOUSE_FILE))
        ),
    }


defs = dg.Definitions(
    assets=[
        midi_sketch,
        stems,
        mastered_wav,
        release_mix,
        release_metadata,
        thumbnail,
        video,
        shorts_teaser,
        youtube_upload,
        streaming_release,
        analytics_snapshot,
        breakout_feedback,
        melody_corpus,
        midi_tokenizer,
        melody_model,
        *LONG_FORM_ASSETS,
        radio_queue,
        *RADIO_HEALTH_ASSETS,
        *GROWTH_ASSETS,
        *CATALOG_ASSETS,
        *PACK_ASSETS,
        newsletter,
    ],
    jobs=[
        daily_tracks_job,
        daily_release_job,
        publish_job,
        analytics_job,
        breakout_feedback_job,
        train_melody_model_job,
        celery_tracks_job,
        weekly_release_job,
        catalog_site_job,
        weekly_catalog_job,
        *RADIO_JOBS,
        *GROWTH_JOBS,
    ],
    executor=forked_multiprocess_executor,
    schedules=[
        daily_release_schedule,
        analytics_schedule,
        weekly_release_schedule,
        weekly_catalog_schedule,
        *RADIO_SCHEDULES,
        *GROWTH_SCHEDULES,
    ],
    sensors=[
        analytics_threshold_sensor,
        release_automation_sensor,
        *RADIO_SENSORS,
        *GROWTH_SENSORS,
    ],
    resources=resources_from_environment(),
)


def celery_tracks_job_definition() -> dg.JobDefinition:
    """``celery_tracks_job`` resolved against ``defs``, for ``dg.reconstructable``.

    Celery workers rebuild a job from a module-level function; it lives here, beside the one
    Definitions object, so that ``defs/scale_out.py`` need not import this module back.
    """
    return defs.resolve_job_def("celery_tracks_job")
