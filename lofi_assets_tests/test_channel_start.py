"""The channel's calendar starts at its launch day (LOFI_CHANNEL_START), and loading the code
location prints none of Dagster's beta/preview/supersession warnings."""

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from lofi_assets.channel import CHANNEL_START_ENV, DEFAULT_CHANNEL_START, channel_start_date
from lofi_assets.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
DAGSTER_WARNINGS = ("BetaWarning", "PreviewWarning", "SupersessionWarning")

# Run in a fresh interpreter: the calendar is read from the environment when the definitions load.
FIRST_PARTITIONS = """
import json
from lofi_assets.definitions import defs
from lofi_assets.defs.partitions import release_dates, track_partitions

print(json.dumps({
    "release_dates": release_dates.get_first_partition_key(),
    "midi_sketch": str(defs.resolve_assets_def("midi_sketch").partitions_def
                       .get_first_partition_key()),
    "youtube_upload": defs.resolve_assets_def("youtube_upload").partitions_def
                      .get_first_partition_key(),
    "days": len(release_dates.get_partition_keys()),
}))
"""


def _run(
    command: list, environment: dict | None = None, **overrides: str
) -> subprocess.CompletedProcess:
    env = dict(environment or os.environ)
    env.pop(CHANNEL_START_ENV, None)  # each test says which launch day it means
    return subprocess.run(
        [str(part) for part in command], env={**env, **overrides},
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=300,
    )  # fmt: skip


def _first_partitions(**environment: str) -> dict:
    result = _run([sys.executable, "-c", FIRST_PARTITIONS], **environment)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.splitlines()[-1])


def test_the_calendar_starts_at_the_default_launch_day_when_unset():
    first = _first_partitions()
    assert first["release_dates"] == first["youtube_upload"] == DEFAULT_CHANNEL_START
    assert first["midi_sketch"] == f"{DEFAULT_CHANNEL_START}|1"
    today = dt.datetime.now(dt.UTC).date()
    # The launch day to today (end_offset=1), not a two-year calendar of empty days.
    assert first["days"] == (today - dt.date.fromisoformat(DEFAULT_CHANNEL_START)).days + 1


def test_lofi_channel_start_moves_the_calendar_of_every_partitioned_asset():
    first = _first_partitions(**{CHANNEL_START_ENV: "2026-11-20"})
    assert first["release_dates"] == first["youtube_upload"] == "2026-11-20"
    assert first["midi_sketch"] == "2026-11-20|1"


def test_a_launch_day_of_today_in_the_channel_timezone_is_accepted(monkeypatch):
    # UTC+14: its today is often UTC's tomorrow; the calendar's today is the channel's.
    monkeypatch.setenv("LOFI_CHANNEL_TIMEZONE", "Pacific/Kiritimati")
    today = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).date()
    monkeypatch.setenv(CHANNEL_START_ENV, today.isoformat())
    assert channel_start_date() == today.isoformat()
    monkeypatch.setenv(CHANNEL_START_ENV, (today + dt.timedelta(days=1)).isoformat())
    with pytest.raises(ConfigError, match=f"{CHANNEL_START_ENV}: .* is in the future"):
        channel_start_date()


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026-02-30", "20261101", "2026-W44-7", "1/11/2026", "launch"]
)
def test_a_malformed_launch_day_names_the_variable_and_the_format(monkeypatch, value):
    monkeypatch.setenv(CHANNEL_START_ENV, value)
    with pytest.raises(ConfigError, match=CHANNEL_START_ENV) as raised:
        channel_start_date()
    assert repr(value) in str(raised.value) and "YYYY-MM-DD" in str(raised.value)


@pytest.mark.parametrize(
    "value", ["2026-11-31", (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)).isoformat()]
)
def test_a_bad_launch_day_stops_the_code_location_with_its_name(value):
    result = _run(
        [sys.executable, "-c", "import lofi_assets.definitions"], LOFI_CHANNEL_START=value
    )
    assert result.returncode != 0
    assert "ConfigError" in result.stderr and CHANNEL_START_ENV in result.stderr
    assert value in result.stderr


def test_lofi_release_refuses_a_date_before_the_launch_day(tmp_path):
    result = _run(
        [BIN / "lofi", "release", "--date", "2026-11-19"],
        LOFI_CHANNEL_START="2026-11-20", DAGSTER_HOME=str(tmp_path),
    )  # fmt: skip
    assert result.returncode == 2, result.stderr[-3000:]
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("lofi: error: 2026-11-19 is before the channel's start 2026-11-20")
    assert CHANNEL_START_ENV in error
    assert not list(tmp_path.iterdir())  # refused before it touched the instance


def test_loading_the_code_location_prints_no_dagster_warning(environment):
    """We use beta APIs on purpose; `dagster asset list` loads the code location like every
    entry point (dagster dev's code server, the daemon's runs, a step's process) does."""
    listed = _run([BIN / "dagster", "asset", "list", "-m", "lofi_assets.definitions"], environment)
    assert listed.returncode == 0, listed.stderr[-3000:]
    assert "midi_sketch" in listed.stdout
    assert "Warning" not in listed.stderr, listed.stderr[-3000:]
    # -W default shows warnings that the default filters hide; ours must still win.
    imported = _run([sys.executable, "-W", "default", "-c", "import lofi_assets.definitions"])
    assert imported.returncode == 0, imported.stderr[-3000:]
    assert not any(name in imported.stderr for name in DAGSTER_WARNINGS), imported.stderr[-3000:]
