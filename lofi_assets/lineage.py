"""What a release artifact was built from: the SHA-256 of every input file it read, and
which of those files have changed since.

A release record (mix, metadata, artwork, video, teaser, bundle, upload) carries
``input_sha256``: data-root-relative path → SHA-256 of that file when the artifact was built.
Publishing compares those with the files as they are now, so a video encoded from an older
mix, or a mix joined from masters that were re-rendered since, is refused instead of sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from lofi_assets.errors import LofiError
from lofi_assets.storage import sha256_of


@dataclass(frozen=True)
class StaleInput:
    """One input whose file is no longer the one ``asset`` was built from."""

    asset: str  # the artifact that read it, e.g. "video"
    path: str  # data-root-relative, e.g. "release_mix/2026-11-27/mix.wav"
    recorded_sha256: str
    current_sha256: str  # "missing" when the file is gone

    def describe(self) -> str:
        now = "is gone" if self.current_sha256 == "missing" else "has changed"
        return f"{self.asset} was built from {self.path}, which {now} since"


class StaleInputsError(LofiError):
    """Inputs of a publish step are out of date with each other; re-make the named assets."""

    def __init__(self, stale: list[StaleInput]):
        self.stale = stale
        assets = sorted({item.asset for item in stale})
        super().__init__(
            "Refusing a stale combination: "
            + "; ".join(item.describe() for item in stale)
            + f". Re-materialize {', '.join(assets)} (and what follows) first."
        )


def input_hashes(root: Path, relative_paths: Iterable[str]) -> dict[str, str]:
    """SHA-256 of each input file (paths relative to the data root ``root``)."""
    return {path: sha256_of(root / path) for path in sorted(set(relative_paths))}


def stale_inputs(root: Path, built_from: Mapping[str, Mapping[str, str]]) -> list[StaleInput]:
    """Every recorded input that differs from the file now under ``root``.

    ``built_from`` maps an asset name to its record's ``input_sha256``; each file is hashed
    once however many artifacts read it.
    """
    current: dict[str, str] = {}
    found = []
    for asset, recorded in built_from.items():
        for path, recorded_sha256 in sorted(recorded.items()):
            if path not in current:
                file = root / path
                current[path] = sha256_of(file) if file.is_file() else "missing"
            if current[path] != recorded_sha256:
                found.append(StaleInput(asset, path, recorded_sha256, current[path]))
    return found
