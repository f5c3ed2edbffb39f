"""The publish and feedback assets on a real Dagster instance, against a local YouTube server."""

import datetime as dt
import json
import shutil
import socket
import stat

import dagster as dg
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.feedback import breakout_feedback
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.publish import analytics_snapshot, youtube_upload
from lofi_assets.defs.assets.release import (
    release_metadata,
    release_mix,
    shorts_teaser,
    thumbnail,
    video,
)
from lofi_assets.defs.assets.streaming import streaming_release
from lofi_assets.defs.automation import (
    analytics_schedule,
    analytics_threshold_sensor,
    build_daily_release_schedule,
)
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.defs.resources import (
    ChannelConfig,
    WarehouseResource,
    YouTubeResource,
)
from lofi_assets.publish.feedback import BOOSTS_FILE, read_boosts
from lofi_assets.publish.upload import body_problems
from lofi_assets.publish.youtube import load_credentials, token_uri_for
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.youtube_server import QUOTA_ERROR, LocalYouTube, write_token_file

DATE = "2026-11-25"
NEXT_DAY = "2026-11-26"
RELEASE_ASSETS = [release_mix, release_metadata, thumbnail, video, shorts_teaser]
# The tests below share one day's release (a module fixture): keep them on one xdist worker
# so it is made once.
pytestmark = pytest.mark.xdist_group("publish_day")
ALL_ASSETS = [
    midi_sketch, stems, mastered_wav, *RELEASE_ASSETS, youtube_upload, analytics_snapshot,
    streaming_release,
]  # fmt: skip


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    """One real day's release (20-second tracks, static video) in its own data root."""
    root = tmp_path_factory.mktemp("publish")
    data = root / "data"
    resources = make_resources(data)
    with dg.instance_for_test() as instance:
        for slot in ("1", "2", "3"):
            assert dg.materialize(
                [midi_sketch, stems, mastered_wav], partition_key=track_partition_key(DATE, slot),
                resources=resources, instance=instance,
                run_config={"ops": {"midi_sketch": {"config": {"duration_s": 20.0}}}},
            ).success  # fmt: skip
        assert dg.materialize(
            ALL_ASSETS, selection=RELEASE_ASSETS, partition_key=DATE, resources=resources,
            instance=instance,
            run_config={"ops": {"video": {"config": {"motion": "static"}},
                                "shorts_teaser": {"config": {"motion": "static"}}}},
        ).success  # fmt: skip
        yield {"root": root, "data": data, "resources": resources, "instance": instance}


def _materialize(day, selection, partition_key=DATE, **resource_overrides):
    return dg.materialize(
        ALL_ASSETS, selection=selection, partition_key=partition_key, instance=day["instance"],
        resources={**day["resources"], **resource_overrides}, raise_on_error=False,
    )  # fmt: skip


def test_dry_run_opens_no_socket_and_writes_a_valid_manifest(day, monkeypatch):
    attempts = []
    original = socket.socket.connect

    def connect(sock, address):
        attempts.append(address)
        return original(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: attempts.append(a))
    result = _materialize(day, [youtube_upload])
    assert result.success
    assert attempts == []
    manifest = json.loads((day["data"] / "youtube_upload" / DATE / "manifest.json").read_text())
    calls = [request["call"] for request in manifest["requests"]]
    assert calls[:2] == ["videos.insert", "thumbnails.set"] and "playlistItems.insert" in calls
    insert = manifest["requests"][0]
    assert insert["uri"].startswith("https://youtube.googleapis.com/upload/youtube/v3/videos")
    assert body_problems(insert["body"]) == []
    assert manifest["problems"] == []
    # Issue 17 §2: the release in every configured language, its audio declared instrumental.
    assert "part=snippet%2Cstatus%2Clocalizations" in insert["uri"]
    assert sorted(insert["body"]["localizations"]) == ["de", "es", "fr", "ja", "ko", "pt"]
    assert insert["body"]["snippet"]["defaultAudioLanguage"] == "zxx"
    assert all(e.passed for e in result.get_asset_check_evaluations())
    # What the operator sees before it goes out: what, when, how, with which artwork.
    shown = result.get_asset_materialization_events()[0].materialization.metadata
    metadata = json.loads((day["data"] / "release_metadata" / DATE / "metadata.json").read_text())
    assert shown["title"].value == metadata["title"] == insert["body"]["snippet"]["title"]
    publish_at = dt.datetime.fromisoformat(metadata["publish_at_utc"].replace("Z", "+00:00"))
    assert shown["publish_at"] == dg.MetadataValue.timestamp(publish_at)
    assert shown["privacy"].value.startswith("private")
    assert shown["tags"].value == metadata["tags"]
    assert shown["playlists"].value == metadata["playlists"]
    assert shown["thumbnail_variant"].value == "A"
    assert [row.data["call"] for row in shown["requests"].records] == calls


