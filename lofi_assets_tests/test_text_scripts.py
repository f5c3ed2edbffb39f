"""Text in any script: every character drawn by a font that has it, fitted whole, and measured
as drawn by the legibility checks (issue 14, "Text in any script")."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image, ImageDraw, ImageFont

from lofi_assets.defs.checks import check_headline_legible, check_teaser_text_legible
from lofi_assets.defs.resources import ChannelConfig
from lofi_assets.music.styles import ASSETS_LIBRARY_ENV, assets_library_dir
from lofi_assets.visual.teaser import INK, shorts_caption, teaser_picture
from lofi_assets.visual.text import (
    FONT_CHAIN,
    FontsMissingError,
    FontSource,
    TextStyle,
    break_points,
    font_runs,
    installed_chain,
    lay_out,
)
from lofi_assets.visual.thumbnail import (
    HEADLINE_LEFT,
    MIN_TEXT_HEIGHT_PX,
    THUMBNAIL_SIZE,
    VARIANTS,
    draw_artwork,
    headline_problems,
)

LEAGUE_SPARTAN, NOTO_CJK, DEJAVU, NOTO_EMOJI = FONT_CHAIN
CAPTION_REGION = (0, 1500, 1080, 1800)  # below the square artwork of the 1080×1920 teaser


@pytest.fixture(scope="module")
def grey_cover():
    """A flat cover: behind the caption there is one colour, so ink is easy to count."""
    return Image.new("RGB", (600, 600), (90, 90, 90))


@pytest.fixture
def headline_library(tmp_path, monkeypatch):
    """A custom assets library (a copy of ours) whose every style has one given headline."""

    def use(headline: str) -> Path:
        library = tmp_path / "library"
        shutil.copytree(assets_library_dir(), library)
        titles = yaml.safe_load((library / "titles.yaml").read_text(encoding="utf-8"))
        titles["headlines"] = {style: [headline] for style in titles["headlines"]}
        (library / "titles.yaml").write_text(yaml.safe_dump(titles, allow_unicode=True), "utf-8")
        monkeypatch.setenv(ASSETS_LIBRARY_ENV, str(library))
        return library

    return use


def _ink_pixels(image: Image.Image, box, tolerance: int = 12) -> int:
    """Pixels of ``box`` painted in the teaser's ink colour (fully covered by a glyph)."""
    pixels = np.asarray(image.crop(box), np.int16)
    return int((np.abs(pixels - np.array(INK)).max(axis=2) <= tolerance).sum())


def test_every_script_finds_a_font_that_has_its_glyphs():
    chain = installed_chain()
    runs, missing = font_runs("café Привет 深夜 한글 ☕ 🌧 👩\u200d💻 e\u0301", chain)
    font_of = {character: run.source for run in runs for character in run.text}
    assert missing == ()
    assert {font_of[c] for c in "café "} == {LEAGUE_SPARTAN}
    assert {font_of[c] for c in "Привет深夜한글"} == {NOTO_CJK}  # League Spartan has no Cyrillic
    assert font_of["☕"] == DEJAVU  # a text-style symbol: the first font that has it
    assert font_of["🌧"] == font_of["👩"] == font_of["💻"] == NOTO_EMOJI
    assert any(run.text == "👩\u200d💻" for run in runs)  # the ZWJ sequence stays one run
    assert runs[-1].text.endswith("é") and runs[-1].source == LEAGUE_SPARTAN  # NFC: one glyph
    # VS16 asks for emoji presentation (UTS #51): the colour font before DejaVu's text glyph.
    (cup,), _ = font_runs("☕\ufe0f", chain)
    assert cup.source == NOTO_EMOJI
    # A private-use code point no font has is reported, not drawn as a .notdef box.
    runs, missing = font_runs("lofi \ue000", chain)
    assert missing == ("U+E000",) and "".join(r.text for r in runs) == "lofi "


