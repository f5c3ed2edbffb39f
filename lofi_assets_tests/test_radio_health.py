"""radio_health, the outage sensor, the radio schedules, and the streamer's stall restart.

The health is read from files a real streamer wrote (a short stream to the real RTMP ingest of
test_radio.py, and one to a TCP listener that accepts and never answers); the sensor's status
file is written by the streamer's own writer (``RadioStreamer._write_status``) and its alert
is received by a real HTTP server on 127.0.0.1.
"""

from __future__ import annotations

import datetime as dt
import http.server
import json
import os
import re
import signal
import socket
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest

from lofi_assets.audio.radio_feed import RadioFeed
from lofi_assets.channel import channel_timezone
from lofi_assets.defs.assets.radio_health import (
    radio_health,
    radio_health_schedule,
    radio_outage_sensor,
    radio_queue_schedule,
)
from lofi_assets.defs.resources import ArtifactStore
from lofi_assets.publish.live import LEDGER_TABLE
from lofi_assets.publish.radio import WEBHOOK_ENV, RadioSettings, RadioStreamer
from lofi_assets.publish.radio_health import (
    RadioAlertError,
    RadioHealthError,
    current_outage,
    day_health,
    post_webhook,
    read_status,
)
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.test_radio import (
    CROSSFADE_S,
    RtmpServer,
    constant_track,
    free_port,
    needs_nginx,
    run_in_thread,
    settings_for,
    tone_playlist,
    wait_for,
)

SECRET_HOOK_TOKEN = "hook-t0ken-9f8e7d"


def today() -> str:
    return dt.datetime.now(ZoneInfo(channel_timezone())).date().isoformat()


def events(work_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (work_dir / "events.jsonl").read_text().splitlines()]


def materialize_health(data_dir: Path, instance, day: str) -> dg.ExecuteInJobResult:
    result = dg.materialize(
        [radio_health], partition_key=day, instance=instance, resources=make_resources(data_dir)
    )
    assert result.success
    return result


def health_row(data_dir: Path, day: str) -> list[dict]:
    return Warehouse(str(data_dir / "warehouse.duckdb")).query(
        "SELECT * FROM radio_health WHERE day = ?", (day,)
    )


class Hook(http.server.BaseHTTPRequestHandler):
    """The alert webhook: keeps every POST's path and JSON body."""

    received: list[tuple[str, dict]] = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Hook.received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    Hook.received = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/{SECRET_HOOK_TOKEN}"
    server.shutdown()
    server.server_close()


# --- health from a real stream ---------------------------------------------------------------


