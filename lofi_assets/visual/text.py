"""Text in any script: a font fallback chain, text fitted to a width, and facts measured from ink.

One font never covers every script a channel brings (League Spartan has Latin only; a
*japanese* channel names itself in kana and kanji, a Hebrew, Arabic, Thai or Hindi channel in
its own script, a viewer-facing name may carry an emoji). Every character is therefore drawn by
the first font of :func:`installed_chain` whose cmap (read with fontTools) has it: the fixed
:data:`FONT_CHAIN` with the Noto Sans script fonts of Debian's ``fonts-noto-core`` after the CJK
font, so nothing turns into a .notdef box or into nothing at all. A character no installed font
has is not drawn and is listed in :attr:`TextFacts.missing`, which the legibility checks refuse.

Each line is put in visual order by the Unicode Bidirectional Algorithm (UAX #9, python-bidi's
``bidi.algorithm``): font runs are cut where the embedding level changes and reordered by rule
L2, so Hebrew and Arabic read right to left, also amid Latin. Each run is then shaped by
Pillow's raqm layout (HarfBuzz + FriBiDi: Arabic joining forms, Thai marks, Devanagari
conjuncts) in its direction; without libraqm (Debian ``libraqm0``) runs are drawn unshaped.

Text is fitted before it is drawn: shrunk down to the legibility floor, then wrapped at word
breaks, then (a word wider than the line) broken inside the word at a grapheme boundary with a
hyphen for alphabetic scripts, then shortened by whole words from the end. The facts a check
reads (height, box, ink) are measured from the masks actually composited onto the picture.
"""

from __future__ import annotations

import bisect
import itertools
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import regex
from bidi import algorithm as bidi_algorithm
from fontTools.ttLib import TTCollection, TTFont
from PIL import Image, ImageDraw, ImageFont, features

from lofi_assets.errors import ConfigError

Rgb = tuple[int, int, int]
Box = tuple[int, int, int, int]  # left, top, right, bottom in pixels

INK_ALPHA = 128  # a pixel counts as ink when the glyph covers at least half of it


class FontsMissingError(ConfigError):
    """No font of the text fallback chain is installed."""


class BlankTextError(ConfigError):
    """Text to draw (a title, a caption, a headline) has no visible character."""


@dataclass(frozen=True)
class FontSource:
    """One font of the fallback chain, as a Debian package installs it."""

    name: str  # the face's full name (name ID 4), e.g. "Noto Sans CJK JP Bold"
    path: Path
    package: str  # the Debian package that installs ``path``
    # CBDT colour-bitmap fonts (Noto Color Emoji) load at one pixel size only; glyphs are drawn
    # there with their embedded colours and scaled to the text size.
    bitmap_size_px: int | None = None


# Order matters: the first font that has a character draws it. League Spartan keeps the
# channel's Latin look; Noto Sans CJK JP (Japanese glyph forms first: this product ships a
# japanese style) draws kana, kanji, Hangul, Cyrillic and Greek; DejaVu Sans draws the
# symbols both lack; Noto Color Emoji draws emoji. Licences: assets_library/LICENSES.md.
FONT_CHAIN: tuple[FontSource, ...] = (
    FontSource(
        "League Spartan Bold",
        Path("/usr/share/fonts/opentype/league-spartan/LeagueSpartan-Bold.otf"),
        "fonts-league-spartan",
    ),
    FontSource(
        "Noto Sans CJK JP Bold",
        Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc"),
        "fonts-noto-cjk",
    ),
    FontSource(
        "DejaVu Sans Bold",
        Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
        "fonts-dejavu-core",
    ),
    FontSource(
        "Noto Color Emoji",
        Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"),
        "fonts-noto-color-emoji",
        bitmap_size_px=109,
    ),
)

# The Noto Sans script fonts (Hebrew, Arabic, Thai, Devanagari, Bengali, Tamil, Georgian,
# Armenian, Ethiopic…) that Debian's fonts-noto-core installs; they join the chain after the CJK
# font. Left out: the Latin/Greek/Cyrillic faces League Spartan and Noto CJK already draw
# (NotoSans, NotoSansDisplay, NotoSansMono), UI variants (the same glyphs with tighter vertical
# metrics), unjoined Adlam, and the symbol fonts (DejaVu Sans draws symbols in the chain).
NOTO_SCRIPTS_DIR = Path("/usr/share/fonts/truetype/noto")
NOTO_SCRIPTS_PACKAGE = "fonts-noto-core"
_NOT_SCRIPT_FONTS = ("NotoSans-", "NotoSansDisplay-", "NotoSansMono-", "NotoSansSymbols")
# Pillow's raqm layout shapes complex scripts and takes a direction; BASIC does neither.
RAQM = features.check_feature("raqm")
_LAYOUT = ImageFont.Layout.RAQM if RAQM else ImageFont.Layout.BASIC

