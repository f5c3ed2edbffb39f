"""Which SoundFont renders the instruments: an override, Debian's FluidR3_GM, or the small
GM font that ships inside pretty_midi — and a record of which one was used."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from lofi_assets.errors import LofiError

SOUNDFONT_ENV = "LOFI_SOUNDFONT"
DEBIAN_FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # fluid-soundfont-gm, MIT


class SoundFontNotFoundError(LofiError, FileNotFoundError):
    """No usable SoundFont file."""


@dataclass(frozen=True)
class SoundFont:
    path: Path
    name: str  # what the metadata says was used
    source: str  # "override", "debian" or "pretty_midi"


def _bundled_pretty_midi_font() -> Path | None:
    spec = util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def _check_readable(path: Path, origin: str) -> None:
    if not path.is_file():
        raise SoundFontNotFoundError(
            f"SoundFont not found at {path} ({origin}): install fluid-soundfont-gm or set "
            f"{SOUNDFONT_ENV} to an .sf2 file (apt-get install fluid-soundfont-gm)"
        )
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise SoundFontNotFoundError(
            f"{path} ({origin}) is not a SoundFont 2 file: point {SOUNDFONT_ENV} at an .sf2"
        )


def resolve_soundfont(override: str | Path | None = None) -> SoundFont:
    """The SoundFont to use: ``override``, ``$LOFI_SOUNDFONT``, Debian's, then pretty_midi's."""
    chosen = override or os.environ.get(SOUNDFONT_ENV)
    if chosen:
        path = Path(chosen)
        _check_readable(path, f"from {'the override' if override else SOUNDFONT_ENV}")
        return SoundFont(path, path.stem, "override")
    if DEBIAN_FLUID_R3.is_file():
        _check_readable(DEBIAN_FLUID_R3, "Debian fluid-soundfont-gm")
        return SoundFont(DEBIAN_FLUID_R3, "FluidR3_GM", "debian")
    bundled = _bundled_pretty_midi_font()
    if bundled is not None:
        _check_readable(bundled, "bundled with pretty_midi")
        return SoundFont(bundled, "TimGM6mb", "pretty_midi")
    raise SoundFontNotFoundError(
        f"SoundFont not found at {DEBIAN_FLUID_R3} and pretty_midi has none: install "
        f"fluid-soundfont-gm or set {SOUNDFONT_ENV} (apt-get install fluid-soundfont-gm)"
    )
