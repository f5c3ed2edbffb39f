"""Checks of the radio group (``radio_queue``): the day's playlist, before it replaces the last."""

import dagster as dg

from lofi_assets.audio import TARGET_LUFS
from lofi_assets.audio.radio_queue import (
    LOUDNESS_TOLERANCE_LU,
    REPEAT_WINDOW_DAYS,
    RadioQueue,
    length_shortfall_s,
    loudness_outliers,
    repeated_tracks,
)
from lofi_assets.defs.checks import verdict


def _spec(name: str, description: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(name, asset="radio_queue", blocking=True, description=description)


QUEUE_LENGTH = _spec(
    "queue_length", "The queue fills at least the configured air time (24 h by default)"
)
NO_REPEATS = _spec(
    "no_repeats", f"No track twice, nor played in the previous {REPEAT_WINDOW_DAYS} days"
)
TRACK_LOUDNESS = _spec(
    "track_loudness",
    f"Every track at {TARGET_LUFS:.0f} ± {LOUDNESS_TOLERANCE_LU:.0f} LUFS",
)
RADIO_QUEUE_CHECK_SPECS = [QUEUE_LENGTH, NO_REPEATS, TRACK_LOUDNESS]


def radio_queue_check_results(
    queue: RadioQueue, earlier: list[RadioQueue], min_length_s: float
) -> list[dg.AssetCheckResult]:
    """The three verdicts on a queue (passing and failing sides unit-tested)."""
    shortfall = length_shortfall_s(queue, min_length_s)
    repeats = repeated_tracks(queue, earlier)
    outliers = loudness_outliers(queue)
    return [
        verdict(
            QUEUE_LENGTH,
            shortfall == 0,
            {
                "length_h": round(queue.length_s / 3600, 3),
                "min_length_h": round(min_length_s / 3600, 3),
            },
        ),
        verdict(
            NO_REPEATS,
            not repeats,
            {"repeated": ", ".join(repeats) or "none", "days_compared": len(earlier)},
        ),
        verdict(
            TRACK_LOUDNESS,
            not outliers,
            {"outliers": ", ".join(f"{t} {v:.1f} LUFS" for t, v in outliers) or "none"},
        ),
    ]
