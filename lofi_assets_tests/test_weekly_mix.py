"""The weekly long-form release (issue 16 §1) on a real Dagster instance: a short week (one
master of the week topped up to a minute with tracks made for it), its 360p video judged by the
daily video's ffprobe checks, its dry-run manifest, and one live upload to the local YouTube
server however often the week is published."""

import datetime as dt
import json

import dagster as dg
import pytest

from lofi_assets.audio.long_form import (
    MAX_WEEKLY_DURATION_S,
    WeeklyDurationError,
    extra_track_request,
    mix_duration_s,
    validate_weekly_duration,
    week_dates,
)
from lofi_assets.channel import Channel
from lofi_assets.defs.assets.common import BlockingCheckFailedError, judge_staged
from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.long_form import (
    LONG_FORM_ASSETS,
    weekly_mix,
    weekly_upload,
)
from lofi_assets.defs.assets.long_form_checks import (
    WEEKLY_MIX_CHECK_SPECS,
    WEEKLY_VIDEO_CHECK_SPECS,
    weekly_video_check_results,
)
from lofi_assets.defs.assets.produce import mastered_wav, stems
from lofi_assets.defs.assets.release_checks import release_mix_check_results
from lofi_assets.defs.partitions import release_weeks, track_partition_key
from lofi_assets.defs.resources import YouTubeResource
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan_record import record_sketch
from lofi_assets.publish.upload import UploadLedger, release_tag
from lofi_assets.visual.video import SIZES, probe
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.youtube_server import LocalYouTube, write_token_file

WEEK = "2026-11-15"  # the channel launched on Sunday 2026-11-01: weeks start on Sundays
MASTER_DATE = "2026-11-16"
MIN_DURATION_S, EXTRA_TRACK_S = 60.0, 25.0
pytestmark = pytest.mark.xdist_group("weekly_mix")


def _week_config(video: bool = True, **mix) -> dict:
    config = {"min_duration_s": MIN_DURATION_S, "extra_track_s": EXTRA_TRACK_S, **mix}
    ops = {"weekly_mix": {"config": config}}
    if video:
        ops["weekly_video"] = {"config": {"resolution": "360p"}}
    return {"ops": ops}


def _live(server, folder) -> YouTubeResource:
    token = write_token_file(folder / "token.json", server.endpoint)
    return YouTubeResource(token_file=str(token), endpoint=server.endpoint, chunk_mb=1)


@pytest.fixture(scope="module")
def week(tmp_path_factory):
    """One master of the week (15 s), the week made from it (dry-run), then published live
    twice to the local YouTube server."""
    root = tmp_path_factory.mktemp("weekly")
    data = root / "data"
    resources = make_resources(data)
    with dg.instance_for_test() as instance:
        assert dg.materialize(
            [midi_sketch, stems, mastered_wav],
            partition_key=track_partition_key(MASTER_DATE, "1"),
            resources=resources, instance=instance,
            run_config={"ops": {"midi_sketch": {"config": {"duration_s": 15.0}}}},
        ).success  # fmt: skip
        made = dg.materialize(
            LONG_FORM_ASSETS, partition_key=WEEK, resources=resources, instance=instance,
            run_config=_week_config(),
        )  # fmt: skip
        records = {
            name: json.loads((data / name / WEEK / "record.json").read_text())["fields"]
            for name in ("weekly_mix", "weekly_video", "weekly_metadata", "weekly_upload")
        }
        with LocalYouTube() as server:
            live = {**resources, "youtube": _live(server, root)}
            published = [
                dg.materialize(
                    LONG_FORM_ASSETS,
                    selection=[weekly_upload],
                    partition_key=WEEK,
                    resources=live,
                    instance=instance,
                )
                for _ in range(2)
            ]
            videos = {key: dict(value) for key, value in server.fake.videos.items()}
            inserts = server.count("POST /upload/youtube/v3/videos")
        yield {
            "data": data, "resources": resources, "instance": instance, "made": made,
            "records": records, "published": published, "videos": videos, "inserts": inserts,
        }  # fmt: skip


