"""Every acceptance measure of issue 13 ("sound like a record"), per style, with its bound.

Tracks are composed and produced by the product; every figure is measured without the
product's own analysis code (``lofi_assets_tests/sound_measures.py``: mido for the MIDI,
ffmpeg ebur128 for loudness, numpy/scipy for spectra). For each style × seed the sketch's
MIDI gives the arrangement, drum and melody measures; its master and drum stem the loudness
and top-end measures; single notes rendered per style the timbre measures; the channel's
own plans for consecutive dates the day contrast. A cell shows the worst track of its style
(``min``/``max``, or the range), ``!`` marks a cell out of bounds; the exit status is 1 if
any measure fails.

    .venv/bin/python bench/sound.py                                  # 7 styles × 10 seeds, full length
    .venv/bin/python bench/sound.py --seeds 2 --duration 40          # quick look
    .venv/bin/python bench/sound.py --styles jazz,cafe --midi-only   # no audio, seconds
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from lofi_assets_tests import sound_measures as sm

SAMPLE_RATE_HZ = 44_100
KEYS_PITCH = 60  # middle C: the keys' comping register
TIMBRE_DRUMS = {"kick": 36, "snare": 38, "hat": 42}
REPEAT_DRUMS = ("snare", "hat")
REPEAT_VELOCITY = 100
REPEAT_SPACING_S = 0.75  # far enough apart that the first hit's tail is gone


# === The product's side: compose, render, produce, plan ======================================
# Each call into lofi_assets sits in one small function, so a changed signature is one edit.


def compose_to_midi(style: str, seed: int, duration_s: float | None, folder: Path):
    """Compose one sketch and write its files as the pipeline does; returns (files, MIDI path)."""
    from lofi_assets.music.arrangement import compose_sketch
    from lofi_assets.music.plan import SketchRequest
    from lofi_assets.music.sketch_files import write_sketch_files

    sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=duration_s))
    files = write_sketch_files(sketch, folder / f"{style}-{seed}")
    return files, files.midi_path


def render_notes(
    notes: Sequence[tuple[float, float, int, int]],
    program: int,
    is_drums: bool,
    duration_s: float,
) -> np.ndarray:
    """(start_s, end_s, pitch, velocity) notes through the product's renderer:
    float32 ``(2, samples)`` at 44.1 kHz."""
    from lofi_assets.audio.render import NoteSpan, render_part
    from lofi_assets.audio.soundfont import resolve_soundfont

    spans = [NoteSpan(*note) for note in notes]
    return render_part(spans, program, is_drums, resolve_soundfont(), duration_s, SAMPLE_RATE_HZ)


def produce(files, style: str) -> tuple[np.ndarray, np.ndarray, float]:
    """The master and the drum stem (float32 ``(2, samples)``) as ``lofi render`` and the
    pipeline make them (stems streamed to files, summed in their fixed order, bus, master),
    and the drum chain's reduced Nyquist (Hz) from the style's ProductionSettings."""
    from lofi_assets.audio.production import (
        ProductionSettings,
        master_stem_files,
        produce_stem_files,
        production_inputs,
    )
    from lofi_assets.audio.soundfont import resolve_soundfont
    from lofi_assets.audio.wav import read_wav
    from lofi_assets.music.styles import get_style

    settings = ProductionSettings.from_overrides(get_style(style).production)
    inputs = production_inputs(files.summary, files.plan)
    with tempfile.TemporaryDirectory(prefix="sound-bench-") as folder:
        stems = produce_stem_files(inputs, settings, resolve_soundfont(), folder)
        drums = read_wav(stems["drums"].path, SAMPLE_RATE_HZ)[0]
        mastered = master_stem_files(
            {name: stem.path for name, stem in stems.items()}, settings, SAMPLE_RATE_HZ
        )
    return mastered, drums, settings.drum_sample_rate_hz / 2


def slot_plans(days: int) -> list[sm.SlotPlan]:
    """Each slot's plan for ``days`` dates from the channel's start, as the channel plans it."""
    from lofi_assets.channel import Channel, channel_start_date
    from lofi_assets.music.plan import resolve_plan

    channel = Channel()
    start = dt.date.fromisoformat(channel_start_date())
    plans = []
    for offset in range(days):
        date = (start + dt.timedelta(days=offset)).isoformat()
        for slot in channel.slots:
            plan = resolve_plan(channel.sketch_request(date, slot))
            plans.append(sm.SlotPlan(date, slot, plan.style.name, plan.key.name, float(plan.bpm)))
    return plans


def all_styles() -> list[str]:
    from lofi_assets.music.styles import style_names

    return list(style_names())


# === Measuring ===============================================================================


@dataclass
class TrackResult:
    style: str
    seed: int
    midi: sm.MidiMeasures
    integrated_lufs: float | None = None
    true_peak_dbtp: float | None = None
    loudness_range_lu: float | None = None
    section_lufs: list | None = None
    section_spread_lu: float | None = None
    rolloff_hz: float | None = None
    rolloff_power_mean_hz: float | None = None  # the same, re the band's mean power (info)
    drum_alias_db: float | None = None


@dataclass
class TimbreResult:
    keys_gain: float
    drum_gains: dict[str, float]
    repeat_correlations: dict[str, float]


def _centroid_gain(program: int, is_drums: bool, pitch: int) -> float:
    """Centroid at velocity 110 over centroid at velocity 40, minus 1."""
    note_s, window_s = (0.2, 0.5) if is_drums else (1.5, 1.0)
    centroids = {}
    for velocity in (40, 110):
        audio = render_notes([(0.0, note_s, pitch, velocity)], program, is_drums, window_s + 0.5)
        cut = audio[:, : round(window_s * SAMPLE_RATE_HZ)]
        centroids[velocity] = sm.spectral_centroid_hz(cut, SAMPLE_RATE_HZ)
    return centroids[110] / centroids[40] - 1 if centroids[40] > 0 else 0.0


def _repeat_correlation(program: int, pitch: int) -> float:
    spacing = round(REPEAT_SPACING_S * SAMPLE_RATE_HZ)
    notes = [(start, start + 0.1, pitch, REPEAT_VELOCITY) for start in (0.0, REPEAT_SPACING_S)]
    audio = render_notes(notes, program, True, 2 * REPEAT_SPACING_S + 0.5)
    window = round(0.9 * spacing)
    return sm.waveform_correlation(
        audio[:, :window], audio[:, spacing : spacing + window], SAMPLE_RATE_HZ
    )


def measure_timbre(midi_path: Path) -> TimbreResult:
    """Single notes with the programs the style's MIDI selects for keys and drums."""
    score = sm.read_score(midi_path)
    keys_program = score.programs.get("keys", 0)
    drum_program = score.programs.get("drums", 0)
    return TimbreResult(
        keys_gain=_centroid_gain(keys_program, False, KEYS_PITCH),
        drum_gains={
            name: _centroid_gain(drum_program, True, pitch) for name, pitch in TIMBRE_DRUMS.items()
        },
        repeat_correlations={
            name: _repeat_correlation(drum_program, TIMBRE_DRUMS[name]) for name in REPEAT_DRUMS
        },
    )


