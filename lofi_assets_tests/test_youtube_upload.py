"""Publishing against a local server that speaks YouTube's protocols, with faults injected."""

import datetime as dt
import json
import signal
import subprocess
import sys
import textwrap

import pytest

from lofi_assets.publish.upload import Publisher, ReleaseUpload, UploadLedger
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import PublishError, QuotaExceededError, build_clients
from lofi_assets_tests.youtube_server import (
    QUOTA_ERROR,
    UPLOAD_CHUNK_BYTES,
    UPLOAD_LIMIT_ERROR,
    LocalYouTube,
    five_chunk_release,
)

CHUNK = UPLOAD_CHUNK_BYTES
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
SESSION_START = "POST /upload/youtube/v3/videos"
THUMBNAIL_SET = "POST /upload/youtube/v3/thumbnails/set"
PLAYLIST_ADD = "POST /youtube/v3/playlistItems"


@pytest.fixture
def server():
    with LocalYouTube() as local:
        yield local


@pytest.fixture
def release(tmp_path):
    return five_chunk_release(tmp_path)


@pytest.fixture(params=["duckdb", "postgresql"])
def ledger_url(request, tmp_path):
    """The upload ledger's warehouse: the same tests on DuckDB and on a real PostgreSQL."""
    if request.param == "postgresql":
        return request.getfixturevalue("postgres_url")
    return str(tmp_path / "warehouse.duckdb")


def _publisher(server, ledger_url, **options):
    ledger = UploadLedger(Warehouse(ledger_url))
    clients = build_clients(credentials=None, endpoint=server.endpoint)
    return Publisher(
        clients, ledger, chunk_bytes=CHUNK, sleep=lambda s: None, now=lambda: NOW, **options
    )


def test_five_chunks_survive_a_503_and_a_reset_in_one_session(server, ledger_url, release):
    server.fake.chunk_faults = {2: "503", 4: "reset"}
    outcome = _publisher(server, ledger_url).publish(release)
    assert server.count(SESSION_START) == 1
    assert outcome.retries == 2
    assert server.uploaded_bytes(outcome.video_id) == release.video_path.read_bytes()
    assert outcome.state == "scheduled"
    video = server.fake.videos[outcome.video_id]
    assert video["snippet"]["categoryId"] == "10"
    assert video["status"] | {"uploadStatus": "uploaded"} == video["status"]
    assert video["status"]["publishAt"] == "2026-11-27T15:00:00Z"
    assert video["status"]["privacyStatus"] == "private"
    assert video["status"]["selfDeclaredMadeForKids"] is False
    assert video["status"]["containsSyntheticMedia"] is True
    assert server.fake.thumbnails[outcome.video_id] == release.thumbnail_path.read_bytes()


def test_a_chunk_kept_but_never_answered_is_resumed_not_sent_again(server, ledger_url, release):
    """The server keeps chunk 2 and closes without answering. httplib2 would send the request
    again by itself, with the chunk's stream used up (headers promising bytes that never come,
    then a wait for the socket timeout); instead our loop asks the server and resumes."""
    server.fake.chunk_faults = {2: "drop"}
    messages: list[str] = []
    outcome = _publisher(server, ledger_url, log=messages.append).publish(release)
    (retry,) = [message for message in messages if "retrying" in message]
    assert "ConnectionResetError" in retry and "timed out" not in retry
    assert server.count(SESSION_START) == 1
    assert server.uploaded_bytes(outcome.video_id) == release.video_path.read_bytes()
    assert outcome.state == "scheduled"


def test_three_reruns_publish_exactly_once(server, ledger_url, release):
    first = _publisher(server, ledger_url).publish(release)
    assert first.steps_done == ["uploaded", "thumbnail", "playlisted", "scheduled"]
    for _ in range(3):
        again = _publisher(server, ledger_url).publish(release)
        assert (again.video_id, again.steps_done) == (first.video_id, [])
    assert server.count(SESSION_START) == 1
    assert server.count(THUMBNAIL_SET) == 1
    assert server.count(PLAYLIST_ADD) == 1
    assert len(server.fake.videos) == 1 and len(server.fake.playlists) == 1


@pytest.mark.parametrize("error", [QUOTA_ERROR, UPLOAD_LIMIT_ERROR], ids=lambda e: e[1])
def test_quota_refusals_are_never_retried(server, ledger_url, release, error):
    server.fake.route_errors[SESSION_START] = error
    with pytest.raises(QuotaExceededError, match=error[1]) as raised:
        _publisher(server, ledger_url).publish(release)
    assert raised.value.reason == error[1]
    # Each request once: the lookup of the channel's uploads, then the refused insert.
    assert server.count(SESSION_START) == 1
    assert set(server.fake.requests.values()) == {1}


