"""Stable seeds: the same names always give the same number, on every machine and Python.

Python's ``hash()`` is salted per process, so it must never decide a musical choice.
"""

from __future__ import annotations

import hashlib
import random

SEED_BITS = 63


def stable_seed(*parts: object) -> int:
    """Derive a non-negative 63-bit seed from ``parts`` with SHA-256."""
    joined = "\x1f".join(str(part) for part in parts)
    digest = hashlib.sha256(joined.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - SEED_BITS)


def derived_rng(seed: int, purpose: str) -> random.Random:
    """An independent generator for one purpose (drums, melody …) of one seeded sketch.

    Separate streams keep a change in one part from reshuffling every other part.
    """
    return random.Random(stable_seed(seed, purpose))
