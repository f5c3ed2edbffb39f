"""The acceptance measures of issue 13, computed without the product's own analysis code.

MIDI is read with mido, loudness, loudness range, short-term loudness and true peak come from
ffmpeg's ``ebur128`` filter (EBU R 128 / ITU-R BS.1770), spectra from numpy/scipy. Nothing here
imports ``lofi_assets``: a bug in the product's measurement cannot hide a bug in its sound.
``bench/sound.py`` prints every measure over styles × seeds; tests of the composer, the
instruments and the audio chain call the same functions on short sketches.

MIDI conventions read (those of ``lofi_assets/music/midi_io.py``, checked here from the bytes):
section boundaries are ``marker`` meta events on the conductor track, parts are tracks named
``keys``, ``bass``, ``melody``, ``drums`` and ``pad``; drums are General MIDI percussion.
The *body* of a track is what lies between its intro and its outro: it starts where the
leading run of sections named ``intro…`` ends and stops where the trailing run of sections
named ``outro…`` starts (the whole track when there is neither).

Every MIDI measure takes a path to a ``.mid`` file or a ``MidiScore`` already read.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import numpy as np
from scipy import signal

# --- General MIDI percussion (GM 1 percussion key map) ---------------------------------------
KICK_PITCHES = frozenset({35, 36})  # acoustic bass drum, bass drum 1
SNARE_PITCHES = frozenset({37, 38, 40})  # side stick, acoustic snare, electric snare
# Closed, pedal and open hi-hat, plus the two rides: a brushed jazz groove keeps time on the
# ride, which plays the hat's role in a loop.
HAT_PITCHES = frozenset({42, 44, 46, 51, 59})
CRASH_PITCHES = frozenset({49, 57})  # crash cymbal 1 and 2
TOM_PITCHES = frozenset({41, 43, 45, 47, 48, 50})  # low floor tom … high tom
DRUM_CHANNEL = 9  # MIDI channel 10, zero-based

PART_NAMES = ("keys", "bass", "melody", "drums", "pad")
A_NAME = "A"
# Names a varied return of A may carry (the form writes "A2"; A′ and A' are the score's names).
A_PRIME_NAMES = frozenset({"a2", "a′", "a'", "a_prime", "aprime"})

SIXTEENTHS_PER_BEAT = 4
# A note humanised up to a 32nd early still belongs to the section or bar it was played for.
ONSET_LEEWAY_BEATS = 0.125

# --- Bounds of the acceptance list (issue 13) ------------------------------------------------
MIN_CENTROID_GAIN = 0.20  # centroid at velocity 110 ≥ 1.2 × centroid at velocity 40
MAX_REPEAT_CORRELATION = 0.995  # two equal hits must not be the same sample
MIN_DISTINCT_LAYOUTS = 4  # per style, across seeds
MIN_DRUMLESS_BARS = 2.0
MIN_MELODYLESS_BARS = 4.0
MAX_MELODY_SHARE = 0.70
MIN_PHRASE_REST_BEATS = 2.0
MIN_PHRASE_RESTS = 2  # "rests between phrases": at least two in the body
MIN_TRACKS_WITH_RESTS = 0.90
MIN_SECTION_SPREAD_LU = 3.0
LRA_RANGE_LU = (3.0, 8.0)
MIN_DRUM_REPEAT_SHARE = 0.60
MAX_CRASHES = 2
MAX_TOM_FILLS = 1
MIN_TOM_HITS_PER_FILL = 3
ROLLOFF_RANGE_HZ = (8_000.0, 13_000.0)
MAX_DRUM_ALIAS_DB = -40.0
MIN_DENSITY_RATIO = 1.6  # densest style's melody notes per bar ÷ sparsest style's
MIN_MELODY_ABOVE_PAD = 0.75
MAX_A_PRIME_INTERVAL_SEMITONES = 7
MIN_DAY_BPM_GAP = 4.0
TARGET_LUFS, LUFS_TOLERANCE = -14.0, 0.5
MAX_TRUE_PEAK_DBTP = -1.5


# === Reading MIDI ============================================================================


@dataclass(frozen=True, slots=True)
class Note:
    """One note as written: positions in beats (quarter notes) from the start of the file."""

    start_beats: float
    end_beats: float
    pitch: int
    velocity: int
    channel: int


@dataclass(frozen=True, slots=True)
class SectionSpan:
    """One section between two markers, in beats from the start of the file."""

    name: str
    start_beats: float
    end_beats: float


@dataclass(frozen=True)
class MidiScore:
    """A MIDI file as these measures see it.

    ``tracks`` maps each named track (conductor excluded) to its notes in start order;
    ``tempo_changes`` is ``((beat, seconds_per_beat), …)`` from the first ``set_tempo`` on
    (120 BPM before any, per the MIDI spec).
    """

    beats_per_bar: float
    length_beats: float
    sections: tuple[SectionSpan, ...]
    tracks: Mapping[str, tuple[Note, ...]]
    programs: Mapping[str, int]  # first program_change of each track
    tempo_changes: tuple[tuple[float, float], ...]

    def seconds_at(self, beats: float) -> float:
        """Seconds from the start of the file to ``beats``, through every tempo change."""
        elapsed, last_beat, seconds_per_beat = 0.0, 0.0, 0.5
        for beat, next_seconds_per_beat in self.tempo_changes:
            if beat >= beats:
                break
            elapsed += (beat - last_beat) * seconds_per_beat
            last_beat, seconds_per_beat = beat, next_seconds_per_beat
        return elapsed + (beats - last_beat) * seconds_per_beat

    def notes(self, part: str) -> tuple[Note, ...]:
        """The notes of ``part``; for ``drums`` every channel-10 note if no track has the name."""
        if part in self.tracks:
            return self.tracks[part]
        if part == "drums":
            return tuple(
                note
                for notes in self.tracks.values()
                for note in notes
                if note.channel == DRUM_CHANNEL
            )
        return ()

    @property
    def body_beats(self) -> tuple[float, float]:
        """(start, end) of the body: after the intro sections, before the outro sections."""
        sections = list(self.sections)
        start, end = 0.0, self.length_beats
        while sections and sections[0].name.lower().startswith("intro"):
            start = sections.pop(0).end_beats
        while sections and sections[-1].name.lower().startswith("outro"):
            end = sections.pop().start_beats
        return start, max(start, end)

    @property
    def body_sections(self) -> tuple[SectionSpan, ...]:
        start, end = self.body_beats
        return tuple(s for s in self.sections if s.start_beats >= start and s.end_beats <= end)

    def section_seconds(self, section: SectionSpan) -> tuple[float, float]:
        return self.seconds_at(section.start_beats), self.seconds_at(section.end_beats)


def _read(path: Path) -> MidiScore:
    midi = mido.MidiFile(path)
    tpb = float(midi.ticks_per_beat)
    markers: list[tuple[float, str]] = []
    tempos: list[tuple[float, float]] = []
    beats_per_bar: float | None = None
    tracks: dict[str, tuple[Note, ...]] = {}
    programs: dict[str, int] = {}
    length_ticks = 0
    for index, track in enumerate(midi.tracks):
        name, tick = f"track{index}", 0
        sounding: dict[tuple[int, int], list[tuple[int, int]]] = {}  # (channel, pitch) → ons
        notes: list[Note] = []
        for message in track:
            tick += message.time
            if message.type == "track_name":
                name = message.name
            elif message.type == "marker":
                markers.append((tick / tpb, message.text))
            elif message.type == "set_tempo":
                tempos.append((tick / tpb, message.tempo / 1e6))
            elif message.type == "time_signature" and beats_per_bar is None:
                beats_per_bar = message.numerator * 4.0 / message.denominator
            elif message.type == "program_change" and name not in programs:
                programs[name] = message.program
            elif message.type == "note_on" and message.velocity > 0:
                key = (message.channel, message.note)
                sounding.setdefault(key, []).append((tick, message.velocity))
            elif message.type in ("note_on", "note_off"):
                started = sounding.get((message.channel, message.note))
                if started:  # first in, first out: a stray note-off is ignored
                    on, velocity = started.pop(0)
                    notes.append(
                        Note(on / tpb, tick / tpb, message.note, velocity, message.channel)
                    )
        for (channel, pitch), ons in sounding.items():  # never released: ends with its track
            notes.extend(Note(on / tpb, tick / tpb, pitch, vel, channel) for on, vel in ons)
        length_ticks = max(length_ticks, tick)
        if notes or name in PART_NAMES:
            notes.sort(key=lambda n: (n.start_beats, n.pitch))
            tracks[name] = tuple(notes)
    length_beats = length_ticks / tpb
    markers.sort(key=lambda marker: marker[0])
    sections = tuple(
        SectionSpan(text, start, markers[i + 1][0] if i + 1 < len(markers) else length_beats)
        for i, (start, text) in enumerate(markers)
    )
    return MidiScore(
        beats_per_bar=beats_per_bar or 4.0,
        length_beats=length_beats,
        sections=sections,
        tracks=tracks,
        programs=programs,
        tempo_changes=tuple(sorted(tempos)),
    )


@functools.lru_cache(maxsize=64)
def _read_cached(path: str, modified_ns: int, size: int) -> MidiScore:
    return _read(Path(path))


def read_score(source: MidiScore | Path | str) -> MidiScore:
    """Read a Standard MIDI File (cached by path, modification time and size)."""
    if isinstance(source, MidiScore):
        return source
    path = Path(source).resolve()
    stat = path.stat()
    return _read_cached(str(path), stat.st_mtime_ns, stat.st_size)


# --- Helpers on beats ------------------------------------------------------------------------


def _snap(beats: float) -> float:
    """The nearest 16th-note grid position (beats)."""
    return round(beats * SIXTEENTHS_PER_BEAT) / SIXTEENTHS_PER_BEAT


def _merged(intervals: Iterable[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[list[float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def _sounding(notes: Iterable[Note], start: float, end: float, snap: bool) -> list:
    """Merged (start, end) beats where any of ``notes`` sounds, clipped to [start, end)."""
    spans = []
    for note in notes:
        on, off = (
            (_snap(note.start_beats), _snap(note.end_beats))
            if snap
            else (
                note.start_beats,
                note.end_beats,
            )
        )
        on, off = max(on, start), min(off, end)
        if off > on:
            spans.append((on, off))
    return _merged(spans)


def _longest_gap(spans: Sequence[tuple[float, float]], start: float, end: float) -> float:
    """Longest stretch of [start, end) that none of the merged ``spans`` covers (beats)."""
    edges = [start, *(edge for span in spans for edge in span), end]
    return max(edges[i + 1] - edges[i] for i in range(0, len(edges), 2))


def _in(beats: float, start: float, end: float) -> bool:
    return start <= beats + ONSET_LEEWAY_BEATS < end


# === Arrangement (MIDI) ======================================================================


def drumless_stretch_bars(source: MidiScore | Path | str) -> float:
    """Longest stretch of the body with no drum onset, in bars.

    Drum onsets are snapped to the 16th grid; the stretch runs from one onset (or the body's
    start) to the next (or the body's end). Acceptance: ≥ 2 bars in every track. A stretch of
    drums filtered ≥ 12 dB down is not visible in MIDI and is not counted here.
    """
    score = read_score(source)
    start, end = score.body_beats
    onsets = sorted({_snap(n.start_beats) for n in score.notes("drums")})
    edges = [start, *(t for t in onsets if start < t < end), end]
    gap = max((b - a for a, b in itertools.pairwise(edges)), default=0.0)
    return gap / score.beats_per_bar


def melodyless_stretch_bars(source: MidiScore | Path | str) -> float:
    """Longest stretch of the body where no melody note sounds (note-on to note-off), in bars.

    Note boundaries are snapped to the 16th grid so humanised timing does not shave a
    4-bar rest to 3.98. Acceptance: ≥ 4 bars in every track.
    """
    score = read_score(source)
    start, end = score.body_beats
    spans = _sounding(score.notes("melody"), start, end, snap=True)
    return _longest_gap(spans, start, end) / score.beats_per_bar


def melody_sounding_share(source: MidiScore | Path | str) -> float:
    """Fraction (0–1) of the body's time during which a melody note sounds.

    Acceptance: ≤ 0.70 in every track.
    """
    score = read_score(source)
    start, end = score.body_beats
    if end <= start:
        return 0.0
    spans = _sounding(score.notes("melody"), start, end, snap=False)
    return sum(b - a for a, b in spans) / (end - start)


def phrase_rest_count(
    source: MidiScore | Path | str, min_rest_beats: float = MIN_PHRASE_REST_BEATS
) -> int:
    """How many rests of ≥ ``min_rest_beats`` beats the melody takes between two of its notes
    inside the body (16th-grid note boundaries; silence before the first or after the last
    note of the body does not count).

    Acceptance: a track "has rests between phrases" with ≥ ``MIN_PHRASE_RESTS`` (2) of them,
    and ≥ 90 % of tracks have.
    """
    score = read_score(source)
    start, end = score.body_beats
    spans = _sounding(score.notes("melody"), start, end, snap=True)
    return sum(1 for a, b in itertools.pairwise(spans) if b[0] - a[1] >= min_rest_beats - 1e-9)


def section_layout(source: MidiScore | Path | str) -> tuple[tuple[str, frozenset[str]], ...]:
    """The track's form and texture: ``((section name, parts with a note onset in it), …)``.

    Sections come from the markers, in order; a note counts for the section it starts in
    (up to a 32nd early still counts for the next). Acceptance: ≥ 4 distinct layouts per
    style across its seeds.
    """
    score = read_score(source)
    return tuple(
        (
            section.name,
            frozenset(
                name
                for name, notes in score.tracks.items()
                if any(_in(n.start_beats, section.start_beats, section.end_beats) for n in notes)
            ),
        )
        for section in score.sections
    )


def format_layout(layout: tuple[tuple[str, frozenset[str]], ...]) -> str:
    """``intro[keys,pad] A[…] …``: a layout as one line."""
    return " ".join(f"{name}[{','.join(sorted(parts))}]" for name, parts in layout)


# === Drums (MIDI) ============================================================================


def _drum_class(pitch: int) -> str | None:
    for name, pitches in (("kick", KICK_PITCHES), ("snare", SNARE_PITCHES), ("hat", HAT_PITCHES)):
        if pitch in pitches:
            return name
    return None


def _bar_patterns(score: MidiScore) -> dict[int, frozenset[tuple[str, int]]]:
    """Bar index → the set of (kick|snare|hat, 16th step) onsets in that bar."""
    steps_per_bar = round(score.beats_per_bar * SIXTEENTHS_PER_BEAT)
    bars: dict[int, set[tuple[str, int]]] = {}
    for note in score.notes("drums"):
        kind = _drum_class(note.pitch)
        if kind is None:
            continue
        step = round(note.start_beats * SIXTEENTHS_PER_BEAT)
        bars.setdefault(step // steps_per_bar, set()).add((kind, step % steps_per_bar))
    return {bar: frozenset(onsets) for bar, onsets in bars.items()}


def _body_bars(score: MidiScore) -> range:
    start, end = score.body_beats
    return range(
        math.ceil(start / score.beats_per_bar - 1e-9), math.floor(end / score.beats_per_bar + 1e-9)
    )


def drum_bar_repeat_share(source: MidiScore | Path | str) -> float | None:
    """Fraction (0–1) of the body's drum bars whose kick/snare/hat onsets, on the 16th grid,
    equal those of the bar 1 or 2 before (a 1- or 2-bar loop). Bars with none of these
    onsets (drop-outs) are left out; ``None`` when the body has no drum bar.

    Hats include the rides (GM 51, 59), snares the side stick (37). Acceptance: ≥ 0.60.
    """
    score = read_score(source)
    patterns = _bar_patterns(score)
    played = [bar for bar in _body_bars(score) if patterns.get(bar)]
    if not played:
        return None
    repeats = sum(
        1 for bar in played if patterns[bar] in (patterns.get(bar - 1), patterns.get(bar - 2))
    )
    return repeats / len(played)


def crash_count(source: MidiScore | Path | str) -> int:
    """Crash cymbals (GM 49, 57) struck in the whole track, one per 16th-grid position.

    Acceptance: ≤ 2 per track.
    """
    score = read_score(source)
    return len({_snap(n.start_beats) for n in score.notes("drums") if n.pitch in CRASH_PITCHES})


def tom_fill_count(source: MidiScore | Path | str) -> int:
    """Tom fills in the whole track: bars holding ≥ 3 tom hits (GM 41, 43, 45, 47, 48, 50).

    Acceptance: ≤ 1 per track.
    """
    score = read_score(source)
    per_bar: dict[int, int] = {}
    for note in score.notes("drums"):
        if note.pitch in TOM_PITCHES:
            bar = int((note.start_beats + ONSET_LEEWAY_BEATS) // score.beats_per_bar)
            per_bar[bar] = per_bar.get(bar, 0) + 1
    return sum(1 for hits in per_bar.values() if hits >= MIN_TOM_HITS_PER_FILL)


# === Melody (MIDI) ===========================================================================


def melody_notes_per_body_bar(source: MidiScore | Path | str) -> float:
    """Melody note onsets in the body divided by the body's length in bars (notes/bar).

    Acceptance: the style means of the densest and the sparsest style differ ≥ 1.6×.
    """
    score = read_score(source)
    start, end = score.body_beats
    if end <= start:
        return 0.0
    onsets = sum(1 for n in score.notes("melody") if _in(n.start_beats, start, end))
    return onsets / ((end - start) / score.beats_per_bar)


def melody_above_pad_share(source: MidiScore | Path | str) -> float | None:
    """Fraction (0–1) of the melody's sounding time (whole track) in which its lowest sounding
    note is above the pad's highest sounding note (or the pad is silent).

    ``None`` when the melody never sounds. Acceptance: ≥ 0.75.
    """
    score = read_score(source)
    melody, pad = score.notes("melody"), score.notes("pad")
    if not melody:
        return None
    edges = np.unique([t for n in (*melody, *pad) for t in (n.start_beats, n.end_beats)])
    melody_low = np.full(len(edges) - 1, np.inf)
    pad_top = np.full(len(edges) - 1, -np.inf)
    for notes, values, reduce in ((melody, melody_low, np.minimum), (pad, pad_top, np.maximum)):
        for note in notes:
            first, last = np.searchsorted(edges, (note.start_beats, note.end_beats))
            values[first:last] = reduce(values[first:last], note.pitch)
    lengths = np.diff(edges)
    sounding = np.isfinite(melody_low)
    total = lengths[sounding].sum()
    if total <= 0:
        return None
    return float(lengths[sounding & (melody_low > pad_top)].sum() / total)


def _first_melody_pitch(score: MidiScore, section: SectionSpan) -> int | None:
    onsets = [
        n
        for n in score.notes("melody")
        if _in(n.start_beats, section.start_beats, section.end_beats)
    ]
    if not onsets:
        return None
    first = min(_snap(n.start_beats) for n in onsets)
    return max(n.pitch for n in onsets if _snap(n.start_beats) == first)


def a_prime_start_interval(source: MidiScore | Path | str) -> int | None:
    """Semitones between the first melody note of A′ and that of A (absolute; the top note
    when several start together).

    A is the first section named ``A``; A′ the first named ``A2``, ``A′`` or ``A'``. ``None``
    when either section is missing or has no melody. Acceptance: ≤ 7 semitones.
    """
    score = read_score(source)
    a = next((s for s in score.sections if s.name == A_NAME), None)
    a_prime = next((s for s in score.sections if s.name.lower() in A_PRIME_NAMES), None)
    if a is None or a_prime is None:
        return None
    first, again = _first_melody_pitch(score, a), _first_melody_pitch(score, a_prime)
    if first is None or again is None:
        return None
    return abs(again - first)


@dataclass(frozen=True)
class MidiMeasures:
    """Every MIDI measure of one track (units as in each function's docstring)."""

    layout: tuple[tuple[str, frozenset[str]], ...]
    drumless_bars: float
    melodyless_bars: float
    melody_share: float
    phrase_rests: int
    drum_repeat_share: float | None
    crashes: int
    tom_fills: int
    melody_notes_per_bar: float
    melody_above_pad: float | None
    a_prime_interval: int | None


def midi_measures(source: MidiScore | Path | str) -> MidiMeasures:
    """All MIDI measures of one file, read once."""
    score = read_score(source)
    return MidiMeasures(
        layout=section_layout(score),
        drumless_bars=drumless_stretch_bars(score),
        melodyless_bars=melodyless_stretch_bars(score),
        melody_share=melody_sounding_share(score),
        phrase_rests=phrase_rest_count(score),
        drum_repeat_share=drum_bar_repeat_share(score),
        crashes=crash_count(score),
        tom_fills=tom_fill_count(score),
        melody_notes_per_bar=melody_notes_per_body_bar(score),
        melody_above_pad=melody_above_pad_share(score),
        a_prime_interval=a_prime_start_interval(score),
    )


# === Loudness (ffmpeg ebur128) ===============================================================


@dataclass(frozen=True)
class Ebur128:
    """What ffmpeg's ``ebur128=peak=true`` filter reports for one signal.

    ``short_term`` is float64 ``(frames, 2)``: the time (s) at the end of each 100 ms step
    and the short-term loudness (LUFS, 3 s window ending there).
    """

    integrated_lufs: float
    loudness_range_lu: float
    true_peak_dbtp: float
    short_term: np.ndarray


_FRAME = re.compile(r"\bt:\s*([\d.]+)\s.*?\bS:\s*(-?[\d.]+|-?inf|nan)")
_SUMMARY = {
    "integrated_lufs": re.compile(r"Integrated loudness:\s*I:\s*(-?[\d.]+|-?inf) LUFS", re.S),
    "loudness_range_lu": re.compile(r"Loudness range:\s*LRA:\s*(-?[\d.]+) LU", re.S),
    "true_peak_dbtp": re.compile(r"True peak:\s*Peak:\s*(-?[\d.]+|-?inf) dBFS", re.S),
}


def ebur128(audio: np.ndarray, sample_rate_hz: int) -> Ebur128:
    """Measure float ``audio`` of shape ``(channels, samples)`` with ffmpeg's ebur128 filter.

    The samples go to ffmpeg as raw 32-bit float through a pipe (no file). Raises
    ``RuntimeError`` with ffmpeg's last output if ffmpeg fails or prints no summary.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 1:
        audio = audio[np.newaxis]
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-nostats",
        "-f", "f32le", "-ar", str(sample_rate_hz), "-ac", str(audio.shape[0]), "-i", "pipe:0",
        "-af", "ebur128=peak=true", "-f", "null", "-",
    ]  # fmt: skip
    result = subprocess.run(
        command, input=np.ascontiguousarray(audio.T).tobytes(), capture_output=True, check=False
    )
    log = result.stderr.decode("utf-8", "replace")
    summary = log[log.rfind("Summary:") :] if "Summary:" in log else ""
    values = {name: pattern.search(summary) for name, pattern in _SUMMARY.items()}
    if result.returncode != 0 or not all(values.values()):
        raise RuntimeError(f"ffmpeg ebur128 failed ({result.returncode}): {log[-2000:]}")
    frames = np.array([(float(t), float(s)) for t, s in _FRAME.findall(log)], dtype=np.float64)
    return Ebur128(
        **{name: float(match.group(1)) for name, match in values.items()},
        short_term=frames.reshape(-1, 2),
    )


def short_term_lufs(measured: Ebur128, start_s: float, end_s: float) -> float:
    """Power mean of the short-term loudness (LUFS) of the 3 s windows inside [start, end].

    Windows ending ≥ 3 s after ``start_s`` only, so the section before does not leak in
    (for a section shorter than 3 s, those ending in its second half). ``-inf`` if none.
    """
    settle_s = min(3.0, (end_s - start_s) / 2)
    times, levels = measured.short_term[:, 0], measured.short_term[:, 1]
    inside = (times >= start_s + settle_s) & (times <= end_s + 1e-6)
    if not inside.any():
        return -math.inf
    return float(10 * np.log10(np.mean(10 ** (levels[inside] / 10))))


def body_section_lufs(source: MidiScore | Path | str, measured: Ebur128) -> list[tuple[str, float]]:
    """``(section name, short-term LUFS)`` of every body section of the MIDI's form, from the
    ebur128 measure of the audio rendered from it (time 0 of the audio = beat 0)."""
    score = read_score(source)
    return [
        (section.name, short_term_lufs(measured, *score.section_seconds(section)))
        for section in score.body_sections
    ]


def section_spread_lu(levels: Sequence[tuple[str, float]]) -> float:
    """Loudest minus quietest body section (LU). Acceptance: ≥ 3 LU in every track."""
    finite = [level for _, level in levels if math.isfinite(level)]
    return max(finite) - min(finite) if finite else 0.0


# === Spectra (numpy / scipy) =================================================================


def power_spectrum(
    audio: np.ndarray, sample_rate_hz: int, segment: int = 8192
) -> tuple[np.ndarray, np.ndarray]:
    """Long-term average spectrum: Welch PSD (Hann, ``segment`` samples, half overlap) of each
    channel of ``(channels, samples)`` audio, averaged over channels (no mid-sum cancels).

    Returns (frequencies Hz, power spectral density per Hz), both float64 ``(bins,)``.
    """
    audio = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    segment = min(segment, audio.shape[1])
    freqs, psd = signal.welch(audio, sample_rate_hz, nperseg=segment, axis=-1)
    return freqs, psd.mean(axis=0)


def _band_mean(freqs: np.ndarray, psd: np.ndarray, low_hz: float, high_hz: float) -> float:
    band = (freqs >= low_hz) & (freqs <= high_hz)
    return float(psd[band].mean()) if band.any() else 0.0


def _octave_smoothed(freqs: np.ndarray, psd: np.ndarray, octaves: float) -> np.ndarray:
    """Each bin's PSD averaged over ± ``octaves``/2 around it (linear power)."""
    cumulative = np.concatenate([[0.0], np.cumsum(psd)])
    half = 2 ** (octaves / 2)
    low = np.searchsorted(freqs, freqs / half, side="left")
    high = np.searchsorted(freqs, freqs * half, side="right")
    return (cumulative[high] - cumulative[low]) / np.maximum(high - low, 1)


def _db(power: float | np.ndarray) -> float | np.ndarray:
    return 10 * np.log10(np.maximum(power, 1e-30))


def rolloff_point_hz(
    audio: np.ndarray,
    sample_rate_hz: int,
    drop_db: float = 20.0,
    reference_hz: tuple[float, float] = (300.0, 3_000.0),
    reference: str = "db_mean",
) -> float:
    """The master's top-end knee: the highest frequency above 3 kHz where the LTAS, smoothed
    over 1/12 octave, is still within ``drop_db`` of its level over ``reference_hz``.

    That level is the mean of the LTAS in dB over the band's bins (``"db_mean"``, the mean
    of the curve as plotted), or the dB of its mean power (``"power_mean"``, a few dB higher
    on music, whose low partials dominate: the point then lands lower, 12.6 instead of
    19.1 kHz on one master of today's chain; the issue's 12.7–18.8 kHz for today's masters
    matches the dB mean). The Welch average already steadies the estimate; the light
    smoothing only keeps a lone high partial from setting the point (and moves a brick-wall
    edge up by under 3 %).

    Hz; ``reference_hz[1]`` when nothing above it reaches that level. Raises ``ValueError``
    for an unknown ``reference``. Acceptance (master, −20 dB re the 300 Hz–3 kHz mean):
    8–13 kHz for every style.
    """
    freqs, psd = power_spectrum(audio, sample_rate_hz)
    band = (freqs >= reference_hz[0]) & (freqs <= reference_hz[1])
    if reference == "db_mean":
        reference_db = float(np.mean(_db(psd[band])))
    elif reference == "power_mean":
        reference_db = float(_db(psd[band].mean()))
    else:
        raise ValueError(f"reference must be db_mean or power_mean, not {reference!r}")
    smoothed_db = _db(_octave_smoothed(freqs, psd, 1 / 12))
    above = (freqs > reference_hz[1]) & (freqs <= 0.98 * sample_rate_hz / 2)
    loud = above & (smoothed_db >= reference_db - drop_db)
    return float(freqs[loud].max()) if loud.any() else reference_hz[1]


def alias_level_db(
    audio: np.ndarray, sample_rate_hz: int, reduced_nyquist_hz: float
) -> float | None:
    """Energy above a reduced Nyquist frequency relative to the 1–4 kHz level (dB).

    The loudest third-octave window lying wholly above ``reduced_nyquist_hz`` (from 1 % above
    it, clear of the analysis window's leakage across the edge, up to 98 % of the true
    Nyquist), as mean PSD, over the mean PSD of 1–4 kHz. ``None`` when no such window fits
    (no reduction). Acceptance (drum stem, ``drum_sample_rate_hz`` / 2): ≤ −40 dB.
    """
    freqs, psd = power_spectrum(audio, sample_rate_hz)
    reference_db = _db(_band_mean(freqs, psd, 1_000.0, 4_000.0))
    width = 2 ** (1 / 3)
    top = 0.98 * sample_rate_hz / 2
    lows = np.flatnonzero((freqs >= 1.01 * reduced_nyquist_hz) & (freqs * width <= top))
    if lows.size == 0:
        return None
    cumulative = np.concatenate([[0.0], np.cumsum(psd)])
    highs = np.searchsorted(freqs, freqs[lows] * width, side="right")
    means = (cumulative[highs] - cumulative[lows]) / (highs - lows)
    return float(_db(means.max()) - reference_db)


def spectral_centroid_hz(audio: np.ndarray, sample_rate_hz: int) -> float:
    """Magnitude-weighted mean frequency (Hz, 20 Hz–Nyquist) of the Hann-windowed spectrum
    of the channel mean of ``(channels, samples)`` audio (a mono ``(samples,)`` works too).

    Acceptance: at velocity 110 ≥ 1.2 × at velocity 40, for keys and drums.
    """
    mono = np.atleast_2d(np.asarray(audio, dtype=np.float64)).mean(axis=0)
    magnitude = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    freqs = np.fft.rfftfreq(mono.size, 1 / sample_rate_hz)
    band = freqs >= 20.0
    total = magnitude[band].sum()
    return float((freqs[band] * magnitude[band]).sum() / total) if total > 0 else 0.0


def waveform_correlation(
    first: np.ndarray, second: np.ndarray, sample_rate_hz: int, max_lag_s: float = 0.005
) -> float:
    """Peak normalised cross-correlation (−1…1) of two hits within ± ``max_lag_s``.

    Both are ``(channels, samples)`` or ``(samples,)``, reduced to their channel mean and cut
    to the shorter; the lag search makes a sample re-triggered a few samples late still read
    as identical. Acceptance: two consecutive equal-velocity hits of one drum < 0.995.
    """
    a = np.atleast_2d(np.asarray(first, dtype=np.float64)).mean(axis=0)
    b = np.atleast_2d(np.asarray(second, dtype=np.float64)).mean(axis=0)
    n = min(a.size, b.size)
    a, b = a[:n], b[:n]
    norm = math.sqrt(float(a @ a) * float(b @ b))
    if norm == 0:
        return 0.0
    full = signal.correlate(a, b, mode="full", method="fft")
    lags = np.arange(-n + 1, n)
    window = np.abs(lags) <= round(max_lag_s * sample_rate_hz)
    return float(full[window].max() / norm)


# === Day contrast ============================================================================


@dataclass(frozen=True)
class SlotPlan:
    """One slot of one date as the channel plans it."""

    date: str
    slot: str
    style: str
    key: str  # tonic and mode, e.g. "D dorian"
    bpm: float


@dataclass(frozen=True)
class DayContrast:
    """Counts over ``dates`` dates (see ``day_contrast``)."""

    dates: int
    same_style_and_key_dates: int
    same_style_dates: int
    same_key_dates: int
    close_tempo_dates: int
    smallest_bpm_gap: float


def day_contrast(plans: Iterable[SlotPlan], min_bpm_gap: float = MIN_DAY_BPM_GAP) -> DayContrast:
    """How often the slots of one date fail to contrast.

    Counts dates with two slots in the same style and key, the same style, the same key
    (tonic and mode), and with two slots less than ``min_bpm_gap`` BPM apart; and the smallest
    BPM gap within any date. Acceptance over 60 dates: 0 same style and key, 0 close tempos.
    """
    by_date: dict[str, list[SlotPlan]] = {}
    for plan in plans:
        by_date.setdefault(plan.date, []).append(plan)
    counts = {"style_key": 0, "style": 0, "key": 0, "tempo": 0}
    smallest = math.inf
    for day in by_date.values():
        pairs = [(a, b) for i, a in enumerate(day) for b in day[i + 1 :]]
        gaps = [abs(a.bpm - b.bpm) for a, b in pairs]
        smallest = min([smallest, *gaps])
        counts["style_key"] += any(a.style == b.style and a.key == b.key for a, b in pairs)
        counts["style"] += any(a.style == b.style for a, b in pairs)
        counts["key"] += any(a.key == b.key for a, b in pairs)
        counts["tempo"] += any(gap < min_bpm_gap for gap in gaps)
    return DayContrast(
        dates=len(by_date),
        same_style_and_key_dates=counts["style_key"],
        same_style_dates=counts["style"],
        same_key_dates=counts["key"],
        close_tempo_dates=counts["tempo"],
        smallest_bpm_gap=smallest,
    )