def measure_track(
    style: str, seed: int, duration_s: float | None, folder: Path, with_audio: bool
) -> tuple[TrackResult, Path]:
    files, midi_path = compose_to_midi(style, seed, duration_s, folder)
    result = TrackResult(style, seed, sm.midi_measures(midi_path))
    if with_audio:
        mastered, drums, reduced_nyquist_hz = produce(files, style)
        loudness = sm.ebur128(mastered, SAMPLE_RATE_HZ)
        result.integrated_lufs = loudness.integrated_lufs
        result.true_peak_dbtp = loudness.true_peak_dbtp
        result.loudness_range_lu = loudness.loudness_range_lu
        result.section_lufs = sm.body_section_lufs(midi_path, loudness)
        result.section_spread_lu = sm.section_spread_lu(result.section_lufs)
        result.rolloff_hz = sm.rolloff_point_hz(mastered, SAMPLE_RATE_HZ)
        result.rolloff_power_mean_hz = sm.rolloff_point_hz(
            mastered, SAMPLE_RATE_HZ, reference="power_mean"
        )
        result.drum_alias_db = sm.alias_level_db(drums, SAMPLE_RATE_HZ, reduced_nyquist_hz)
    return result, midi_path


# === The table ===============================================================================


@dataclass
class Row:
    label: str
    bound: str
    cells: dict[str, str]
    passed: dict[str, bool | None]  # None: not evaluated

    @property
    def verdict(self) -> str:
        judged = [ok for ok in self.passed.values() if ok is not None]
        if not judged:
            return "-"
        return "PASS" if all(judged) else "FAIL"


