"""The radio's YouTube Live watchdog against the local YouTube server (the real API client,
a real DuckDB ledger): a broadcast YouTube ended is replaced exactly once."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from lofi_assets.publish.live import LiveWatchdog, marker
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import PublishError, build_clients
from lofi_assets_tests.youtube_server import LocalYouTube

STREAM = "stream-radio-1"


def watchdog(server: LocalYouTube, folder: Path, **options) -> LiveWatchdog:
    clients = build_clients(credentials=None, endpoint=server.endpoint)
    warehouse = Warehouse(str(folder / "warehouse.duckdb"))
    return LiveWatchdog(clients.youtube, warehouse, STREAM, "lofi radio 24/7", **options)


def test_watchdog_replaces_an_ended_broadcast_exactly_once(tmp_path: Path):
    with LocalYouTube() as server:
        server.fake.add_stream(STREAM)
        first = watchdog(server, tmp_path).tick()
        assert first.created and first.reason == "first"
        assert server.fake.broadcasts[first.broadcast_id]["contentDetails"]["boundStreamId"] == (
            STREAM
        )
        again = watchdog(server, tmp_path).tick()  # a new process, the same ledger
        assert not again.created and again.broadcast_id == first.broadcast_id
        assert server.count("POST /youtube/v3/liveBroadcasts") == 1

        server.fake.end_broadcast(first.broadcast_id)
        replaced = watchdog(server, tmp_path).tick()
        assert replaced.created and replaced.reason == "complete"
        assert replaced.broadcast_id != first.broadcast_id
        assert replaced.life_cycle_status == "ready"
        bound = server.fake.broadcasts[replaced.broadcast_id]["contentDetails"]["boundStreamId"]
        assert bound == STREAM
        for _ in range(2):  # repeated ticks create nothing
            assert not watchdog(server, tmp_path).tick().created
        assert server.count("POST /youtube/v3/liveBroadcasts") == 2
        assert server.count("POST /youtube/v3/liveBroadcasts/bind") == 2
        ledger = Warehouse(str(tmp_path / "warehouse.duckdb")).query(
            "SELECT generation, replaces, broadcast_id, reason FROM radio_broadcasts "
            "ORDER BY generation"
        )
        assert ledger == [
            {"generation": 0, "replaces": None, "broadcast_id": first.broadcast_id,
             "reason": "first"},
            {"generation": 1, "replaces": first.broadcast_id,
             "broadcast_id": replaced.broadcast_id, "reason": "complete"},
        ]  # fmt: skip


def test_watchdog_adopts_the_broadcast_a_crashed_tick_created(tmp_path: Path):
    """Claimed in the ledger and inserted on YouTube, but the process died before writing the
    id: the next tick binds that broadcast (found by its marker) instead of a second one."""
    with LocalYouTube() as server:
        server.fake.add_stream(STREAM)
        dog = watchdog(server, tmp_path)
        assert dog._claim(0, None, "first")
        orphan = dog.youtube.liveBroadcasts().insert(
            part="snippet,status,contentDetails",
            body={"snippet": {"title": "x", "description": f"radio {marker(0)}"},
                  "status": {"privacyStatus": "public"}, "contentDetails": {}},
        ).execute()  # fmt: skip
        result = watchdog(server, tmp_path).tick()
        assert result.broadcast_id == orphan["id"] and result.created
        assert server.count("POST /youtube/v3/liveBroadcasts") == 1


def test_watchdog_rotates_before_the_12_hour_archive_limit(tmp_path: Path):
    now = [dt.datetime(2026, 11, 30, 0, 0, tzinfo=dt.UTC)]
    with LocalYouTube() as server:
        server.fake.add_stream(STREAM)
        dog = watchdog(server, tmp_path, rotate_after_s=11.5 * 3600, now=lambda: now[0])
        first = dog.tick()
        server.fake.broadcasts[first.broadcast_id]["status"]["lifeCycleStatus"] = "live"
        server.fake.broadcasts[first.broadcast_id]["snippet"]["actualStartTime"] = (
            "2026-11-30T00:00:00Z"
        )
        now[0] += dt.timedelta(hours=11)
        assert not dog.tick().created  # 11 h: still under the limit
        now[0] += dt.timedelta(minutes=31)
        rotated = dog.tick()
        assert rotated.created and rotated.reason == "rotate"
        assert server.fake.broadcasts[first.broadcast_id]["status"]["lifeCycleStatus"] == (
            "complete"
        )


def test_watchdog_reports_an_unhealthy_stream_and_a_refused_call(tmp_path: Path):
    with LocalYouTube() as server:
        server.fake.add_stream(STREAM, health="noData")
        result = watchdog(server, tmp_path).tick()
        assert result.stream_unhealthy and result.stream_health == "noData"
        server.fake.route_errors["GET /youtube/v3/liveStreams"] = (
            403, "quotaExceeded", "The request cannot be completed because you have exceeded your quota.",
        )  # fmt: skip
        with pytest.raises(PublishError, match="quota"):
            watchdog(server, tmp_path).tick()


def test_lofi_radio_runs_the_watchdog_beside_the_stream(tmp_path: Path):
    """The streamer's watchdog thread: the broadcast id in status.json, a replacement logged as
    an event when YouTube ends the broadcast mid-stream (the ingest itself is not needed)."""
    import json
    import threading
    import time

    from lofi_assets.audio.radio_feed import RadioFeed
    from lofi_assets.publish.radio import RadioSettings, RadioStreamer
    from lofi_assets_tests.test_radio import CROSSFADE_S, free_port, tone_playlist

    with LocalYouTube() as server:
        server.fake.add_stream(STREAM)
        settings = RadioSettings(
            rtmp_url=f"rtmp://127.0.0.1:{free_port()}/live", work_dir=tmp_path / "radio",
            width_px=160, height_px=90, fps=10, video_bitrate_kbps=100, x264_preset="ultrafast",
        )  # fmt: skip
        streamer = RadioStreamer(
            RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S),
            settings,
            watchdog_tick=watchdog(server, tmp_path).tick,
            watchdog_every_s=0.3,
        )
        thread = threading.Thread(target=streamer.run, kwargs={"duration_s": 3.0})
        thread.start()
        deadline = time.monotonic() + 2
        while not streamer.status.broadcast_id and time.monotonic() < deadline:
            time.sleep(0.05)
        first = streamer.status.broadcast_id
        server.fake.end_broadcast(first)
        thread.join(timeout=20)
    status = json.loads((tmp_path / "radio" / "status.json").read_text())
    assert first and status["broadcast_id"] not in ("", first)
    log = (tmp_path / "radio" / "events.jsonl").read_text().splitlines()
    made = [json.loads(line) for line in log if '"broadcast"' in line]
    assert [(e["broadcast_id"], e["reason"]) for e in made] == [
        (first, "first"),
        (status["broadcast_id"], "complete"),
    ]