@needs_nginx
def test_a_hung_encoder_is_replaced_within_the_stall_timeout_and_the_day_counts_it(
    tmp_path: Path, data_dir: Path, instance
):
    """A 10 s stream to the real ingest whose encoder hangs (SIGSTOP: it takes no audio and
    reports no progress): the watchdog kills it within stall_s, counts a stall and starts
    another. The day's row in the warehouse, read from events.jsonl, agrees with the
    streamer's own running totals, and a second reading replaces it (one row per day)."""
    stall_s = 2.0
    server = RtmpServer(tmp_path / "nginx")
    server.start()
    work = data_dir / "radio"  # where `lofi radio` writes under the data root
    streamer = RadioStreamer(
        RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S),
        settings_for(server, work, stall_s=stall_s),
    )
    thread = run_in_thread(streamer, duration_s=10)
    try:
        assert wait_for(lambda: streamer.status.state == "up", 6) is not None
        time.sleep(1.0)
        hung = streamer.status.encoder_pid
        os.kill(hung, signal.SIGSTOP)
        hung_at = time.time()
        assert wait_for(lambda: streamer.status.stalls == 1, stall_s + 3) is not None
    finally:
        thread.join(timeout=30)
        server.stop()
    status = streamer.status
    assert (status.state, status.stalls, status.restarts, status.encoder_deaths) == (
        "stopped", 1, 1, 0,
    )  # fmt: skip
    log = events(work)
    (exit_event,) = [e for e in log if e["event"] == "encoder_exit" and e["pid"] == hung]
    assert exit_event["cause"] == "stalled"
    # The last progress report came at most one report period (0.5 s) before the stop.
    assert exit_event["time"] - hung_at <= stall_s + 1.0
    restart = next(e for e in log if e["event"] == "encoder_start" and e["time"] > hung_at)
    assert restart["time"] - exit_event["time"] <= 1.0 + 0.5  # retry_delay_s 1 s

    store = Warehouse(str(data_dir / "warehouse.duckdb"))
    store.execute(LEDGER_TABLE)  # the watchdog's ledger, as LiveWatchdog leaves it
    store.execute(
        "INSERT INTO radio_broadcasts VALUES (0, NULL, 'bc-first', 'first', '2026-11-30'), "
        "(1, 'bc-first', 'bc-second', 'complete', '2026-11-30')"
    )
    day = today()
    result = materialize_health(data_dir, instance, day)
    (row,) = health_row(data_dir, day)
    assert row["uptime_s"] == pytest.approx(status.uptime_s, abs=0.3)
    assert row["downtime_s"] == pytest.approx(status.downtime_s, abs=0.3)
    assert 2.5 < row["uptime_s"] < 10.0 and row["downtime_s"] > 0.0
    assert (row["encoder_restarts"], row["stalls"], row["reconnects"], row["alerts"]) == (
        1, 1, 0, 0,
    )  # fmt: skip
    assert row["broadcast_id"] == "bc-second"
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    total = row["uptime_s"] + row["downtime_s"]
    assert metadata["uptime_pct"].value == pytest.approx(100 * row["uptime_s"] / total, abs=0.01)
    assert metadata["stalls"].value == 1 and metadata["off_air"].value == "no"
    assert (
        f"| {day} |" in metadata["last_days"].value and "bc-second" in metadata["last_days"].value
    )

    # Yesterday saw nothing of this stream; a second reading of today replaces its row.
    yesterday = (dt.date.fromisoformat(day) - dt.timedelta(days=1)).isoformat()
    other = day_health(work, yesterday, channel_timezone(), time.time())
    assert (other.uptime_s, other.downtime_s, other.encoder_restarts) == (0.0, 0.0, 0)
    materialize_health(data_dir, instance, day)
    assert len(health_row(data_dir, day)) == 1


def test_a_silent_ingest_gets_a_new_encoder_within_the_stall_timeout(
    tmp_path: Path, data_dir: Path, instance
):
    """A TCP listener that accepts and never answers: the encoder's read of the RTMP handshake
    times out after stall_s (the streamer passes it as ffmpeg's -rw_timeout), the exit is
    counted as a reconnect and another encoder starts after retry_delay_s."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept_and_ignore():
        while True:
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept_and_ignore, daemon=True).start()
    stall_s, retry_s = 1.5, 0.5
    work = data_dir / "radio"
    settings = RadioSettings(
        rtmp_url=f"rtmp://127.0.0.1:{listener.getsockname()[1]}/live",
        stream_key="silent-ingest-key-1234",
        work_dir=work,
        width_px=160,
        height_px=90,
        fps=10,
        video_bitrate_kbps=100,
        x264_preset="ultrafast",
        retry_delay_s=retry_s,
        stall_s=stall_s,
    )
    feed = RadioFeed(tone_playlist(tmp_path / "tones"), CROSSFADE_S)
    try:
        status = RadioStreamer(feed, settings).run(duration_s=stall_s + retry_s + 1.2)
    finally:
        listener.close()
        for connection in accepted:
            connection.close()
    assert accepted, "the encoder never connected"
    assert status.reconnects >= 1 and status.restarts >= 1 and status.uptime_s == 0.0
    assert "timed out" in status.last_exit and status.stalls == 0
    log = events(work)
    starts = [e for e in log if e["event"] == "encoder_start"]
    failed = [e for e in log if e["event"] == "encoder_exit" and e["cause"] != "finished"]
    assert failed[0]["time"] - starts[0]["time"] <= stall_s + 1.0
    assert starts[1]["time"] - failed[0]["time"] <= retry_s + 0.5

    day = today()
    materialize_health(data_dir, instance, day)
    (row,) = health_row(data_dir, day)
    assert (row["reconnects"], row["encoder_restarts"], row["stalls"], row["uptime_s"]) == (
        status.reconnects, status.reconnects, 0, 0.0,
    )  # fmt: skip
    assert row["downtime_s"] == pytest.approx(status.downtime_s, abs=0.3)


# --- the outage alert ------------------------------------------------------------------------


def quiet_streamer(work: Path) -> RadioStreamer:
    """A streamer over two quiet tracks writing to ``work`` (never run: its writers are used)."""
    tracks = work.parent / "quiet"
    tracks.mkdir(exist_ok=True)
    feed = RadioFeed([constant_track(tracks / f"{i}.wav", 0.1, 3.0) for i in range(2)], 1.0)
    return RadioStreamer(feed, RadioSettings(rtmp_url="rtmp://127.0.0.1:9/live", work_dir=work))


def write_status(work: Path, **fields) -> None:
    """status.json written by the streamer's own writer, with the given state."""
    streamer = quiet_streamer(work)
    for name, value in fields.items():
        setattr(streamer.status, name, value)
    streamer._write_status()
    streamer.feed.close()