def _per_track(
    label: str,
    bound: str,
    tracks: dict[str, list[TrackResult]],
    value: Callable[[TrackResult], float | None],
    ok: Callable[[float], bool] | None,
    worst: str,
    fmt: Callable[[float], str],
) -> Row:
    """A bound every track must meet; the cell shows the worst track (or the range)."""
    cells, passed = {}, {}
    for style, results in tracks.items():
        values = [v for v in map(value, results) if v is not None]
        if not values:
            cells[style], passed[style] = "n/a", None
            continue
        style_ok = all(ok(v) for v in values) if ok is not None else None
        if worst == "range" and fmt(min(values)) != fmt(max(values)):
            text = f"{fmt(min(values))}…{fmt(max(values))}"
        elif worst == "range":
            text = fmt(min(values))
        else:
            text = fmt(min(values) if worst == "min" else max(values))
        cells[style], passed[style] = text + ("!" if style_ok is False else ""), style_ok
    return Row(label, bound, cells, passed)


def _per_style(
    label: str, bound: str, styles: Sequence[str], value: Callable[[str], float | None],
    ok: Callable[[float], bool] | None, fmt: Callable[[float], str],
) -> Row:  # fmt: skip
    cells, passed = {}, {}
    for style in styles:
        v = value(style)
        if v is None:
            cells[style], passed[style] = "n/a", None
            continue
        style_ok = ok(v) if ok is not None else None
        cells[style] = fmt(v) + ("!" if style_ok is False else "")
        passed[style] = style_ok
    return Row(label, bound, cells, passed)


def percent(value: float) -> str:
    return f"{100 * value:.0f}%"


def signed_percent(value: float) -> str:
    return f"{100 * value:+.0f}%"


