"""Concurrency pools: names that assets declare with ``pool=`` and their limits."""

RENDER_POOL = "render"  # CPU-bound rendering; two cores means two at a time
YOUTUBE_API_POOL = "youtube_api"  # one client against the daily quota
TRAIN_POOL = "train"  # one training run at a time

POOL_LIMITS = {RENDER_POOL: 2, YOUTUBE_API_POOL: 1, TRAIN_POOL: 1}
