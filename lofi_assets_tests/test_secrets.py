"""No secret leaves the product (issue 15, items 6 and 7).

Recognisable fake secrets go into every secret-bearing setting ($LOFI_WAREHOUSE_URL in the
``postgresql+psycopg2://user:SECRET@…`` form docker/dagster.yaml uses, $LOFI_SFTP_PASSWORD, the
token file's refresh token and client secret, the Celery broker and backend URLs); real runs on
a real instance (SQLite storage and local compute logs under a temporary DAGSTER_HOME) fail on
each one's failure path; then the whole DAGSTER_HOME (event-log and index databases, compressed
snapshots included, compute logs), LOFI_DATA_DIR and the process output hold none of them,
neither as written nor percent-encoded.
"""

import contextlib
import datetime as dt
import json
import logging
import os
import socket
import sqlite3
import urllib.parse
import zlib
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
from PIL import Image

from lofi_assets.audio.wav import write_wav
from lofi_assets.definitions import celery_tracks_job_definition, resources_from_environment
from lofi_assets.defs.assets.compose import midi_sketch
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
from lofi_assets.defs.failures import domain_failures
from lofi_assets.defs.pools import prepare_pools
from lofi_assets.defs.records import (
    RECORD_FILE,
    MasterRecord,
    MetadataRecord,
    ThumbnailRecord,
    record_to_document,
)
from lofi_assets.defs.resources import (
    ArtifactStore,
    DistributorResource,
    WarehouseResource,
    YouTubeResource,
)
from lofi_assets.defs.scale_out import BACKEND_ENV, BROKER_ENV
from lofi_assets.errors import ConfigError
from lofi_assets.publish.warehouse import Warehouse, WarehouseError
from lofi_assets.publish.youtube import (
    CredentialsError,
    Retrier,
    build_clients,
    load_credentials,
    token_uri_for,
)
from lofi_assets.redaction import RedactedError, install_log_redaction, redact, redact_exception
from lofi_assets.storage import write_json_atomic
from lofi_assets_tests.conftest import REPO_ROOT
from lofi_assets_tests.sftp_server import USERNAME, LocalSftp
from lofi_assets_tests.youtube_server import LocalYouTube

DATE = "2026-11-25"
# Each with characters that percent-encoding changes, so both forms are looked for.
WAREHOUSE_PASSWORD = "wh-Secret/Pw+71"
SFTP_PASSWORD = "sftp-Secret/Pw+72"
REFRESH_TOKEN = "1//rt-Secret+Token/73"
CLIENT_SECRET = "GOCSPX-client-Secret/74"
BROKER_PASSWORD = "broker-Secret/Pw+75"
BACKEND_PASSWORD = "backend-Secret/Pw+76"
SECRETS = (
    WAREHOUSE_PASSWORD, SFTP_PASSWORD, REFRESH_TOKEN, CLIENT_SECRET, BROKER_PASSWORD,
    BACKEND_PASSWORD,
)  # fmt: skip
ALL_ASSETS = [
    midi_sketch, stems, mastered_wav, release_mix, release_metadata, thumbnail, video,
    shorts_teaser, youtube_upload, analytics_snapshot, streaming_release,
]  # fmt: skip
# A refused refresh, as the token server answers it (the local server's error shape).
INVALID_GRANT = (400, "invalid_grant", "Token has been expired or revoked.")


def _quoted(secret: str) -> str:
    return urllib.parse.quote(secret, safe="")


def _forms(secret: str) -> set[bytes]:
    """The secret as written, percent-encoded (URLs) and form-encoded (request bodies)."""
    texts = {secret, _quoted(secret), urllib.parse.quote_plus(secret, safe="")}
    return {text.encode("utf-8") for text in texts}


def _database_texts(path: Path) -> list[bytes]:
    """Every value of every table of a SQLite file, zlib-compressed values (Dagster's
    snapshots) decompressed."""
    texts: list[bytes] = []
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]  # fmt: skip
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        texts.append(value)
                        with contextlib.suppress(zlib.error):
                            texts.append(zlib.decompress(value))
                    elif value is not None:
                        texts.append(str(value).encode("utf-8"))
    return texts


