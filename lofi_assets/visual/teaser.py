"""The vertical teaser for YouTube Shorts, Reels and TikTok: the day's loudest 30 s, 1080×1920.

The excerpt is the 30-second window of the mix with the highest loudness (BS.1770, streamed),
faded in and out so it neither clicks nor stops dead. The picture is the day's square cover
over a blurred, darkened copy of itself, with the release title on top and a caption below
(in any script: ``visual/text.py``); it moves like the main video (or stays still in static
mode). The text is measured as drawn, so a caption whose characters no font has, or one that
runs off the frame, fails the ``text_legible`` check instead of publishing a Short that says
"Full mix on" and nothing more.
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
from lofi_assets.visual.text import (
    TextFacts,
    TextLayout,
    TextStyle,
    draw_text,
    fit_text,
    lay_out,
    require_visible,
)
from lofi_assets.visual.thumbnail import MIN_CONTRAST, contrast_behind, jpeg_bytes, safe_box
from lofi_assets.visual.video import SHORTS_SIZE, encode_static

TEASER_S = 30.0
MAX_SHORTS_S = 60.0  # YouTube's limit for a Short
INK = (250, 246, 238)
STROKE = (20, 18, 28)
# The title's designed sizes and the columns each wraps at (the look for Latin titles); any
# title that does not fit that way is fitted by measured width between the largest and the
# smallest size.
TITLE_SIZES = ((104, 14), (84, 18), (68, 23), (56, 28))
TITLE_MAX_LINES = 4
CAPTION_SIZE_PX = 52
MIN_CAPTION_SIZE_PX = 40
# At 1080 px wide: the smallest designed sizes (title 56 px, caption 40 px) draw capitals
# 26–37 px tall; a line shorter than this needs a bigger size, not a pass.
MIN_TEASER_TEXT_HEIGHT_PX = 24


@dataclass(frozen=True)
class Teaser:
    path: Path
    start_s: float  # where the excerpt begins in the mix
    loudness_lufs: float  # of the chosen window
    duration_s: float
    text_contrast: float
    title_text: TextFacts  # the title and the caption as drawn, measured from their ink
    caption_text: TextFacts


@dataclass(frozen=True)
class TeaserPicture:
    image: Image.Image  # 1080×1920 RGB
    title: TextFacts
    caption: TextFacts


def shorts_caption(channel_name: str) -> str:
    """The line under the artwork that sends viewers to the full mix: the channel's name as
    written (any script; ``visual/text.py`` draws it)."""
    return f"Full mix on {channel_name}"


def teaser_text_problems(title: TextFacts, caption: TextFacts) -> dict[str, list[str]]:
    """Why the teaser's title or caption would not read; both lists empty when they do.

    Limits: :data:`MIN_TEASER_TEXT_HEIGHT_PX` of ink, :data:`MIN_CONTRAST` (WCAG 2 AA), inside
    the safe area, every glyph drawn by a font that has it.
    """
    return {
        name: facts.problems(MIN_TEASER_TEXT_HEIGHT_PX, MIN_CONTRAST)
        for name, facts in (("title", title), ("caption", caption))
    }


def _title_layout(title: str, style: TextStyle, max_width_px: float) -> TextLayout:
    """The title in at most four centred lines, at the largest size that fits.

    The designed wraps never cut a word (``break_long_words=False``): a word wider than the
    line is left to :func:`fit_text`, which shrinks it, then breaks it with a hyphen.
    """
    for size_px, columns in TITLE_SIZES:  # the designed wraps first
        lines = textwrap.wrap(title, width=columns, break_long_words=False)
        if len(lines) <= TITLE_MAX_LINES:
            layout = lay_out(title, lines, size_px, style)
            if layout.width_px <= max_width_px:
                return layout
    return fit_text(
        title,
        style,
        max_width_px=max_width_px,
        max_size_px=TITLE_SIZES[0][0],
        min_size_px=TITLE_SIZES[-1][0],
        min_height_px=MIN_TEASER_TEXT_HEIGHT_PX,
        max_lines=TITLE_MAX_LINES,
        field="teaser's title",
    )


def _draw_centred(
    image: Image.Image, layout: TextLayout, centre: tuple[float, float], panel_pad_px: int
) -> TextFacts:
    """``layout`` centred on ``centre`` as Pillow's anchor "mm" centres multiline text, over a
    dark panel when what is behind it is too bright to read."""
    style = layout.style
    pitch = layout.ascent_px + 2 * style.stroke_px + style.spacing_px
    origin = (
        centre[0] - layout.advance_px / 2,
        centre[1]
        - (len(layout.lines) - 1) * pitch / 2
        - (layout.ascent_px + layout.descent_px) / 2,
    )
    left, top, right, bottom = layout.box
    box = (origin[0] + left, origin[1] + top, origin[0] + right, origin[1] + bottom)
    contrast = contrast_behind(image, box, style.ink)
    if contrast < MIN_CONTRAST:  # a bright cover: put a dark panel behind the words
        pad = panel_pad_px
        ImageDraw.Draw(image).rounded_rectangle(
            [box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad], radius=pad, fill=STROKE
        )
        contrast = contrast_behind(image, box, style.ink)
    return draw_text(image, layout, origin, safe_box(image.size), contrast)


def teaser_picture(cover: Image.Image, title: str, caption: str) -> TeaserPicture:
    """The 1080×1920 picture, with its title and caption measured as drawn.

    Raises BlankTextError (a ConfigError) when ``title`` or ``caption`` has no visible
    character: a Short without its words is refused rather than published with a blank band.
    """
    require_visible(title, "teaser's title")
    require_visible(caption, "teaser's caption")
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
    safe = safe_box(SHORTS_SIZE)
    title_layout = _title_layout(
        title, TextStyle(INK, STROKE, 8, 14, align="center"), safe[2] - safe[0]
    )
    title_facts = _draw_centred(image, title_layout, (width / 2, height * 0.16), 30)
    caption_layout = fit_text(
        caption,
        TextStyle(INK, STROKE, 4, 8, align="center"),
        max_width_px=safe[2] - safe[0],
        max_size_px=CAPTION_SIZE_PX,
        min_size_px=MIN_CAPTION_SIZE_PX,
        min_height_px=MIN_TEASER_TEXT_HEIGHT_PX,
        may_shorten=False,  # a channel name cut short would name another channel
        field="teaser's caption",
    )
    caption_facts = _draw_centred(image, caption_layout, (width / 2, height * 0.86), 16)
    return TeaserPicture(image, title_facts, caption_facts)


def teaser_artwork(cover: Image.Image, title: str, caption: str) -> tuple[Image.Image, float]:
    """The 1080×1920 picture and the contrast of its title against what is behind it."""
    picture = teaser_picture(cover, title, caption)
    return picture.image, picture.title.contrast


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
        picture = teaser_picture(square, title, caption)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".teaser.") as scratch:
        folder = Path(scratch)
        excerpt = write_faded_excerpt(mix, folder / "excerpt.wav", start_s, seconds)
        with wav_file(excerpt) as handle:
            duration_s = handle.frames / handle.samplerate
        image = folder / "teaser.jpg"
        image.write_bytes(jpeg_bytes(picture.image, 92))
        if motion == "static":
            encode_static(image, excerpt, out, duration_s, SHORTS_SIZE)
        else:
            encode_animated(image, excerpt, out, duration_s, SHORTS_SIZE, overlay, seed)
    return Teaser(
        out, start_s, loudness, duration_s, picture.title.contrast, picture.title, picture.caption
    )
