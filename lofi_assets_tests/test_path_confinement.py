"""Paths built from outside data stay under the data root (issue 15, item 8).

A breakout's video id arrives from the UI's launchpad (run config anyone with the UI can type)
or from an API response through the warehouse and analytics_threshold_sensor. Before the fix,
``../../../../tmp/x`` or ``/tmp/x`` wrote the variations' MIDI files outside LOFI_DATA_DIR.
The shared guard is ``storage.confined_path``; ids are checked against YouTube's format first.
"""

import os
import re
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.feedback import breakout_feedback
from lofi_assets.defs.automation import analytics_threshold_sensor
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.resources import ArtifactStore, ChannelConfig, WarehouseResource
from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.publish.analytics import Snapshot, upsert_snapshot
from lofi_assets.publish.feedback import InvalidVideoIdError, require_iso_date, require_video_id
from lofi_assets.storage import PathEscapeError, confined_path
from lofi_assets_tests.conftest import make_resources

DATE = "2026-11-25"
VALID_ID = "dQw4w9WgXcQ"
# The inputs: a climb out of the data root and an absolute path.
ESCAPING_IDS = ("../../../../tmp/x", "/tmp/x")


def _tree(folder: Path) -> set[str]:
    """Every file and folder under ``folder`` (relative), for before/after comparisons."""
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*")}


# --- the helper ----------------------------------------------------------------------------


def test_confined_path_joins_plain_relative_names(tmp_path):
    root = tmp_path / "data"
    assert confined_path(root, "stems", "2026-11-25", "1") == root / "stems" / "2026-11-25" / "1"
    assert confined_path(root, "audio/01_x.wav") == root / "audio" / "01_x.wav"


@pytest.mark.parametrize(
    ("part", "reason"),
    [
        ("/tmp/x", "absolute path"),
        ("../../../../tmp/x", "'..'"),
        ("..", "'..'"),
        ("breakout_feedback/../../x", "'..'"),
        ("a/../b", "'..'"),  # comes back inside, but no name the product makes has one
        ("", "names nothing"),
        (".", "names nothing"),
        ("x\0y", "NUL"),
    ],
)
def test_confined_path_refuses_names_that_are_not_plain(tmp_path, part, reason):
    with pytest.raises(PathEscapeError, match=reason) as raised:
        confined_path(tmp_path / "data", "breakout_feedback", part, what="YouTube video id")
    assert f"YouTube video id {part!r}" in str(raised.value)
    assert isinstance(raised.value, ConfigError) and isinstance(raised.value, LofiError)


def test_confined_path_refuses_a_symlink_that_leads_out(tmp_path):
    root, outside = tmp_path / "data", tmp_path / "outside"
    (root / "breakout_feedback").mkdir(parents=True)
    outside.mkdir()
    (root / "breakout_feedback" / "planted").symlink_to(outside, target_is_directory=True)
    with pytest.raises(PathEscapeError, match="through a symbolic link") as raised:
        confined_path(root, "breakout_feedback", "planted", "x.mid")
    assert str(outside.resolve()) in str(raised.value)
    # A link that stays inside is an ordinary folder; a loop is refused, not followed for ever.
    (root / "inside").symlink_to(root / "breakout_feedback", target_is_directory=True)
    assert confined_path(root, "inside", "x") == root / "inside" / "x"
    (root / "loop").symlink_to(root / "loop")
    with pytest.raises(PathEscapeError, match="loop"):
        confined_path(root, "loop", "x")


def test_a_data_root_that_is_itself_a_link_is_fine(tmp_path):
    (tmp_path / "disk").mkdir()
    (tmp_path / "data").symlink_to(tmp_path / "disk", target_is_directory=True)
    assert confined_path(tmp_path / "data", "a", "b") == tmp_path / "data" / "a" / "b"


