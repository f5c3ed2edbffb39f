"""Issue 17 §1: the day's teaser as a YouTube Short, on a real Dagster instance: the exact
dry-run request, and live uploads to the local YouTube server (once across re-runs, with its
own ledger row; quota, 403 and 5xx faults)."""

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.assets.growth import shorts_upload
from lofi_assets.defs.partitions import release_dates
from lofi_assets.defs.resources import YouTubeResource
from lofi_assets.publish.metadata import MAX_TAGS_CHARS, MAX_TITLE_CHARS, tags_length
from lofi_assets.publish.shorts import (
    RELEASE_ID_PLACEHOLDER,
    ShortFacts,
    release_url,
    short_problems,
    short_text,
    short_title,
    short_upload,
)
from lofi_assets.publish.upload import UploadLedger, release_tag
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.growth_fixtures import PUBLISH_AT, stage_release
from lofi_assets_tests.youtube_server import QUOTA_ERROR, LocalYouTube, write_token_file

DATE = "2026-11-28"
RELEASE_VIDEO = "videoRELEASE"
SESSION_START = "POST /upload/youtube/v3/videos"
# Upstream as sources: their records (written by stage_release) load through the IO manager.
ASSETS = [
    *(dg.SourceAsset(key=name, partitions_def=release_dates, io_manager_key="record_io_manager")
      for name in ("shorts_teaser", "release_metadata", "youtube_upload")),
    shorts_upload,
]  # fmt: skip
pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def server():
    with LocalYouTube() as local:
        yield local


def _live(server, folder) -> YouTubeResource:
    token = write_token_file(folder / "token.json", server.endpoint)
    return YouTubeResource(token_file=str(token), endpoint=server.endpoint, chunk_mb=1)


def _run(data, instance, **resources):
    return dg.materialize(
        ASSETS, selection=[shorts_upload], partition_key=DATE, instance=instance,
        resources={**make_resources(data), **resources}, raise_on_error=False,
    )  # fmt: skip


def _failure(result) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return event.step_failure_data.error.message


def test_dry_run_writes_the_exact_short_request(data_dir, instance):
    document = stage_release(data_dir, DATE)
    result = _run(data_dir, instance)
    assert result.success
    manifest = json.loads((data_dir / "shorts_upload" / DATE / "manifest.json").read_text())
    (insert,) = manifest["requests"]  # no thumbnail, no playlist: one videos.insert
    assert insert["call"] == "videos.insert" and insert["method"] == "POST"
    assert "part=snippet%2Cstatus%2Clocalizations" in insert["uri"]
    assert manifest["ledger_key"] == f"short-{DATE}" and manifest["problems"] == []
    body = insert["body"]
    snippet = body["snippet"]
    assert snippet["title"] == f"{document['title']} #Shorts"
    link = f"https://www.youtube.com/watch?v={RELEASE_ID_PLACEHOLDER}"
    assert link in snippet["description"] and "#Shorts" in snippet["description"]
    assert release_tag(f"short-{DATE}") in snippet["tags"]
    assert snippet["defaultLanguage"] == "en" and snippet["defaultAudioLanguage"] == "zxx"
    assert (
        body["status"]["publishAt"] == PUBLISH_AT and body["status"]["privacyStatus"] == "private"
    )
    assert sorted(body["localizations"]) == ["de", "es", "fr", "ja", "ko", "pt"]
    ja = body["localizations"]["ja"]
    assert ja["title"] == f"{document['localizations']['ja']['title']} #Shorts"
    assert ja["description"].startswith("フルミックスはこちら ▶ " + link)
    assert insert["upload"]["mimetype"] == "video/mp4"
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"short_valid": True, "inputs_current": True}


def test_a_landscape_or_long_teaser_is_refused_before_anything_is_built(data_dir, instance):
    stage_release(data_dir, DATE, teaser_size=(480, 270))
    result = _run(data_dir, instance)
    assert not result.success
    assert "a Short is vertical or square" in _failure(result)
    assert not (data_dir / "shorts_upload" / DATE / "manifest.json").exists()
    (check,) = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("short_valid", False)


def test_live_short_is_uploaded_once_across_three_runs(data_dir, instance, server, tmp_path):
    stage_release(data_dir, DATE, release_video_id=RELEASE_VIDEO)
    live = _live(server, tmp_path)
    for _ in range(3):
        result = _run(data_dir, instance, youtube=live)
        assert result.success
    assert server.count(SESSION_START) == 1
    assert server.count("POST /upload/youtube/v3/thumbnails/set") == 0
    (video,) = server.fake.videos.values()
    assert video["snippet"]["title"].endswith(" #Shorts")
    assert f"https://www.youtube.com/watch?v={RELEASE_VIDEO}" in video["snippet"]["description"]
    assert video["snippet"]["defaultAudioLanguage"] == "zxx"
    assert sorted(video["localizations"]) == ["de", "es", "fr", "ja", "ko", "pt"]
    assert video["status"]["publishAt"] == PUBLISH_AT
    row = UploadLedger(Warehouse(str(data_dir / "warehouse.duckdb"))).load(f"short-{DATE}")
    assert (row.state, row.video_id) == ("scheduled", video["id"])
    # The Short's row is its own: the analytics' list of daily releases leaves it out.
    assert UploadLedger(Warehouse(str(data_dir / "warehouse.duckdb"))).uploaded_videos() == []


