"""Feeding what performs back into what is made.

A release *breaks out* when, in its first 48 hours, both its views and its average view
percentage reach the channel's thresholds. A breakout leaves two things behind:

* a **style boost** in ``feedback/style_boosts.json``: from the day after the breakout was
  noticed, the style of its lead track weighs ``BOOST_FACTOR`` times more when a partition's
  style is drawn. Boosts carry the date they take effect, so partitions before it (backfills
  included) still compose exactly what they did before;
* **variations** of the breakout track's recipe: the same style, key and mode at nearby tempos
  with new seeds, as MIDI sketches ready to be produced.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lofi_assets.music.plan import BPM_LIMITS, SketchRequest
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.publish.analytics import EarlyPerformance
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import write_json_atomic

BOOSTS_FILE = Path("feedback") / "style_boosts.json"
BOOST_FACTOR = 2.0
VARIATION_BPM_STEPS = (-4.0, 3.0, 6.0, -2.0, 2.0)


@dataclass(frozen=True)
class Thresholds:
    views_48h: int = 1_000
    average_view_percentage: float = 40.0


@dataclass(frozen=True)
class StyleBoost:
    style: str
    factor: float
    effective_from: str  # first date whose plans use it
    video_id: str
    reason: str


def read_boosts(path: Path) -> list[StyleBoost]:
    if not path.is_file():
        return []
    return [StyleBoost(**entry) for entry in json.loads(path.read_text(encoding="utf-8"))]


def add_boost(path: Path, boost: StyleBoost) -> bool:
    """Record ``boost`` unless its video already has one; True when it was added."""
    boosts = read_boosts(path)
    if any(existing.video_id == boost.video_id for existing in boosts):
        return False
    write_json_atomic(path, [asdict(entry) for entry in [*boosts, boost]])
    return True


def boosted_weights(
    base: Mapping[str, float], boosts: Sequence[StyleBoost], date: str
) -> dict[str, float]:
    """The style weights a plan for ``date`` draws from: ``base`` times every boost in effect."""
    weights = dict(base)
    for boost in boosts:
        if boost.effective_from <= date and boost.style in weights:
            weights[boost.style] *= boost.factor
    return weights


def breakouts(
    performances: Sequence[EarlyPerformance], thresholds: Thresholds
) -> tuple[list[EarlyPerformance], str]:
    """Releases over both thresholds (most viewed first), and why nothing else qualifies."""
    complete = [p for p in performances if p.complete]
    crossing = sorted(
        (
            p
            for p in complete
            if p.views_48h >= thresholds.views_48h
            and p.average_view_percentage >= thresholds.average_view_percentage
        ),
        key=lambda p: (-p.views_48h, p.video_id),
    )
    if crossing:
        return crossing, ""
    if not complete:
        return [], "no release has two days of analytics yet"
    best = max(complete, key=lambda p: (p.views_48h, p.average_view_percentage))
    return [], (
        f"below thresholds: best is {best.video_id} ({best.release_date}) with "
        f"{best.views_48h} views in 48 h (needs {thresholds.views_48h}) and "
        f"{best.average_view_percentage:.1f} % viewed (needs {thresholds.average_view_percentage:.1f} %)"
    )


def variation_requests(plan: PlanRecord, video_id: str, count: int = 3) -> list[SketchRequest]:
    """New sketches on the breakout's recipe: its style, key and mode at nearby tempos."""
    requests = []
    for index in range(count):
        bpm = float(plan.bpm) + VARIATION_BPM_STEPS[index % len(VARIATION_BPM_STEPS)]
        requests.append(
            SketchRequest(
                seed=stable_seed("variation", video_id, index),
                style=plan.style,
                tonic=plan.tonic,
                mode=plan.mode,
                bpm=min(max(bpm, BPM_LIMITS[0]), BPM_LIMITS[1]),
                duration_s=plan.duration_s,
            )
        )
    return requests