# Default_Ignorable_Code_Point ranges (Unicode DerivedCoreProperties.txt): joiners, variation
# selectors, bidi controls, tags. A font that lacks one must draw nothing for it (The Unicode
# Standard §5.21), so they are dropped instead of being reported missing.
_DEFAULT_IGNORABLE = (
    (0x00AD, 0x00AD), (0x034F, 0x034F), (0x061C, 0x061C), (0x115F, 0x1160),
    (0x17B4, 0x17B5), (0x180B, 0x180F), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x206F), (0x3164, 0x3164), (0xFE00, 0xFE0F), (0xFEFF, 0xFEFF),
    (0xFFA0, 0xFFA0), (0xFFF0, 0xFFF8), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)  # fmt: skip
_ZWJ = "\u200d"
_EMOJI_PRESENTATION = "\ufe0f"  # VS16: "draw the preceding character as an emoji" (UTS #51 §4)
_TEXT_PRESENTATION = "\ufe0e"  # VS15: "draw it as text"
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)  # skin tones attach to the emoji before them
_REGIONAL_INDICATORS = range(0x1F1E6, 0x1F200)  # two of them make one flag
# Line breaking in text without spaces (UAX #14 classes ID and H2/H3, with JIS X 4051's
# kinsoku rules): a line may break between two wide characters, but not before closing
# punctuation, small kana or the prolonged-sound mark, and not after an opening bracket.
_NO_BREAK_BEFORE = set(
    "、。，．・：；？！ー～」』）〕］｝〉》】ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々"
)
_NO_BREAK_AFTER = set("「『（〔［｛〈《【")


def _ignorable(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in _DEFAULT_IGNORABLE)


@cache
def _coverage(source: FontSource) -> tuple[frozenset[int], int]:
    """The code points ``source`` maps to a glyph (its best cmap), and its face index.

    A collection (.ttc) is searched for the face named ``source.name``.
    """
    if source.path.suffix.lower() == ".ttc":
        with TTCollection(str(source.path), lazy=True) as collection:
            for index, face in enumerate(collection.fonts):
                if face["name"].getDebugName(4) == source.name:
                    return frozenset(face.getBestCmap()), index
        raise FontsMissingError(
            f"{source.path} has no face named {source.name!r}: reinstall {source.package}"
        )
    with TTFont(str(source.path), lazy=True) as face:
        return frozenset(face.getBestCmap()), 0


@cache
def script_fonts(folder: Path = NOTO_SCRIPTS_DIR) -> tuple[FontSource, ...]:
    """The installed Noto Sans script fonts (``NotoSans<Script>-Bold.ttf`` in ``folder``), by
    file name so the chain's order is the same on every machine; empty when none is installed.

    Each is named by its own name table (name ID 4, e.g. "Noto Sans Thai Bold").
    """
    found = []
    for path in sorted(folder.glob("NotoSans*-Bold.ttf")):
        if path.name.startswith(_NOT_SCRIPT_FONTS) or "UI-" in path.name or "Unjoined" in path.name:
            continue
        with TTFont(str(path), lazy=True) as face:
            found.append(FontSource(face["name"].getDebugName(4), path, NOTO_SCRIPTS_PACKAGE))
    return tuple(found)


def installed_chain(chain: Sequence[FontSource] | None = None) -> tuple[FontSource, ...]:
    """The fonts of ``chain`` present on this machine, in order.

    ``None`` means :data:`FONT_CHAIN` with :func:`script_fonts` inserted after the CJK font.
    Raises FontsMissingError when none is present: nothing could be drawn.
    """
    packages = [source.package for source in chain or FONT_CHAIN]
    if chain is None:
        cjk = next(i for i, s in enumerate(FONT_CHAIN) if s.package == "fonts-noto-cjk") + 1
        chain = (*FONT_CHAIN[:cjk], *script_fonts(), *FONT_CHAIN[cjk:])
        packages.insert(cjk, NOTO_SCRIPTS_PACKAGE)
    present = tuple(source for source in chain if source.path.is_file())
    if not present:
        packages = " ".join(dict.fromkeys(packages))
        raise FontsMissingError(
            "No font of the text chain is installed: run `bash scripts/dev.sh setup` "
            f"or `apt-get install {packages}`"
        )
    return present


def covers(source: FontSource, character: str) -> bool:
    """True when ``source``'s cmap maps every code point of ``character`` to a glyph."""
    cmap, _ = _coverage(source)
    return all(ord(c) in cmap for c in character)


