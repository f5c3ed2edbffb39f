"""Procedural thumbnails and covers: a scene per style, a palette, grain, and a headline.

Scenes are drawn in relative coordinates so one drawing serves the 1280×720 thumbnail and the
3000×3000 cover. The headline (in any script: see ``visual/text.py``) is fitted to the safe
area and checked, as drawn, for what makes a thumbnail work on a phone: every character drawn
by a font that has it, tall enough letters, WCAG contrast against what is actually behind
them, inside the safe area, and the bottom-right corner left free for YouTube's duration badge.

Past thumbnail experiments steer the looks (:class:`LookPreference`, champion and challengers):
with no proven palette or scene every variant is drawn exactly as before.
"""

from __future__ import annotations

import base64
import io
import math
import random
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml
from PIL import Image, ImageDraw, ImageFilter

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.seeding import stable_seed
from lofi_assets.storage import write_bytes_atomic
from lofi_assets.visual.text import Box, TextFacts, TextStyle, draw_text, fit_text

THUMBNAIL_SIZE = (1280, 720)
COVER_SIZE = (3000, 3000)
MAX_THUMBNAIL_BYTES = 1_000_000  # YouTube allows 2 MB; we keep half of that
MIN_TEXT_HEIGHT_PX = 58  # at 1280 wide: still readable when the thumbnail is 240 px wide
MIN_CONTRAST = 4.5  # WCAG AA for text
BADGE_BOX = (0.80, 0.82)  # right 20 % × bottom 18 %: where YouTube prints the duration
SAFE_MARGIN = 0.05  # text keeps 5 % of the width (height) from the left/right (top/bottom) edges
HEADLINE_SIZE_PX = 104  # at 1280 wide: the designed size, shrunk only to fit
HEADLINE_LEFT = 0.06  # the headline's left edge, as a fraction of the width
SCENES = ("window_rain", "city_dusk", "desk_room", "nature")
STYLE_SCENES = {
    "japanese": ("window_rain", "nature"),
    "jazz": ("city_dusk", "window_rain"),
    "boom_bap": ("city_dusk",),
    "ambient": ("nature",),
    "study": ("desk_room", "window_rain"),
    "rainy_day": ("window_rain",),
    "cafe": ("desk_room", "city_dusk"),
}
VARIANTS = ("A", "B", "C")
CHAMPION = "A"  # the variant that shows the proven look; the experiment's control too


@dataclass(frozen=True)
class LookPreference:
    """What finished thumbnail experiments proved, best first (the winner summary of
    ``publish/experiments.py``, read from the warehouse by the ``thumbnail`` asset; this
    module never reads the warehouse).

    The rule (champion and challengers): variant :data:`CHAMPION` (A) takes the first of
    ``palettes`` the palette library still has, and the first of ``scenes`` the style draws
    (:data:`STYLE_SCENES`); B and C explore: their palettes are drawn as ever (seeded, uniform)
    from the library *without* the champion's, so every experiment pits the proven look against
    others, and their scenes walk on from A's as they always did. Empty tuples (no finished
    experiment, or none that proved anything) draw exactly what was drawn before there was a
    preference: same partition and same warehouse state, same pixels.
    """

    palettes: tuple[str, ...] = ()  # palette names, best first
    scenes: tuple[str, ...] = ()  # scene names (of :data:`SCENES`), best first


@dataclass(frozen=True)
class Artwork:
    image: Image.Image
    headline: str  # as chosen from titles.yaml; ``text.drawn`` is what the picture shows
    palette: str
    scene: str
    text: TextFacts  # the headline as drawn, measured from its ink

    @property
    def text_box(self) -> Box:  # left, top, right, bottom of the headline's ink
        return self.text.box

    @property
    def text_height_px(self) -> int:  # ink height of the headline's shortest line
        return self.text.text_height_px

    @property
    def contrast(self) -> float:
        return self.text.contrast


def palettes() -> dict[str, dict[str, str]]:
    """The palettes of the current assets library (``$LOFI_ASSETS_LIBRARY`` or the bundled)."""
    return _palettes_in(assets_library_dir())


