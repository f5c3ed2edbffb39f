"""The melody model: a small GPT-2 trained here on MIDI melodies tokenized with miditok.

``corpus`` gathers melodies (music21's bundled folk tunes and chorales, and our own engine's
phrases), ``tokens`` trains the REMI + BPE tokenizer, ``train`` the model, ``generate`` writes
a sketch's melody with it, and ``metrics`` measures any set of melodies the same way.
Nothing here imports Dagster; torch, transformers, miditok and music21 are imported where used.
"""