def _live(server, day, name="token.json"):
    token = write_token_file(day["root"] / name, server.endpoint)
    return YouTubeResource(token_file=str(token), endpoint=server.endpoint, chunk_mb=1)


@pytest.fixture(scope="module")
def published(day):
    """The day published live three times, then two days of analytics fetched (one twice)."""
    with LocalYouTube() as server:
        youtube = _live(server, day)
        uploads = [_materialize(day, [youtube_upload], youtube=youtube) for _ in range(3)]
        (video_id,) = server.fake.videos or [None]
        server.fake.daily_views[video_id] = 900
        server.fake.videos[video_id]["statistics"]["viewCount"] = "1800"
        snapshots = [
            _materialize(day, [analytics_snapshot], partition, youtube=youtube)
            for partition in (DATE, NEXT_DAY, NEXT_DAY)
        ]
        yield {"server": server, "video_id": video_id, "uploads": uploads, "snapshots": snapshots}


def test_live_publishing_happens_once_however_often_it_runs(day, published):
    server, video_id = published["server"], published["video_id"]
    assert all(result.success for result in published["uploads"])
    assert server.count("POST /upload/youtube/v3/videos") == 1
    assert server.count("POST /upload/youtube/v3/thumbnails/set") == 1
    metadata = json.loads((day["data"] / "release_metadata" / DATE / "metadata.json").read_text())
    assert server.count("POST /youtube/v3/playlistItems") == len(metadata["playlists"])
    video_file = day["data"] / "video" / DATE / "video.mp4"
    assert server.uploaded_bytes(video_id) == video_file.read_bytes()
    events = published["uploads"][-1].get_asset_materialization_events()
    assert events[0].materialization.metadata["steps_done"].value == []


def test_analytics_refetch_replaces_rows_instead_of_adding_them(day, published):
    for snapshot in published["snapshots"]:
        assert snapshot.success
        assert all(e.passed for e in snapshot.get_asset_check_evaluations())
    warehouse = day["resources"]["warehouse"].client()
    rows = warehouse.query("SELECT day, views FROM video_daily ORDER BY day")
    assert rows == [{"day": DATE, "views": 900}, {"day": NEXT_DAY, "views": 900}]
    metadata = published["snapshots"][-1].get_asset_materialization_events()[0]
    metadata = metadata.materialization.metadata
    assert "| 1,800 |" in metadata["top_releases"].value
    assert metadata["views_over_time"].value.startswith("![daily views](data:image/png")


def test_quota_exhaustion_fails_the_run_after_one_request(day):
    with LocalYouTube() as server:
        server.fake.route_errors["*"] = QUOTA_ERROR
        fresh_ledger = WarehouseResource(url=str(day["root"] / "quota.duckdb"))
        result = _materialize(
            day, [youtube_upload], youtube=_live(server, day), warehouse=fresh_ledger
        )
        assert not result.success
        assert sum(server.fake.requests.values()) == 1
        failure = next(e for e in result.all_events if e.is_step_failure)
        error = failure.step_failure_data
        assert error.user_failure_data.metadata["reason"].value == "quotaExceeded"
        assert "quota resets" in error.user_failure_data.description


