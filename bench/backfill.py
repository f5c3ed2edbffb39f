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


def _run_partitions(keys: list[str], duration_s: float) -> list[str]:
    import dagster as dg

    job = dg.reconstructable(_job)
    run_config = {
        "ops": {"midi_sketch": {"config": {"duration_s": duration_s}}},
        "execution": {
            "config": {
                "multiprocess": {
                    "max_concurrent": 1,  # a track's three steps depend on each other
                    "start_method": {
                        "forkserver": {"preload_modules": ["lofi_assets.definitions"]}
                    },
                }
            }
        },
    }
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


def backfill(keys: list[str], workers: int, duration_s: float) -> tuple[float, float]:
    """(wall seconds, the sum of the steps' compute_s) for a fresh instance and data root."""
    import dagster as dg

    root = Path(tempfile.mkdtemp(prefix=f"backfill{workers}_"))
    (root / "home").mkdir()
    shutil.copy(REPO / "dagster.yaml", root / "home" / "dagster.yaml")
    os.environ["DAGSTER_HOME"] = str(root / "home")
    os.environ["LOFI_DATA_DIR"] = str(root / "data")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=30)
    parser.add_argument("--duration", type=float, default=60.0, help="track length (s)")
    args = parser.parse_args()
    keys = [f"{date}|{slot}" for date in DATES for slot in "123"][: args.partitions]
    results = {}
    for workers in (1, 2):
        wall, compute = backfill(keys, workers, args.duration)
        results[workers] = (wall, compute)
        print(
            f"{workers} worker(s): {len(keys)} partitions in {wall:6.1f} s "
            f"({len(keys) / wall * 60:5.1f} partitions/min); steps' compute {compute:6.1f} s",
            flush=True,
        )
    speed_up = results[1][0] / results[2][0]
    overhead = results[1][0] / results[1][1]
    print(f"speed-up 2 vs 1 worker: {speed_up:.2f}x (target ≥ 1.7)")
    print(f"Dagster overhead at 1 worker: {overhead:.2f} (wall / compute; target ≤ 1.15)")


if __name__ == "__main__":
    main()