def test_no_installed_font_is_refused_naming_the_packages():
    absent = FontSource("Nowhere Sans", Path("/nonexistent/NowhereSans.ttf"), "fonts-nowhere")
    with pytest.raises(FontsMissingError, match="apt-get install fonts-nowhere"):
        installed_chain([absent])


def test_japanese_breaks_between_characters_but_not_before_small_kana_or_long_marks():
    text = "深夜のコーヒーとショパン"
    points = break_points(text)
    assert points  # no spaces, yet a line may break
    assert all(text[p] not in "ーョ" for p in points)
    assert break_points("late-night convenience store") == [10, 22]  # at the spaces


def test_a_japanese_channel_name_is_drawn_in_the_shorts_caption(grey_cover):
    name = ChannelConfig(channel_name="深夜ラジオ").to_channel().name
    with_name = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption(name))
    without = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption(""))
    caption = with_name.caption
    assert caption.drawn == "Full mix on 深夜ラジオ" and caption.missing == ()
    assert NOTO_CJK.name in caption.fonts
    # The name's ink on the picture is the ink of the same characters drawn with the CJK font
    # directly at the caption's size (fully covered pixels).
    noto = ImageFont.truetype(str(NOTO_CJK.path), caption.size_px, index=0)
    direct = int((np.asarray(noto.getmask("深夜ラジオ")) >= 240).sum())
    drawn = _ink_pixels(with_name.image, CAPTION_REGION) - _ink_pixels(
        without.image, CAPTION_REGION
    )
    assert drawn == pytest.approx(direct, rel=0.03)
    result = check_teaser_text_legible(with_name.title, caption)
    assert result.passed, result.metadata["problems"]


def test_an_emoji_in_the_channel_name_is_drawn_in_colour(grey_cover):
    picture = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption("lofi 🌧"))
    plain = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption("lofi"))
    assert picture.caption.missing == () and NOTO_EMOJI.name in picture.caption.fonts

    def coloured(image, box=CAPTION_REGION):  # saturated pixels: ink, outline, backdrop are grey
        pixels = np.asarray(image.crop(box), np.int16)
        return int((pixels.max(axis=2) - pixels.min(axis=2) > 60).sum())

    # The same emoji drawn with the colour font at its bitmap size, scaled to the caption's.
    emoji = ImageFont.truetype(str(NOTO_EMOJI.path), NOTO_EMOJI.bitmap_size_px)
    glyph = Image.new("RGBA", (160, 160))
    ImageDraw.Draw(glyph).text((0, 0), "🌧", font=emoji, embedded_color=True)
    scale = picture.caption.size_px / NOTO_EMOJI.bitmap_size_px
    glyph = glyph.resize((round(160 * scale),) * 2, Image.Resampling.LANCZOS)
    backdrop = Image.new("RGB", glyph.size, plain.image.getpixel((40, 1650)))
    backdrop.paste(glyph, (0, 0), glyph)
    direct = coloured(backdrop, (0, 0, *backdrop.size))
    assert direct > 100
    assert coloured(plain.image) == 0
    assert coloured(picture.image) == pytest.approx(direct, rel=0.1)


def test_a_character_no_font_has_fails_the_teaser_text_check(grey_cover):
    picture = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption("lofi \ue000"))
    assert picture.caption.missing == ("U+E000",)
    result = check_teaser_text_legible(picture.title, picture.caption)
    assert not result.passed
    assert "U+E000" in result.metadata["problems"].value["caption"][0]