def test_an_unverified_channel_is_published_and_its_thumbnail_follows_later(day):
    """thumbnails.set answers 403 forbidden (no phone verification): the run succeeds with the
    playlists and the schedule and shows the thumbnail pending; once allowed, a run sets it."""
    with LocalYouTube() as server:
        server.fake.thumbnails_allowed = False
        youtube = _live(server, day, "unverified.json")
        ledger = WarehouseResource(url=str(day["root"] / "unverified.duckdb"))
        first = _materialize(day, [youtube_upload], youtube=youtube, warehouse=ledger)
        assert first.success
        shown = first.get_asset_materialization_events()[0].materialization.metadata
        assert shown["state"].value == "scheduled"
        assert shown["steps_done"].value == ["uploaded", "playlisted", "scheduled"]
        status = shown["thumbnail_status"].value
        assert status.startswith("pending: ") and "https://www.youtube.com/verify" in status
        (video_id,) = server.fake.videos
        metadata = json.loads(
            (day["data"] / "release_metadata" / DATE / "metadata.json").read_text()
        )
        assert len(server.fake.playlist_items) == len(metadata["playlists"])

        server.fake.thumbnails_allowed = True
        later = _materialize(day, [youtube_upload], youtube=youtube, warehouse=ledger)
        shown = later.get_asset_materialization_events()[0].materialization.metadata
        assert (shown["thumbnail_status"].value, shown["steps_done"].value) == (
            "set",
            ["thumbnail"],
        )
        assert server.fake.thumbnail_sets == {video_id: 1}
        assert len(server.fake.playlist_items) == len(metadata["playlists"])
        assert list(server.fake.videos) == [video_id]


def test_an_expired_token_is_refreshed_and_saved_privately(day):
    with LocalYouTube() as server:
        token = write_token_file(day["root"] / "expired.json", server.endpoint, expired=True)
        credentials = load_credentials(token, token_uri_for(server.endpoint))
        assert credentials.token == "fresh-1"
        assert stat.S_IMODE(token.stat().st_mode) == 0o600
        assert json.loads(token.read_text())["token"] == "fresh-1"


def test_dry_run_snapshot_is_empty_and_says_why(day):
    result = _materialize(day, [analytics_snapshot])
    assert result.success
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["rows_upserted"].value == 0
    assert "dry run" in metadata["reason"].value


def _sensor(day, cursor=None, **thresholds):
    # As a context manager: it enters the instance, and only its exit lets go of it.
    with dg.build_sensor_context(
        instance=day["instance"],
        cursor=cursor,
        resources={
            "channel": ChannelConfig(**thresholds),
            "warehouse": day["resources"]["warehouse"],
        },
    ) as context:
        return context, analytics_threshold_sensor(context)


def test_breakout_sensor_requests_one_run_then_waits(day, published):
    context, result = _sensor(day, breakout_views_48h=1_000, breakout_view_percentage=30.0)
    assert isinstance(result, dg.RunRequest)
    assert result.run_key.startswith("breakout-video-")
    config = result.run_config["ops"]["breakout_feedback"]["config"]
    assert (config["release_date"], config["views_48h"]) == (DATE, 1_800)
    _, again = _sensor(day, context.cursor, breakout_views_48h=1_000, breakout_view_percentage=30.0)
    assert isinstance(again, dg.SkipReason)
    _, below = _sensor(day, None, breakout_views_48h=5_000)
    assert isinstance(below, dg.SkipReason)
    assert "below thresholds" in below.skip_message and "1800 views" in below.skip_message

    run_config = result.run_config
    run_config["ops"]["breakout_feedback"]["config"]["effective_from"] = NEXT_DAY
    feedback = dg.materialize(
        [breakout_feedback], instance=day["instance"], resources=day["resources"],
        run_config=run_config,
    )  # fmt: skip
    assert feedback.success
    folder = day["data"] / "breakout_feedback" / config["video_id"]
    assert len(list(folder.glob("variation_*/*.mid"))) == 3
    (boost,) = read_boosts(day["data"] / BOOSTS_FILE)
    plan = json.loads(
        next((day["data"] / "midi_sketch" / DATE / "1").glob("*plan*.json")).read_text()
    )
    assert boost.style == plan["style"]
    for date, boosted in (("2026-11-24", []), (NEXT_DAY, [plan["style"]])):
        sketch = dg.materialize(
            [midi_sketch], partition_key=track_partition_key(date, "2"), instance=day["instance"],
            resources=day["resources"],
        )  # fmt: skip
        metadata = sketch.get_asset_materialization_events()[0].materialization.metadata
        assert metadata["style_boosts"].value == boosted