@pytest.mark.parametrize("name", ["‥", "．．", "…", "...", "v1..2", "..x", "x..", "﹒﹒"])
def test_names_made_of_unicode_or_extra_dots_are_plain_names(tmp_path, name):
    root = tmp_path / "data"
    path = confined_path(root, "breakout_feedback", name)
    assert path == root / "breakout_feedback" / name
    path.mkdir(parents=True)
    assert path.resolve().parent == (root / "breakout_feedback").resolve()


def test_the_artifact_store_confines_partition_keys_and_record_paths(tmp_path):
    store = ArtifactStore(data_dir=str(tmp_path / "data"))
    good = store.partition_dir("stems", track_partition_key(DATE, "1"))
    assert good == store.root / "stems" / DATE / "1"
    with pytest.raises(PathEscapeError, match=re.escape("partition key '../../../../tmp/x'")):
        store.partition_dir("stems", track_partition_key("../../../../tmp/x", "1"))
    with pytest.raises(PathEscapeError, match="partition key '/tmp/x'"):
        store.partition_dir("release_mix", "/tmp/x")
    # A record's paths are read back through resolve(): an edited record cannot lead out.
    assert store.resolve("stems/2026-11-25/1/drums.wav") == good / "drums.wav"
    for path in ("../../etc/passwd", "/etc/passwd"):
        with pytest.raises(PathEscapeError, match="artifact path"):
            store.resolve(path)


# --- the id's documented format ------------------------------------------------------------


@pytest.mark.parametrize("video_id", [VALID_ID, "video-00001", "_-_-_-_-_-_", "A1b2C3d4E5f"])
def test_eleven_url_safe_characters_are_a_video_id(video_id):
    assert require_video_id(video_id) == video_id


@pytest.mark.parametrize(
    "video_id",
    [
        *ESCAPING_IDS,
        "dQw4w9WgXc",  # 10 characters
        "dQw4w9WgXcQQ",  # 12
        "dQw4w9WgXc/",
        "dQw4w9WgXc.",
        "dQw4w9WgXcQ\n",
        "dQw4w9WgXç",
        "..........",
        "",
        None,
    ],
)
def test_anything_else_is_refused_with_the_format_and_where_to_find_it(video_id):
    with pytest.raises(InvalidVideoIdError, match="is not a YouTube video id") as raised:
        require_video_id(video_id, "breakout_feedback config video_id")
    message = str(raised.value)
    assert message.startswith(f"breakout_feedback config video_id {video_id!r}")
    assert "11 characters" in message and "URL" in message


@pytest.mark.parametrize("text", ["20261125", "2026-W48-3", "../../x", "2026-11-31", "", None])
def test_release_dates_are_plain_iso_days(text):
    assert require_iso_date(DATE, "release_date") == DATE
    with pytest.raises(ConfigError, match="use YYYY-MM-DD"):
        require_iso_date(text, "release_date")


# --- through the real asset and sensor -----------------------------------------------------


@pytest.fixture(scope="module")
def sketched(tmp_path_factory):
    """A data root three levels below a temporary folder (so a climb out lands inside it,
    where it can be seen) holding one real midi_sketch of ``DATE``, slot 1 (shared by the
    module's runs: each compares the whole folder before and after itself)."""
    tmp_path = tmp_path_factory.mktemp("confinement")
    data = tmp_path / "deploy" / "srv" / "data"
    resources = make_resources(data)
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [midi_sketch], partition_key=track_partition_key(DATE, "1"), resources=resources,
            instance=instance, run_config={"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
        ).success  # fmt: skip
        yield {"tmp": tmp_path, "data": data, "resources": resources, "instance": instance}


def _breakout(sketched, **config) -> dg.ExecuteInProcessResult:
    run_config = {"video_id": VALID_ID, "release_date": DATE, "variations": 1, **config}
    return dg.materialize(
        [breakout_feedback], resources=sketched["resources"], instance=sketched["instance"],
        run_config={"ops": {"breakout_feedback": {"config": run_config}}}, raise_on_error=False,
    )  # fmt: skip


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (failure,) = result.get_step_failure_events()
    return failure.step_failure_data.user_failure_data.description


