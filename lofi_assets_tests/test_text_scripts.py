"""Text in any script: every character drawn by a font that has it, fitted whole, and measured
as drawn by the legibility checks (issue 14, "Text in any script")."""

import shutil
import unicodedata
from pathlib import Path

import numpy as np
import pytest
import yaml
from bidi import get_display
from PIL import Image, ImageDraw, ImageFont, features

from lofi_assets.defs.assets.release_checks import check_headline_legible, check_teaser_text_legible
from lofi_assets.defs.resources import ChannelConfig
from lofi_assets.errors import LofiError
from lofi_assets.music.styles import ASSETS_LIBRARY_ENV, assets_library_dir
from lofi_assets.visual.teaser import INK, shorts_caption, teaser_picture
from lofi_assets.visual.text import (
    FONT_CHAIN,
    INK_ALPHA,
    NOTO_SCRIPTS_DIR,
    RAQM,
    BlankTextError,
    FontsMissingError,
    FontSource,
    TextStyle,
    break_points,
    draw_text,
    fit_text,
    font_runs,
    installed_chain,
    lay_out,
    script_fonts,
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
    name = ChannelConfig(channel_name="深夜ラジオ").settings().name
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
    # Even broken with a hyphen it needs three lines at the legibility floor (two allowed): it is
    # drawn whole, overflowing, and the check fails rather than drawing it smaller or cut.
    assert text.drawn == word.upper()
    assert text.box[2] > text.safe_box[2]
    result = check_headline_legible({"A": artwork})
    assert not result.passed
    assert any("outside the safe area" in p for p in headline_problems(artwork))


# --- Scripts written right to left, scripts that need shaping, words wider than a line. ---

PLAIN = TextStyle((255, 255, 255), (0, 0, 0), 0, 0)  # no outline: the fill mask is the ink


def _font(file_name: str) -> Path:
    return NOTO_SCRIPTS_DIR / file_name


def _drawn_mask(text: str, size_px: int = 80) -> np.ndarray:
    """``text`` laid out and drawn by text.py on black, as a boolean ink mask cropped to ink."""
    layout = lay_out(text, [text], size_px, PLAIN)
    image = Image.new("RGB", (layout.width_px + 80, size_px * 3))
    draw_text(image, layout, (40, size_px // 2), (0, 0, *image.size), 21.0)
    return _cropped(np.asarray(image.convert("L")) >= INK_ALPHA)


def _pillow_mask(text: str, font_path: Path, size_px: int = 80, **kwargs) -> np.ndarray:
    """``text`` drawn by Pillow alone with one font (raqm layout, HarfBuzz shaping)."""
    font = ImageFont.truetype(str(font_path), size_px, layout_engine=ImageFont.Layout.RAQM)
    image = Image.new("L", (round(font.getlength(text, **kwargs)) + 80, size_px * 3))
    ImageDraw.Draw(image).text((40, size_px), text, font=font, fill=255, **kwargs)
    return _cropped(np.asarray(image) >= INK_ALPHA)


def _cropped(mask: np.ndarray) -> np.ndarray:
    rows, columns = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return mask[rows[0] : rows[-1] + 1, columns[0] : columns[-1] + 1]


def test_raqm_is_there_to_shape_and_lay_out_right_to_left():
    # Pillow's wheel carries raqm; it needs FriBiDi (Debian libfribidi0, via libraqm0).
    assert features.check_feature("raqm") and RAQM


def test_the_noto_script_fonts_join_the_chain_after_cjk_by_file_name():
    chain = installed_chain()
    scripts = script_fonts()
    assert chain.index(NOTO_CJK) + 1 == chain.index(scripts[0])
    assert chain.index(scripts[-1]) + 1 == chain.index(DEJAVU)
    assert [s.path.name for s in scripts] == sorted(s.path.name for s in scripts)
    samples = {  # by kind: every script fonts-noto-core draws, from its own Noto Sans face
        "Noto Sans Hebrew Bold": "שלום", "Noto Sans Arabic Bold": "ليلة",
        "Noto Sans Thai Bold": "ดนตรี", "Noto Sans Devanagari Bold": "संगीत",
        "Noto Sans Bengali Bold": "সংগীত", "Noto Sans Tamil Bold": "இசை",
        "Noto Sans Georgian Bold": "მუსიკა", "Noto Sans Armenian Bold": "երաժշտություն",
        "Noto Sans Ethiopic Bold": "ሙዚቃ", "Noto Sans Khmer Bold": "តន្ត្រី",
    }  # fmt: skip
    for name, word in samples.items():
        runs, missing = font_runs(word, chain)
        assert missing == () and [r.source.name for r in runs] == [name], word


def test_hebrew_reads_right_to_left_first_word_on_the_right():
    drawn = _drawn_mask("שלום עולם")
    hebrew = _font("NotoSansHebrew-Bold.ttf")
    shalom, olam = _pillow_mask("שלום", hebrew), _pillow_mask("עולם", hebrew)
    # The first word (שלום) is the rightmost ink, the second (עולם) the leftmost: each word
    # drawn alone by Pillow has the ink, column by column, of the drawn line at that end.
    columns = drawn.sum(axis=0)

    def mismatch(part: np.ndarray, at_right: bool) -> float:
        ours = columns[-part.shape[1] :] if at_right else columns[: part.shape[1]]
        return np.abs(ours - part.sum(axis=0)).sum() / part.sum()

    assert mismatch(shalom, at_right=True) < 0.02 and mismatch(olam, at_right=False) < 0.02
    # Swapped, as the runs were placed before (logical order left to right), they do not match.
    assert mismatch(olam, at_right=True) > 0.2 and mismatch(shalom, at_right=False) > 0.2
    # And the whole line is Pillow's own right-to-left rendering of the string, pixel for pixel.
    whole = _pillow_mask("שלום עולם", hebrew, direction="rtl")
    assert drawn.shape == whole.shape and (drawn == whole).mean() > 0.995


def test_arabic_letters_join_as_raqm_shapes_them():
    text = "ليلة هادئة"
    drawn = _drawn_mask(text)
    arabic = _font("NotoSansArabic-Bold.ttf")
    shaped = _pillow_mask(text, arabic, direction="rtl")
    assert drawn.shape == shaped.shape and (drawn == shaped).mean() > 0.995
    # Unjoined (each letter in its isolated form, spaced apart) the ink would differ widely.
    isolated = _pillow_mask(" ".join(text), arabic, direction="rtl")
    assert abs(int(isolated.sum()) - int(drawn.sum())) > 0.05 * drawn.sum()


@pytest.mark.parametrize(
    "text",
    ["lofi ليلة هادئة beats", "lofi ليلة 24 هادئة beats", "שלום lofi עולם", "שלום (lofi) ☕"],
)
def test_mixed_lines_are_in_the_visual_order_uax9_gives(text):
    (placed,) = lay_out(text, [text], 60, PLAIN).runs
    xs = [p.x for p in placed]
    assert xs == sorted(xs)  # runs placed left to right in the order listed
    # Read back left to right (a right-to-left run's characters reversed, as they appear), the
    # line is what the unicode-bidi crate's UAX #9 (python-bidi's get_display) displays.
    # (Brackets are mirrored later, as glyphs, by raqm; neither string mirrors them.)
    seen = "".join(p.run.text[::-1] if p.run.rtl else p.run.text for p in placed)
    assert seen == get_display(text)


def test_thai_and_devanagari_are_shaped_and_pass_the_check(grey_cover):
    for title, font_file in (("ดนตรีผ่อนคลาย", "NotoSansThai-Bold.ttf"),
                             ("शांत संगीत", "NotoSansDevanagari-Bold.ttf")):  # fmt: skip
        picture = teaser_picture(grey_cover, title, shorts_caption("lofi"))
        facts = picture.title
        assert facts.drawn == title and facts.missing == ()
        assert check_teaser_text_legible(facts, picture.caption).passed
        # The ink is HarfBuzz's shaping of the string (marks stacked, conjuncts formed), as
        # Pillow's raqm draws it with the script's Noto font at the title's size.
        drawn = _drawn_mask(title, facts.size_px)
        shaped = _pillow_mask(title, _font(font_file), facts.size_px)
        assert drawn.shape == shaped.shape and (drawn == shaped).mean() > 0.995


def test_a_thai_channel_name_is_drawn_in_the_shorts_caption(grey_cover):
    name = "ช่องโลไฟ"
    with_name = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption(name))
    without = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption(""))
    caption = with_name.caption
    assert caption.drawn == f"Full mix on {name}" and caption.missing == ()
    assert "Noto Sans Thai Bold" in caption.fonts
    thai = ImageFont.truetype(str(_font("NotoSansThai-Bold.ttf")), caption.size_px)
    direct = int((np.asarray(thai.getmask(name)) >= 240).sum())
    drawn = _ink_pixels(with_name.image, CAPTION_REGION) - _ink_pixels(
        without.image, CAPTION_REGION
    )
    assert drawn == pytest.approx(direct, rel=0.05)
    assert check_teaser_text_legible(with_name.title, caption).passed


def test_a_channel_name_wider_than_the_caption_is_hyphenated_and_drawn_whole(grey_cover):
    name = "Pneumonoultramicroscopicsilicovolcanoconiosislofichannel"
    picture = teaser_picture(grey_cover, "Rainy Jazz", shorts_caption(name))
    caption = picture.caption
    first, second = caption.drawn.split("\n")
    assert first.startswith("Full mix on Pneumono") and first.endswith("-")
    assert first[:-1] + second == shorts_caption(name)  # every letter, in order
    assert caption.safe_box[0] <= caption.box[0] and caption.box[2] <= caption.safe_box[2]
    assert caption.size_px == 52  # broken at the designed size rather than shrunk past it
    assert check_teaser_text_legible(picture.title, caption).passed


def test_a_title_word_wider_than_a_line_breaks_with_a_hyphen(grey_cover):
    title = "Supercalifragilisticexpialidociouslofibeatstostudyandrelaxtoforever"
    facts = teaser_picture(grey_cover, title, shorts_caption("lofi")).title
    lines = facts.drawn.split("\n")
    assert len(lines) > 1 and all(line.endswith("-") for line in lines[:-1])
    assert "".join(line.removesuffix("-") for line in lines) == title
    assert facts.safe_box[0] <= facts.box[0] and facts.box[2] <= facts.safe_box[2]


def test_a_word_in_a_script_without_hyphens_breaks_between_graphemes():
    # Thai marks no break with a hyphen, and a cut never separates a consonant from its marks.
    style = TextStyle((255, 255, 255), (0, 0, 0), 0, 0)
    text = "ดนตรีผ่อนคลายยามค่ำคืน" * 2
    layout = fit_text(text, style, max_width_px=700, max_size_px=60, min_size_px=60)
    assert len(layout.lines) == 2 and "".join(layout.lines) == text and layout.fits
    assert not layout.lines[0].endswith("-") and unicodedata.category(layout.lines[1][0]) == "Lo"


@pytest.mark.parametrize("blank", ["", "   ", "\u200b", "\n"])
def test_a_blank_title_or_caption_is_refused_naming_the_field(grey_cover, blank):
    with pytest.raises(BlankTextError, match="teaser's title is blank") as refused:
        teaser_picture(grey_cover, blank, shorts_caption("lofi"))
    assert isinstance(refused.value, LofiError)
    with pytest.raises(BlankTextError, match="teaser's caption is blank"):
        teaser_picture(grey_cover, "Rainy Jazz", blank)
