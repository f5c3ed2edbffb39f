"""The radio's daily playlist: fresh tracks rendered for the stream, mixed with the catalog.

A queue is built a day ahead so the stream never waits on rendering. At least
``fresh_fraction`` of its tracks are new (composed and mastered for the radio, seeded by the
day), the rest are catalog masters not played in the previous ``REPEAT_WINDOW_DAYS`` days'
queues; it is long enough to fill ``min_length_s`` of air (crossfades subtracted). The three
properties the ``radio_queue`` checks hold it to are functions here, each with its limit as a
constant: length, repeats within the window, loudness of every track (−14 ± 1 LUFS, the
target every master is made for, ``lofi_assets.audio.TARGET_LUFS``).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from lofi_assets.audio import TARGET_LUFS
from lofi_assets.errors import ConfigError

RADIO_DAY_S = 24 * 3600.0
REPEAT_WINDOW_DAYS = 7
LOUDNESS_TOLERANCE_LU = 1.0
DEFAULT_FRESH_FRACTION = 0.5
QUEUE_FILE = "queue.json"


class RadioQueueError(ConfigError):
    """A queue that cannot be built (no fresh tracks allowed and no catalog) or read."""


@dataclass(frozen=True)
class QueueEntry:
    """One track on the radio: ``track_id`` is stable across days (a catalog partition key,
    or ``radio:<date>:<n>`` for a fresh one); ``path`` a stereo master; the title and style
    are what the now-playing overlay shows; duration in seconds, loudness in LUFS."""

    track_id: str
    path: str
    title: str
    style: str
    duration_s: float
    loudness_lufs: float
    fresh: bool


@dataclass(frozen=True)
class RadioQueue:
    date: str
    crossfade_s: float
    entries: tuple[QueueEntry, ...]

    @property
    def length_s(self) -> float:
        """Air time: every track, less one crossfade per change (the playlist loops)."""
        return sum(entry.duration_s for entry in self.entries) - self.crossfade_s * len(
            self.entries
        )

    @property
    def fresh_count(self) -> int:
        return sum(entry.fresh for entry in self.entries)

    def to_document(self) -> dict:
        return {
            "date": self.date,
            "crossfade_s": self.crossfade_s,
            "entries": [asdict(entry) for entry in self.entries],
        }


def read_radio_queue(path: Path) -> RadioQueue:
    """The one reader of ``queue.json``. Raises ``RadioQueueError`` for a missing or bad file."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return RadioQueue(
            date=str(document["date"]),
            crossfade_s=float(document["crossfade_s"]),
            entries=tuple(QueueEntry(**entry) for entry in document["entries"]),
        )
    except FileNotFoundError:
        raise RadioQueueError(f"No radio queue at {path}: materialize radio_queue first") from None
    except (ValueError, KeyError, TypeError) as error:
        raise RadioQueueError(
            f"Radio queue {path} is damaged ({error}): re-materialize it"
        ) from None


def queue_path(data_dir: Path, day: dt.date) -> Path:
    """The queue played on ``day``: the previous day's ``radio_queue`` partition's file."""
    return Path(data_dir) / "radio_queue" / (day - dt.timedelta(days=1)).isoformat() / QUEUE_FILE


def day_playlist(data_dir: Path, day: dt.date) -> list:
    """The tracks ``lofi radio`` plays on ``day`` (``RadioTrack``s), [] when no queue was
    prepared for it."""
    from lofi_assets.audio.radio_feed import RadioTrack

    path = queue_path(data_dir, day)
    if not path.is_file():
        return []
    return [RadioTrack(Path(e.path), e.title, e.style) for e in read_radio_queue(path).entries]


