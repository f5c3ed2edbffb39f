"""A 30-partition backfill of sketch → stems → master at 1 and 2 workers.

Each partition is one run (the track assets' BackfillPolicy is multi_run with one partition per
run: a failed track never takes others down with it, and runs spread over whatever runs them).
"Workers" are runs executing at the same time, which is what the queued run coordinator's
max_concurrent_runs allows in production; every run uses the multiprocess executor with a
forkserver that preloads the code location, so a step does not pay for importing it again.

Prints partitions per minute, the speed-up of 2 workers over 1 (target ≥ 1.7×) and the
Dagster overhead: wall time at 1 worker / the sum of the domain compute time the steps report
in their `compute_s` metadata (target ≤ 1.15).

    .venv/bin/python bench/backfill.py [--partitions 30] [--duration 60]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DATES = [f"2026-10-{day:02d}" for day in range(1, 32)]


def _job():
    from lofi_assets.definitions import defs

    return defs.resolve_job_def("daily_tracks_job")


def _partition_tags(key: str) -> dict[str, str]:
    date, slot = key.split("|")
    return {
        "dagster/partition": key,
        "dagster/partition/date": date,
        "dagster/partition/slot": slot,
    }


def _run_partitions(keys: list[str], duration_s: float | None) -> list[str]:
    import dagster as dg

    job = dg.reconstructable(_job)
    ops = {"midi_sketch": {"config": {"duration_s": duration_s}}} if duration_s else {}
    # The job's own executor (forked steps, lofi_assets/defs/executor.py); a track's three
    # steps depend on each other, so one at a time.
    run_config = {"ops": ops, "execution": {"config": {"max_concurrent": 1}}}
    run_ids = []
    with dg.DagsterInstance.get() as instance:
        for key in keys:
            with dg.execute_job(
                job, instance=instance, run_config=run_config, tags=_partition_tags(key)
            ) as result:
                if not result.success:
                    raise RuntimeError(f"partition {key} failed (run {result.run_id})")
                run_ids.append(result.run_id)
    return run_ids


def backfill(
    keys: list[str], workers: int, duration_s: float | None, step_threads: int | None
) -> tuple[float, float]:
    """(wall seconds, the sum of the steps' compute_s) for a fresh instance and data root."""
    import dagster as dg

    from lofi_assets.audio.parallel import STEP_THREADS_ENV

    root = Path(tempfile.mkdtemp(prefix=f"backfill{workers}_"))
    (root / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / "home" / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(root / "home")
    os.environ["LOFI_DATA_DIR"] = str(root / "data")
    os.environ.pop(STEP_THREADS_ENV, None)
    if step_threads:
        os.environ[STEP_THREADS_ENV] = str(step_threads)
    with dg.DagsterInstance.get() as instance:
        instance.get_runs(limit=1)  # create the SQLite schema once, not in two workers at once
    shares = [keys[i::workers] for i in range(workers)]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        list(pool.map(_run_partitions, shares, [duration_s] * workers))
    wall = time.perf_counter() - started
    compute = 0.0
    with dg.DagsterInstance.get() as instance:
        for asset in ("midi_sketch", "stems", "mastered_wav"):
            for record in instance.fetch_materializations(dg.AssetKey(asset), limit=1000).records:
                metadata = record.asset_materialization.metadata
                compute += float(metadata["compute_s"].value)
    shutil.rmtree(root, ignore_errors=True)
    return wall, compute


def _report(label: str, partitions: int, wall: float, compute: float) -> None:
    print(
        f"{label}: {partitions} partitions in {wall:6.1f} s "
        f"({partitions / wall * 60:5.1f} partitions/min); steps' compute {compute:6.1f} s",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=30)
    parser.add_argument(
        "--duration", type=float, default=None, help="track length (s); default: the channel's"
    )
    parser.add_argument(
        "--step-threads", type=int, default=1,
        help="LOFI_STEP_THREADS for every step (1: the cores go to concurrent runs)",
    )  # fmt: skip
    parser.add_argument(
        "--all-cores-reference", action="store_true",
        help="also time 1 worker whose steps use every core (the daily release's setting)",
    )  # fmt: skip
    args = parser.parse_args()
    keys = [f"{date}|{slot}" for date in DATES for slot in "123"][: args.partitions]
    results = {}
    for workers in (1, 2):
        results[workers] = backfill(keys, workers, args.duration, args.step_threads)
        _report(
            f"{workers} worker(s), {args.step_threads} thread(s) a step",
            len(keys),
            *results[workers],
        )
    if args.all_cores_reference:
        reference = backfill(keys, 1, args.duration, None)
        _report("1 worker, steps on every core", len(keys), *reference)
        print(f"2 workers vs 1 worker on every core: {reference[0] / results[2][0]:.2f}x")
    speed_up = results[1][0] / results[2][0]
    overhead = results[1][0] / results[1][1]
    print(f"speed-up 2 vs 1 worker: {speed_up:.2f}x (target ≥ 1.7)")
    print(f"Dagster overhead at 1 worker: {overhead:.2f} (wall / compute; target ≤ 1.15)")


if __name__ == "__main__":
    main()