@cache
def _palettes_in(library: Path) -> dict[str, dict[str, str]]:
    path = library / "palettes.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if len(document) < 8:
        raise ConfigError(f"{path}: at least 8 palettes are needed")
    return document


def _headlines() -> dict[str, list[str]]:
    return _headlines_in(assets_library_dir())


@cache
def _headlines_in(library: Path) -> dict[str, list[str]]:
    path = library / "titles.yaml"
    headlines = yaml.safe_load(path.read_text(encoding="utf-8")).get("headlines") or {}
    for style, choices in headlines.items():
        if not all(isinstance(choice, str) and choice.strip() for choice in choices or []):
            raise ConfigError(f"{path}: headlines.{style} must be a list of non-empty strings")
    return headlines


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    value = hex_colour.lstrip("#")
    return tuple(int(value[i : i + 2], 16) for i in (0, 2, 4))


def relative_luminance(rgb) -> float:
    def channel(value: float) -> float:
        value /= 255.0
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(float(v)) for v in rgb[:3])
    return float(0.2126 * red + 0.7152 * green + 0.0722 * blue)


def contrast_ratio(first, second) -> float:
    """WCAG 2 contrast ratio between two colours (1 to 21)."""
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return float((lighter + 0.05) / (darker + 0.05))


def contrast_behind(image: Image.Image, box, ink) -> float:
    """WCAG contrast of ``ink`` against the mean colour inside ``box`` of ``image``."""
    behind = np.asarray(image.crop(tuple(round(v) for v in box)), dtype=np.float32)
    return contrast_ratio(ink, behind.reshape(-1, 3).mean(axis=0))


def _gradient(size, top, bottom) -> Image.Image:
    width, height = size
    ramp = np.linspace(0.0, 1.0, height, dtype=np.float32)[:, None, None]
    colours = (1 - ramp) * np.array(_rgb(top), np.float32) + ramp * np.array(
        _rgb(bottom), np.float32
    )
    return Image.fromarray(np.repeat(colours, width, axis=1).astype(np.uint8))