def evaluate(data_dir: Path, instance, cursor: str | None):
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"artifact_store": ArtifactStore(data_dir=str(data_dir))},
    ) as context:
        return radio_outage_sensor(context)


def test_outage_sensor_alerts_once_per_outage_over_60_s(
    data_dir: Path, instance, webhook: str, monkeypatch
):
    monkeypatch.setenv(WEBHOOK_ENV, webhook)
    work = data_dir / "radio"
    assert isinstance(evaluate(data_dir, instance, None), dg.SkipReason)  # never ran

    # Down 30 s, and up: no alert.
    write_status(work, state="down", down_since=time.time() - 30)
    skipped = evaluate(data_dir, instance, None)
    assert isinstance(skipped, dg.SkipReason) and "alert after 60 s" in skipped.skip_message
    write_status(work, state="up", up_since=time.time() - 500)
    assert isinstance(evaluate(data_dir, instance, None), dg.SkipReason)
    assert Hook.received == []

    # Down 90 s: one alert (log, observation, webhook); the next ticks say nothing more.
    first_down = time.time() - 90
    write_status(work, state="down", down_since=first_down, last_exit="exit 1: refused")
    result = evaluate(data_dir, instance, None)
    assert isinstance(result, dg.SensorResult)
    (observation,) = result.asset_events
    assert observation.asset_key == radio_health.key and observation.partition == today()
    assert observation.metadata["webhook"].value == "sent"
    assert re.search(r"off the air for 9[0-2] s", observation.metadata["alert"].value)
    assert len(Hook.received) == 1
    path, body = Hook.received[0]
    assert path == f"/hooks/{SECRET_HOOK_TOKEN}"
    assert (
        re.search(r"off the air for 9[0-2] s", body["text"]) and "exit 1: refused" in body["text"]
    )
    for _ in range(2):
        again = evaluate(data_dir, instance, result.cursor)
        assert isinstance(again, dg.SkipReason) and "already alerted" in again.skip_message
    assert len(Hook.received) == 1

    # Back up, then down again: a new outage, a new alert.
    write_status(work, state="down", down_since=time.time() - 75)
    second = evaluate(data_dir, instance, result.cursor)
    assert isinstance(second, dg.SensorResult) and second.cursor != result.cursor
    assert len(Hook.received) == 2

    # An outage the streamer alerted for itself (its webhook went with it): logged and
    # observed, not posted a second time.
    write_status(work, state="down", down_since=time.time() - 80, alert="radio stream down")
    third = evaluate(data_dir, instance, second.cursor)
    assert third.asset_events[0].metadata["webhook"].value == "sent by the streamer"
    assert len(Hook.received) == 2