def test_a_japanese_headline_is_drawn_and_measured(headline_library):
    headline_library("深夜のコンビニ")
    artwork = draw_artwork(THUMBNAIL_SIZE, "japanese", 1, "A")
    text = artwork.text
    assert (artwork.headline, text.drawn, text.missing) == ("深夜のコンビニ",) * 2 + ((),)
    assert text.fonts == (NOTO_CJK.name,)
    noto = ImageFont.truetype(str(NOTO_CJK.path), text.size_px, index=0)
    # Height measured on the string drawn: the CJK glyphs' box, not a sample "H".
    _, top, _, bottom = noto.getbbox("深夜のコンビニ")
    assert text.text_height_px == pytest.approx(bottom - top, abs=1)
    assert text.text_height_px >= MIN_TEXT_HEIGHT_PX
    direct = int((np.asarray(noto.getmask("深夜のコンビニ")) >= 128).sum())
    assert text.line_ink_px[0] == pytest.approx(direct, rel=0.02)
    assert check_headline_legible({"A": artwork}).passed


def test_late_night_convenience_store_fits_whole(headline_library):
    headline_library("late-night convenience store")
    artworks = {v: draw_artwork(THUMBNAIL_SIZE, "jazz", 1, v) for v in VARIANTS}
    for artwork in artworks.values():
        text = artwork.text
        assert text.drawn.split("\n") == ["LATE-NIGHT CONVENIENCE", "STORE"]
        assert not text.shortened and text.missing == ()
        # The measured box is the ink of the two lines set by League Spartan directly (with the
        # headline's 7 px outline and 8 px line spacing), and it lies inside the safe area.
        league = ImageFont.truetype(str(LEAGUE_SPARTAN.path), text.size_px)
        direct = Image.new("L", (THUMBNAIL_SIZE[0] + 100, 400))
        ImageDraw.Draw(direct).multiline_text(
            (50, 50), text.drawn, font=league, fill=255, stroke_width=7, stroke_fill=255, spacing=8
        )
        left, top, right, bottom = direct.getbbox()
        assert (text.box[2] - text.box[0], text.box[3] - text.box[1]) == (
            right - left,
            bottom - top,
        )
        assert text.safe_box[0] <= text.box[0] and text.box[2] <= text.safe_box[2]
        # Shrunk no further than needed: one pixel larger and it would leave the safe area.
        style = TextStyle((0, 0, 0), (0, 0, 0), 7, 8)
        larger = lay_out(text.text, text.drawn.split("\n"), text.size_px + 1, style)
        assert larger.width_px > text.safe_box[2] - int(HEADLINE_LEFT * THUMBNAIL_SIZE[0])
        assert text.text_height_px >= MIN_TEXT_HEIGHT_PX
    assert check_headline_legible(artworks).passed


def test_a_long_japanese_headline_wraps_between_characters(headline_library):
    headline = "深夜のコンビニで聴くローファイ・ビートと雨の音"
    headline_library(headline)
    text = draw_artwork(THUMBNAIL_SIZE, "japanese", 1, "A").text
    lines = text.drawn.split("\n")
    assert len(lines) == 2 and "".join(lines) == headline  # every character, in order
    assert lines[1][0] not in "ー・ァィゥェォッャュョ"  # no line opens with a mark (kinsoku)
    assert text.safe_box[0] <= text.box[0] and text.box[2] <= text.safe_box[2]
    assert text.text_height_px >= MIN_TEXT_HEIGHT_PX and text.missing == ()


def test_a_headline_with_a_character_no_font_has_fails_the_check(headline_library):
    headline_library("\ue000 beats")
    artwork = draw_artwork(THUMBNAIL_SIZE, "jazz", 1, "A")
    assert artwork.text.missing == ("U+E000",)
    result = check_headline_legible({"A": artwork})
    assert not result.passed
    assert "U+E000" in result.metadata["failing"].value["A"][0]


def test_a_word_wider_than_the_safe_area_fails_the_check(headline_library):
    word = "pneumonoultramicroscopicsilicovolcanoconiosis"
    headline_library(word)
    artwork = draw_artwork(THUMBNAIL_SIZE, "study", 1, "A")
    text = artwork.text
    assert text.drawn == word.upper()  # drawn whole, never cut inside the word
    assert text.box[2] > text.safe_box[2]
    result = check_headline_legible({"A": artwork})
    assert not result.passed
    assert any("outside the safe area" in p for p in headline_problems(artwork))
