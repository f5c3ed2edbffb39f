"""The vertical teaser for YouTube Shorts, Reels and TikTok: the day's loudest 30 s, 1080×1920.

The excerpt is the 30-second window of the mix with the highest loudness (BS.1770, streamed),
faded in and out so it neither clicks nor stops dead. The picture is the day's square cover
over a blurred, darkened copy of itself, with the release title on top; it moves like the main
video (or stays still in static mode).
"""

from __future__ import annotations

import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from lofi_assets.audio.measure import loudest_window_of_file
from lofi_assets.audio.wav import wav_file, write_faded_excerpt
from lofi_assets.visual.motion import encode_animated
from lofi_assets.visual.thumbnail import MIN_CONTRAST, contrast_behind, font, jpeg_bytes
from lofi_assets.visual.video import SHORTS_SIZE, encode_static

TEASER_S = 30.0
MAX_SHORTS_S = 60.0  # YouTube's limit for a Short
INK = (250, 246, 238)
STROKE = (20, 18, 28)


@dataclass(frozen=True)
class Teaser:
    path: Path
    start_s: float  # where the excerpt begins in the mix
    loudness_lufs: float  # of the chosen window
    duration_s: float
    text_contrast: float


def _fitted_title(title: str) -> tuple[str, int]:
    """The title wrapped into at most four centred lines, and the font size that allows it."""
    for size_px, columns in ((104, 14), (84, 18), (68, 23), (56, 28)):
        lines = textwrap.wrap(title, width=columns)
        if len(lines) <= 4:
            return "\n".join(lines), size_px
    return "\n".join(textwrap.wrap(title, width=28)[:4]), 56


def teaser_artwork(cover: Image.Image, title: str, caption: str) -> tuple[Image.Image, float]:
    """The 1080×1920 picture and the contrast of its title against what is behind it."""
    width, height = SHORTS_SIZE
    square = cover.convert("RGB")
    background = square.resize((height, height), Image.Resampling.BILINEAR)
    background = background.crop(((height - width) // 2, 0, (height + width) // 2, height))
    background = background.filter(ImageFilter.GaussianBlur(28))
    pixels = np.asarray(background, dtype=np.float32) * 0.55  # darkened so white text reads
    image = Image.fromarray(pixels.astype(np.uint8))
    art_size = round(width * 0.86)
    art = square.resize((art_size, art_size), Image.Resampling.LANCZOS)
    image.paste(art, ((width - art_size) // 2, round(height * 0.3)))
    draw = ImageDraw.Draw(image)
    text, size_px = _fitted_title(title)
    title_font = font(size_px)
    box = draw.multiline_textbbox(
        (width / 2, height * 0.16), text, font=title_font, anchor="mm", align="center",
        stroke_width=8, spacing=14,
    )  # fmt: skip
    contrast = contrast_behind(image, box, INK)
    if contrast < MIN_CONTRAST:  # a bright cover: put a dark panel behind the words
        draw.rounded_rectangle(
            [box[0] - 30, box[1] - 30, box[2] + 30, box[3] + 30], radius=30, fill=STROKE
        )
        contrast = contrast_behind(image, box, INK)
    draw.multiline_text(
        (width / 2, height * 0.16), text, font=title_font, anchor="mm", align="center",
        fill=INK, stroke_width=8, stroke_fill=STROKE, spacing=14,
    )  # fmt: skip
    draw.text(
        (width / 2, height * 0.86), caption, font=font(52), anchor="mm",
        fill=INK, stroke_width=4, stroke_fill=STROKE,
    )  # fmt: skip
    return image, contrast


def make_teaser(
    mix: Path,
    cover: Path,
    out: Path,
    title: str,
    caption: str,
    seed: int,
    motion: str = "animated",
    overlay: str = "dust",
    seconds: float = TEASER_S,
) -> Teaser:
    """Cut the loudest ``seconds`` of ``mix`` and encode it under the vertical artwork."""
    seconds = min(seconds, MAX_SHORTS_S)
    start_s, loudness = loudest_window_of_file(mix, seconds)
    with Image.open(cover) as square:
        picture, contrast = teaser_artwork(square, title, caption)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".teaser.") as scratch:
        folder = Path(scratch)
        excerpt = write_faded_excerpt(mix, folder / "excerpt.wav", start_s, seconds)
        with wav_file(excerpt) as handle:
            duration_s = handle.frames / handle.samplerate
        image = folder / "teaser.jpg"
        image.write_bytes(jpeg_bytes(picture, 92))
        if motion == "static":
            encode_static(image, excerpt, out, duration_s, SHORTS_SIZE)
        else:
            encode_animated(image, excerpt, out, duration_s, SHORTS_SIZE, overlay, seed)
    return Teaser(out, start_s, loudness, duration_s, contrast)