def test_live_needs_the_release_on_youtube_first(data_dir, instance, server, tmp_path):
    stage_release(data_dir, DATE, release_video_id=None)
    result = _run(data_dir, instance, youtube=_live(server, tmp_path))
    assert not result.success
    assert "publish it live first" in _failure(result)
    assert sum(server.fake.requests.values()) == 0


def test_quota_exhausted_fails_then_resumes_once(data_dir, instance, server, tmp_path):
    stage_release(data_dir, DATE, release_video_id=RELEASE_VIDEO)
    live = _live(server, tmp_path)
    server.fake.route_errors[SESSION_START] = QUOTA_ERROR
    result = _run(data_dir, instance, youtube=live)
    assert not result.success and "quotaExceeded" in _failure(result)
    assert server.count(SESSION_START) == 1  # never retried
    server.fake.route_errors.clear()
    assert _run(data_dir, instance, youtube=live).success
    assert server.count(SESSION_START) == 2 and len(server.fake.videos) == 1


def test_forbidden_is_a_credentials_error_not_retried(data_dir, instance, server, tmp_path):
    stage_release(data_dir, DATE, release_video_id=RELEASE_VIDEO)
    server.fake.route_errors[SESSION_START] = (403, "forbidden", "Access forbidden.")
    result = _run(data_dir, instance, youtube=_live(server, tmp_path))
    assert not result.success and "lofi auth youtube" in _failure(result)
    assert server.count(SESSION_START) == 1 and server.fake.videos == {}


def test_a_5xx_during_the_upload_is_retried_in_the_same_session(
    data_dir, instance, server, tmp_path
):
    stage_release(data_dir, DATE, release_video_id=RELEASE_VIDEO)
    server.fake.chunk_faults = {1: "503"}
    result = _run(data_dir, instance, youtube=_live(server, tmp_path))
    assert result.success
    shown = result.get_asset_materialization_events()[0].materialization.metadata
    assert shown["retries"].value == 1
    assert server.count(SESSION_START) == 1 and len(server.fake.videos) == 1


def test_short_title_keeps_the_hashtag_within_100_characters():
    title = short_title("ノスタルジック" * 30)
    assert title.endswith(" #Shorts") and len(title) == MAX_TITLE_CHARS


@pytest.mark.parametrize("filled", [480, 495, 500])
def test_release_tags_that_fill_500_characters_still_make_a_short(tmp_path, filled):
    """The release's tags fitted to YouTube's 500 characters plus the Short's own two and its
    ledger marker once went over and the blocking check refused every Short of that day."""
    tags = [f"tag{n:03d}x" for n in range(62)]  # 7 characters and a comma each
    while tags_length(tags) > filled:
        tags.pop()
    tags[-1] += "y" * (filled - tags_length(tags))  # exactly ``filled`` characters
    assert tags_length(tags) == filled
    url = release_url("videoRELEASE")
    text = short_text(title="Rainy night jazz", channel_name="Lofi Empire", url=url)
    release = short_upload(release_date="2026-11-28", teaser_path=Path("teaser.mp4"),
                           text=text, tags=tags, publish_at_utc=PUBLISH_AT)  # fmt: skip
    body = release.video_body(dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    assert short_problems(body, ShortFacts(270, 480, 10.0), url) == []
    sent = body["snippet"]["tags"]
    assert tags_length(sent) <= MAX_TAGS_CHARS
    assert sent[:2] == ["shorts", "lofi shorts"] and sent[-1] == release_tag("short-2026-11-28")
    assert sent[2:5] == tags[:3]  # the release's most important tags kept, in order


@pytest.mark.parametrize("name", ["Lo<fi> Beats", "<<>>", "夜 > 朝 <3"])
def test_a_channel_name_with_angle_brackets_still_makes_a_short(name):
    """The channel's name went into the Short's descriptions (every language) as it is, and
    YouTube refuses < and > there: the blocking check refused every Short of the channel."""
    url = release_url("videoRELEASE")
    localizations = {"ja": {"title": "夜 <カフェ>", "description": "…"}}
    text = short_text(title="Rain <3", channel_name=name, url=url, localizations=localizations,
                      full_mix_leads={"ja": "フル <ミックス>"})  # fmt: skip
    release = short_upload(release_date="2026-11-28", teaser_path=Path("teaser.mp4"),
                           text=text, tags=["lofi"], publish_at_utc=PUBLISH_AT)  # fmt: skip
    body = release.video_body(dt.datetime(2026, 11, 28, tzinfo=dt.UTC))
    assert short_problems(body, ShortFacts(270, 480, 10.0), url) == []
    texts = [body["snippet"]["title"], body["snippet"]["description"]]
    texts += [v for loc in body["localizations"].values() for v in loc.values()]
    assert not any(c in t for t in texts for c in "<>")
    assert name.translate(str.maketrans("<>", "‹›")) in body["snippet"]["description"]
