"""The analytics warehouse: a DuckDB file by default, PostgreSQL in production.

It holds the upload ledger (what has been done on YouTube for each release, saved after every
side effect) and the analytics the channel learns from. The SQL is the subset both engines
speak (``INSERT … ON CONFLICT … DO UPDATE``, VARCHAR/BIGINT/DOUBLE PRECISION); queries are
written with ``?`` placeholders and translated for psycopg2.

DuckDB lets one process write a file at a time, so each operation opens a short connection
and waits (with backoff) while another run holds the lock.

A PostgreSQL URL may carry a password (``postgresql+psycopg2://lofi:SECRET@db/lofi``, the
SQLAlchemy form ``docker/dagster.yaml`` uses, or plain ``postgresql://``). It is read with
SQLAlchemy's ``make_url`` into psycopg2's keyword arguments, and every message shows it as
``render_as_string(hide_password=True)`` renders it: the password never leaves this module.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.redaction import redact, safe_url
from lofi_assets.retrying import call_with_retries

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS youtube_uploads (
        release_date VARCHAR PRIMARY KEY,
        state VARCHAR NOT NULL,
        session_uri VARCHAR,
        video_id VARCHAR,
        body_sha256 VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS youtube_playlist_items (
        release_date VARCHAR NOT NULL,
        playlist_title VARCHAR NOT NULL,
        playlist_id VARCHAR NOT NULL,
        item_id VARCHAR NOT NULL,
        PRIMARY KEY (release_date, playlist_title)
    )""",
    # A thumbnail YouTube would not take yet (the channel is not verified): set by a later run.
    """CREATE TABLE IF NOT EXISTS youtube_pending_thumbnails (
        release_date VARCHAR PRIMARY KEY,
        video_id VARCHAR NOT NULL,
        reason VARCHAR NOT NULL,
        since VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS video_daily (
        day VARCHAR NOT NULL,
        video_id VARCHAR NOT NULL,
        views BIGINT NOT NULL,
        estimated_minutes_watched DOUBLE PRECISION NOT NULL,
        average_view_duration_s DOUBLE PRECISION NOT NULL,
        likes BIGINT NOT NULL,
        subscribers_gained BIGINT NOT NULL,
        fetched_on VARCHAR NOT NULL,
        PRIMARY KEY (day, video_id)
    )""",
    """CREATE TABLE IF NOT EXISTS isrc_registry (
        isrc VARCHAR PRIMARY KEY,
        track_key VARCHAR NOT NULL UNIQUE,
        year VARCHAR NOT NULL,
        designation BIGINT NOT NULL,
        issued_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS upc_assignments (
        upc VARCHAR PRIMARY KEY,
        release_key VARCHAR NOT NULL UNIQUE,
        assigned_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS video_totals (
        video_id VARCHAR PRIMARY KEY,
        release_date VARCHAR NOT NULL,
        title VARCHAR NOT NULL,
        duration_s DOUBLE PRECISION NOT NULL,
        view_count BIGINT NOT NULL,
        like_count BIGINT NOT NULL,
        comment_count BIGINT NOT NULL,
        fetched_on VARCHAR NOT NULL
    )""",
)

LOCK_WAIT_S = 60.0


class WarehouseError(LofiError):
    """The warehouse cannot be opened or written."""


# The SQLAlchemy dialect names of PostgreSQL through psycopg2 (SQLAlchemy's "PostgreSQL"
# dialect page: postgresql:// defaults to psycopg2); postgres:// is libpq's own alias.
POSTGRESQL_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg2")