def _duckdb_texts(path: Path) -> list[bytes]:
    """Every value of every table of a DuckDB file (its strings are stored compressed)."""
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        tables = [row[0] for row in connection.execute("SELECT table_name FROM information_schema.tables").fetchall()]  # fmt: skip
        return [
            repr(row).encode("utf-8")
            for table in tables
            for row in connection.execute(f'SELECT * FROM "{table}"').fetchall()
        ]


def _leaks(folders: list[Path], output: str) -> dict[str, list[str]]:
    """secret → where it was found (file paths, 'output')."""
    found: dict[str, list[str]] = {}
    places: list[tuple[str, list[bytes]]] = [("output", [output.encode("utf-8")])]
    for folder in folders:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            content = path.read_bytes()
            texts = [content]
            if content.startswith(b"SQLite format 3\x00"):
                texts += _database_texts(path)
            elif path.suffix == ".duckdb":
                texts += _duckdb_texts(path)
            places.append((str(path), texts))
    for secret in SECRETS:
        for where, texts in places:
            if any(form in text for form in _forms(secret) for text in texts):
                found.setdefault(secret, []).append(where)
    return found


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _write_token(path: Path, expired: bool) -> Path:
    """A token file of `lofi auth youtube`'s form holding the fake refresh token and secret."""
    expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=-1 if expired else 1)
    path.write_text(
        json.dumps(
            {
                "token": "local-access-token",
                "refresh_token": REFRESH_TOKEN,
                "token_uri": "https://oauth2.googleapis.com/token",
                "client_id": "local-client",
                "client_secret": CLIENT_SECRET,
                "expiry": expiry.isoformat() + "Z",
            }
        )
    )
    return path


