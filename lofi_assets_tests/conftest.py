"""Fixtures that build what a test needs: temporary data roots and real Dagster instances."""

import os
import subprocess
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.io import RecordIOManager
from lofi_assets.defs.resources import (
    ArtifactStore,
    ChannelConfig,
    DistributorResource,
    MelodyModelResource,
    ReportResource,
    SoundFontResource,
    StyleBoostStore,
    WarehouseResource,
    YouTubeResource,
)

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def prepare_instance(environment: dict[str, str]) -> None:
    """Prepare the instance in ``environment["DAGSTER_HOME"]`` as the product does before it
    accepts runs (``lofi pools``, the compose stack's init_instance): storage created and every
    pool's limit set, so no run takes the racy default-limit path (dagster-io/dagster#33552)."""
    from unittest import mock

    from lofi_assets.defs.pools import prepare_pools

    # The instance's dagster.yaml reads DAGSTER_HOME and DAGSTER_POSTGRES_* from os.environ.
    with (
        mock.patch.dict(os.environ, environment),
        dg.DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance,
    ):
        prepare_pools(instance)


@pytest.fixture
def environment(tmp_path: Path) -> dict:
    """A subprocess environment: its own DAGSTER_HOME (the repo's dagster.yaml, pools
    prepared) and data root."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    prepared = {**os.environ, "DAGSTER_HOME": str(home), "LOFI_DATA_DIR": str(tmp_path / "data")}
    prepare_instance(prepared)
    return prepared


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
        "melody_models": MelodyModelResource(store=store),
        "style_boosts": StyleBoostStore(store=store),
        # dry-run whatever the environment holds: $YOUTUBE_TOKEN_FILE would make "auto" live
        "youtube": YouTubeResource(mode="dry_run"),
        "warehouse": WarehouseResource(url=str(data_dir / "warehouse.duckdb")),
        "distributor": DistributorResource(drop_folder=str(data_dir / "dropbox")),
        # the report as an .eml whatever the environment holds ($LOFI_SMTP_HOST would send it)
        "report": ReportResource(mode="dry_run"),
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


POSTGRES_ADMIN_URL = os.environ.get(
    "LOFI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _postgres_admin():
    """A connection to the local PostgreSQL, starting the cluster once if it is down."""
    import psycopg2

    try:
        return psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=5)
    except psycopg2.OperationalError:
        subprocess.run(
            "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start",
            shell=True, capture_output=True, timeout=60,
        )  # fmt: skip
        try:
            return psycopg2.connect(POSTGRES_ADMIN_URL, connect_timeout=5)
        except psycopg2.OperationalError as error:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}: {error}")


@pytest.fixture
def postgres_url():
    """A uniquely named database on the local PostgreSQL, dropped afterwards."""
    admin = _postgres_admin()
    admin.autocommit = True
    name = f"lofi_test_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.close()


def production_environment(postgres_url: str, folder: Path, prepare: bool = True) -> dict[str, str]:
    """DAGSTER_HOME with docker/dagster.yaml (PostgreSQL storage) and the DAGSTER_POSTGRES_*
    variables it reads, pointing at ``postgres_url``; unless ``prepare`` is false, the instance
    prepared as the compose stack's init_instance prepares it (schema, every pool's limit)."""
    import shutil
    import urllib.parse

    home = folder / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "docker" / "dagster.yaml", home / "dagster.yaml")
    parsed = urllib.parse.urlparse(postgres_url)
    production = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "DAGSTER_POSTGRES_PORT": str(parsed.port or 5432),
        "DAGSTER_POSTGRES_USER": parsed.username or "postgres",
        "DAGSTER_POSTGRES_PASSWORD": parsed.password or "",
        "DAGSTER_POSTGRES_DB": parsed.path.lstrip("/"),
    }
    if prepare:
        prepare_instance(production)
    return production


REDIS_URL = os.environ.get("LOFI_TEST_REDIS", "redis://127.0.0.1:6379")


@pytest.fixture
def redis_url() -> str:
    """The local Redis (started once if it is down); skipped only outside CI."""
    import redis

    def reachable() -> bool:
        try:
            return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).ping())
        except redis.RedisError:
            return False

    if not reachable():
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
             "--save", "", "--appendonly", "no", "--dir", "/tmp"],
            capture_output=True, timeout=30, check=False,
        )  # fmt: skip
        for _ in range(20):
            if reachable():
                break
            time.sleep(0.5)
        else:
            if os.environ.get("CI"):
                raise RuntimeError(f"Redis is not reachable at {REDIS_URL}")
            pytest.skip(f"Redis is not reachable at {REDIS_URL} and could not be started")
    return REDIS_URL


def die_with_parent() -> None:
    """``preexec_fn`` for long-lived test servers: SIGTERM them when the test process dies,
    even by a crash that skips every finaliser (Linux ``PR_SET_PDEATHSIG``)."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
