"""Which SoundFont renders the instruments: an override, Debian's FluidR3_GM, or the small
GM font that ships inside pretty_midi — and a record of which one was used.

A SoundFont is the head of a chain: each font's ``fallback`` plays the parts it has no preset
for (``instruments.py`` decides per part, from the fonts' preset tables). An override
(``$LOFI_SOUNDFONT``, ``lofi render --soundfont``) falls back to the default fonts — what the
part plays without an override — unless ``$LOFI_SOUNDFONT_FALLBACK`` names another font, or
``none`` to refuse a part the override cannot play.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import util
from pathlib import Path

from lofi_assets.errors import LofiError

SOUNDFONT_ENV = "LOFI_SOUNDFONT"
FALLBACK_ENV = "LOFI_SOUNDFONT_FALLBACK"
NO_FALLBACK = "none"  # the value of FALLBACK_ENV that turns fallback off
DEBIAN_FLUID_R3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")  # fluid-soundfont-gm, MIT
DEFAULT_SOURCES = frozenset({"debian", "pretty_midi"})  # fonts the instrument library extends


class SoundFontNotFoundError(LofiError, FileNotFoundError):
    """No usable SoundFont file."""


@dataclass(frozen=True)
class SoundFont:
    path: Path
    name: str  # what the metadata says was used
    source: str  # "override", "debian", "pretty_midi" or "fallback" (from FALLBACK_ENV)
    fallback: SoundFont | None = None  # plays what this font has no preset for

    @property
    def chain(self) -> tuple[SoundFont, ...]:
        """This font, then its fallbacks in the order they are tried."""
        fonts, font = [], self
        while font is not None:
            fonts.append(font)
            font = font.fallback
        return tuple(fonts)

    def describe(self) -> str:
        """``name (source)``, then ``→ fallback (source)`` for each font after it."""
        return " → ".join(f"{font.name} ({font.source})" for font in self.chain)


def _bundled_pretty_midi_font() -> Path | None:
    spec = util.find_spec("pretty_midi")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "TimGM6mb.sf2"
    return path if path.is_file() else None


def _check_readable(path: Path, origin: str, variable: str = SOUNDFONT_ENV) -> None:
    if not path.is_file():
        raise SoundFontNotFoundError(
            f"SoundFont not found at {path} ({origin}): install fluid-soundfont-gm or set "
            f"{variable} to an .sf2 file (apt-get install fluid-soundfont-gm)"
        )
    with path.open("rb") as handle:
        header = handle.read(12)
    if header[:4] != b"RIFF" or header[8:12] != b"sfbk":
        raise SoundFontNotFoundError(
            f"{path} ({origin}) is not a SoundFont 2 file: point {variable} at an .sf2"
        )


def _default_fonts() -> list[SoundFont]:
    """The fonts used without an override, best first: Debian's FluidR3_GM, pretty_midi's."""
    fonts = []
    if DEBIAN_FLUID_R3.is_file():
        _check_readable(DEBIAN_FLUID_R3, "Debian fluid-soundfont-gm")
        fonts.append(SoundFont(DEBIAN_FLUID_R3, "FluidR3_GM", "debian"))
    bundled = _bundled_pretty_midi_font()
    if bundled is not None:
        _check_readable(bundled, "bundled with pretty_midi")
        fonts.append(SoundFont(bundled, "TimGM6mb", "pretty_midi"))
    return fonts


def _linked(fonts: list[SoundFont]) -> SoundFont | None:
    """``fonts`` as a chain, each falling back to the next (None when there are none)."""
    head = None
    for font in reversed(fonts):
        head = SoundFont(font.path, font.name, font.source, head)
    return head


def _fallback_chain(fallback: str | Path | None) -> list[SoundFont] | None:
    """The fonts named by ``fallback`` / ``$LOFI_SOUNDFONT_FALLBACK``: None when unset."""
    chosen = fallback if fallback is not None else os.environ.get(FALLBACK_ENV)
    if chosen is None or str(chosen) == "":
        return None
    if str(chosen).strip().lower() == NO_FALLBACK:
        return []
    path = Path(chosen)
    origin = "the fallback override" if fallback is not None else f"from {FALLBACK_ENV}"
    _check_readable(path, origin, FALLBACK_ENV)
    return [SoundFont(path, path.stem, "fallback")]


def resolve_soundfont(
    override: str | Path | None = None, fallback: str | Path | None = None
) -> SoundFont:
    """The SoundFont chain to render with.

    Head: ``override``, ``$LOFI_SOUNDFONT``, Debian's FluidR3_GM, then pretty_midi's TimGM6mb.
    Its fallbacks (parts the head has no preset for): ``fallback`` or
    ``$LOFI_SOUNDFONT_FALLBACK`` (a path, or ``none`` for no fallback at all), else the default
    fonts after the head. Raises ``SoundFontNotFoundError`` naming the file and the fix.
    """
    chosen = override or os.environ.get(SOUNDFONT_ENV)
    named_fallback = _fallback_chain(fallback)
    if chosen:
        path = Path(chosen)
        _check_readable(path, f"from {'the override' if override else SOUNDFONT_ENV}")
        tail = _default_fonts() if named_fallback is None else named_fallback
        return SoundFont(path, path.stem, "override", _linked(tail))
    defaults = _default_fonts()
    if not defaults:
        raise SoundFontNotFoundError(
            f"SoundFont not found at {DEBIAN_FLUID_R3} and pretty_midi has none: install "
            f"fluid-soundfont-gm or set {SOUNDFONT_ENV} (apt-get install fluid-soundfont-gm)"
        )
    head, rest = defaults[0], defaults[1:]
    tail = rest if named_fallback is None else named_fallback
    return SoundFont(head.path, head.name, head.source, _linked(tail))