def build_rows(
    tracks: dict[str, list[TrackResult]],
    timbre: dict[str, TimbreResult],
    with_audio: bool,
    seeds: int,
) -> list[Row]:
    styles = list(tracks)
    rows: list[Row] = []
    if timbre:
        rows.append(_per_style(
            "keys centroid v110 vs v40", "≥ +20%", styles,
            lambda s: timbre[s].keys_gain, lambda v: v >= sm.MIN_CENTROID_GAIN, signed_percent,
        ))  # fmt: skip
        for name in TIMBRE_DRUMS:
            rows.append(_per_style(
                f"{name} centroid v110 vs v40", "≥ +20%", styles,
                lambda s, n=name: timbre[s].drum_gains[n],
                lambda v: v >= sm.MIN_CENTROID_GAIN, signed_percent,
            ))  # fmt: skip
        for name in REPEAT_DRUMS:
            rows.append(_per_style(
                f"{name} repeat-hit correlation", "< 0.995", styles,
                lambda s, n=name: timbre[s].repeat_correlations[n],
                lambda v: v < sm.MAX_REPEAT_CORRELATION, lambda v: f"{v:.4f}",
            ))  # fmt: skip
    rows.append(_per_style(
        "distinct section layouts", f"≥ {sm.MIN_DISTINCT_LAYOUTS}", styles,
        lambda s: len({r.midi.layout for r in tracks[s]}),
        (lambda v: v >= sm.MIN_DISTINCT_LAYOUTS) if seeds >= sm.MIN_DISTINCT_LAYOUTS else None,
        lambda v: f"{v:.0f}",
    ))  # fmt: skip
    rows += [
        _per_track("drum-less stretch in body (bars)", "≥ 2", tracks,
                   lambda r: r.midi.drumless_bars, lambda v: v >= sm.MIN_DRUMLESS_BARS,
                   "min", lambda v: f"{v:.2f}"),
        _per_track("melody-less stretch in body (bars)", "≥ 4", tracks,
                   lambda r: r.midi.melodyless_bars, lambda v: v >= sm.MIN_MELODYLESS_BARS,
                   "min", lambda v: f"{v:.2f}"),
        _per_track("melody sounding, share of body", "≤ 70%", tracks,
                   lambda r: r.midi.melody_share, lambda v: v <= sm.MAX_MELODY_SHARE,
                   "max", percent),
        _per_style("tracks with ≥2 phrase rests ≥2 beats", "≥ 90%", styles,
                   lambda s: statistics.mean(
                       r.midi.phrase_rests >= sm.MIN_PHRASE_RESTS for r in tracks[s]),
                   lambda v: v >= sm.MIN_TRACKS_WITH_RESTS, percent),
    ]  # fmt: skip
    if with_audio:
        rows += [
            _per_track("body sections loudest−quietest (LU)", "≥ 3", tracks,
                       lambda r: r.section_spread_lu, lambda v: v >= sm.MIN_SECTION_SPREAD_LU,
                       "min", lambda v: f"{v:.1f}"),
            _per_track("loudness range LRA (LU)", "3–8", tracks,
                       lambda r: r.loudness_range_lu,
                       lambda v: sm.LRA_RANGE_LU[0] <= v <= sm.LRA_RANGE_LU[1],
                       "range", lambda v: f"{v:.1f}"),
        ]  # fmt: skip
    rows += [
        _per_track("body bars repeating bar −1/−2", "≥ 60%", tracks,
                   lambda r: r.midi.drum_repeat_share, lambda v: v >= sm.MIN_DRUM_REPEAT_SHARE,
                   "min", percent),
        _per_track("crashes per track", "≤ 2", tracks,
                   lambda r: r.midi.crashes, lambda v: v <= sm.MAX_CRASHES,
                   "max", lambda v: f"{v:.0f}"),
        _per_track("tom fills per track", "≤ 1", tracks,
                   lambda r: r.midi.tom_fills, lambda v: v <= sm.MAX_TOM_FILLS,
                   "max", lambda v: f"{v:.0f}"),
    ]  # fmt: skip
    if with_audio:
        rows += [
            _per_track("master LTAS −20 dB point (kHz)", "8–13", tracks,
                       lambda r: r.rolloff_hz,
                       lambda v: sm.ROLLOFF_RANGE_HZ[0] <= v <= sm.ROLLOFF_RANGE_HZ[1],
                       "range", lambda v: f"{v / 1000:.1f}"),
            _per_track("  (info) the same re mean power (kHz)", "", tracks,
                       lambda r: r.rolloff_power_mean_hz, None,
                       "range", lambda v: f"{v / 1000:.1f}"),
            _per_track("drums above reduced Nyquist (dB)", "≤ −40", tracks,
                       lambda r: r.drum_alias_db, lambda v: v <= sm.MAX_DRUM_ALIAS_DB,
                       "max", lambda v: f"{v:.0f}"),
        ]  # fmt: skip
    rows += [
        _per_style("melody notes per body bar (mean)", "see ratio", styles,
                   lambda s: statistics.mean(r.midi.melody_notes_per_bar for r in tracks[s]),
                   None, lambda v: f"{v:.2f}"),
        _per_track("melody above pad top, share", "≥ 75%", tracks,
                   lambda r: r.midi.melody_above_pad, lambda v: v >= sm.MIN_MELODY_ABOVE_PAD,
                   "min", percent),
        _per_track("A′ start vs A start (semitones)", "≤ 7", tracks,
                   lambda r: r.midi.a_prime_interval,
                   lambda v: v <= sm.MAX_A_PRIME_INTERVAL_SEMITONES,
                   "max", lambda v: f"{v:.0f}"),
    ]  # fmt: skip
    if with_audio:
        rows += [
            _per_track("integrated loudness (LUFS)", "−14 ± 0.5", tracks,
                       lambda r: r.integrated_lufs,
                       lambda v: abs(v - sm.TARGET_LUFS) <= sm.LUFS_TOLERANCE,
                       "range", lambda v: f"{v:.1f}"),
            _per_track("true peak (dBTP)", "≤ −1.5", tracks,
                       lambda r: r.true_peak_dbtp, lambda v: v <= sm.MAX_TRUE_PEAK_DBTP,
                       "max", lambda v: f"{v:.1f}"),
        ]  # fmt: skip
    return rows


