"""Checks of the model group (``melody_model``), on the samples drawn after training."""

import dagster as dg

from lofi_assets.defs.checks import verdict
from lofi_assets.music.model.pipeline import SamplingReport

MIN_DECODE_RATE = 0.99  # of sampled melodies that decode to valid MIDI

SAMPLES_DECODE = dg.AssetCheckSpec(
    "samples_decode",
    asset="melody_model",
    blocking=True,
    description=f"At least {MIN_DECODE_RATE:.0%} of sampled melodies decode to valid MIDI",
)
MODEL_CHECK_SPECS = [SAMPLES_DECODE]


def check_samples_decode(samples: SamplingReport) -> dg.AssetCheckResult:
    """``samples``: the sampling report of ``build_model``; passes when its ``decode_rate``
    reaches ``MIN_DECODE_RATE``."""
    return verdict(
        SAMPLES_DECODE,
        samples.decode_rate >= MIN_DECODE_RATE,
        {"decoded": f"{samples.decoded}/{samples.sampled}"},
    )
