"""Scale-out: two real Celery workers on the local Redis share the steps of a partitioned job.

The workers and the runs are separate processes, as on separate machines: they share only the
PostgreSQL instance, the broker and LOFI_DATA_DIR. The queue name is unique to the test, so
nothing else on this Redis takes (or leaves) its tasks.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import dagster as dg
import pytest
import redis
import yaml

from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.pools import POOL_LIMITS, RENDER_POOL
from lofi_assets.defs.scale_out import BACKEND_ENV, BROKER_ENV, QUEUE_ENV
from lofi_assets_tests.conftest import REPO_ROOT, die_with_parent, production_environment

BIN = Path(sys.executable).parent
WORKERS = ("alpha", "beta")
TRACK_ASSETS = ("midi_sketch", "stems", "mastered_wav")

# The two tests that start the most processes (servers, workers, runs) take turns on one
# xdist worker, so their start-ups never share the two cores.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("process_heavy")]


def _start_worker(name: str, queue: str, config: Path, environment: dict, log: Path):
    return subprocess.Popen(
        [
            BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app",
            "-y", str(config), "-q", queue, "-n", name, "--", "--concurrency", "1",
        ],
        env=environment, cwd=REPO_ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True, preexec_fn=die_with_parent,
    )  # fmt: skip


def _wait_until_ready(logs: list[Path], timeout_s: float = 300) -> None:
    """Celery prints '<name>@<host> ready.' once a worker consumes from its queue."""
    deadline = time.monotonic() + timeout_s
    while not all(" ready." in log.read_text() for log in logs):
        if time.monotonic() > deadline:
            tails = "\n".join(log.read_text()[-1500:] for log in logs)
            raise TimeoutError(f"Celery workers did not come up:\n{tails}")
        time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    """Warm shutdown of the worker and its pool; killed if it does not stop."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _execute_partition(key: str, run_config: Path, environment: dict) -> subprocess.Popen:
    """`dagster job execute` for one track partition: the run process submits its steps to
    Celery and waits for them, as a launched run does."""
    date, slot = key.split("|")
    tags = {
        "dagster/partition": key,
        "dagster/partition/date": date,
        "dagster/partition/slot": slot,
    }
    command = ["job", "execute", "-m", "lofi_assets.definitions", "-j", "celery_tracks_job"]
    return subprocess.Popen(
        [BIN / "dagster", *command, "--config", str(run_config), "--tags", json.dumps(tags)],
        env=environment, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, preexec_fn=die_with_parent,
    )  # fmt: skip


def _forget_queue(broker: str, queue: str) -> None:
    client = redis.Redis.from_url(broker)
    keys = [key for key in client.scan_iter("*") if queue.encode() in key]
    if keys:
        client.delete(*keys)


def test_two_celery_workers_share_the_steps_of_a_partitioned_job(
    postgres_url, redis_url, tmp_path, monkeypatch
):
    queue = f"lofi_test_{uuid.uuid4().hex[:10]}"
    broker, backend = f"{redis_url}/0", f"{redis_url}/1"
    # Prepared as the compose stack's init_instance prepares it (every pool's limit set): the
    # three runs' first render claims then never race (dagster-io/dagster#33552).
    production = production_environment(postgres_url, tmp_path)
    environment = {
        **os.environ,
        **production,
        "LOFI_DATA_DIR": str(tmp_path / "data"),
        BROKER_ENV: broker,
        BACKEND_ENV: backend,
        QUEUE_ENV: queue,
        # dagster-celery execs `celery` from PATH.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    # The workers read the same settings as docker/celery_worker.yaml, pointed at this Redis.
    worker_config = yaml.safe_load((REPO_ROOT / "docker" / "celery_worker.yaml").read_text())
    worker_config["execution"]["config"].update(broker=broker, backend=backend)
    (tmp_path / "worker.yaml").write_text(yaml.safe_dump(worker_config))
    run_config = tmp_path / "run.yaml"
    run_config.write_text(json.dumps({"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}))

    logs = [tmp_path / f"{name}.log" for name in WORKERS]
    workers = [
        _start_worker(name, queue, tmp_path / "worker.yaml", environment, log)
        for name, log in zip(WORKERS, logs, strict=True)
    ]
    keys = [track_partition_key("2026-11-20", slot) for slot in ("1", "2", "3")]
    try:
        _wait_until_ready(logs)
        runs = [_execute_partition(key, run_config, environment) for key in keys]
        for run in runs:
            output, _ = run.communicate(timeout=600)
            assert run.returncode == 0, output[-3000:]
    finally:
        for worker in workers:
            _stop(worker)
        _forget_queue(broker, queue)

    for name, value in production.items():
        monkeypatch.setenv(name, value)  # docker/dagster.yaml reads DAGSTER_POSTGRES_*
    instance = dg.DagsterInstance.from_config(production["DAGSTER_HOME"])
    try:
        runs = instance.get_runs()
        assert len(runs) == len(keys) and all(run.is_success for run in runs)
        render = instance.event_log_storage.get_concurrency_info(RENDER_POOL)
        assert (render.slot_count, render.using_default_limit) == (POOL_LIMITS[RENDER_POOL], False)
        assert not render.claimed_slots  # every step gave its slot back
        hosts_by_step: dict[tuple[str, str], str] = {}
        for run in runs:
            for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
                metadata = record.dagster_event.event_specific_data.metadata
                if "Celery worker" in metadata:
                    worker = metadata["Celery worker"].value
                    hosts_by_step[(run.tags["dagster/partition"], record.step_key)] = worker
        # Every step of every partition ran on a worker, and both workers took steps.
        assert set(hosts_by_step) == {(key, step) for key in keys for step in TRACK_ASSETS}
        assert {worker.split("@")[0] for worker in hosts_by_step.values()} == set(WORKERS)
        for asset in TRACK_ASSETS:
            materialized = instance.get_materialized_partitions(dg.AssetKey(asset))
            assert set(keys) <= set(materialized), asset
    finally:
        instance.dispose()
    masters = sorted((tmp_path / "data").rglob("master.wav"))
    assert len(masters) == len(keys), masters
