"""Scale-out across machines: the track assets run step by step on Celery workers.

Steps go to Redis (``LOFI_CELERY_BROKER``, default redis://127.0.0.1:6379/0); any number of
workers on any machines take them, provided they share the Dagster instance (PostgreSQL in
production) and ``LOFI_DATA_DIR`` (local disk, NFS or an object-store mount). Start a worker
with the same settings (docker/celery_worker.yaml):

    dagster-celery worker start -A dagster_celery.app -y docker/celery_worker.yaml

Launch ``celery_tracks_job`` (or a backfill of it) and its steps fan out over the workers.
"""

import os

import dagster as dg
from dagster_celery import celery_executor

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import mastered_wav, stems

BROKER_ENV, BACKEND_ENV = "LOFI_CELERY_BROKER", "LOFI_CELERY_BACKEND"
DEFAULT_BROKER, DEFAULT_BACKEND = "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"
# The queue a deployment's workers listen on (`-q`); dagster-celery reads a queue only from op
# tags, so a whole job's steps are routed by the app's default queue.
QUEUE_ENV, DEFAULT_QUEUE = "LOFI_CELERY_QUEUE", "dagster"


def _url_source(variable: str, default: str) -> str | dict[str, str]:
    """The variable's name (a StringSource, read when the run starts), or the default URL.

    A broker URL may carry a password (redis://:PASSWORD@host). Dagster's docs of
    ``configured`` warn that its values may be shown in the UI; ``{"env": …}`` keeps only the
    variable's name there, as dg.EnvVar does for resources.
    """
    return {"env": variable} if os.environ.get(variable) else default


def celery_config(_: object = None) -> dict:
    """The Celery executor's config, evaluated when a run starts (so the environment of the
    run, not of the code server's start, names broker, backend and queue)."""
    return {
        "broker": _url_source(BROKER_ENV, DEFAULT_BROKER),
        "backend": _url_source(BACKEND_ENV, DEFAULT_BACKEND),
        # One task at a time per worker process: each step is CPU-bound.
        "config_source": {
            "worker_prefetch_multiplier": 1,
            "task_acks_late": True,
            "task_default_queue": os.environ.get(QUEUE_ENV, DEFAULT_QUEUE),
        },
    }


celery_tracks_job = dg.define_asset_job(
    "celery_tracks_job",
    selection=dg.AssetSelection.assets(midi_sketch, stems, mastered_wav),
    executor_def=celery_executor.configured(celery_config, config_schema={}),
    description="The track assets, each step on a Celery worker (scale-out over machines).",
)
