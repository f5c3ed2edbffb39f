"""Issue 17: a growth asset's run config out of range fails the run before anything is read,
decided or sent — never a ZeroDivisionError after approvals were applied, never a request
YouTube would refuse (search.list takes 1 to 50 results)."""

import dagster as dg
import pytest

from lofi_assets.defs.assets.growth import comment_replies, keyword_research, thumbnail_experiment
from lofi_assets.defs.partitions import release_dates
from lofi_assets.defs.records import ThumbnailRecord
from lofi_assets.errors import ConfigError
from lofi_assets.publish.comments import feed_style_requests
from lofi_assets.publish.experiments import StoppingRule
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.growth_fixtures import stage_release, write_record

DATE = "2026-11-28"
UPSTREAM = [
    dg.SourceAsset(key=name, partitions_def=release_dates, io_manager_key="record_io_manager")
    for name in ("release_metadata", "youtube_upload", "thumbnail")
]
pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize(
    ("asset", "config", "field"),
    [
        (comment_replies, {"style_request_threshold": 0}, "style_request_threshold"),
        (comment_replies, {"max_pages": 0}, "max_pages"),
        (keyword_research, {"max_results": 51}, "max_results"),
        (keyword_research, {"max_results": 0}, "max_results"),
        (keyword_research, {"search_budget_units": -1}, "search_budget_units"),
        (thumbnail_experiment, {"alpha": 0.0}, "alpha"),
        (thumbnail_experiment, {"alpha": 1.5}, "alpha"),
        (thumbnail_experiment, {"min_impressions": 0}, "min_impressions"),
        (thumbnail_experiment, {"min_impressions": 9_000, "max_impressions": 8_000}, "below"),
        (thumbnail_experiment, {"as_of": "2026-02-30"}, "YYYY-MM-DD"),
    ],
)
def test_config_out_of_range_fails_before_any_work(data_dir, instance, asset, config, field):
    stage_release(data_dir, DATE, release_video_id="videoRELEASE")
    paths = {v: f"thumbnail/{DATE}/thumbnail_{v}.jpg" for v in "ABC"}
    write_record(data_dir, "thumbnail", DATE, ThumbnailRecord(paths, paths["A"], "headline"))
    partition = "2026-11-22" if asset is keyword_research else DATE
    result = dg.materialize(
        [*UPSTREAM, asset], selection=[asset], partition_key=partition, instance=instance,
        resources=make_resources(data_dir), raise_on_error=False,
        run_config={"ops": {asset.op.name: {"config": config}}},
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.step_failure_data.error
    text = error.message + (error.cause.message if error.cause else "")
    assert field in text and "ZeroDivisionError" not in text
    assert not (data_dir / asset.op.name).exists()  # no manifest, nothing decided


def test_domain_settings_out_of_range_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="style_request_threshold"):
        feed_style_requests({"jazz": 5}, tmp_path / "boosts.json", 0, DATE)
    for bad in (
        {"alpha": 0.0},
        {"min_impressions": 0},
        {"min_impressions": 5, "max_impressions": 4},
    ):
        with pytest.raises(ConfigError):
            StoppingRule(**bad)
