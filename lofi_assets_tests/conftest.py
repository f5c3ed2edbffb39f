"""Fixtures that build what a test needs: temporary data roots and real Dagster instances."""

from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.io import RecordIOManager
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    DistributorResource,
    SoundFontResource,
    WarehouseResource,
    YouTubeResource,
)

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


def make_resources(data_dir: Path) -> dict:
    """Every resource the assets ask for, over one data root; publishing in dry-run."""
    store = ArtifactStore(data_dir=str(data_dir))
    return {
        "channel": ChannelConfig(),
        "soundfont": SoundFontResource(),
        "artifact_store": store,
        "record_io_manager": RecordIOManager(store=store),
        "youtube": YouTubeResource(),  # dry-run: no credentials
        "warehouse": WarehouseResource(url=str(data_dir / "warehouse.duckdb")),
        "distributor": DistributorResource(drop_folder=str(data_dir / "dropbox")),
    }


@pytest.fixture
def resources(data_dir: Path) -> dict:
    return make_resources(data_dir)


SAME_AUDIO_FLOOR_DBFS = -90.0


def assert_same_audio(first: Path, second: Path, floor_dbfs: float = SAME_AUDIO_FLOOR_DBFS) -> None:
    """Two renders are the same audio: equal length and no sample apart by more than -90 dBFS.

    Renders are bit-identical in practice; numpy's SIMD loops may round the last bit
    differently with memory alignment, so the promise is "identical to -90 dBFS".
    """
    from lofi_assets.audio.wav import read_wav

    a, _ = read_wav(first)
    b, _ = read_wav(second)
    assert a.shape == b.shape
    assert float(abs(a - b).max()) <= 10 ** (floor_dbfs / 20)