@cache
def _pillow_font(source: FontSource, size_px: int) -> ImageFont.FreeTypeFont:
    _, index = _coverage(source)
    load_px = source.bitmap_size_px or size_px
    return ImageFont.truetype(str(source.path), load_px, index=index, layout_engine=_LAYOUT)


def _clusters(text: str) -> list[str]:
    """``text`` cut into user-perceived characters: a base with its marks, joiners, selectors,
    skin tones, or the second half of a flag (a simplification of UAX #29's rules)."""
    clusters: list[str] = []
    for character in text:
        code_point = ord(character)
        if clusters and (
            unicodedata.category(character) in ("Mn", "Mc", "Me")
            or _ignorable(code_point)
            or code_point in _EMOJI_MODIFIERS
            or clusters[-1].endswith(_ZWJ)
            or (
                code_point in _REGIONAL_INDICATORS
                and len(clusters[-1]) == 1
                and ord(clusters[-1]) in _REGIONAL_INDICATORS
            )
        ):
            clusters[-1] += character
        else:
            clusters.append(character)
    return clusters


@dataclass(frozen=True)
class Run:
    """Consecutive characters drawn with one font, in logical order.

    ``rtl``: the run's bidi embedding level is odd (UAX #9), so it is laid out right to left.
    """

    text: str
    source: FontSource
    rtl: bool = False


def font_runs(text: str, chain: Sequence[FontSource]) -> tuple[tuple[Run, ...], tuple[str, ...]]:
    """``text`` (NFC) split into runs of one font each, and the code points no font has.

    Each cluster takes the first font of ``chain`` that has all its visible code points (the
    emoji font first when VS16 asks for emoji presentation, last when VS15 asks for text).
    Ignorable code points the chosen font lacks are dropped; a character no font has is left
    out of the runs and returned as ``"U+XXXX"`` in the second element.
    """
    runs: list[Run] = []
    missing: list[str] = []
    for cluster in _clusters(unicodedata.normalize("NFC", text)):
        visible = [c for c in cluster if not _ignorable(ord(c))]
        if not visible:
            continue
        order = list(chain)
        if _EMOJI_PRESENTATION in cluster:
            order.sort(key=lambda source: source.bitmap_size_px is None)
        elif _TEXT_PRESENTATION in cluster:
            order.sort(key=lambda source: source.bitmap_size_px is not None)
        source = next((s for s in order if covers(s, "".join(visible))), None)
        # Spaces and punctuation are shared by scripts: between two Hebrew words a space stays
        # in the Hebrew font, so the phrase is one run, shaped and spaced as that font sets it.
        # (Not a colour-bitmap font: its cmap has "#" and "*" for keycap sequences only.)
        if (
            runs
            and unicodedata.category(visible[0])[0] in "ZP"
            and not runs[-1].source.bitmap_size_px
            and covers(runs[-1].source, "".join(visible))
        ):
            source = runs[-1].source
        if source is None:  # keep the base if a font has it, report the rest
            source = next((s for s in order if covers(s, visible[0])), None)
        if source is None:
            missing.extend(f"U+{ord(c):04X}" for c in visible)
            continue
        drawn = "".join(c for c in cluster if covers(source, c))
        missing.extend(f"U+{ord(c):04X}" for c in visible if not covers(source, c))
        if runs and runs[-1].source == source:
            runs[-1] = Run(runs[-1].text + drawn, source)
        else:
            runs.append(Run(drawn, source))
    return tuple(runs), tuple(missing)


def break_points(text: str) -> list[int]:
    """Indices where ``text`` may be split into lines: at spaces, and between wide (CJK)
    characters where the kinsoku rules allow (see ``_NO_BREAK_BEFORE``); never inside a
    cluster (an emoji sequence, a letter and its marks)."""
    points, index = [], 0
    clusters = _clusters(text)
    for before, after in itertools.pairwise(clusters):
        index += len(before)
        if after[0] == " " or before[-1] == " ":
            if after[0] == " ":
                points.append(index)
            continue
        wide = {"W", "F"}
        if (
            (
                unicodedata.east_asian_width(before[0]) in wide
                or unicodedata.east_asian_width(after[0]) in wide
            )
            and after[0] not in _NO_BREAK_BEFORE
            and before[-1] not in _NO_BREAK_AFTER
        ):
            points.append(index)
    return points


def _split(text: str, cuts: Sequence[int]) -> tuple[str, ...]:
    edges = [0, *cuts, len(text)]
    return tuple(text[a:b].strip(" ") for a, b in itertools.pairwise(edges))


