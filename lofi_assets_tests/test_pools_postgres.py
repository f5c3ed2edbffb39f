"""Pools on a fresh PostgreSQL instance: prepared as the product prepares one (``lofi pools``,
the compose stack's init_instance), three runs that start together and claim pool slots all
succeed, every time.

Unprepared, a pool's limit row is created by the first step that claims it
(``initialize_concurrency_limit_to_default``); concurrent first claims race and the loser's
transaction aborts (dagster-io/dagster#33552). This setup without ``prepare_pools`` failed a run
in 5 of 10 rounds (``InFailedSqlTransaction`` after the duplicate INSERT into
``concurrency_limits``).
"""

import multiprocessing
import os
import subprocess
import sys
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from unittest import mock

import dagster as dg
import pytest

from lofi_assets.defs.assets.publish import analytics_snapshot
from lofi_assets.defs.partitions import release_dates
from lofi_assets.defs.pools import POOL_LIMITS, RENDER_POOL
from lofi_assets_tests.conftest import (
    POSTGRES_ADMIN_URL,
    REPO_ROOT,
    _postgres_admin,
    make_resources,
    production_environment,
)

BIN = Path(sys.executable).parent
# Without prepared pools half the rounds failed (dagster#33552): five rounds miss such a
# regression 1 time in 32, at half the time of ten.
ROUNDS = 5
RUNS = 3
DATES = ("2026-11-02", "2026-11-03", "2026-11-04")
START_DELAY_S = 1.0  # time for every process to open its instance before the runs start


@dg.asset(partitions_def=release_dates, pool=RENDER_POOL)
def render_slot_probe(context: dg.AssetExecutionContext) -> None:
    """Runs only once the render pool (the reported race's) admitted it; fails otherwise."""
    render = context.instance.event_log_storage.get_concurrency_info(RENDER_POOL)
    # A claim queues the step and runs it once a slot is assigned to it; that record stays
    # until the step frees its slot. (Not the slot row: dagster-postgres locks it with FOR
    # UPDATE SKIP LOCKED under autocommit, so two simultaneous claims may both write one row.)
    admitted = {step.run_id for step in render.pending_steps if step.assigned_timestamp}
    assert context.run_id in admitted, "the step ran without the render pool admitting it"


def _materialize(environment: dict[str, str], data_dir: str, date: str, start_at: float):
    """In its own process, as a run of its own: ``analytics_snapshot`` (pool youtube_api; a
    dry run without a YouTube token) and the render probe for ``date``; the first error of a
    failed run, or None. The run claims its slots through the in-process executor's
    InstanceConcurrencyContext, the same claim path a launched run's executor takes."""
    os.environ.update(environment)  # docker/dagster.yaml reads DAGSTER_POSTGRES_*
    # Each run's warehouse is its own DuckDB file under data_dir: runs never share one file.
    resources = make_resources(Path(data_dir))
    with dg.DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        time.sleep(max(0.0, start_at - time.time()))  # the three runs start together
        result = dg.materialize(
            [analytics_snapshot, render_slot_probe], partition_key=date, instance=instance,
            resources=resources, raise_on_error=False,
        )  # fmt: skip
    if result.success:
        return None
    errors = [
        event.event_specific_data.error.message
        for event in result.all_events
        if getattr(event.event_specific_data, "error", None)
    ]
    return errors[0] if errors else "the run failed without an error"


# Every pool at its own limit (not the instance's default), no slot claimed, no step waiting.
PREPARED_AND_IDLE = {pool: (limit, False, 0) for pool, limit in POOL_LIMITS.items()}


def _pool_states(production: dict[str, str]) -> dict[str, tuple[int, bool, int]]:
    """Per pool: (slots, whether it still uses the default limit, steps holding or awaiting a
    slot)."""
    with (
        mock.patch.dict(os.environ, production),  # docker/dagster.yaml reads DAGSTER_POSTGRES_*
        dg.DagsterInstance.from_config(production["DAGSTER_HOME"]) as instance,
    ):
        infos = {
            pool: instance.event_log_storage.get_concurrency_info(pool) for pool in POOL_LIMITS
        }
    return {
        pool: (
            info.slot_count,
            info.using_default_limit,
            len(info.claimed_slots) + len(info.pending_steps),
        )
        for pool, info in infos.items()
    }


def _fresh_database() -> tuple[str, str]:
    """A new, empty database: (its URL, its name)."""
    admin = _postgres_admin()
    admin.autocommit = True
    name = f"lofi_pools_{uuid.uuid4().hex[:10]}"
    with admin.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {name}")
    admin.close()
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}", name


def _drop_database(name: str) -> None:
    admin = _postgres_admin()
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.close()


def test_every_pool_an_op_declares_has_a_limit_to_prepare():
    from lofi_assets.definitions import defs

    declared = {
        node.pool
        for job in defs.resolve_all_job_defs()
        for node in job.all_node_defs
        if isinstance(node, dg.OpDefinition) and node.pool
    }
    assert declared == set(POOL_LIMITS)


def test_lofi_pools_prepares_a_fresh_postgresql_instance_and_may_run_again(postgres_url, tmp_path):
    """What the compose stack's init_instance runs on every start-up."""
    production = production_environment(postgres_url, tmp_path, prepare=False)
    environment = {**os.environ, **production}
    for _ in range(2):  # a restarted stack runs it again
        done = subprocess.run(
            [BIN / "lofi", "pools"], env=environment, cwd=REPO_ROOT, capture_output=True,
            text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.splitlines() == [f"pool {p}: {n}" for p, n in POOL_LIMITS.items()]
    assert _pool_states(production) == PREPARED_AND_IDLE


@pytest.mark.slow
def test_three_concurrent_runs_on_a_fresh_postgresql_instance_all_succeed(tmp_path):
    # Separate processes (a forkserver that has imported the code location: a run starts in
    # milliseconds) with their own connections, as three run workers have.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["lofi_assets.definitions", "dagster_postgres"])
    with ProcessPoolExecutor(RUNS, mp_context=context) as workers:
        for round_number in range(ROUNDS):
            url, name = _fresh_database()
            try:
                folder = tmp_path / f"round_{round_number}"
                production = production_environment(url, folder)  # prepares the pools
                start_at = time.time() + START_DELAY_S
                runs = [
                    workers.submit(_materialize, production, str(folder / date), date, start_at)
                    for date in DATES
                ]
                errors = [run.result(timeout=120) for run in runs]
                assert errors == [None] * RUNS, f"round {round_number}: {errors}"
                assert _pool_states(production) == PREPARED_AND_IDLE
            finally:
                _drop_database(name)