class Warehouse:
    """``duckdb:///abs/file.duckdb``, a plain ``.duckdb`` path, or a PostgreSQL URL
    (``postgresql://`` or ``postgresql+psycopg2://``, user, password, host, port, database and
    libpq options such as ``?sslmode=require``).

    Raises:
        ConfigError: neither a ``.duckdb`` file nor a PostgreSQL URL (shown password-masked).
    """

    def __init__(self, url: str) -> None:
        scheme = url.split("://", 1)[0].lower() if "://" in url else ""
        if scheme in POSTGRESQL_SCHEMES:
            self.engine = "postgresql"
            self._connect_options = _psycopg2_options(url)
            self.target = safe_url(url)  # what messages may show: the password masked
        elif scheme in ("", "duckdb"):
            self.engine = "duckdb"
            path = Path(url.removeprefix("duckdb://"))  # duckdb:///abs/x.duckdb or a path
            if path.suffix != ".duckdb":
                raise ConfigError(
                    f"Warehouse {safe_url(url)!r}: use a .duckdb file or a postgresql:// URL"
                )
            self.target = str(path)
        else:
            raise ConfigError(
                f"Warehouse {safe_url(url)!r}: the {scheme}:// scheme is not supported; use a "
                "path ending in .duckdb, or postgresql://user:password@host:port/database "
                "(postgresql+psycopg2:// too)"
            )
        self._ready = False

    def __repr__(self) -> str:  # never the URL itself: it may carry a password
        return f"Warehouse({self.engine})"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        if self.engine == "postgresql":
            import psycopg2

            try:
                connection = psycopg2.connect(**self._connect_options)
            except (psycopg2.OperationalError, psycopg2.ProgrammingError) as error:
                reason = " ".join(redact(str(error)).split())  # libpq's lines, as one
                raise WarehouseError(
                    f"Cannot reach the PostgreSQL warehouse at {self.target}: {reason} — check "
                    f"the URL in $LOFI_WAREHOUSE_URL and that the database is up and exists"
                ) from error
            try:
                with connection, connection.cursor() as cursor:
                    yield cursor
            finally:
                connection.close()
            return
        import duckdb

        Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_S

        def wait_for_lock(failures: int, error: BaseException) -> None:
            if time.monotonic() > deadline:
                raise WarehouseError(
                    f"The warehouse {self.target} stayed locked for {LOCK_WAIT_S:.0f} s: {error}"
                ) from error
            time.sleep(0.05 + random.random() * 0.2)

        connection = call_with_retries(
            lambda: duckdb.connect(self.target),
            # Another process holds the write lock.
            lambda error: isinstance(error, duckdb.IOException),
            wait_for_lock,
        )
        try:
            connection.begin()
            yield connection
            connection.commit()
        except BaseException:
            connection.rollback()
            raise
        finally:
            connection.close()

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.engine == "postgresql" else sql

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self.execute_many([(sql, parameters)])

    def execute_many(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Run statements in one transaction: all of them land, or none."""
        with self.transaction() as transaction:
            for sql, parameters in statements:
                transaction.execute(sql, parameters)

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.transaction() as transaction:
            return transaction.query(sql, parameters)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One transaction for read-then-write work (e.g. issuing the next code)."""
        self._ensure_schema()
        with self._connection() as cursor:
            yield Transaction(self, cursor)

    def conflict_errors(self) -> tuple[type[BaseException], ...]:
        """What a transaction raises when a concurrent one took the same key first."""
        if self.engine == "postgresql":
            import psycopg2

            return (psycopg2.IntegrityError, psycopg2.errors.SerializationFailure)
        import duckdb

        return (duckdb.ConstraintException, duckdb.TransactionException)

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        self._ready = True
        with self._connection() as cursor:
            if self.engine == "postgresql":  # concurrent CREATE TABLEs can collide in pg_type
                cursor.execute("SELECT pg_advisory_xact_lock(2026112701)")
            for statement in SCHEMA:
                cursor.execute(statement)


def _psycopg2_options(url: str) -> dict[str, Any]:
    """psycopg2.connect's keyword arguments from a SQLAlchemy-style URL: host, port, user,
    password (percent-decoded), dbname, and the query's libpq options.

    Raises:
        ConfigError: the URL cannot be read (shown password-masked).
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError) as error:
        raise ConfigError(
            f"Warehouse URL {safe_url(url)!r} cannot be read ({redact(str(error))}): write it "
            "as postgresql://user:password@host:port/database, the password percent-encoded"
        ) from None  # the parser's message may quote the URL whole
    options: dict[str, Any] = parsed.translate_connect_args(username="user", database="dbname")
    options.update({name: value for name, value in parsed.query.items() if isinstance(value, str)})
    return options


class Transaction:
    def __init__(self, warehouse: Warehouse, cursor: Any) -> None:
        self._warehouse, self._cursor = warehouse, cursor

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._warehouse._sql(sql), list(parameters))

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(sql, parameters)
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]