@dataclass(frozen=True)
class TextStyle:
    """How a block of text is drawn: colours, outline, line gap, alignment."""

    ink: Rgb
    stroke: Rgb
    stroke_px: int
    spacing_px: int  # extra gap between lines, as Pillow's ``spacing``
    align: str = "left"  # "left" or "center"


def _bidi_levels(text: str) -> list[int]:
    """The resolved embedding level of each code point of ``text``, taken as one paragraph whose
    direction is that of its first strong character (UAX #9 rules P2–P3, X1–X10, W1–W7, N1–N2,
    I1–I2 and L1, as python-bidi's ``bidi.algorithm`` implements them).

    Characters rule X9 removes (embedding controls, boundary neutrals such as ZWJ) take the
    level of the character before them, so they stay inside their cluster's run.
    """
    storage = bidi_algorithm.get_empty_storage()
    base_level = bidi_algorithm.get_base_level(text)
    storage["base_level"] = base_level
    storage["base_dir"] = ("L", "R")[base_level]
    bidi_algorithm.get_embedding_levels(text, storage)
    characters = list(storage["chars"])  # the same dicts the later rules update in place
    bidi_algorithm.explicit_embed_and_overrides(storage)
    bidi_algorithm.resolve_weak_types(storage)
    bidi_algorithm.resolve_neutral_types(storage, False)
    bidi_algorithm.resolve_implicit_levels(storage, False)
    kept = {id(character) for character in storage["chars"]}
    bidi_algorithm.reorder_resolved_levels(storage, False)  # applies L1 to the levels
    levels, level = [], base_level
    for character in characters:
        if id(character) in kept:
            level = character["level"]
        levels.append(level)
    return levels


def visual_runs(runs: Sequence[Run]) -> tuple[Run, ...]:
    """One line's font runs (logical order) cut where the bidi embedding level changes and
    put in visual order, left to right, by UAX #9 rule L2: from the highest level down to the
    lowest odd one, every stretch at that level or above is reversed. A run at an odd level is
    marked ``rtl``; its characters stay in logical order for the shaper."""
    levels = iter(_bidi_levels("".join(run.text for run in runs)))
    pieces: list[tuple[int, Run]] = []
    for run in runs:
        for level, group in itertools.groupby(run.text, key=lambda _: next(levels)):
            pieces.append((level, Run("".join(group), run.source, rtl=level % 2 == 1)))
    if not pieces:
        return ()
    highest = max(level for level, _ in pieces)
    lowest_odd = min((level for level, _ in pieces if level % 2), default=highest + 1)
    for floor in range(highest, lowest_odd - 1, -1):
        index = 0
        while index < len(pieces):
            if pieces[index][0] < floor:
                index += 1
                continue
            end = index
            while end < len(pieces) and pieces[end][0] >= floor:
                end += 1
            pieces[index:end] = pieces[index:end][::-1]
            index = end
    return tuple(run for _, run in pieces)


def _direction(run: Run) -> str | None:
    """Pillow's ``direction`` for ``run``: raqm lays it out that way; BASIC takes none."""
    if not RAQM:
        return None
    return "rtl" if run.rtl else "ltr"


def _glyph_text(run: Run) -> str:
    """What Pillow is given: without raqm nothing reorders, so a right-to-left run is handed
    over cluster by cluster reversed (unshaped, but in reading order)."""
    if run.rtl and not RAQM:
        return "".join(reversed(_clusters(run.text)))
    return run.text


@dataclass(frozen=True)
class _PlacedRun:
    run: Run
    x: float  # pen position, from the block's left edge
    baseline: float  # from the block's top