def test_schedules_follow_their_hour_timezone_and_day(day):
    schedule = build_daily_release_schedule(20, "Asia/Tokyo")
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 20 * * *", "Asia/Tokyo")
    with dg.build_schedule_context(
        instance=day["instance"],
        scheduled_execution_time=dt.datetime(2026, 11, 26, 9, tzinfo=dt.UTC),
    ) as context:
        request = analytics_schedule(context)
    assert (request.partition_key, request.run_key) == (DATE, f"analytics-{DATE}")


def test_streaming_release_is_reproducible_and_delivered_once(day):
    runs = [_materialize(day, [streaming_release]) for _ in range(2)]
    assert all(run.success for run in runs)
    records = [json.loads((day["data"] / "streaming_release" / DATE / "record.json").read_text())]
    for run in runs:
        assert {e.check_name: e.passed for e in run.get_asset_check_evaluations()} == {
            "audio_format": True, "artwork_valid": True, "isrc_valid": True,
            "metadata_complete": True, "manifest_matches_files": True, "inputs_current": True,
        }  # fmt: skip
    first, second = (
        run.get_asset_materialization_events()[0].materialization.metadata for run in runs
    )
    assert first["manifest_sha256"].value == second["manifest_sha256"].value
    assert first["isrcs"].value == second["isrcs"].value
    assert len(first["isrcs"].value) == 3
    assert second["delivery"].value.startswith("unchanged")
    fields = records[0]["fields"]
    (delivered,) = (day["data"] / "dropbox").iterdir()
    assert delivered.name == f"{DATE}_{fields['upc']}"
    receipt = json.loads((day["data"] / "streaming_release" / DATE / "receipt.json").read_text())
    assert receipt["manifest_sha256"] == fields["manifest_sha256"]


def _check_evaluations(result) -> dict[str, bool]:
    return {
        event.event_specific_data.check_name: event.event_specific_data.passed
        for event in result.all_events
        if event.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_publishing_refuses_a_video_of_an_older_mix_until_the_day_is_remade(day, tmp_path):
    # Its own copy of the day: slot 2 is re-made at another tempo, then only the mix after it.
    data = tmp_path / "data"
    shutil.copytree(day["data"], data)
    resources = make_resources(data)
    static = {"ops": {"video": {"config": {"motion": "static"}},
                      "shorts_teaser": {"config": {"motion": "static"}}}}  # fmt: skip
    manifest = data / "youtube_upload" / DATE / "manifest.json"
    with dg.instance_for_test() as instance:

        def run(selection, partition_key=DATE, run_config=None):
            return dg.materialize(
                ALL_ASSETS, selection=selection, partition_key=partition_key, instance=instance,
                resources=resources, run_config=run_config, raise_on_error=False,
            )  # fmt: skip

        assert run(
            [midi_sketch, stems, mastered_wav], track_partition_key(DATE, "2"),
            {"ops": {"midi_sketch": {"config": {"duration_s": 20.0, "bpm": 66.0}}}},
        ).success  # fmt: skip
        assert run([release_mix]).success
        before = manifest.stat().st_mtime_ns if manifest.exists() else None

        refused = run([youtube_upload])
        assert not refused.success
        (failure,) = [e for e in refused.all_events if e.event_type_value == "STEP_FAILURE"]
        message = failure.event_specific_data.error_display_string
        assert f"video was built from release_mix/{DATE}/mix.wav, which has changed" in message
        assert "release_metadata was built from" in message  # its titles: the old slot 2
        assert _check_evaluations(refused) == {"inputs_current": False}
        assert (manifest.stat().st_mtime_ns if manifest.exists() else None) == before

        bundle = run([streaming_release])
        assert not bundle.success
        assert _check_evaluations(bundle) == {"inputs_current": False}

        # The day re-made in order: both publish again, every check passing.
        assert run(RELEASE_ASSETS, run_config=static).success
        for asset in (youtube_upload, streaming_release):
            published = run([asset])
            assert published.success
            assert _check_evaluations(published)["inputs_current"] is True
    record = json.loads((data / "youtube_upload" / DATE / "record.json").read_text())
    assert set(record["fields"]["input_sha256"]) == {
        f"video/{DATE}/video.mp4", f"thumbnail/{DATE}/thumbnail_A.jpg",
        f"release_metadata/{DATE}/metadata.json",
    }  # fmt: skip