def _scene(image: Image.Image, scene: str, colours: dict[str, str], rng: random.Random) -> None:
    draw = ImageDraw.Draw(image, "RGBA")
    width, height = image.size
    shadow, light = _rgb(colours["shadow"]), _rgb(colours["light"])

    def box(x0, y0, x1, y1, fill):
        draw.rectangle([x0 * width, y0 * height, x1 * width, y1 * height], fill=fill)

    if scene == "city_dusk":
        sun = (0.72 * width, 0.42 * height, 0.12 * min(width, height))
        draw.ellipse(
            [sun[0] - sun[2], sun[1] - sun[2], sun[0] + sun[2], sun[1] + sun[2]],
            fill=(*light, 200),
        )
        x = 0.0
        while x < 1.0:
            building = rng.uniform(0.04, 0.09)
            top = rng.uniform(0.38, 0.72)
            box(x, top, x + building, 1.0, (*shadow, 255))
            for wy in np.arange(top + 0.03, 0.96, 0.05):
                for wx in np.arange(x + 0.01, x + building - 0.012, 0.018):
                    if rng.random() < 0.3:
                        box(wx, wy, wx + 0.008, wy + 0.018, (*light, 220))
            x += building + rng.uniform(0.0, 0.01)
    elif scene == "nature":
        moon = (0.78 * width, 0.25 * height, 0.07 * min(width, height))
        draw.ellipse(
            [moon[0] - moon[2], moon[1] - moon[2], moon[0] + moon[2], moon[1] + moon[2]],
            fill=(*light, 230),
        )
        for layer, (base, alpha) in enumerate(((0.62, 150), (0.72, 210), (0.84, 255))):
            phase = rng.uniform(0, 2 * math.pi)
            points = [
                (x * width / 60, (base + 0.05 * math.sin(x / 9 + phase + layer)) * height)
                for x in range(61)
            ]
            draw.polygon([(0, height), *points, (width, height)], fill=(*shadow, alpha))
        for _ in range(14):
            tx, ty, size = rng.uniform(0, 1), rng.uniform(0.78, 0.9), rng.uniform(0.03, 0.07)
            draw.polygon(
                [
                    (tx * width, (ty - size * 2) * height),
                    ((tx - size / 2) * width, ty * height),
                    ((tx + size / 2) * width, ty * height),
                ],
                fill=(*shadow, 255),
            )
    elif scene == "desk_room":
        box(0.55, 0.12, 0.92, 0.55, (*light, 60))  # a window in the back wall
        box(0.0, 0.7, 1.0, 1.0, (*shadow, 255))  # the desk
        box(0.58, 0.5, 0.86, 0.7, (*shadow, 235))  # a laptop
        box(0.6, 0.52, 0.84, 0.66, (*light, 90))
        lamp = (0.18 * width, 0.38 * height)
        draw.polygon(
            [
                (lamp[0] - 0.06 * width, lamp[1]),
                (lamp[0] + 0.06 * width, lamp[1]),
                (lamp[0], lamp[1] - 0.1 * height),
            ],
            fill=(*shadow, 255),
        )
        glow = 0.25 * min(width, height)
        draw.ellipse(
            [lamp[0] - glow, lamp[1] - glow / 3, lamp[0] + glow, lamp[1] + glow], fill=(*light, 45)
        )
        box(0.3, 0.62, 0.36, 0.7, (*light, 200))  # a mug catching the light
    else:  # window_rain
        for pane_x in (0.08, 0.52):
            box(pane_x, 0.08, pane_x + 0.4, 0.78, (*light, 35))
        box(0.0, 0.78, 1.0, 1.0, (*shadow, 255))
        box(0.47, 0.06, 0.53, 0.8, (*shadow, 255))
        for _ in range(int(300 * width / 1280)):
            x, y = rng.uniform(0.05, 0.95) * width, rng.uniform(0.05, 0.75) * height
            length = rng.uniform(0.02, 0.06) * height
            draw.line(
                [(x, y), (x - length * 0.15, y + length)],
                fill=(255, 255, 255, 70),
                width=max(1, width // 800),
            )
        box(0.8, 0.66, 0.86, 0.78, (*shadow, 255))  # a plant pot on the sill
        draw.ellipse(
            [0.78 * width, 0.56 * height, 0.88 * width, 0.68 * height], fill=(*shadow, 255)
        )


def _grain(image: Image.Image, seed: int, strength: float = 10.0) -> Image.Image:
    noise = np.random.default_rng(seed).normal(0.0, strength, (image.size[1], image.size[0], 1))
    pixels = np.asarray(image, dtype=np.float32) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def safe_box(size: tuple[int, int]) -> Box:
    """Where text may be drawn on a picture of ``size``: :data:`SAFE_MARGIN` in from each edge."""
    width, height = size
    return (
        round(SAFE_MARGIN * width),
        round(SAFE_MARGIN * height),
        round((1 - SAFE_MARGIN) * width),
        round((1 - SAFE_MARGIN) * height),
    )


def _place_headline(
    image: Image.Image, headline: str, colours: dict[str, str], variant: str
) -> TextFacts:
    width, height = image.size
    scale = width / THUMBNAIL_SIZE[0]
    style = TextStyle(
        ink=_rgb(colours["ink"]),
        stroke=_rgb(colours["stroke"]),
        stroke_px=max(2, round(7 * scale)),
        spacing_px=int(8 * scale),
    )
    text = headline.upper()
    words = text.split(" ")
    # The designed look: two words on the first line, the rest on the second.
    natural = [" ".join(words[:2]), " ".join(words[2:])] if len(words) > 2 else [text]
    origin_x = int(HEADLINE_LEFT * width)
    safe = safe_box(image.size)
    layout = fit_text(
        text,
        style,
        max_width_px=safe[2] - origin_x,
        max_size_px=round(HEADLINE_SIZE_PX * scale),
        min_height_px=MIN_TEXT_HEIGHT_PX * scale,
        max_lines=2,
        natural_lines=natural,
        field="thumbnail headline",
    )
    left, top, right, bottom = layout.box
    origin_y = {
        "A": int(0.1 * height),
        "B": int(0.5 * height - (bottom - top) / 2),
        "C": int(0.1 * height),
    }[variant]
    box = (origin_x + left, origin_y + top, origin_x + right, origin_y + bottom)
    contrast = contrast_behind(image, box, style.ink)
    if contrast < MIN_CONTRAST:  # darken what is behind the words until they read
        pad = int(0.02 * width)
        ImageDraw.Draw(image, "RGBA").rounded_rectangle(
            [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad],
            radius=pad,
            fill=(*style.stroke, 170),
        )
        contrast = contrast_behind(image, box, style.ink)
    return draw_text(image, layout, (origin_x, origin_y), safe, contrast)


def headline_for(style: str, seed: int) -> str:
    choices = _headlines().get(style) or ["lofi beats"]
    headline = random.Random(stable_seed(seed, "headline")).choice(choices)
    if len(headline.split()) > 4:
        raise ConfigError(f"Headline {headline!r} has more than four words")
    return headline


def draw_artwork(
    size: tuple[int, int],
    style: str,
    seed: int,
    variant: str = "A",
    preference: LookPreference | None = None,
) -> Artwork:
    """One thumbnail or cover: same seed, style, variant and ``preference`` → the same pixels.
    ``preference`` (None: none) steers the palette and scene (:class:`LookPreference`).
    Raises ConfigError for an unknown variant."""
    if variant not in VARIANTS:
        raise ConfigError(f"Unknown variant {variant!r}: use one of {VARIANTS}")
    preference = preference or LookPreference()
    rng = random.Random(stable_seed(seed, "artwork", variant))
    library = palettes()
    champion = next((name for name in preference.palettes if name in library), None)
    if champion is None:
        palette_name = rng.choice(sorted(library))
    elif variant == CHAMPION:
        palette_name = champion
    else:  # a challenger: never the champion's palette, or the test would compare it to itself
        palette_name = rng.choice(sorted(set(library) - {champion}))
    colours = library[palette_name]
    # Variants walk through the style's scenes from a start the day's seed picks, or from the
    # proven scene when the style draws one (A shows it; B and C walk on through the rest).
    scenes = STYLE_SCENES.get(style, SCENES)
    first = random.Random(stable_seed(seed, "first scene")).randrange(len(scenes))
    proven = [name for name in preference.scenes if name in scenes]
    if proven:
        first = scenes.index(proven[0])
    scene = scenes[(first + VARIANTS.index(variant)) % len(scenes)]
    image = _gradient(size, colours["sky_top"], colours["sky_bottom"])
    _scene(image, scene, colours, random.Random(stable_seed(seed, "scene", variant)))
    image = image.filter(
        ImageFilter.GaussianBlur(radius=max(1, size[0] // 900))
    )  # soft, painterly edges
    image = _grain(image, stable_seed(seed, "grain", variant))
    headline = headline_for(style, seed)
    text = _place_headline(image, headline, colours, variant)
    return Artwork(image, headline, palette_name, scene, text)


def badge_corner_clear(artwork: Artwork) -> bool:
    """True when the headline stays out of the bottom-right corner YouTube covers."""
    width, height = artwork.image.size
    left, top, _, _ = artwork.text_box
    right, bottom = artwork.text_box[2], artwork.text_box[3]
    corner_left, corner_top = BADGE_BOX[0] * width, BADGE_BOX[1] * height
    return right <= corner_left or bottom <= corner_top or left >= width or top >= height


def headline_problems(artwork: Artwork) -> list[str]:
    """Why ``artwork``'s headline would not read on a phone; empty when it does.

    Limits scale with the picture's width from the 1280-px thumbnail's: :data:`MIN_TEXT_HEIGHT_PX`
    of ink, :data:`MIN_CONTRAST` (WCAG 2 AA), inside :func:`safe_box`, every glyph drawn, and
    the duration-badge corner clear.
    """
    scale = artwork.image.size[0] / THUMBNAIL_SIZE[0]
    found = artwork.text.problems(MIN_TEXT_HEIGHT_PX * scale, MIN_CONTRAST)
    if not badge_corner_clear(artwork):
        found.append("headline reaches into the bottom-right corner YouTube covers")
    return found


def jpeg_bytes(image: Image.Image, quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(
        buffer, format="JPEG", quality=quality, optimize=True, progressive=True
    )
    return buffer.getvalue()


def fitted_jpeg(image: Image.Image, max_bytes: int = MAX_THUMBNAIL_BYTES) -> bytes:
    """The best JPEG quality that stays under ``max_bytes``."""
    for quality in (90, 85, 80, 75, 70, 60):
        payload = jpeg_bytes(image, quality)
        if len(payload) <= max_bytes:
            return payload
    raise ConfigError(f"The thumbnail cannot be made smaller than {max_bytes} bytes")


def jpeg_file_facts(path: Path) -> dict:
    """What the stores and YouTube look at in a written JPEG: {"format", "mode", "size"
    ([width, height] px), "bytes"}, read back from the file."""
    with Image.open(path) as image:
        return {
            "format": image.format,
            "mode": image.mode,
            "size": list(image.size),
            "bytes": path.stat().st_size,
        }


def preview_markdown(image: Image.Image, alt: str, width_px: int = 320) -> str:
    """``image`` as a small inline JPEG in Markdown (``![alt](data:image/jpeg;base64,…)``),
    ``width_px`` wide: a preview the Dagster UI's metadata panel shows."""
    preview = image.resize((width_px, round(width_px * image.height / image.width)))
    encoded = base64.b64encode(jpeg_bytes(preview, 80)).decode("ascii")
    return f"![{alt}](data:image/jpeg;base64,{encoded})"


COVER_FILE = "cover.jpg"


def variant_file(variant: str) -> str:
    return f"thumbnail_{variant}.jpg"


@dataclass(frozen=True)
class ReleaseArtwork:
    """A day's artwork as written to a folder: the thumbnail variants and the cover."""

    folder: Path
    artworks: dict[str, Artwork]  # "A", "B", "C" and "cover" → the artwork as drawn

    def file_facts(self) -> dict[str, dict]:
        """``jpeg_file_facts`` of every file, by file stem ("thumbnail_A" …, "cover")."""
        files = [*(variant_file(variant) for variant in VARIANTS), COVER_FILE]
        return {Path(name).stem: jpeg_file_facts(self.folder / name) for name in sorted(files)}

    def legibility(self) -> dict[str, dict]:
        """Per variant: how its headline measured (px, contrast), where it stands, what shows."""
        return {
            variant: {
                "text_height_px": artwork.text_height_px,
                "contrast": round(artwork.contrast, 2),
                "badge_corner_clear": badge_corner_clear(artwork),
                "scene": artwork.scene,
                "palette": artwork.palette,
                "drawn": artwork.text.drawn,
                "shortened": artwork.text.shortened,
            }
            for variant, artwork in self.artworks.items()
            if variant in VARIANTS
        }


def write_release_artwork(
    folder: Path, style: str, seed: int, preference: LookPreference | None = None
) -> ReleaseArtwork:
    """Draw and write a day's artwork into ``folder``: ``thumbnail_{A,B,C}.jpg`` (1280×720,
    each within ``MAX_THUMBNAIL_BYTES``) and ``cover.jpg`` (3000×3000, variant A's drawing),
    the looks steered by ``preference`` (:class:`LookPreference`; None: as ever)."""
    artworks = {}
    for variant in VARIANTS:
        artwork = artworks[variant] = draw_artwork(THUMBNAIL_SIZE, style, seed, variant, preference)
        write_bytes_atomic(folder / variant_file(variant), fitted_jpeg(artwork.image))
    cover = artworks["cover"] = draw_artwork(COVER_SIZE, style, seed, "A", preference)
    write_bytes_atomic(folder / COVER_FILE, jpeg_bytes(cover.image, 90))
    return ReleaseArtwork(folder, artworks)