def _failure(result: dg.ExecuteInProcessResult) -> str:
    """The description of the run's one step failure."""
    assert not result.success
    (event,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    data = event.step_failure_data
    return data.user_failure_data.description if data.user_failure_data else data.error.message


def _seed_day(root: Path) -> None:
    """What streaming_release reads of DATE: three 4-second masters, the release metadata and a
    3000×3000 cover, with their records where the record IO manager keeps them."""
    store = ArtifactStore(data_dir=str(root))
    rate_hz = 44_100
    t = np.arange(4 * rate_hz) / rate_hz
    for slot in ("1", "2", "3"):
        folder = store.partition_dir("mastered_wav", f"{DATE}|{slot}")
        tone = (0.25 * np.sin(2 * np.pi * 110 * int(slot) * t)).astype(np.float32)
        wav = write_wav(folder / "master.wav", np.stack([tone, tone]), rate_hz)
        record = MasterRecord(
            store.relative(wav), "", "", -14.0, -6.0, 4.0, "jazz", 80.0
        )  # fmt: skip
        write_json_atomic(folder / RECORD_FILE, record_to_document(record))
    folder = store.partition_dir("release_metadata", DATE)
    metadata = write_json_atomic(
        folder / "metadata.json", {"track_titles": ["One", "Two", "Three"]}
    )
    record = MetadataRecord(store.relative(metadata), "Rain", "2026-11-25T15:00:00Z")
    write_json_atomic(folder / RECORD_FILE, record_to_document(record))
    folder = store.partition_dir("thumbnail", DATE)
    folder.mkdir(parents=True, exist_ok=True)
    cover = folder / "cover.jpg"
    Image.new("RGB", (3000, 3000), (40, 60, 90)).save(cover, "JPEG", quality=80)
    record = ThumbnailRecord({}, store.relative(cover), "rain on the window")
    write_json_atomic(folder / RECORD_FILE, record_to_document(record))


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A DAGSTER_HOME with the product's dagster.yaml (SQLite, local compute logs), a data
    root, and every secret-bearing variable set to a fake secret."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO_ROOT / "dagster.yaml").read_text())
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("LOFI_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LOFI_SFTP_PASSWORD", SFTP_PASSWORD)
    (tmp_path / "secrets").mkdir()
    token = _write_token(tmp_path / "secrets" / "token.json", expired=True)  # outside both roots
    monkeypatch.setenv("YOUTUBE_TOKEN_FILE", str(token))
    monkeypatch.setenv("YOUTUBE_API_ENDPOINT", f"http://127.0.0.1:{_closed_port()}/")
    monkeypatch.setenv(
        "LOFI_WAREHOUSE_URL",
        f"postgresql+psycopg2://lofi:{_quoted(WAREHOUSE_PASSWORD)}@127.0.0.1:{_closed_port()}/lofi",
    )
    monkeypatch.setenv(BROKER_ENV, f"redis://:{_quoted(BROKER_PASSWORD)}@127.0.0.1:{_closed_port()}/0")  # fmt: skip
    monkeypatch.setenv(BACKEND_ENV, f"redis://:{_quoted(BACKEND_PASSWORD)}@127.0.0.1:{_closed_port()}/1")  # fmt: skip
    return home


def test_failing_runs_leave_no_secret_in_the_instance_data_or_output(home, tmp_path, capfd):
    data = tmp_path / "data"
    duckdb_warehouse = WarehouseResource(url=str(data / "warehouse.duckdb"))
    with dg.DagsterInstance.get() as instance:
        prepare_pools(instance)
        resources = resources_from_environment()  # the code location's wiring (dg.EnvVar)

        def run(selection, **overrides):
            return dg.materialize(
                ALL_ASSETS, selection=selection, partition_key=DATE, instance=instance,
                resources={**resources, **overrides}, raise_on_error=False,
            )  # fmt: skip

        # The warehouse URL with a password, its server down: the connection error path.
        url = os.environ["LOFI_WAREHOUSE_URL"]
        down = _failure(run([analytics_snapshot], youtube=YouTubeResource(mode="dry_run")))
        assert down.startswith(
            f"Cannot reach the PostgreSQL warehouse at postgresql+psycopg2://lofi:***@127.0.0.1:"
            f"{urllib.parse.urlsplit(url).port}/lofi: "
        ), down
        assert "Connection refused" in down

        # Item 6 in a Dagster run: the token server does not answer the refresh of the
        # expired token — a failure naming the server, not google-auth's TransportError.
        endpoint = str(dg.EnvVar("YOUTUBE_API_ENDPOINT").get_value())
        unreachable = _failure(run([analytics_snapshot], warehouse=duckdb_warehouse))
        assert unreachable == (
            f"could not reach the token server at {endpoint}token: connection refused — check "
            "the network, or the token_uri (from YOUTUBE_API_ENDPOINT)"
        )

        # The access token expires in the middle of an API call and the refresh is refused.
        Warehouse(duckdb_warehouse.url).execute(
            "INSERT INTO youtube_uploads VALUES (?, ?, ?, ?, ?, ?)",
            [DATE, "scheduled", None, "video000001", "0" * 64, "2026-11-25T00:00:00Z"],
        )
        _write_token(tmp_path / "secrets" / "token.json", expired=False)
        with LocalYouTube() as server:
            server.fake.expired_tokens.add("local-access-token")
            server.fake.route_errors["POST /token"] = INVALID_GRANT
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("YOUTUBE_API_ENDPOINT", server.endpoint)
                refused = _failure(run([analytics_snapshot], warehouse=duckdb_warehouse))
            assert server.count("GET /youtube/v3/videos") == 1
            assert server.count("POST /token") == 1
        assert refused.startswith(
            f"The token server at {server.endpoint}token refused the refresh token (invalid_grant; "
        ), refused
        assert refused.endswith("run `lofi auth youtube`")

        # SFTP delivery with the fake password: the server refuses it.
        _seed_day(data)
        with LocalSftp(tmp_path / "sftp") as sftp:
            distributor = DistributorResource(
                delivery="sftp", sftp_host="127.0.0.1", sftp_port=sftp.port,
                sftp_username=USERNAME, sftp_known_hosts=str(sftp.known_hosts),
            )  # fmt: skip
            denied = _failure(
                run([streaming_release], distributor=distributor, warehouse=duckdb_warehouse)
            )
        assert denied.startswith(
            f"SFTP delivery to sftp://{USERNAME}@127.0.0.1:{sftp.port}/incoming failed: "
            "PermissionDenied"
        ), denied

    captured = capfd.readouterr()
    # The failures were written where a user looks: the event log and the compute logs.
    assert any(home.rglob("*.db")) and any(home.glob("*/compute_logs/*.err"))
    assert _leaks([home, data], captured.out + captured.err) == {}
    # The search finds what is there: the token file's secrets, a percent-encoded password.
    assert _leaks([tmp_path / "secrets"], f"<{_quoted(SFTP_PASSWORD)}>") == {
        REFRESH_TOKEN: [str(tmp_path / "secrets" / "token.json")],
        CLIENT_SECRET: [str(tmp_path / "secrets" / "token.json")],
        SFTP_PASSWORD: ["output"],
    }


def test_production_urls_leave_no_secret_on_success_or_failure(
    home, tmp_path, capfd, monkeypatch, postgres_url, redis_url
):
    """PostgreSQL and Redis as in production: the warehouse on a real server, reached with a
    password in the URL, then a database that does not exist; Celery's broker down."""
    data = tmp_path / "data"
    server = urllib.parse.urlsplit(postgres_url)
    with_password = f"postgresql+psycopg2://{server.username}:{_quoted(WAREHOUSE_PASSWORD)}@{server.netloc.rsplit('@', 1)[-1]}"  # fmt: skip
    backend = urllib.parse.urlsplit(redis_url)
    monkeypatch.setenv(BACKEND_ENV, f"redis://:{_quoted(BACKEND_PASSWORD)}@{backend.netloc}/1")
    with dg.DagsterInstance.get() as instance:
        prepare_pools(instance)

        def run(**overrides):
            return dg.materialize(
                ALL_ASSETS, selection=[analytics_snapshot], partition_key=DATE,
                instance=instance, raise_on_error=False,
                resources={**resources_from_environment(), **overrides},
            )  # fmt: skip

        dry_run = YouTubeResource(mode="dry_run")
        monkeypatch.setenv("LOFI_WAREHOUSE_URL", f"{with_password}{server.path}")
        snapshot = run(youtube=dry_run)
        assert snapshot.success  # the SQLAlchemy form docker/dagster.yaml uses is accepted
        missing_database = "lofi_no_such_database"
        monkeypatch.setenv("LOFI_WAREHOUSE_URL", f"{with_password}/{missing_database}")
        missing = _failure(run(youtube=dry_run))
        assert missing.startswith(
            f"Cannot reach the PostgreSQL warehouse at {with_password.replace(_quoted(WAREHOUSE_PASSWORD), '***')}"
            f"/{missing_database}: "
        ), missing
        assert f'database "{missing_database}" does not exist' in missing

        # The Celery executor, its broker down: the run's submission fails.
        celery = dg.execute_job(
            dg.reconstructable(celery_tracks_job_definition), instance=instance,
            tags={"dagster/partition": f"{DATE}|1", "dagster/partition/date": DATE,
                  "dagster/partition/slot": "1"},
            raise_on_error=False,
        )  # fmt: skip
        assert not celery.success
    captured = capfd.readouterr()
    # The failures were written where a user looks: the event log and the compute logs.
    assert any(home.rglob("*.db")) and any(home.glob("*/compute_logs/*.err"))
    assert _leaks([home, data], captured.out + captured.err) == {}


def test_warehouse_urls_are_read_with_sqlalchemy_and_shown_masked(monkeypatch):
    url = f"postgresql+psycopg2://lofi:{_quoted(WAREHOUSE_PASSWORD)}@db:5433/lofi?sslmode=require"
    warehouse = Warehouse(url)
    assert warehouse.target == "postgresql+psycopg2://lofi:***@db:5433/lofi?sslmode=require"
    assert warehouse._connect_options == {
        "host": "db", "port": 5433, "user": "lofi", "password": WAREHOUSE_PASSWORD,
        "dbname": "lofi", "sslmode": "require",
    }  # fmt: skip
    with pytest.raises(ConfigError) as unsupported:
        Warehouse(f"mysql://lofi:{WAREHOUSE_PASSWORD}@db/lofi")
    assert str(unsupported.value).startswith("Warehouse 'mysql://lofi:***@db/lofi': the mysql://")
    with pytest.raises(ConfigError) as unreadable:
        Warehouse(f"postgresql://lofi:{_quoted(WAREHOUSE_PASSWORD)}@db:port/lofi")
    assert "***" in str(unreadable.value) and unreadable.value.__cause__ is None
    with pytest.raises(WarehouseError) as down:
        Warehouse(url.replace("db:5433", f"127.0.0.1:{_closed_port()}")).query("SELECT 1")
    assert not any(form.decode() in str(down.value) for form in _forms(WAREHOUSE_PASSWORD))


def test_a_failure_chain_is_masked_link_by_link(monkeypatch, tmp_path):
    monkeypatch.setenv("LOFI_SFTP_PASSWORD", SFTP_PASSWORD)

    class Reply(Exception):  # a library error whose message is built from an attribute
        def __init__(self, url: str) -> None:
            super().__init__()
            self.url = url

        def __str__(self) -> str:
            return f"no answer from {self.url}"

    def fail() -> None:
        try:
            try:
                raise Reply(f"redis://:{_quoted(BROKER_PASSWORD)}@broker:6379/0")
            except Reply as reply:
                raise OSError(f"connect with {SFTP_PASSWORD} failed") from reply
        except OSError as error:
            raise ConfigError(f"postgresql://lofi:{_quoted(WAREHOUSE_PASSWORD)}@db/lofi") from error

    with pytest.raises(dg.Failure) as raised, domain_failures(tmp_path):
        fail()
    failure = raised.value
    assert failure.description == "postgresql://lofi:***@db/lofi"
    chain = [failure.__cause__, failure.__cause__.__cause__, failure.__cause__.__cause__.__cause__]
    assert [type(link) for link in chain] == [ConfigError, OSError, RedactedError]
    assert str(chain[1]) == "connect with *** failed"
    assert str(chain[2]) == f"{__name__}.Reply: no answer from redis://:***@broker:6379/0"
    assert chain[2].__traceback__ is not None  # where it was raised is kept
    # Any other exception keeps its type (Dagster's own, a bug's), masked in place.
    with pytest.raises(KeyError) as bug, domain_failures(tmp_path):
        raise KeyError(f"token={REFRESH_TOKEN}")
    assert str(bug.value) == "'token=***'"
    assert redact_exception(ValueError("plain")).args == ("plain",)


def test_log_records_are_masked_whichever_logger_makes_them(monkeypatch, caplog):
    monkeypatch.setenv("LOFI_SFTP_PASSWORD", SFTP_PASSWORD)
    install_log_redaction()
    # A logger no filter was attached to, as Dagster's per-run log manager is.
    logger = logging.Logger("made.elsewhere")
    logger.addHandler(caplog.handler)
    try:
        raise ValueError(f"refresh_token={REFRESH_TOKEN}")
    except ValueError:
        logger.exception(
            "connecting to %s with %s",
            f"redis://:{_quoted(BROKER_PASSWORD)}@broker/0", {"client_secret": CLIENT_SECRET},
        )  # fmt: skip
    text = caplog.text
    assert "connecting to redis://:***@broker/0 with {'client_secret': '***'}" in text
    assert "refresh_token=***" in text and "ValueError" in text
    assert not any(form.decode() in text for secret in SECRETS for form in _forms(secret))
    assert redact(SFTP_PASSWORD) == "***"


def test_a_refresh_refused_mid_call_is_a_credentials_error(tmp_path):
    token = _write_token(tmp_path / "token.json", expired=False)
    with LocalYouTube() as server:
        credentials = load_credentials(token, token_uri_for(server.endpoint))
        clients = build_clients(credentials, server.endpoint)
        server.fake.expired_tokens.add("local-access-token")
        server.fake.route_errors["POST /token"] = INVALID_GRANT
        with pytest.raises(CredentialsError) as refused:
            Retrier(sleep=lambda s: None).execute(
                clients.youtube.videos().list(part="snippet", id="x"), "read videos"
            )
        assert server.count("POST /token") == 1  # refused once: not retried
    assert str(refused.value).startswith(f"The token server at {server.endpoint}token refused")
    assert refused.value.reason == "refresh_refused"
