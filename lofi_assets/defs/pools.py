"""Concurrency pools: names that assets declare with ``pool=``, their limits, and the step that
sets them on an instance before it accepts runs."""

import dagster as dg

RENDER_POOL = "render"  # CPU-bound rendering; two cores means two at a time
YOUTUBE_API_POOL = "youtube_api"  # one client against the daily quota
TRAIN_POOL = "train"  # one training run at a time

POOL_LIMITS = {RENDER_POOL: 2, YOUTUBE_API_POOL: 1, TRAIN_POOL: 1}


def prepare_pools(instance: dg.DagsterInstance) -> dict[str, int]:
    """Set every pool's limit on ``instance`` explicitly; returns the limits (slots per pool).

    Idempotent: run it whenever an instance is prepared (``lofi pools``, the compose stack's
    ``init_instance`` service, the test fixtures), before anything can start a run. A pool
    without a limit row is created by the first step that claims it
    (``initialize_concurrency_limit_to_default``); on PostgreSQL, concurrent first claims race:
    the loser's INSERT hits the unique key, which aborts its transaction, and the run fails with
    ``UniqueViolation … concurrency_limits_concurrency_key_key`` (dagster-io/dagster#33552).
    A pool set here is never on that path. The limits here win over ones changed in the UI.
    """
    for pool, limit in POOL_LIMITS.items():
        instance.event_log_storage.set_concurrency_slots(pool, limit)
    return dict(POOL_LIMITS)
