"""A run whose worker is killed mid-render: failed, retried, its render slot freed, and no step
left rendering as an orphan. The real dagster-webserver and dagster-daemon on the repository's
dagster.yaml (run monitoring, run retries, pools), as `dagster dev` runs them."""

import hashlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pytest

from lofi_assets.audio.production import STEM_NAMES
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.produce import stems
from lofi_assets.defs.pools import RENDER_POOL
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.webserver import launch_partition_run, running_webserver

DATE, SLOT = "2026-11-27", "1"
PARTITION = f"{DATE}|{SLOT}"
# Long enough that stems renders for several seconds (about 8 s on two cores), so the kill
# lands inside the step, short enough to keep the retry and the reference render quick.
RUN_CONFIG = {"ops": {"midi_sketch": {"config": {"duration_s": 180.0}}}}
# The promise: a dead run is failed and its slots freed within this long of the kill.
RECOVERY_S = 180.0


def _launch(webserver, assets: list[str]) -> str:
    """Launch a run of ``assets`` for PARTITION through GraphQL, as the UI's Materialize does."""
    return launch_partition_run(webserver, assets, DATE, SLOT, RUN_CONFIG)


def _wait_for(what: str, probe: Callable[[], Any], timeout_s: float) -> Any:
    """``probe()``'s first truthy answer, asked every 0.25 s."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout_s:.0f} s")
        time.sleep(0.25)


def _event(instance: dg.DagsterInstance, run_id: str, kind: dg.DagsterEventType, step=None):
    for entry in instance.all_logs(run_id, of_type=kind):
        if step is None or entry.step_key == step:
            return entry
    return None


def _parent_pid(pid: int) -> int:
    # /proc/<pid>/stat: "pid (comm) state ppid …"; comm may hold spaces, so split after ")".
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _alive(pid: int) -> bool:
    """Running (a zombie has finished: it only waits to be reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def _stem_digests(folder: Path) -> dict[str, str]:
    return {
        wav.name: hashlib.sha256(wav.read_bytes()).hexdigest()
        for wav in sorted(folder.glob("*.wav"))
    }


@pytest.mark.slow
@pytest.mark.xdist_group("process_heavy")  # takes turns with the other server-starting tests
def test_a_run_killed_mid_stems_fails_is_retried_and_frees_its_render_slot(
    environment, tmp_path, monkeypatch
):
    home = environment["DAGSTER_HOME"]
    monkeypatch.setenv("DAGSTER_HOME", home)  # dagster.yaml reads it; we watch the same instance
    with (
        running_webserver(environment, with_daemon=True) as webserver,
        dg.DagsterInstance.from_config(home) as instance,
    ):
        run_id = _launch(webserver, ["midi_sketch", "stems"])
        step_start = _wait_for(
            "stems started",
            lambda: _event(instance, run_id, dg.DagsterEventType.STEP_START, "stems"),
            timeout_s=300,
        )
        run_start = _event(instance, run_id, dg.DagsterEventType.RUN_START)
        run_worker, step = run_start.dagster_event.pid, step_start.dagster_event.pid
        # The step is a fork of the run worker's forkserver (defs/executor.py).
        assert _parent_pid(_parent_pid(step)) == run_worker
        time.sleep(2.0)  # into the render
        assert not _event(instance, run_id, dg.DagsterEventType.STEP_SUCCESS, "stems")
        render = instance.event_log_storage.get_concurrency_info(RENDER_POOL)
        assert run_id in render.active_run_ids  # the slot a dead worker would never free
        # SIGKILL of the run worker alone (the OOM killer's choice): no handler runs, nothing
        # is reported, and the step's own process is not signalled.
        os.kill(run_worker, signal.SIGKILL)
        killed_at = time.monotonic()

        # The step does not render on as an orphan (it had 6 s or more of rendering left, and
        # an orphan writes its STEP_SUCCESS into the failed run, its files into the retry's).
        _wait_for("the step process exited", lambda: not _alive(step), timeout_s=5)
        failed = _wait_for(
            "the killed run marked failed",
            lambda: (run := instance.get_run_by_id(run_id)).is_finished and run,
            timeout_s=60,
        )
        assert failed.status == dg.DagsterRunStatus.FAILURE
        assert not _event(instance, run_id, dg.DagsterEventType.STEP_SUCCESS, "stems")

        # Run retries: a run that died (not a step that failed) is re-executed from failure.
        retried = dg.RunsFilter(tags={"dagster/parent_run_id": run_id})
        retry = _wait_for(
            "the retry run finished",
            lambda: next((r for r in instance.get_runs(filters=retried) if r.is_finished), None),
            timeout_s=300,
        )
        assert retry.status == dg.DagsterRunStatus.SUCCESS, retry.status

        # Run monitoring frees the slot the dead worker never released.
        def render_slots_free() -> bool:
            return not instance.event_log_storage.get_concurrency_info(RENDER_POOL).claimed_slots

        _wait_for("the render slot freed", render_slots_free, timeout_s=RECOVERY_S)
        assert time.monotonic() - killed_at < RECOVERY_S

    # The retry's stems are exactly what an undisturbed render of the partition makes.
    reference = tmp_path / "reference"
    reference.mkdir()
    assert dg.materialize(
        [midi_sketch, stems], partition_key=PARTITION, resources=make_resources(reference),
        run_config=RUN_CONFIG,
    ).success  # fmt: skip
    retried_stems = _stem_digests(Path(environment["LOFI_DATA_DIR"]) / "stems" / DATE / SLOT)
    assert len(retried_stems) == len(STEM_NAMES)
    assert retried_stems == _stem_digests(reference / "stems" / DATE / SLOT)
