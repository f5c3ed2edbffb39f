"""The tokenizer: miditok REMI with byte-pair encoding, trained on the training split."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TOKENIZER_FILE = "tokenizer.json"


def new_tokenizer():
    from miditok import REMI, TokenizerConfig

    config = TokenizerConfig(
        pitch_range=(36, 97),
        beat_res={(0, 4): 4, (4, 12): 2},  # 16ths inside a bar, 8ths for long notes
        num_velocities=1,  # melodies are written at one velocity; humanization adds the rest
        special_tokens=["PAD", "BOS", "EOS"],
        use_chords=False,
        use_rests=False,
        use_tempos=False,
        use_time_signatures=False,
        use_programs=False,
    )
    return REMI(config)


def train_tokenizer(midi_paths: Sequence[Path], vocab_size: int, out: Path):
    """Train BPE on ``midi_paths`` (absolute: miditok's iterator needs them) and save it."""
    tokenizer = new_tokenizer()
    tokenizer.train(
        vocab_size=vocab_size,
        model="BPE",
        files_paths=[Path(p).resolve() for p in midi_paths],
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(out)
    return tokenizer


def load_tokenizer(path: Path):
    from miditok import REMI

    return REMI(params=Path(path))


def encode_file(tokenizer, path: Path) -> list[int]:
    """The BPE token ids of a one-track MIDI file ([] when it has no notes)."""
    sequences = tokenizer.encode(Path(path))
    sequence = sequences[0] if isinstance(sequences, list) else sequences
    return list(sequence.ids)