def build_radio_queue(
    date: str,
    catalog: Sequence[QueueEntry],
    recently_played: set[str],
    min_length_s: float,
    crossfade_s: float,
    make_fresh: Callable[[int], QueueEntry],
    fresh_fraction: float = DEFAULT_FRESH_FRACTION,
) -> RadioQueue:
    """Alternate fresh and catalog tracks until the queue fills ``min_length_s``.

    Catalog tracks come in an order shuffled by the date (deterministic), skipping every
    ``track_id`` in ``recently_played`` and never twice; a fresh track is made (``make_fresh``
    with its 0-based number) whenever the fresh share would fall below ``fresh_fraction`` or
    the catalog has nothing left.

    Raises:
        RadioQueueError: ``min_length_s`` not positive, ``fresh_fraction`` outside 0–1, or 0 with nothing in the catalog.
    """
    if min_length_s <= 0:
        raise RadioQueueError(f"min_length_s {min_length_s} must be positive seconds")
    if not 0 <= fresh_fraction <= 1:
        raise RadioQueueError(f"fresh_fraction {fresh_fraction} must be between 0 and 1")
    available = sorted(
        (entry for entry in catalog if entry.track_id not in recently_played),
        key=lambda entry: entry.track_id,
    )
    random.Random(f"radio queue {date}").shuffle(available)
    entries: list[QueueEntry] = []
    fresh = 0
    while sum(e.duration_s for e in entries) - crossfade_s * len(entries) < min_length_s:
        if fresh < fresh_fraction * (len(entries) + 1) or not available:
            if fresh_fraction == 0:
                raise RadioQueueError(
                    f"Only {len(entries)} catalog tracks unplayed in {REPEAT_WINDOW_DAYS} days "
                    "and no fresh tracks allowed: raise fresh_fraction"
                )
            entries.append(make_fresh(fresh))
            fresh += 1
        else:
            entries.append(available.pop(0))
    return RadioQueue(date=date, crossfade_s=crossfade_s, entries=tuple(entries))


def length_shortfall_s(queue: RadioQueue, min_length_s: float = RADIO_DAY_S) -> float:
    """Seconds the queue falls short of ``min_length_s`` (0 when it is long enough)."""
    return max(0.0, min_length_s - queue.length_s)


def repeated_tracks(queue: RadioQueue, earlier: Sequence[RadioQueue]) -> list[str]:
    """Track ids played twice in this queue or already in ``earlier`` queues (the previous
    ``REPEAT_WINDOW_DAYS`` days'), sorted."""
    seen = {entry.track_id for previous in earlier for entry in previous.entries}
    repeated = set()
    for entry in queue.entries:
        if entry.track_id in seen:
            repeated.add(entry.track_id)
        seen.add(entry.track_id)
    return sorted(repeated)


def loudness_outliers(
    queue: RadioQueue,
    target_lufs: float = TARGET_LUFS,
    tolerance_lu: float = LOUDNESS_TOLERANCE_LU,
) -> list[tuple[str, float]]:
    """``(track_id, LUFS)`` of every track outside ``target_lufs ± tolerance_lu``."""
    return [
        (entry.track_id, entry.loudness_lufs)
        for entry in queue.entries
        if abs(entry.loudness_lufs - target_lufs) > tolerance_lu
    ]


def render_fresh_track(
    track_id: str, seed: int, duration_s: float, out_path: Path, soundfont, style: str | None = None
) -> QueueEntry:
    """Compose and master one new track for the radio (the ``lofi render --seed`` path:
    streamed stems, then the master), titled by its style, key and tempo."""
    import tempfile

    from lofi_assets.audio import SAMPLE_RATE_HZ
    from lofi_assets.audio.production import (
        ProductionSettings,
        production_inputs,
        render_master_file,
    )
    from lofi_assets.music.arrangement import compose_sketch
    from lofi_assets.music.plan import SketchRequest
    from lofi_assets.music.sketch_files import write_sketch_files
    from lofi_assets.music.styles import get_style

    sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=duration_s))
    with tempfile.TemporaryDirectory(prefix="radio-sketch-") as folder:
        files = write_sketch_files(sketch, Path(folder))
        plan = files.plan
        settings = ProductionSettings.from_overrides(get_style(plan.style).production)
        stats = render_master_file(
            production_inputs(files.summary, plan), settings, soundfont, out_path, SAMPLE_RATE_HZ
        )
    return QueueEntry(
        track_id=track_id,
        path=str(out_path),
        title=f"{plan.style_display_name} in {plan.key} · {plan.bpm:.0f} BPM",
        style=plan.style,
        duration_s=round(stats.samples / SAMPLE_RATE_HZ, 3),
        loudness_lufs=round(stats.integrated_lufs, 3),
        fresh=True,
    )
