"""Feeding what performs back into what is made.

A release *breaks out* when, in its first 48 hours, both its views and its average view
percentage reach the channel's thresholds. A breakout leaves two things behind:

* a **style boost** in ``feedback/style_boosts.json``: from the day after the breakout was
  noticed, the style of its lead track weighs ``BOOST_FACTOR`` times more when a partition's
  style is drawn. Boosts carry the date they take effect, so partitions before it (backfills
  included) still compose exactly what they did before;
* **variations** of the breakout track's recipe: the same style, key and mode at nearby tempos
  with new seeds, as MIDI sketches ready to be produced.

A breakout's video id and release date come from outside (an API response through the
warehouse, or run config typed in the UI) and name folders, so both are checked against their
documented format before anything is read or written (:func:`require_video_id`,
:func:`require_iso_date`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lofi_assets.errors import ConfigError
from lofi_assets.music.plan import BPM_LIMITS, SketchRequest
from lofi_assets.music.plan_record import PlanRecord
from lofi_assets.publish.analytics import EarlyPerformance
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import write_json_atomic

BOOSTS_FILE = Path("feedback") / "style_boosts.json"
BOOST_FACTOR = 2.0
VARIATION_BPM_STEPS = (-4.0, 3.0, 6.0, -2.0, 2.0)

# A YouTube video id: 11 characters of A-Z, a-z, 0-9, "-" and "_". The Data API's videos
# resource gives ``id`` as "the ID that YouTube uses to uniquely identify the video"
# (developers.google.com/youtube/v3/docs/videos#id); Google's Ads API spells the form out:
# "the 11 character string value used in the YouTube video URL" (YoutubeVideoIdentifier
# .video_id), whose alphabet is URL-safe base64's (RFC 4648 section 5).
VIDEO_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{11}")


class InvalidVideoIdError(ConfigError):
    """A video id that is not one YouTube could have issued (see ``VIDEO_ID_PATTERN``)."""


def valid_video_id(video_id: object) -> bool:
    """True for an 11-character YouTube video id (``VIDEO_ID_PATTERN``)."""
    return isinstance(video_id, str) and VIDEO_ID_PATTERN.fullmatch(video_id) is not None


def require_video_id(video_id: object, source: str = "video_id") -> str:
    """``video_id`` when it is a YouTube video id, else a refusal naming ``source``.

    Raises:
        InvalidVideoIdError: not 11 characters of A-Z, a-z, 0-9, '-' and '_' (a path such as
            ``../../tmp/x`` or ``/tmp/x`` is refused here, before it can name a folder).
    """
    if not valid_video_id(video_id):
        raise InvalidVideoIdError(
            f"{source} {video_id!r} is not a YouTube video id (11 characters of A-Z, a-z, "
            "0-9, '-' and '_', as in https://www.youtube.com/watch?v=dQw4w9WgXcQ): copy the "
            "id from the video's URL or YouTube Studio"
        )
    return video_id  # type: ignore[return-value]  # checked just above


def require_iso_date(text: object, source: str) -> str:
    """``text`` when it is a calendar date written ``YYYY-MM-DD``, else a refusal.

    Strict on purpose: ``date.fromisoformat`` also takes ``20261125`` and ``2026-W48-3``
    (Python 3.11), which would name other folders than the partition's ``2026-11-25``.

    Raises:
        ConfigError: any other text, naming ``source``.
    """
    try:
        if isinstance(text, str) and dt.date.fromisoformat(text).isoformat() == text:
            return text
    except ValueError:
        pass
    raise ConfigError(f"{source} {text!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-25")


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


def well_formed(performance: EarlyPerformance) -> str:
    """Why ``performance`` cannot be acted on (its id or date is malformed), or ""."""
    if not valid_video_id(performance.video_id):
        return f"video id {performance.video_id!r} is not a YouTube video id"
    try:
        require_iso_date(performance.release_date, "release date")
    except ConfigError:
        return f"release date {performance.release_date!r} of {performance.video_id} is not a date"
    return ""


def breakouts(
    performances: Sequence[EarlyPerformance], thresholds: Thresholds
) -> tuple[list[EarlyPerformance], str]:
    """Releases over both thresholds (most viewed first), and why nothing else qualifies.

    Rows whose video id or release date is malformed (``well_formed``) are never breakouts:
    they would name folders; the reason says which were left out.
    """
    malformed = [why for why in map(well_formed, performances) if why]
    performances = [p for p in performances if not well_formed(p)]
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
    left_out = f"; left out (malformed): {', '.join(malformed)}" if malformed else ""
    if crossing:
        return crossing, left_out.removeprefix("; ")
    if not complete:
        return [], f"no release has two days of analytics yet{left_out}"
    best = max(complete, key=lambda p: (p.views_48h, p.average_view_percentage))
    return [], (
        f"below thresholds: best is {best.video_id} ({best.release_date}) with "
        f"{best.views_48h} views in 48 h (needs {thresholds.views_48h}) and "
        f"{best.average_view_percentage:.1f} % viewed (needs {thresholds.average_view_percentage:.1f} %)"
        f"{left_out}"
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
