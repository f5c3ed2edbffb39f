"""The music-theory engine: seeded, deterministic composition of multi-track lo-fi sketches.

Plain Python (no Dagster): a ``SketchRequest`` in, a ``Sketch`` (plan + humanised parts) out,
then MIDI bytes and measurements of what was written.
"""