@dataclass(frozen=True)
class TextLayout:
    """Lines of text at one size, with every run placed; ``box`` is relative to the origin."""

    text: str  # what the caller asked to draw
    lines: tuple[str, ...]  # what is drawn
    size_px: int
    style: TextStyle
    runs: tuple[tuple[_PlacedRun, ...], ...]  # per line
    missing: tuple[str, ...]
    box: Box  # ink box with the outline, predicted from glyph metrics
    line_heights_px: tuple[int, ...]  # ink height of each line without the outline, predicted
    ascent_px: int  # the tallest ascent of the fonts used: the first baseline's depth
    descent_px: int
    advance_px: float  # the widest line's pen advance
    shortened: bool = False  # whole words were dropped from the end to fit
    fits: bool = True  # within the width and the legibility floor

    @property
    def width_px(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def text_height_px(self) -> int:
        return min(self.line_heights_px, default=0)


def _run_bbox(placed: _PlacedRun, size_px: int, stroke_px: int) -> tuple[float, ...]:
    """Box of one run at its pen position, relative to the block (glyph metrics, not ink)."""
    source = placed.run.source
    face = _pillow_font(source, size_px)
    if source.bitmap_size_px:
        scale = size_px / source.bitmap_size_px
        left, top, right, bottom = face.getbbox(
            _glyph_text(placed.run), anchor="ls", direction=_direction(placed.run)
        )
        return (
            placed.x + left * scale,
            placed.baseline + top * scale,
            placed.x + right * scale,
            placed.baseline + bottom * scale,
        )
    left, top, right, bottom = face.getbbox(
        _glyph_text(placed.run),
        anchor="ls",
        stroke_width=stroke_px,
        direction=_direction(placed.run),
    )
    return placed.x + left, placed.baseline + top, placed.x + right, placed.baseline + bottom


def _advance(run: Run, size_px: int) -> float:
    face = _pillow_font(run.source, size_px)
    if run.source.bitmap_size_px:
        scale = size_px / run.source.bitmap_size_px
        return face.getlength(_glyph_text(run), direction=_direction(run)) * scale
    return face.getlength(_glyph_text(run), direction=_direction(run))


def _metrics(source: FontSource, size_px: int) -> tuple[float, float]:
    """Ascent and descent of ``source`` at ``size_px`` (FreeType's, as Pillow's anchors use)."""
    ascent, descent = _pillow_font(source, size_px).getmetrics()
    if source.bitmap_size_px:
        scale = size_px / source.bitmap_size_px
        return ascent * scale, descent * scale
    return ascent, descent


def lay_out(
    text: str,
    lines: Sequence[str],
    size_px: int,
    style: TextStyle,
    chain: Sequence[FontSource] | None = None,
) -> TextLayout:
    """``lines`` placed at ``size_px``: pen positions, baselines and the predicted ink box.

    Each line's runs are placed in visual order (:func:`visual_runs`, UAX #9), left to right.
    Line pitch follows Pillow's multiline rule (ascent + 2 × outline + spacing), with the tallest
    ascent of the fonts used, so Latin text sits exactly where ``multiline_text`` put it.
    """
    chain = tuple(chain or installed_chain())
    line_runs, missing = [], []
    for line in lines:
        runs, absent = font_runs(line, chain)
        line_runs.append(visual_runs(runs))
        missing.extend(absent)
    sources = {run.source for runs in line_runs for run in runs} or {chain[0]}
    ascent = max(round(_metrics(source, size_px)[0]) for source in sources)
    descent = max(round(_metrics(source, size_px)[1]) for source in sources)
    pitch = ascent + 2 * style.stroke_px + style.spacing_px
    widths = [sum(_advance(run, size_px) for run in runs) for runs in line_runs]
    widest = max(widths, default=0.0)
    placed_lines, boxes, heights = [], [], []
    for number, (runs, width) in enumerate(zip(line_runs, widths, strict=True)):
        x = (widest - width) / 2 if style.align == "center" else 0.0
        baseline = ascent + number * pitch
        placed = []
        for run in runs:
            placed.append(_PlacedRun(run, x, baseline))
            x += _advance(run, size_px)
        placed_lines.append(tuple(placed))
        outlined = [_run_bbox(p, size_px, style.stroke_px) for p in placed]
        bare = [_run_bbox(p, size_px, 0) for p in placed]
        boxes.extend(outlined)
        heights.append(round(max(b[3] for b in bare) - min(b[1] for b in bare)) if bare else 0)
    if boxes:
        box = tuple(round(f(b[i] for b in boxes)) for i, f in enumerate((min, min, max, max)))
    else:
        box = (0, 0, 0, 0)
    return TextLayout(
        text=text,
        lines=tuple(lines),
        size_px=size_px,
        style=style,
        runs=tuple(placed_lines),
        missing=tuple(missing),
        box=box,
        line_heights_px=tuple(heights),
        ascent_px=ascent,
        descent_px=descent,
        advance_px=widest,
    )


def _hyphenates(character: str) -> bool:
    """True when a word broken after ``character`` takes a hyphen: letters of the alphabetic
    scripts that hyphenate (Latin, Greek, Cyrillic, Armenian, Georgian). Scripts without the
    convention (Thai, Hebrew, Arabic, CJK, Indic) are broken at a grapheme boundary only."""
    if not unicodedata.category(character).startswith("L"):
        return False
    name = unicodedata.name(character, "")
    return name.startswith(("LATIN", "GREEK", "CYRILLIC", "ARMENIAN", "GEORGIAN"))


def _wrapped(
    text: str,
    size_px: int,
    style: TextStyle,
    max_width_px: float,
    max_lines: int,
    chain: Sequence[FontSource],
    break_words: bool = False,
) -> tuple[str, ...] | None:
    """``text`` on the fewest lines (≤ ``max_lines``) that fit, the lines then balanced.

    Lines break at :func:`break_points`. With ``break_words``, a word wider than a whole line
    is broken too: the line takes as much of it as fits, cut between extended grapheme
    clusters (UAX #29, the ``regex`` module's ``\\X``), with a hyphen where the script uses
    one (``_hyphenates``).
    """
    points = break_points(text)
    widths: dict[str, int] = {}

    def width(line: str) -> int:
        line = line.strip(" ")
        if line not in widths:
            widths[line] = lay_out(line, [line], size_px, style, chain).width_px
        return widths[line]

    def broken_word(start: int, word_start: int) -> tuple[int, str] | None:
        """The line from ``start`` ending inside the word at ``word_start`` when that word is
        wider than a line: the cut and the line with its hyphen, or None."""
        while word_start < len(text) and text[word_start] == " ":
            word_start += 1
        word_end = next((p for p in points if p > word_start), len(text))
        if not break_words or width(text[word_start:word_end]) <= max_width_px:
            return None
        graphemes = regex.findall(r"\X", text[word_start:word_end])  # UAX #29 clusters
        cuts = list(itertools.accumulate(len(g) for g in graphemes))
        lines = []
        for cut in cuts[:-1]:
            hyphen = "-" if _hyphenates(text[word_start + cut - 1]) else ""
            lines.append(text[start : word_start + cut].strip(" ") + hyphen)
        # Widths grow with the prefix: the longest line that fits, by bisection.
        fitting = bisect.bisect_right(lines, False, key=lambda line: width(line) > max_width_px)
        return (word_start + cuts[fitting - 1], lines[fitting - 1]) if fitting else None

    if width(text) <= max_width_px:
        return (text,)
    lines: list[str] = []
    cuts: list[int] = []
    broke_a_word = False
    start = 0
    while True:  # greedy: each line takes as much as fits (widths grow with the line)
        if len(lines) + 1 >= max_lines:
            return None
        last = None
        for point in (p for p in points if p > start):
            if width(text[start:point]) > max_width_px:
                break
            last = point
        broken = broken_word(start, start if last is None else last)
        if broken is not None:
            start, line = broken
            broke_a_word = True
        elif last is None:
            return None
        else:
            line, start = text[start:last].strip(" "), last
        lines.append(line)
        cuts.append(start)
        if width(text[start:]) <= max_width_px:
            lines.append(text[start:].strip(" "))
            break
    if len(cuts) == 1 and not broke_a_word:  # two lines: the break that makes the longer
        cuts = [min(points, key=lambda p: max(width(line) for line in _split(text, [p])))]
        return _split(text, cuts)  # line shortest
    return tuple(lines)


def require_visible(text: str, field: str) -> str:
    """``text`` unchanged when it has a character to draw.

    Raises BlankTextError naming ``field`` when it is empty or only spaces, controls and
    default-ignorable code points (zero-width space, joiners, bidi marks): nothing would be
    drawn, and a picture without its words is not a fallback anyone chose.
    """
    if all(
        c.isspace() or _ignorable(ord(c)) or unicodedata.category(c) in ("Cc", "Cf") for c in text
    ):
        raise BlankTextError(
            f"The {field} is blank ({text!r}): give it at least one visible character"
        )
    return text


def fit_text(
    text: str,
    style: TextStyle,
    *,
    max_width_px: float,
    max_size_px: int,
    min_size_px: int = 1,
    min_height_px: float = 0.0,
    max_lines: int = 2,
    natural_lines: Sequence[str] | None = None,
    may_shorten: bool = True,
    chain: Sequence[FontSource] | None = None,
    field: str = "text",
) -> TextLayout:
    """The largest layout of ``text`` that fits ``max_width_px``, tried in this order:

    1. ``natural_lines`` (the designed look), shrunk from ``max_size_px`` down to the floor;
    2. the text wrapped at word breaks onto at most ``max_lines`` lines, shrunk the same way;
    3. the same with a word wider than a line broken inside (hyphenated where the script
       hyphenates), from the largest size down: drawn whole rather than overflowing;
    4. when ``may_shorten``, wrapped with whole words dropped from the end (``shortened``).

    The floor is ``min_size_px`` and a measured ink height of ``min_height_px`` for the
    shortest line. When nothing fits, the whole text at the floor is returned with
    ``fits=False``: it overflows, and the legibility check that measures it fails.
    Raises BlankTextError (naming ``field``) when ``text`` has nothing to draw.
    """
    require_visible(text, field)
    chain = tuple(chain or installed_chain())
    step = max(1, round(max_size_px / 100))
    sizes = range(max_size_px, min_size_px - 1, -step)

    def legible(layout: TextLayout) -> bool:
        return layout.text_height_px >= min_height_px

    def attempt(
        candidate: str, natural: Sequence[str] | None, break_words: bool = False
    ) -> TextLayout | None:
        if natural:
            for size_px in sizes:
                layout = lay_out(candidate, natural, size_px, style, chain)
                if not legible(layout):
                    break
                if layout.width_px <= max_width_px:
                    return layout
        for size_px in sizes:
            lines = _wrapped(candidate, size_px, style, max_width_px, max_lines, chain, break_words)
            probe = lay_out(candidate, lines or (candidate,), size_px, style, chain)
            if not legible(probe):
                return None
            if lines:
                return probe
        return None

    words = text.split(" ")
    layout = attempt(text, natural_lines) or attempt(text, None, break_words=True)
    if layout is not None:
        return _with(layout, shortened=False, fits=True)
    for count in range(len(words) - 1, 0, -1) if may_shorten else ():
        layout = attempt(" ".join(words[:count]), None)
        if layout is not None:
            return _with(layout, shortened=True, fits=True)
    # Nothing fits: the designed lines at the smallest legible size, reported as overflowing.
    lines = tuple(natural_lines or (text,))
    floor = lay_out(text, lines, sizes[0], style, chain)
    for size_px in sizes:
        layout = lay_out(text, lines, size_px, style, chain)
        if not legible(layout):
            break
        floor = layout
    return _with(floor, shortened=False, fits=False)


def _with(layout: TextLayout, *, shortened: bool, fits: bool) -> TextLayout:
    return TextLayout(**{**vars(layout), "shortened": shortened, "fits": fits})


@dataclass(frozen=True)
class TextFacts:
    """What a legibility check reads about text drawn on a picture, measured from its ink.

    ``box`` includes the outline, in picture pixels; ``line_heights_px`` are the fill's ink
    heights (pixels at least half covered); ``contrast`` is WCAG contrast of the ink against
    the mean colour behind ``box`` before drawing; ``safe_box`` is where text must stay.
    """

    text: str
    drawn: str  # lines joined with "\n"
    size_px: int
    box: Box
    safe_box: Box
    line_heights_px: tuple[int, ...]
    line_ink_px: tuple[int, ...]
    contrast: float
    missing: tuple[str, ...]
    fonts: tuple[str, ...]
    shortened: bool

    @property
    def text_height_px(self) -> int:
        return min(self.line_heights_px, default=0)

    def inside_safe_area(self) -> bool:
        left, top, right, bottom = self.box
        safe_left, safe_top, safe_right, safe_bottom = self.safe_box
        return (
            left >= safe_left and top >= safe_top and right <= safe_right and bottom <= safe_bottom
        )

    def problems(self, min_height_px: float, min_contrast: float) -> list[str]:
        """Why the text does not read, one sentence each; empty when it does."""
        found = []
        if self.missing:
            found.append(
                f"no installed font has {', '.join(self.missing)} in {self.text!r}: "
                "change the text or add a font that has it to the chain (visual/text.py)"
            )
        blank = [
            line
            for line, ink in zip(self.drawn.split("\n"), self.line_ink_px, strict=True)
            if line.strip() and ink == 0
        ]
        if blank or not self.drawn.strip():
            found.append(f"no ink drawn for {blank or [self.text]}")
        if self.text_height_px < min_height_px:
            found.append(f"text {self.text_height_px} px tall, below {min_height_px:g} px")
        if not self.inside_safe_area():
            found.append(f"text box {list(self.box)} outside the safe area {list(self.safe_box)}")
        if self.contrast < min_contrast:
            found.append(f"contrast {self.contrast:.2f}:1, below {min_contrast}:1")
        return found

    def as_json(self) -> dict:
        return {
            "drawn": self.drawn,
            "size_px": self.size_px,
            "text_height_px": self.text_height_px,
            "box": list(self.box),
            "safe_box": list(self.safe_box),
            "contrast": round(self.contrast, 2),
            "missing_glyphs": list(self.missing),
            "fonts": list(self.fonts),
            "shortened": self.shortened,
        }


def _line_masks(
    placed: Sequence[_PlacedRun], size_px: int, stroke_px: int, origin: tuple[float, float]
) -> tuple[tuple[int, int], Image.Image, Image.Image, Image.Image | None]:
    """One line rendered: where it goes on the picture, outline+fill mask, fill mask, emoji RGBA.

    Glyphs keep the fractional part of their pen position (Pillow renders it), so text
    centred at half a pixel looks as ``ImageDraw.text`` draws it.
    """
    placed = [_PlacedRun(p.run, p.x + origin[0], p.baseline + origin[1]) for p in placed]
    boxes = [_run_bbox(p, size_px, stroke_px) for p in placed]
    left = int(np.floor(min(b[0] for b in boxes))) - 2
    top = int(np.floor(min(b[1] for b in boxes))) - 2
    size = (
        int(np.ceil(max(b[2] for b in boxes))) - left + 2,
        int(np.ceil(max(b[3] for b in boxes))) - top + 2,
    )
    outline, fill = Image.new("L", size), Image.new("L", size)
    colour = None
    for item in placed:
        source = item.run.source
        face = _pillow_font(source, size_px)
        if source.bitmap_size_px:  # draw at the bitmap size with its colours, then scale
            scale = size_px / source.bitmap_size_px
            ascent, descent = face.getmetrics()
            text, direction = _glyph_text(item.run), _direction(item.run)
            width = max(1, int(np.ceil(face.getlength(text, direction=direction))))
            glyphs = Image.new("RGBA", (width, ascent + descent))
            ImageDraw.Draw(glyphs).text(
                (0, ascent), text, font=face, anchor="ls", embedded_color=True, direction=direction
            )
            scaled = glyphs.resize(
                (max(1, round(glyphs.width * scale)), max(1, round(glyphs.height * scale))),
                Image.Resampling.LANCZOS,
            )
            colour = colour or Image.new("RGBA", size)
            at = (round(item.x - left), round(item.baseline - ascent * scale - top))
            colour.alpha_composite(scaled, at)
            continue
        position = (item.x - left, item.baseline - top)
        text, direction = _glyph_text(item.run), _direction(item.run)
        ImageDraw.Draw(outline).text(
            position,
            text,
            font=face,
            fill=255,
            anchor="ls",
            stroke_width=stroke_px,
            stroke_fill=255,
            direction=direction,
        )
        ImageDraw.Draw(fill).text(
            position, text, font=face, fill=255, anchor="ls", direction=direction
        )
    return (left, top), outline, fill, colour


def draw_text(
    image: Image.Image,
    layout: TextLayout,
    origin: tuple[float, float],
    safe_box: Box,
    contrast: float,
) -> TextFacts:
    """Composite ``layout`` onto ``image`` (RGB, in place) with its top-left at ``origin``, and
    measure what was drawn.

    ``origin`` is where Pillow's ``multiline_text`` would put its anchor "la"; ``contrast``
    (measured by the caller before drawing, so behind the text) is carried into the facts.
    """
    style = layout.style
    boxes, heights, inks = [], [], []
    for placed in layout.runs:
        if not placed:
            heights.append(0)
            inks.append(0)
            continue
        at, outline, fill, colour = _line_masks(placed, layout.size_px, style.stroke_px, origin)
        image.paste(style.stroke, at, outline)
        image.paste(style.ink, at, fill)
        coverage = np.asarray(fill)
        covered = np.asarray(outline) > 0
        if colour is not None:
            image.paste(colour.convert("RGB"), at, colour)
            coverage = np.maximum(coverage, np.asarray(colour)[..., 3])
            covered |= coverage > 0
        inks.append(int((coverage >= INK_ALPHA).sum()))
        # Height as a glyph's box has it (any coverage), as Pillow's textbbox measured it.
        rows = np.flatnonzero((coverage > 0).any(axis=1))
        heights.append(int(rows[-1] - rows[0] + 1) if rows.size else 0)
        rows, columns = np.flatnonzero(covered.any(axis=1)), np.flatnonzero(covered.any(axis=0))
        if rows.size:
            boxes.append(
                (at[0] + columns[0], at[1] + rows[0], at[0] + columns[-1] + 1, at[1] + rows[-1] + 1)
            )
    box = (
        tuple(int(f(b[i] for b in boxes)) for i, f in enumerate((min, min, max, max)))
        if boxes
        else (0, 0, 0, 0)
    )
    fonts = sorted({p.run.source.name for line in layout.runs for p in line})
    return TextFacts(
        text=layout.text,
        drawn="\n".join(layout.lines),
        size_px=layout.size_px,
        box=box,
        safe_box=tuple(int(v) for v in safe_box),
        line_heights_px=tuple(heights),
        line_ink_px=tuple(inks),
        contrast=float(contrast),
        missing=layout.missing,
        fonts=tuple(fonts),
        shortened=layout.shortened,
    )