def test_a_week_materializes_with_a_chapter_per_track_and_every_check_passing(week):
    assert week["made"].success
    evaluations = week["made"].get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} >= {
        "mix_loudness", "no_gaps", "chapters_valid", "video_streams", "durations_match",
        "metadata_valid", "artwork_format", "upload_body_valid", "inputs_current",
    }  # fmt: skip
    assert [e.check_name for e in evaluations if not e.passed] == []
    mix = week["records"]["weekly_mix"]
    assert mix["duration_s"] >= MIN_DURATION_S
    assert mix["tracks"][0] == {
        "source": "master",
        "track": f"{MASTER_DATE}|1",
        "plan_path": f"midi_sketch/{MASTER_DATE}/1/plan.json",
    }
    assert mix["extras"] == len(mix["tracks"]) - 1 >= 1
    assert mix["chapters"][0]["start_s"] == 0.0
    assert len(mix["chapters"]) == len(mix["tracks"])
    metadata = json.loads((week["data"] / "weekly_metadata" / WEEK / "metadata.json").read_text())
    assert metadata["title"].startswith("1 minute \u00b7 ")
    assert "Long Lofi Mixes" in metadata["playlists"]
    # A chapter per track in the description, at the mix's chapter starts.
    assert [c["start_s"] for c in metadata["chapters"]] == [c["start_s"] for c in mix["chapters"]]
    for chapter in metadata["chapters"]:
        assert f"{chapter['timestamp']} {chapter['title']}" in metadata["description"]


def test_the_weekly_video_passes_the_daily_videos_ffprobe_checks(week):
    video = week["records"]["weekly_video"]
    facts = probe(week["data"] / video["video_path"])
    results = {
        r.check_name: r.passed
        for r in weekly_video_check_results(
            facts, SIZES["360p"], week["records"]["weekly_mix"]["duration_s"]
        )
    }
    assert results == {"video_streams": True, "durations_match": True}
    assert (facts.width, facts.height, facts.video_codec) == (640, 360, "h264")
    assert abs(facts.audio_duration_s - week["records"]["weekly_mix"]["duration_s"]) <= 0.1
    # The same checks fail on a video of the wrong size or length.
    wrong = weekly_video_check_results(facts, SIZES["720p"], facts.video_duration_s + 1.0)
    assert [r.passed for r in wrong] == [False, False]


def test_the_extra_tracks_are_seeded_by_the_week(week):
    channel = Channel()
    request = extra_track_request(
        channel.name, WEEK, 0, channel.effective_style_weights, EXTRA_TRACK_S,
        channel.track_length_range_s,
    )  # fmt: skip
    extra = week["data"] / "weekly_mix" / WEEK / "extras/00"
    stored = json.loads((extra / "plan.json").read_text())
    assert not (extra / "master.wav").exists()  # its audio lives on in the mix alone
    assert record_sketch(compose_sketch(request)).to_document() == stored
    again = extra_track_request(channel.name, WEEK, 0, channel.effective_style_weights)
    other_week = extra_track_request(channel.name, "2026-11-22", 0, {"jazz": 1.0})
    other_index = extra_track_request(channel.name, WEEK, 1, {"jazz": 1.0})
    assert again.seed == request.seed
    assert len({request.seed, other_week.seed, other_index.seed}) == 3


def test_the_dry_run_manifest_names_the_weekly_release(week):
    upload = week["records"]["weekly_upload"]
    assert (upload["mode"], upload["state"], upload["video_id"]) == ("dry_run", "planned", None)
    manifest = json.loads((week["data"] / upload["manifest_path"]).read_text())
    assert (manifest["kind"], manifest["ledger_key"]) == ("weekly", f"weekly-{WEEK}")
    insert = manifest["requests"][0]
    assert insert["call"] == "videos.insert"
    assert release_tag(f"weekly-{WEEK}") in insert["body"]["snippet"]["tags"]
    assert manifest["problems"] == []


