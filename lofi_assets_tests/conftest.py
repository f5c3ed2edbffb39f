"""Fixtures that build what a test needs: temporary data roots and real Dagster instances."""

from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.io import RecordIOManager
from lofi_assets.defs.resources import ArtifactStore, ChannelConfig, SoundFontResource

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.fixture
def resources(data_dir: Path) -> dict:
    store = ArtifactStore(data_dir=str(data_dir))
    return {
        "channel": ChannelConfig(),
        "soundfont": SoundFontResource(),
        "artifact_store": store,
        "record_io_manager": RecordIOManager(store=store),
    }