def test_quota_during_playlisting_resumes_where_it_stopped(server, ledger_url, release):
    server.fake.route_errors[THUMBNAIL_SET] = QUOTA_ERROR
    with pytest.raises(QuotaExceededError):
        _publisher(server, ledger_url).publish(release)
    assert server.count(THUMBNAIL_SET) == 1
    ledger_state = UploadLedger(Warehouse(ledger_url)).load("2026-11-27")
    assert ledger_state.state == "uploaded"
    server.fake.route_errors.clear()
    outcome = _publisher(server, ledger_url).publish(release)
    assert outcome.steps_done == ["thumbnail", "playlisted", "scheduled"]
    assert server.count(SESSION_START) == 1


def test_an_expired_session_starts_a_new_upload(server, ledger_url, release):
    server.fake.chunk_faults = {2: "503"}
    publisher = _publisher(server, ledger_url, max_attempts=1)
    with pytest.raises(TimeoutError):
        publisher.publish(release)
    server.fake.sessions.clear()  # the saved session is gone on the server
    outcome = _publisher(server, ledger_url).publish(release)
    assert server.count(SESSION_START) == 2
    assert server.uploaded_bytes(outcome.video_id) == release.video_path.read_bytes()


def test_bad_requests_fail_with_the_reason(server, ledger_url, release):
    server.fake.route_errors[SESSION_START] = (400, "invalidTitle", "The title is invalid")
    with pytest.raises(PublishError, match="invalidTitle"):
        _publisher(server, ledger_url).publish(release)
    assert server.count(SESSION_START) == 1
    assert set(server.fake.requests.values()) == {1}


def test_a_killed_upload_resumes_its_session(server, ledger_url, release):
    """Kill -9 the uploading process during chunk 2; the next run continues the same session."""
    server.fake.chunk_faults = {2: "hang"}
    fields = {k: str(v) if k.endswith("_path") else v for k, v in release.__dict__.items()}
    script = textwrap.dedent(f"""
        import datetime as dt, json
        from pathlib import Path
        from lofi_assets.publish.upload import Publisher, ReleaseUpload, UploadLedger
        from lofi_assets.publish.warehouse import Warehouse
        from lofi_assets.publish.youtube import build_clients
        fields = json.loads({json.dumps(fields)!r})
        release = ReleaseUpload(**{{k: Path(v) if k.endswith("_path") else v for k, v in fields.items()}})
        ledger = UploadLedger(Warehouse({ledger_url!r}))
        now = lambda: dt.datetime(2026, 11, 27, 8, tzinfo=dt.UTC)
        Publisher(build_clients(None, {server.endpoint!r}), ledger, chunk_bytes={CHUNK}, now=now).publish(release)
    """)  # fmt: skip
    child = subprocess.Popen([sys.executable, "-c", script])
    try:
        assert server.fake.hang_started.wait(30), "the child never reached chunk 2"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    server.fake.release_hang.set()
    outcome = _publisher(server, ledger_url).publish(release)
    assert server.count(SESSION_START) == 1
    assert server.uploaded_bytes(outcome.video_id) == release.video_path.read_bytes()
    assert len(server.fake.videos) == 1


def test_a_release_is_read_from_its_metadata_document_with_or_without_languages(tmp_path):
    document = {
        "title": "rainy night · lofi",
        "description": "beats",
        "tags": ["lofi"],
        "playlists": ["night"],
        "publish_at_utc": "2026-11-28T14:00:00Z",
        "default_language": "en",
        "default_audio_language": "zxx",
        "localizations": {"es": {"title": "noche", "description": "ritmos"}},
    }
    paths = {"video_path": tmp_path / "video.mp4", "thumbnail_path": None}
    daily = ReleaseUpload.from_metadata_document(document, release_date="2026-11-28", **paths)
    assert (daily.kind, daily.ledger_key) == ("daily", "2026-11-28")
    assert daily.default_audio_language == "zxx"
    assert daily.localizations == document["localizations"]
    weekly = ReleaseUpload.from_metadata_document(
        document, release_date="2026-11-23", kind="weekly", with_languages=False, **paths
    )
    assert weekly.ledger_key == "weekly-2026-11-23"
    assert (weekly.default_audio_language, weekly.localizations) == (None, {})
    older = {k: v for k, v in document.items() if "lang" not in k and k != "localizations"}
    before_languages = ReleaseUpload.from_metadata_document(
        older, release_date="2026-11-28", **paths
    )
    assert (before_languages.default_language, before_languages.localizations) == ("en", {})
