"""Issue 15, upload and YouTube faults: each probe against the local YouTube server, kept.

Across these tests the server ends with exactly one video per release, at most one thumbnail
set and one playlist item per playlist; each test runs in well under 10 s (the timeout mark).
"""

import datetime as dt
import hashlib
import itertools
import socket
import time

import pytest

from lofi_assets.publish.upload import (
    Publisher,
    ReleaseUpload,
    SessionRestartPolicy,
    UploadLedger,
    release_tag,
)
from lofi_assets.publish.warehouse import SCHEMA, Warehouse
from lofi_assets.publish.youtube import (
    ENDPOINT_ENV,
    PublishError,
    TokenServerUnreachableError,
    build_clients,
    load_credentials,
    token_uri_for,
)
from lofi_assets_tests.youtube_server import (
    UPLOAD_CHUNK_BYTES,
    LocalYouTube,
    five_chunk_release,
    write_token_file,
)

pytestmark = pytest.mark.timeout(10)

CHUNK = UPLOAD_CHUNK_BYTES
DATE = "2026-11-27"
NOW = dt.datetime(2026, 11, 27, 8, 0, tzinfo=dt.UTC)
SESSION_START = "POST /upload/youtube/v3/videos"
PLAYLIST_ADD = "POST /youtube/v3/playlistItems"
PLAYLIST_LOOKUP = "GET /youtube/v3/playlistItems"
SOCKET_TIMEOUT_S = 60  # googleapiclient's default (DEFAULT_HTTP_TIMEOUT_SEC), which a stall costs


@pytest.fixture
def server():
    with LocalYouTube() as local:
        yield local


@pytest.fixture
def release(tmp_path):
    return five_chunk_release(tmp_path)


@pytest.fixture
def ledger_url(tmp_path):
    return str(tmp_path / "warehouse.duckdb")


def _publisher(server, ledger_url, credentials=None, **options):
    options = {"sleep": lambda s: None, **options}
    return Publisher(
        build_clients(credentials, server.endpoint), UploadLedger(Warehouse(ledger_url)),
        chunk_bytes=CHUNK, now=lambda: NOW, **options,
    )  # fmt: skip


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _assert_published_once(server, release, video_id):
    """One video with the file's bytes, one thumbnail set, one item in each playlist."""
    assert list(server.fake.videos) == [video_id]
    assert _sha256(server.uploaded_bytes(video_id)) == _sha256(release.video_path.read_bytes())
    assert server.fake.thumbnail_sets == {video_id: 1}
    for playlist_id in server.fake.playlists:
        items = [i for i in server.fake.playlist_items if i["snippet"]["playlistId"] == playlist_id]
        assert [i["snippet"]["resourceId"]["videoId"] for i in items] == [video_id]
    assert server.fake.videos[video_id]["status"]["publishAt"] == release.publish_at_utc


# -- 1. endless restart loop ---------------------------------------------------------------
def test_a_misrouted_upload_stops_after_a_few_backed_off_sessions(server, ledger_url, release):
    """Every chunk PUT answers 404: before, 73 sessions in 15 s and no end."""
    server.fake.every_chunk_fault = "404"
    policy = SessionRestartPolicy(max_sessions=4, base_s=0.05)
    publisher = _publisher(server, ledger_url, sleep=time.sleep, restarts=policy)
    with pytest.raises(PublishError, match="4 new upload sessions in a row failed") as raised:
        publisher.publish(release)
    assert server.count(SESSION_START) == 4
    assert server.fake.data_puts == 4  # one chunk each, and no video
    assert server.fake.videos == {}
    assert "HTTP 404 from the session on 127.0.0.1" in str(raised.value)
    assert ENDPOINT_ENV in str(raised.value)
    # A real wait before each new session: at least the jitter's lower half of base·2^(n-1).
    gaps_s = [b - a for a, b in itertools.pairwise(server.fake.session_starts_s)]
    assert [gap >= 0.5 * policy.base_s * 2**n for n, gap in enumerate(gaps_s)] == [True] * 3
    ledger = UploadLedger(Warehouse(ledger_url)).load(DATE)
    assert (ledger.state, ledger.session_uri, ledger.video_id) == ("planned", None, None)