def test_a_published_week_is_one_video_however_often_it_runs(week):
    assert [result.success for result in week["published"]] == [True, True]
    assert week["inserts"] == 1
    (video,) = week["videos"].values()
    assert release_tag(f"weekly-{WEEK}") in video["snippet"]["tags"]
    assert video["snippet"]["title"].startswith("1 minute \u00b7 ")
    first, second = (
        r.get_asset_materialization_events()[0].materialization.metadata for r in week["published"]
    )
    assert first["steps_done"].value == ["uploaded", "thumbnail", "playlisted", "scheduled"]
    assert second["steps_done"].value == []
    ledger = UploadLedger(week["resources"]["warehouse"].client())
    row = ledger.load(f"weekly-{WEEK}")
    assert (row.state, row.video_id) == ("scheduled", next(iter(week["videos"])))
    assert ledger.load(WEEK) is None  # the daily release of that date keeps its own key
    assert ledger.uploaded_videos() == []  # analytics read daily keys as dates


def test_a_week_longer_than_three_hours_is_refused_before_any_work(week):
    result = dg.materialize(
        LONG_FORM_ASSETS, selection=[weekly_mix], partition_key=WEEK,
        resources=week["resources"], instance=week["instance"], raise_on_error=False,
        run_config=_week_config(video=False, min_duration_s=MAX_WEEKLY_DURATION_S + 1),
    )  # fmt: skip
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "min_duration_s must be above 0 and at most 10800 s (3 hours), got 10801 s" in message
    assert (
        json.loads((week["data"] / "weekly_mix" / WEEK / "record.json").read_text())["fields"]
        == week["records"]["weekly_mix"]
    )  # the week's mix stays as it was


def test_a_week_with_enough_masters_gets_no_extra_tracks(week):
    # Runs after the tests that read the week's first mix: this one replaces it.
    result = dg.materialize(
        LONG_FORM_ASSETS, selection=[weekly_mix], partition_key=WEEK,
        resources=week["resources"], instance=week["instance"],
        run_config=_week_config(video=False, min_duration_s=10.0),
    )  # fmt: skip
    assert result.success
    record = result.output_for_node("weekly_mix")
    assert (record.extras, len(record.chapters)) == (0, 1)
    assert record.tracks[0]["track"] == f"{MASTER_DATE}|1"
    assert not (week["data"] / "weekly_mix" / WEEK / "extras").exists()


@pytest.mark.parametrize("seconds", [0.0, -60.0, MAX_WEEKLY_DURATION_S + 0.5])
def test_weekly_durations_outside_zero_to_three_hours_are_refused(seconds):
    with pytest.raises(WeeklyDurationError, match="at most 10800 s"):
        validate_weekly_duration(seconds)


def test_three_hours_is_a_valid_weekly_duration():
    assert validate_weekly_duration(MAX_WEEKLY_DURATION_S) == MAX_WEEKLY_DURATION_S


def test_crossfades_shorten_the_mix_by_their_overlap():
    assert mix_duration_s([100.0, 200.0, 50.0], [6.0, 4.0, 8.0]) == 338.0


def test_weeks_start_on_the_channels_launch_day_in_its_timezone():
    first = release_weeks.get_first_partition_key()
    assert first == "2026-11-01"
    assert week_dates(WEEK) == [f"2026-11-{day}" for day in range(15, 22)]
    window = release_weeks.time_window_for_partition_key(WEEK)
    assert window.end - window.start == dt.timedelta(days=7)


def test_a_failing_blocking_check_keeps_the_previous_weekly_mix():
    results = release_mix_check_results(-20.0, 3.0, [1.0], [0.0, 30.0], 60.0, 2)
    with pytest.raises(BlockingCheckFailedError, match=r"mix_loudness .*no_gaps"):
        list(judge_staged("weekly_mix", WEEK, results, WEEKLY_MIX_CHECK_SPECS))
    passing = release_mix_check_results(-14.0, 0.0, [1.0], [0.0, 30.0], 60.0, 2)
    assert list(judge_staged("weekly_mix", WEEK, passing, WEEKLY_MIX_CHECK_SPECS)) == []
    assert {spec.name for spec in WEEKLY_VIDEO_CHECK_SPECS if spec.blocking} == {
        "video_streams",
        "durations_match",
    }