@pytest.mark.parametrize(
    "video_id", [*ESCAPING_IDS, "../../../escaped", "../../../../../../../../../../x"]
)
def test_a_breakout_id_that_is_a_path_writes_nothing_anywhere(sketched, video_id):
    """The launchpad's run config with the issue's ids: the run fails with the id's format
    and no file appears, inside the data root or out of it."""
    before = _tree(sketched["tmp"])
    tmp_x_existed = os.path.lexists("/tmp/x")
    result = _breakout(sketched, video_id=video_id)
    assert not result.success
    message = _failure(result)
    assert message.startswith(f"breakout_feedback config video_id {video_id!r} is not a YouTube")
    assert _tree(sketched["tmp"]) == before
    assert os.path.lexists("/tmp/x") == tmp_x_existed


def test_a_breakout_date_or_start_that_is_not_a_day_writes_nothing(sketched):
    before = _tree(sketched["tmp"])
    for config, field in (
        ({"release_date": "../../../../tmp"}, "release_date"),
        ({"effective_from": "tomorrow"}, "effective_from"),  # was checked after the writes
    ):
        message = _failure(_breakout(sketched, **config))
        assert message.startswith(f"breakout_feedback {field} ") and "YYYY-MM-DD" in message
    assert _tree(sketched["tmp"]) == before


def test_a_valid_breakout_id_writes_under_the_data_root_only(sketched):
    before = _tree(sketched["tmp"])
    assert _breakout(sketched, effective_from="2026-11-26").success
    added = _tree(sketched["tmp"]) - before
    prefix = "deploy/srv/data/"
    assert added and all(path.startswith(prefix) for path in added), added
    assert f"{prefix}breakout_feedback/{VALID_ID}/variation_1/sketch.mid" in added


def _warehouse_with(tmp_path: Path, rows: dict[str, int]) -> WarehouseResource:
    """A DuckDB warehouse where each video id in ``rows`` had that many views in its first two
    days (half each day), watched 300 s of 540 s: over the default thresholds."""
    resource = WarehouseResource(url=str(tmp_path / "analytics.duckdb"))
    snapshot = Snapshot("2026-11-26")
    for video_id, views in rows.items():
        snapshot.total_rows.append((video_id, DATE, "t", 540.0, views, 0, 0, "2026-11-26"))
        for day in (DATE, "2026-11-26"):
            snapshot.daily_rows.append((day, video_id, views // 2, 1.0, 300.0, 0, 0, "2026-11-26"))
    upsert_snapshot(resource.client(), snapshot)
    return resource


def _tick(tmp_path: Path, warehouse: WarehouseResource):
    with dg.instance_for_test() as instance, dg.build_sensor_context(
        instance=instance, resources={"channel": ChannelConfig(), "warehouse": warehouse}
    ) as context:  # fmt: skip
        return analytics_threshold_sensor(context)


def test_the_sensor_never_requests_a_run_for_an_id_from_the_api_that_is_a_path(tmp_path):
    """An analytics row whose id is a path (a hostile or broken API response) is the biggest
    breakout: the sensor requests the valid one and leaves the path out."""
    warehouse = _warehouse_with(tmp_path, {"../../../../tmp/x": 9_000, VALID_ID: 2_000})
    request = _tick(tmp_path, warehouse)
    assert isinstance(request, dg.RunRequest)
    assert request.run_key == f"breakout-{VALID_ID}"
    assert request.run_config["ops"]["breakout_feedback"]["config"]["video_id"] == VALID_ID


def test_the_sensor_skips_and_says_so_when_only_malformed_ids_cross(tmp_path):
    warehouse = _warehouse_with(tmp_path, {"/tmp/x": 9_000})
    skipped = _tick(tmp_path, warehouse)
    assert isinstance(skipped, dg.SkipReason)
    assert "'/tmp/x' is not a YouTube video id" in skipped.skip_message
