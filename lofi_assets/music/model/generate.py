"""Writing a sketch's melody with the trained model.

For each of the A and B sections the model is prompted with the mode's tonic (it learned every
melody in C major or A minor) and sampled with temperature, top-k and top-p under a seed from
the sketch; the prompt's tonic holds until the model's first note. The engine's own filters
then fit the result to the track: transposed to the key, moved into the melody register,
notes on strong beats snapped to the sounding chord's tones and the rest to the style's scale.
A sample that decodes to too few notes, or repeats an 8-note run of the training corpus, is
drawn again; after a few tries the engine writes the melody instead and the reason is
recorded. A′ restates A, as the engine does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lofi_assets.music.melody import MELODY_CHANNEL, melody_scale
from lofi_assets.music.model.corpus import HIGH, LOW, Melody, write_melody_midi
from lofi_assets.music.model.metrics import ngram_hashes
from lofi_assets.music.model.sampler import KVSampler
from lofi_assets.music.model.tokens import TOKENIZER_FILE, load_tokenizer
from lofi_assets.music.progressions import ChordEvent, chord_at
from lofi_assets.music.score import BEATS_PER_BAR, NoteEvent, Part, Section
from lofi_assets.music.styles import Instrument, Style
from lofi_assets.music.theory import Key
from lofi_assets.seeding import stable_seed

MODEL_DIR, NGRAMS_FILE = "model", "corpus_ngrams.npy"
ATTEMPTS = 4
PHRASE_BARS = 4  # sampled one phrase at a time: the default model sees 128 tokens
PHRASE_TOKENS = (40, 110)  # at least / at most new tokens per phrase
MIN_NOTES_PER_BAR = 1.5


@dataclass(frozen=True)
class SamplingSettings:
    temperature: float = 0.95
    top_k: int = 40
    top_p: float = 0.95


def _nearest(pitch: int, allowed_pcs: frozenset[int]) -> int:
    for distance in range(7):
        for candidate in (pitch - distance, pitch + distance):
            if candidate % 12 in allowed_pcs:
                return candidate
    return pitch


class MelodyModel:
    """A trained model folder: ``model/`` (GPT-2), ``tokenizer.json``, ``corpus_ngrams.npy``."""

    def __init__(self, folder: Path, settings: SamplingSettings | None = None) -> None:
        from transformers import GPT2LMHeadModel
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
        transformers_logging.set_verbosity_error()
        self.folder = Path(folder)
        self.model = GPT2LMHeadModel.from_pretrained(self.folder / MODEL_DIR).eval()
        self.sampler = KVSampler(self.model)
        self.tokenizer = load_tokenizer(self.folder / TOKENIZER_FILE)
        self.corpus_ngrams = np.load(self.folder / NGRAMS_FILE)
        self.settings = settings or SamplingSettings()
        weights = sorted((self.folder / MODEL_DIR).glob("*.safetensors"))
        digest = hashlib.sha256(b"".join(p.read_bytes() for p in weights)).hexdigest()
        self.version = digest[:12]
        self._prompts: dict[str, list[int]] = {}
        self.tokens_sampled = 0  # for sampling-speed figures

    def _prompt(self, minor: bool) -> list[int]:
        """BOS and a first tonic note (A4 for minor, C5 for major): the key context."""
        mode = "minor" if minor else "major"
        if mode not in self._prompts:
            import tempfile

            melody = Melody("prompt", "prompt", ((_prompt_tonic(minor), 0.0, 1.0),), mode)
            with tempfile.TemporaryDirectory() as scratch:
                path = write_melody_midi(melody, Path(scratch) / "prompt.mid")
                ids = list(self.tokenizer.encode(path)[0].ids)
            self._prompts[mode] = [self.tokenizer["BOS_None"], *ids]
        return self._prompts[mode]

    def sample_tokens(
        self, minor: bool, seed: int, max_new_tokens: int, min_new_tokens: int = 0
    ) -> list[int]:
        """New tokens after the mode's prompt, without the EOS that ends them."""
        prompt = self._prompt(minor)
        limit = self.model.config.n_positions - len(prompt)
        ids = self.sampler.sample(
            prompt,
            seed=seed,
            max_new_tokens=min(max_new_tokens, limit),
            min_new_tokens=min(min_new_tokens, limit),
            eos=self.tokenizer["EOS_None"],
            temperature=self.settings.temperature,
            top_k=self.settings.top_k,
            top_p=self.settings.top_p,
        )
        self.tokens_sampled += len(ids)
        return ids

    def decode(self, ids: list[int]) -> list[tuple[int, float, float]]:
        """Token ids → (pitch, start beats, duration beats); raises when they do not decode."""
        score = self.tokenizer.decode([ids])
        tpq = score.ticks_per_quarter
        notes = [
            (int(n.pitch), n.time / tpq, max(n.duration, 1) / tpq)
            for track in score.tracks
            for n in track.notes
        ]
        return sorted(notes, key=lambda n: (n[1], -n[0]))

    def sample_phrase(self, minor: bool, seed: int) -> list[tuple[int, float, float]]:
        """One phrase of PHRASE_BARS bars in C major / A minor, opening on the tonic."""
        low, high = PHRASE_TOKENS
        ids = self.sample_tokens(minor, seed, max_new_tokens=high, min_new_tokens=low)
        notes = hold_prompt_tonic(self.decode(self._prompt(minor)[1:] + ids), minor)
        length = PHRASE_BARS * BEATS_PER_BAR
        return [(p, s, min(d, length - s)) for p, s, d in notes if s < length]

    def sample_melody(self, bars: int, minor: bool, seed: int) -> list[tuple[int, float, float]]:
        """``bars`` bars of melody in C major / A minor, phrase after phrase."""
        notes = []
        for index, start in enumerate(range(0, bars, PHRASE_BARS)):
            phrase = self.sample_phrase(minor, stable_seed(seed, "phrase", index))
            room = min(PHRASE_BARS, bars - start) * BEATS_PER_BAR
            offset = start * BEATS_PER_BAR
            notes += [(p, offset + s, min(d, room - s)) for p, s, d in phrase if s < room]
        return notes

    def is_original(self, notes: list[tuple[int, float, float]]) -> bool:
        hashes = ngram_hashes(notes)
        return not bool(np.isin(hashes, self.corpus_ngrams).any())


