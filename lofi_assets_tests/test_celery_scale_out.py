"""Scale-out: two real Celery workers on 127.0.0.1 take the steps of several partitions' runs."""

import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path

import dagster as dg
import pytest
import yaml

from lofi_assets.defs.scale_out import QUEUE_TAG, celery_tracks_job_definition
from lofi_assets_tests.conftest import REPO_ROOT

BROKER, BACKEND = "redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/1"
BIN = Path(sys.executable).parent
PARTITIONS = ["2026-11-10|1", "2026-11-10|2", "2026-11-11|1", "2026-11-11|2"]


def _redis_or_skip():
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=3).ping()
    except redis.exceptions.ConnectionError as error:
        subprocess.run(
            ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "--port", "6379",
             "--save", "", "--appendonly", "no", "--dir", "/tmp"],
            capture_output=True, check=False,
        )  # fmt: skip
        try:
            redis.Redis.from_url(BROKER, socket_connect_timeout=3).ping()
        except redis.exceptions.ConnectionError:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"Redis is not reachable at {BROKER}: {error}")


def _tags(key: str, queue: str) -> dict[str, str]:
    date, slot = key.split("|")
    return {
        "dagster/partition": key, "dagster/partition/date": date,
        "dagster/partition/slot": slot, QUEUE_TAG: queue,
    }  # fmt: skip


def _start_worker(name, queue, config, environment):
    command = [
        BIN / "dagster-celery", "worker", "start", "-A", "dagster_celery.app", "-y", str(config),
        "-q", queue, "-n", name, "--", "--concurrency", "1",
    ]  # fmt: skip
    return subprocess.Popen(
        command, env=environment, cwd=REPO_ROOT,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.mark.slow
def test_two_celery_workers_share_the_steps_of_a_backfill(environment, tmp_path, monkeypatch):
    _redis_or_skip()
    queue = f"lofi_test_{uuid.uuid4().hex[:8]}"
    config = tmp_path / "celery.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": {
        "broker": BROKER, "backend": BACKEND,
        "config_source": {"worker_prefetch_multiplier": 1, "task_acks_late": True},
    }}}))  # fmt: skip
    names = [f"{queue}_w{index}@127.0.0.1" for index in (1, 2)]
    workers = [_start_worker(name, queue, config, environment) for name in names]
    for name, value in environment.items():
        if name in ("DAGSTER_HOME", "LOFI_DATA_DIR"):
            monkeypatch.setenv(name, value)
    run_config = {"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}}
    job = dg.reconstructable(celery_tracks_job_definition)
    run_ids, failures = [], []
    try:
        with dg.DagsterInstance.get() as instance:

            def run(key):
                with dg.execute_job(
                    job, instance=instance, run_config=run_config, tags=_tags(key, queue)
                ) as result:
                    (run_ids if result.success else failures).append(result.run_id)

            threads = [threading.Thread(target=run, args=(key,)) for key in PARTITIONS]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(600)
            assert failures == [] and len(run_ids) == len(PARTITIONS)
            hosts = set()
            for run_id in run_ids:
                for event in instance.all_logs(run_id):
                    data = event.dagster_event and event.dagster_event.engine_event_data
                    if data and "Celery worker" in (data.metadata or {}):
                        hosts.add(data.metadata["Celery worker"].value)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(60)
    assert hosts == set(names), hosts
    data = Path(environment["LOFI_DATA_DIR"])
    for key in PARTITIONS:
        date, slot = key.split("|")
        assert (data / "mastered_wav" / date / slot / "master.wav").is_file()