def test_a_silent_streamer_is_an_outage_and_a_dead_webhook_is_reported_without_its_url(
    data_dir: Path, instance, monkeypatch
):
    """A streamer that stopped writing its status (killed with the host) is off the air from
    its last write, even though its last word was "up"; a stopped one is not an outage."""
    work = data_dir / "radio"
    write_status(work, state="up", up_since=time.time() - 500)
    status = read_status(work)
    assert current_outage(status, time.time()) is None
    outage = current_outage(status, status.updated_at + 120)
    assert outage.cause == "streamer silent" and outage.down_s == pytest.approx(120)
    write_status(work, state="stopped")
    assert current_outage(read_status(work), time.time() + 3600) is None

    dead = f"http://127.0.0.1:{free_port()}/hooks/{SECRET_HOOK_TOKEN}"
    with pytest.raises(RadioAlertError, match="cannot be reached") as caught:
        post_webhook(dead, "test")
    assert SECRET_HOOK_TOKEN not in str(caught.value)
    monkeypatch.setenv(WEBHOOK_ENV, dead)
    write_status(work, state="down", down_since=time.time() - 61.5)
    result = evaluate(data_dir, instance, None)
    assert result.asset_events[0].metadata["webhook"].value == "failed"


def test_unreadable_events_fail_with_the_line_and_a_torn_last_line_is_skipped(
    data_dir: Path, instance
):
    """Events written by the streamer's own writer; the last line cut short (the process
    was killed mid-write) is skipped, a line that is not an event fails with its number."""
    work = data_dir / "radio"
    streamer = quiet_streamer(work)
    streamer._event("encoder_start", pid=1, restarts=0)
    streamer._event("up", pid=1)
    streamer._event("alert", message="down")
    streamer._event("encoder_exit", pid=1, code=0, cause="finished")
    streamer.status.state = "stopped"
    streamer._write_status()
    streamer.feed.close()
    day = today()
    assert day_health(work, day, channel_timezone(), time.time()).alerts == 1
    whole = (work / "events.jsonl").read_bytes()
    last = whole.splitlines(keepends=True)[-1]
    cut = whole[: len(whole) - len(last) // 2]  # half the last line, its newline with it
    (work / "events.jsonl").write_bytes(cut)
    torn = day_health(work, day, channel_timezone(), time.time())
    assert torn.alerts == 1 and torn.encoder_restarts == 0
    lines = whole.splitlines(keepends=True)
    (work / "events.jsonl").write_bytes(lines[0] + b"not json\n" + b"".join(lines[1:]))
    with pytest.raises(RadioHealthError, match=r"events.jsonl:2 is not an event line"):
        day_health(work, day, channel_timezone(), time.time())
    failed = dg.materialize(
        [radio_health],
        partition_key=day,
        instance=instance,
        resources=make_resources(data_dir),
        raise_on_error=False,
    )
    assert not failed.success
    failure = failed.get_step_failure_events()[0].step_failure_data
    assert "events.jsonl:2 is not an event line" in failure.user_failure_data.description


# --- schedules ---------------------------------------------------------------------------------


def test_radio_schedules_prepare_tomorrows_queue_and_record_the_health_hourly(instance):
    zone = ZoneInfo(channel_timezone())
    noon = dt.datetime(2026, 12, 3, 12, tzinfo=zone)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=noon) as context:
        queue = radio_queue_schedule(context)
    assert (queue.partition_key, queue.run_key) == ("2026-12-03", "radio-queue-2026-12-03")
    assert radio_queue_schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    midnight = dt.datetime(2026, 12, 4, 0, tzinfo=zone)
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=midnight) as context:
        at_midnight = radio_health_schedule(context)
    assert [r.partition_key for r in at_midnight] == ["2026-12-04", "2026-12-03"]
    with dg.build_schedule_context(instance=instance, scheduled_execution_time=noon) as context:
        assert [r.partition_key for r in radio_health_schedule(context)] == ["2026-12-03"]