def _prompt_tonic(minor: bool) -> int:
    return 69 if minor else 72  # A4 / C5: the corpus is in A minor and C major


def hold_prompt_tonic(
    notes: list[tuple[int, float, float]], minor: bool
) -> list[tuple[int, float, float]]:
    """The prompt's one-beat tonic is our key context, not the model's writing: it holds until
    the model's first note (at most a bar). The model most often starts at the next bar line,
    which would leave three silent beats at the top of every phrase."""
    later = [start for _, start, _ in notes if start > 0]
    if not later:
        return notes
    hold = min(min(later), BEATS_PER_BAR)
    tonic = _prompt_tonic(minor)
    return [(p, s, max(d, hold)) if (p, s) == (tonic, 0.0) else (p, s, d) for p, s, d in notes]


def fit_to_track(
    notes: list[tuple[int, float, float]],
    key: Key,
    style: Style,
    timeline: list[ChordEvent],
    offset_beats: float,
) -> list[tuple[int, float, float]]:
    """The engine's filters: into the key and register, strong beats onto chord tones."""
    if not notes:
        return []
    source_tonic = 9 if key.is_minor else 0
    shift = (key.tonic_pc - source_tonic) % 12
    shift -= 12 if shift > 6 else 0
    moved = [(p + shift, s, d) for p, s, d in notes]
    middle = (min(p for p, _, _ in moved) + max(p for p, _, _ in moved)) / 2
    octave = 12 * round(((LOW + HIGH) / 2 - middle) / 12)
    scale = melody_scale(key, style)
    fitted = []
    for pitch, start, duration in moved:
        pitch += octave
        absolute = offset_beats + start
        if abs(start - round(start)) < 1e-6:  # on the beat: a tone of the chord sounding
            chord_pcs = chord_at(timeline, absolute).chord.chord_tone_pcs
            pitch = _nearest(pitch, chord_pcs & scale or chord_pcs)
        else:
            pitch = _nearest(pitch, scale)
        fitted.append((min(max(pitch, LOW - 5), HIGH + 5), absolute, duration))
    return fitted


class ModelMelodyWriter:
    """What ``arrange`` calls for styles whose melody the model writes."""

    def __init__(self, model: MelodyModel) -> None:
        self.model = model

    def write(
        self,
        sections: list[Section],
        timeline: list[ChordEvent],
        key: Key,
        style: Style,
        instrument: Instrument,
        seed: int,
    ) -> tuple[Part | None, dict]:
        source = {"generator": "model", "model_version": self.model.version}
        notes: list[tuple[int, float, float]] = []
        written: dict[str, list[tuple[int, float, float]]] = {}
        for section in sections:
            if section.name in ("intro", "outro"):
                continue
            if section.name == "A2" and "A" in written:
                a_start = next(s.start_beats for s in sections if s.name == "A")
                end = section.start_beats + section.bars * BEATS_PER_BAR
                notes += [
                    (p, s - a_start + section.start_beats, d)
                    for p, s, d in written["A"]
                    if s - a_start + section.start_beats < end
                ]
                continue
            reason = ""
            for attempt in range(ATTEMPTS):
                try:
                    raw = self.model.sample_melody(
                        section.bars,
                        key.is_minor,
                        stable_seed(seed, "model", section.name, attempt),
                    )
                except Exception as error:
                    reason = f"sampling failed: {type(error).__name__}: {error}"
                    continue
                if len(raw) < MIN_NOTES_PER_BAR * section.bars:
                    reason = f"{len(raw)} notes for {section.bars} bars"
                    continue
                if not self.model.is_original(raw):
                    reason = "the sample repeated an 8-note run of the corpus"
                    continue
                written[section.name] = fit_to_track(raw, key, style, timeline, section.start_beats)
                notes += written[section.name]
                break
            else:
                return None, {
                    "generator": "engine",
                    "fallback_reason": f"section {section.name}: {reason}",
                    "model_version": self.model.version,
                }
        events = [
            NoteEvent(s, d, p, 84 if abs(s - round(s)) < 1e-6 else 72, "melody")
            for p, s, d in sorted(notes, key=lambda n: n[1])
        ]
        return Part("melody", instrument.program, instrument.name, MELODY_CHANNEL, events), source
