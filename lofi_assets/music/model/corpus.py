"""Melodies to learn from, normalized to C major / A minor, split by piece.

Sources: music21's bundled corpus (O'Neill's and Ryan's Mammoth fiddle tunes, Essen folk
songs, Bach chorale soprano lines: real human melodies, read offline) and phrases from our own
engine in every style. Every melody is transposed so its tonic is C (major modes) or A (minor
modes) and moved into the melody register; the generator transposes back to the sketch's key.
A piece goes wholly to train or to validation (by a hash of its name), never chunk by chunk.
"""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mido

from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.styles import style_names
from lofi_assets.storage import atomic_path

LOW, HIGH = 60, 84  # the register melodies are moved into (C4–C6)
TICKS_PER_BEAT = 480
VALIDATION_SHARE = 0.1
MIN_NOTES = 12


@dataclass(frozen=True)
class Melody:
    name: str  # unique: source/file/index
    source: str  # oneills1850, ryansMammoth, essenFolksong, bach, engine
    notes: tuple[tuple[int, float, float], ...]  # (pitch, start beats, duration beats)
    mode: str  # major | minor (after normalization: tonic C or A)

    @property
    def split(self) -> str:
        digest = hashlib.sha256(self.name.encode()).digest()
        return "validation" if digest[0] / 256 < VALIDATION_SHARE else "train"


@dataclass(frozen=True)
class CorpusPreset:
    music21_pieces: dict[str, int]  # source → how many pieces at most
    engine_seeds_per_style: int


CORPUS_PRESETS = {
    "smoke": CorpusPreset({"oneills1850": 50, "ryansMammoth": 10}, 2),
    "default": CorpusPreset(
        {"oneills1850": 400, "ryansMammoth": 300, "essenFolksong": 600, "bach": 120}, 12
    ),
}


def _register_shift(pitches: list[int]) -> int:
    """Octaves to add so the melody sits inside LOW..HIGH as far as it can."""
    middle = (min(pitches) + max(pitches)) / 2
    return 12 * round(((LOW + HIGH) / 2 - middle) / 12)


def normalized(
    name: str, source: str, notes: list[tuple[int, float, float]], tonic_pc: int, minor: bool
) -> Melody | None:
    """Transpose to C major / A minor and into the register; None when too short."""
    notes = [n for n in notes if n[2] > 0]
    if len(notes) < MIN_NOTES:
        return None
    target = 9 if minor else 0
    shift = (target - tonic_pc) % 12
    if shift > 6:
        shift -= 12
    moved = [(p + shift, s, d) for p, s, d in notes]
    octave = _register_shift([p for p, _, _ in moved])
    start = min(s for _, s, _ in moved)
    return Melody(
        name,
        source,
        tuple(
            (p + octave, round(s - start, 4), round(d, 4))
            for p, s, d in sorted(moved, key=lambda n: n[1])
        ),
        "minor" if minor else "major",
    )


def _music21_paths(source: str) -> list[str]:
    from music21 import corpus

    paths = sorted(str(p) for p in corpus.getPaths() if f"/{source}/" in str(p))
    if source == "bach":  # the chorales: four-part, the soprano is the tune
        paths = [p for p in paths if "/bwv" in p and p.endswith((".mxl", ".xml", ".krn"))]
    return paths


def _scores(source: str) -> Iterator[tuple[str, object]]:
    from music21 import corpus, stream

    for path in _music21_paths(source):
        parsed = corpus.parse(path)
        scores = parsed.scores if isinstance(parsed, stream.Opus) else [parsed]
        stem = Path(path).stem
        for index, score in enumerate(scores):
            yield f"{source}/{stem}/{index}", score


def _melody_of(name: str, source: str, score) -> Melody | None:
    parts = getattr(score, "parts", None)
    line = parts[0] if parts else score
    notes = []
    for element in line.flatten().notes:
        pitch = max(p.midi for p in element.pitches)  # a chord: its top note
        notes.append((pitch, float(element.offset), float(element.quarterLength)))
    if len(notes) < MIN_NOTES:
        return None
    key = score.analyze("key")
    return normalized(name, source, notes, key.tonic.pitchClass, key.mode == "minor")


def music21_melodies(source: str, limit: int) -> Iterator[Melody]:
    count = 0
    for name, score in _scores(source):
        if count >= limit:
            return
        try:
            melody = _melody_of(name, source, score)
        except Exception:
            melody = None
        if melody is not None:
            count += 1
            yield melody


def engine_melodies(seeds_per_style: int) -> Iterator[Melody]:
    for style, seed in itertools.product(style_names(), range(seeds_per_style)):
        sketch = compose_sketch(SketchRequest(seed=seed, style=style, duration_s=60.0))
        notes = [(n.pitch, n.start_beats, n.duration_beats) for n in sketch.part("melody").notes]
        key = sketch.plan.key
        melody = normalized(f"engine/{style}/{seed}", "engine", notes, key.tonic_pc, key.is_minor)
        if melody is not None:
            yield melody


def gather(preset: CorpusPreset) -> list[Melody]:
    melodies: list[Melody] = []
    for source, limit in preset.music21_pieces.items():
        melodies += music21_melodies(source, limit)
    melodies += engine_melodies(preset.engine_seeds_per_style)
    return melodies


def write_melody_midi(melody: Melody, path: Path, bpm: float = 90.0) -> Path:
    """One track, one channel: what the tokenizer reads."""
    midi = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    events = []
    for pitch, start, duration in melody.notes:
        on = round(start * TICKS_PER_BEAT)
        off = max(on + 1, round((start + duration) * TICKS_PER_BEAT))
        events += [(on, 1, pitch), (off, 0, pitch)]
    now = 0
    for tick, is_on, pitch in sorted(events):
        kind = "note_on" if is_on else "note_off"
        track.append(mido.Message(kind, note=pitch, velocity=80 if is_on else 0, time=tick - now))
        now = tick
    with atomic_path(path) as temporary:
        midi.save(str(temporary))
    return path


def statistics(melodies: Iterable[Melody]) -> dict:
    melodies = list(melodies)
    keys = Counter(m.mode for m in melodies)
    return {
        "pieces": len(melodies),
        "by_source": dict(Counter(m.source for m in melodies)),
        "by_split": dict(Counter(m.split for m in melodies)),
        "notes": sum(len(m.notes) for m in melodies),
        "key_histogram": {"C major": keys.get("major", 0), "A minor": keys.get("minor", 0)},
    }
