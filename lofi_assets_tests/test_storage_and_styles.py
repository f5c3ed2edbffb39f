from pathlib import Path

import pytest
import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir, load_progressions, load_styles, parse_style
from lofi_assets.storage import atomic_path, write_bytes_atomic


def test_atomic_write_replaces_the_whole_file(tmp_path):
    target = tmp_path / "a" / "file.bin"
    write_bytes_atomic(target, b"first")
    write_bytes_atomic(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in target.parent.iterdir()] == ["file.bin"]


def test_a_failed_write_leaves_the_previous_version_and_no_temporary(tmp_path):
    target = tmp_path / "file.bin"
    target.write_bytes(b"good")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_bytes(b"half")
        raise RuntimeError("crash mid-write")
    assert target.read_bytes() == b"good"
    assert [p.name for p in tmp_path.iterdir()] == ["file.bin"]


def test_style_presets_are_valid_and_fit_the_brief():
    styles = load_styles()
    assert len(styles) == 7
    templates = load_progressions()
    for style in styles.values():
        assert 65 <= style.bpm_min <= style.bpm_max <= 95
        assert 0.54 <= style.swing_min <= style.swing_max <= 0.62
        assert style.ambience and style.instruments["keys"].program >= 0
        for mode in style.mode_weights:
            fitting = [n for n in style.progression_weights if mode in templates[n].modes]
            assert fitting, f"{style.name} has no progression for {mode}"


def _style_document() -> dict:
    return yaml.safe_load((assets_library_dir() / "styles" / "jazz.yaml").read_text())


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(bpm={"min": 60, "max": 120}), "bpm range"),
        (lambda d: d["humanize"]["jitter_ms"].update(kick=30), "jitter_ms"),
        (lambda d: d["instruments"].pop("bass"), "instruments lacks"),
        (lambda d: d["drums"].update(kick_patterns=["polka"]), "kick_patterns"),
        (lambda d: d.update(modes={"klingon": 1}), "unknown names"),
    ],
)
def test_a_broken_style_file_names_the_file_and_field(change, message):
    document = _style_document()
    change(document)
    with pytest.raises(ConfigError, match=message) as error:
        parse_style(document, Path("styles/broken.yaml"))
    assert "styles/broken.yaml" in str(error.value)