def test_a_server_that_keeps_nothing_of_the_chunks_is_not_fed_for_ever(server, ledger_url, release):
    """Every chunk PUT answers 308 "resume incomplete" with nothing kept: a loop without
    progress, bounded by the retry budget like any other failed try."""
    server.fake.every_chunk_fault = "discard"
    with pytest.raises(TimeoutError, match="after 3 attempts: the server kept nothing"):
        _publisher(server, ledger_url, max_attempts=3).publish(release)
    assert (server.count(SESSION_START), server.fake.data_puts) == (1, 3)


def test_restart_waits_grow_and_are_capped():
    policy = SessionRestartPolicy(base_s=2.0, cap_s=10.0)
    assert [policy.delay_s(n, 0.0) for n in (1, 2, 3, 4, 5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert policy.delay_s(2, 0.999999) == pytest.approx(4.0)


# -- 2. a token refresh mid-upload --------------------------------------------------------
def test_a_token_expiring_mid_upload_costs_no_timeout(server, ledger_url, release, tmp_path):
    """The access token expires at chunk 3: the server answers 401, the OAuth wrapper
    refreshes it and sends the chunk again. Before, that second send promised 256 KiB and sent
    none, and the upload stood still until the 60 s socket timeout."""
    token = write_token_file(tmp_path / "token.json", server.endpoint)
    credentials = load_credentials(token, token_uri_for(server.endpoint))
    server.fake.chunk_faults = {3: "expire_token"}
    started = time.monotonic()
    outcome = _publisher(server, ledger_url, credentials).publish(release)
    elapsed_s = time.monotonic() - started
    assert elapsed_s < 5 < SOCKET_TIMEOUT_S
    assert server.fake.expired_tokens == {"local-access-token"}
    assert server.fake.refreshes == 1
    assert server.fake.stalled_bodies == 0  # no chunk promised bytes it did not send
    assert outcome.retries == 0  # the wrapper's re-send was whole: nothing for our loop to do
    assert server.count(SESSION_START) == 1
    assert server.fake.data_puts == 6  # five chunks, chunk 3 twice
    _assert_published_once(server, release, outcome.video_id)


def test_a_token_server_down_mid_upload_fails_the_step_at_once(
    server, ledger_url, release, tmp_path
):
    """Item 6 during an upload: the token expires at chunk 3 and its server does not answer.
    The step fails now, naming the server (its RetryPolicy, or the next run, resumes the saved
    session), instead of minutes of in-step backoff holding the youtube_api pool."""
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        closed_token_uri = f"http://127.0.0.1:{probe.getsockname()[1]}/token"
    token = write_token_file(tmp_path / "token.json", server.endpoint)
    credentials = load_credentials(token, closed_token_uri)
    server.fake.chunk_faults = {3: "expire_token"}
    waits_s: list[float] = []
    publisher = _publisher(server, ledger_url, credentials, sleep=waits_s.append)
    with pytest.raises(TokenServerUnreachableError, match="could not reach the token server"):
        publisher.publish(release)
    assert waits_s == []  # no backoff inside the step
    assert server.fake.videos == {}
    ledger = UploadLedger(Warehouse(ledger_url)).load(DATE)
    assert (ledger.state, ledger.session_uri is not None) == ("session", True)


# -- 3. the final reply lost, the session expired ---------------------------------------------
def test_a_video_whose_final_reply_was_lost_is_adopted_not_uploaded_again(
    server, ledger_url, release
):
    server.fake.chunk_faults = {5: "drop"}  # the last chunk is kept, its answer never comes
    with pytest.raises(TimeoutError):
        _publisher(server, ledger_url, max_attempts=1).publish(release)
    (video_id,) = server.fake.videos  # YouTube made the video; the run never heard of it
    assert UploadLedger(Warehouse(ledger_url)).load(DATE).state == "session"
    server.fake.sessions.clear()  # by the re-run the saved session has expired
    outcome = _publisher(server, ledger_url).publish(release)
    assert (outcome.video_id, outcome.state) == (video_id, "scheduled")
    assert outcome.steps_done == ["adopted", "thumbnail", "playlisted", "scheduled"]
    assert server.count(SESSION_START) == 1
    assert release_tag(DATE) in server.fake.videos[video_id]["snippet"]["tags"]
    assert UploadLedger(Warehouse(ledger_url)).load(DATE).video_id == video_id
    _assert_published_once(server, release, video_id)


def test_the_marker_tag_fits_in_youtube_500_characters(tmp_path):
    """The marker is added last; tags that leave it no room give way from the end."""
    tags = ["x" * 250, "y" * 200, "z" * 40]  # 490 + 2 commas = 492
    upload = ReleaseUpload(
        DATE, tmp_path / "v.mp4", tmp_path / "t.jpg", "t", "d", tags, [], "2026-11-27T15:00:00Z"
    )
    sent = upload.video_body(NOW)["snippet"]["tags"]
    assert sent == ["x" * 250, "y" * 200, "lofi-release-2026-11-27"]  # 250+200+23 + 2 = 475


# -- 4. the ledger write after a playlist insert fails ---------------------------------------
PLAYLIST_TABLE = next(ddl for ddl in SCHEMA if "youtube_playlist_items (" in ddl)


def _refuse_playlist_rows(url: str) -> None:
    """The ledger's playlist table as the schema makes it, plus a CHECK no real row passes."""
    refusing = PLAYLIST_TABLE.rstrip().removesuffix(")") + ", CHECK (item_id = ''))"
    Warehouse(url).execute_many(
        [("DROP TABLE youtube_playlist_items", []), (refusing.replace("IF NOT EXISTS ", ""), [])]
    )


def _accept_playlist_rows(url: str) -> None:
    Warehouse(url).execute_many([("DROP TABLE youtube_playlist_items", []), (PLAYLIST_TABLE, [])])


@pytest.mark.parametrize("engine", ["duckdb", "postgresql"])
def test_a_playlist_item_whose_ledger_write_failed_is_not_added_again(
    server, release, tmp_path, request, engine
):
    url = (
        request.getfixturevalue("postgres_url")
        if engine == "postgresql"
        else str(tmp_path / "w.duckdb")
    )
    _refuse_playlist_rows(url)
    with pytest.raises(Warehouse(url).conflict_errors()):
        _publisher(server, url).publish(release)
    assert server.count(PLAYLIST_ADD) == 1  # the insert happened; its record did not
    _accept_playlist_rows(url)
    outcome = _publisher(server, url).publish(release)
    assert outcome.steps_done == ["playlisted", "scheduled"]
    assert server.count(PLAYLIST_ADD) == 1
    assert server.count(PLAYLIST_LOOKUP) >= 2  # the playlist was asked before each insert
    (item,) = server.fake.playlist_items
    recorded = UploadLedger(Warehouse(url)).playlist_items(DATE)
    assert recorded == {"Lofi for studying": item["id"]}
    _assert_published_once(server, release, outcome.video_id)


# -- 5. a channel not verified for custom thumbnails ---------------------------------------
def test_an_unverified_channel_is_playlisted_and_scheduled_and_gets_its_thumbnail_later(
    server, ledger_url, release
):
    server.fake.thumbnails_allowed = False
    first = _publisher(server, ledger_url).publish(release)
    assert (first.state, first.steps_done) == ("scheduled", ["uploaded", "playlisted", "scheduled"])
    assert "channel must be verified to use custom thumbnails" in first.thumbnail_pending
    assert "https://www.youtube.com/verify" in first.thumbnail_pending
    assert "lofi auth youtube" not in first.thumbnail_pending
    ledger = UploadLedger(Warehouse(ledger_url))
    assert ledger.thumbnail_pending(DATE) == first.thumbnail_pending
    assert len(server.fake.playlist_items) == 1
    assert server.fake.videos[first.video_id]["status"]["publishAt"] == release.publish_at_utc
    assert server.fake.thumbnail_sets == {}

    still = _publisher(server, ledger_url).publish(release)  # not verified yet: still pending
    assert (still.steps_done, still.thumbnail_pending) == ([], first.thumbnail_pending)

    server.fake.thumbnails_allowed = True  # the owner verified the channel
    later = _publisher(server, ledger_url).publish(release)
    assert (later.steps_done, later.thumbnail_pending, later.state) == (
        ["thumbnail"],
        "",
        "scheduled",
    )
    assert ledger.thumbnail_pending(DATE) is None
    assert server.fake.thumbnails[first.video_id] == release.thumbnail_path.read_bytes()
    again = _publisher(server, ledger_url).publish(release)
    assert again.steps_done == []
    _assert_published_once(server, release, first.video_id)
