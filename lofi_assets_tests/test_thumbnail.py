"""Thumbnails and covers: sizes, legibility, determinism, and the Dagster asset."""

import hashlib
import io

import dagster as dg
import pytest
from PIL import Image

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.release import thumbnail
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.music.styles import style_names
from lofi_assets.visual.thumbnail import (
    COVER_SIZE,
    MAX_THUMBNAIL_BYTES,
    MIN_CONTRAST,
    MIN_TEXT_HEIGHT_PX,
    SCENES,
    THUMBNAIL_SIZE,
    VARIANTS,
    badge_corner_clear,
    contrast_ratio,
    draw_artwork,
    fitted_jpeg,
    jpeg_bytes,
    palettes,
)


@pytest.mark.parametrize("style", style_names())
def test_every_variant_is_a_legible_youtube_thumbnail(style):
    for seed in (1, 2):
        for variant in VARIANTS:
            artwork = draw_artwork(THUMBNAIL_SIZE, style, seed, variant)
            payload = fitted_jpeg(artwork.image)
            with Image.open(io.BytesIO(payload)) as image:
                assert (image.format, image.mode, image.size) == ("JPEG", "RGB", THUMBNAIL_SIZE)
            assert len(payload) <= MAX_THUMBNAIL_BYTES
            assert artwork.text_height_px >= MIN_TEXT_HEIGHT_PX
            assert artwork.contrast >= MIN_CONTRAST
            assert badge_corner_clear(artwork)
            assert 1 <= len(artwork.headline.split()) <= 4


def test_the_same_seed_draws_the_same_bytes_and_variants_differ():
    first = jpeg_bytes(draw_artwork(THUMBNAIL_SIZE, "jazz", 9, "A").image)
    assert first == jpeg_bytes(draw_artwork(THUMBNAIL_SIZE, "jazz", 9, "A").image)
    assert first != jpeg_bytes(draw_artwork(THUMBNAIL_SIZE, "jazz", 9, "B").image)


def test_there_are_eight_palettes_and_every_scene_is_drawn():
    assert len(palettes()) >= 8
    seen = {
        draw_artwork((320, 180), style, seed, v).scene
        for style in style_names()
        for seed in range(4)
        for v in VARIANTS
    }
    assert seen == set(SCENES)


def test_cover_is_a_3000_pixel_square_rgb_jpeg():
    payload = jpeg_bytes(draw_artwork(COVER_SIZE, "cafe", 3, "A").image)
    with Image.open(io.BytesIO(payload)) as image:
        assert (image.format, image.mode, image.size) == ("JPEG", "RGB", COVER_SIZE)


def test_contrast_ratio_follows_wcag():
    assert contrast_ratio((0, 0, 0), (255, 255, 255)) == pytest.approx(21.0)
    assert contrast_ratio((119, 119, 119), (255, 255, 255)) == pytest.approx(4.48, abs=0.01)


def test_thumbnail_asset_draws_three_variants_and_a_cover(resources, instance, data_dir):
    for slot in ("1", "2", "3"):
        assert dg.materialize(
            [midi_sketch],
            partition_key=track_partition_key("2026-11-27", slot),
            resources=resources,
            instance=instance,
        ).success
    run = lambda: dg.materialize(  # noqa: E731
        [midi_sketch, thumbnail], partition_key="2026-11-27", resources=resources, instance=instance,
        selection=[thumbnail],
    )  # fmt: skip
    result = run()
    assert result.success
    assert all(e.passed for e in result.get_asset_check_evaluations())
    folder = data_dir / "thumbnail" / "2026-11-27"
    names = sorted(p.name for p in folder.iterdir())
    assert names == [
        "cover.jpg",
        "record.json",
        "thumbnail_A.jpg",
        "thumbnail_B.jpg",
        "thumbnail_C.jpg",
    ]
    digest = hashlib.sha256((folder / "thumbnail_A.jpg").read_bytes()).hexdigest()
    assert run().success
    assert hashlib.sha256((folder / "thumbnail_A.jpg").read_bytes()).hexdigest() == digest