def global_rows(tracks: dict[str, list[TrackResult]], contrast: sm.DayContrast | None) -> list:
    """(label, bound, value text, passed) for the measures across styles and days."""
    rows = []
    densities = {
        style: statistics.mean(r.midi.melody_notes_per_bar for r in results)
        for style, results in tracks.items()
    }
    if len(densities) >= 2:
        sparsest, densest = min(densities, key=densities.get), max(densities, key=densities.get)
        ratio = densities[densest] / densities[sparsest] if densities[sparsest] else math.inf
        rows.append((
            "melody density, densest ÷ sparsest style", "≥ 1.6",
            f"{ratio:.2f} ({densest} {densities[densest]:.2f} / "
            f"{sparsest} {densities[sparsest]:.2f})",
            ratio >= sm.MIN_DENSITY_RATIO,
        ))  # fmt: skip
    if contrast is not None:
        rows += [
            ("dates with 2 slots sharing style and key", "0",
             f"{contrast.same_style_and_key_dates} of {contrast.dates}",
             contrast.same_style_and_key_dates == 0),
            ("dates with 2 slots < 4 BPM apart", "0",
             f"{contrast.close_tempo_dates} of {contrast.dates} "
             f"(smallest gap {contrast.smallest_bpm_gap:g} BPM)",
             contrast.close_tempo_dates == 0),
            ("  (info) dates repeating a style", "", f"{contrast.same_style_dates}", None),
            ("  (info) dates repeating a key", "", f"{contrast.same_key_dates}", None),
        ]  # fmt: skip
    return rows


def print_table(rows: list[Row], styles: Sequence[str], extra: list) -> bool:
    label_width = max(len(row.label) for row in rows) + 2
    widths = [max(12, len(style) + 2) for style in styles]
    header = f"{'measure':<{label_width}}{'bound':<11}" + "".join(
        f"{style:>{width}}" for style, width in zip(styles, widths, strict=True)
    )
    print(header + "  result")
    print("-" * (len(header) + 8))
    for row in rows:
        cells = "".join(
            f"{row.cells.get(style, ''):>{width}}"
            for style, width in zip(styles, widths, strict=True)
        )
        print(f"{row.label:<{label_width}}{row.bound:<11}{cells}  {row.verdict}")
    print()
    for label, bound, text, ok in extra:
        verdict = "" if ok is None else "PASS" if ok else "FAIL"
        print(f"{label:<44}{bound:<8}{text:<48}{verdict}")
    failed = [row.label for row in rows if row.verdict == "FAIL"]
    failed += [label for label, _, _, ok in extra if ok is False]
    print()
    print(f"{len(failed)} measure(s) FAIL" + (": " + "; ".join(failed) if failed else ""))
    return not failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--styles", help="comma-separated style names (default: all)")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 0…N−1 per style (10)")
    parser.add_argument(
        "--duration", type=float, help="track length in seconds (default: the plan's own)"
    )
    parser.add_argument("--days", type=int, default=60, help="dates for the day contrast (60)")
    parser.add_argument("--midi-only", action="store_true", help="skip every audio measure")
    parser.add_argument("--keep", help="folder to keep the MIDI files in")
    parser.add_argument("--json", help="write every track's figures to this JSON file")
    args = parser.parse_args()
    styles = args.styles.split(",") if args.styles else all_styles()
    with_audio = not args.midi_only
    started = time.perf_counter()
    tracks: dict[str, list[TrackResult]] = {style: [] for style in styles}
    timbre: dict[str, TimbreResult] = {}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(args.keep) if args.keep else Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for style in styles:
            for seed in range(args.seeds):
                track_start = time.perf_counter()
                result, midi_path = measure_track(style, seed, args.duration, folder, with_audio)
                tracks[style].append(result)
                if with_audio and style not in timbre:
                    timbre[style] = measure_timbre(midi_path)
                print(
                    f"{style} seed {seed}: {time.perf_counter() - track_start:.1f} s",
                    file=sys.stderr,
                    flush=True,
                )
    contrast = sm.day_contrast(slot_plans(args.days)) if args.days > 0 else None
    length = f"{args.duration:g} s" if args.duration else "full length"
    print(
        f"{len(styles)} styles × {args.seeds} seeds (0…{args.seeds - 1}), {length}"
        f"{', MIDI only' if not with_audio else ''}; {args.days} dates; "
        f"{time.perf_counter() - started:.0f} s"
    )
    print()
    ok = print_table(
        build_rows(tracks, timbre, with_audio, args.seeds), styles, global_rows(tracks, contrast)
    )
    if args.json:
        document = {
            "tracks": [
                {**asdict(r), "midi": {**asdict(r.midi), "layout": sm.format_layout(r.midi.layout)}}
                for results in tracks.values()
                for r in results
            ],
            "timbre": {style: asdict(result) for style, result in timbre.items()},
            "day_contrast": asdict(contrast) if contrast else None,
        }
        Path(args.json).write_text(json.dumps(document, indent=1, default=str), encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
