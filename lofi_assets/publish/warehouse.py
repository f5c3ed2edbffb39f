"""The analytics warehouse: a DuckDB file by default, PostgreSQL in production.

It holds the upload ledger (what has been done on YouTube for each release, saved after every
side effect) and the analytics the channel learns from. The SQL is the subset both engines
speak (``INSERT … ON CONFLICT … DO UPDATE``, VARCHAR/BIGINT/DOUBLE PRECISION); queries are
written with ``?`` placeholders and translated for psycopg2.

DuckDB lets one process write a file at a time, so each operation opens a short connection
and waits (with backoff) while another run holds the lock.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from lofi_assets.errors import ConfigError, LofiError

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


class Warehouse:
    """``duckdb:///abs/file.duckdb``, a plain ``.duckdb`` path, or ``postgresql://user@host/db``."""

    def __init__(self, url: str) -> None:
        if url.startswith(("postgresql://", "postgres://")):
            self.engine = "postgresql"
            self.target = url
        else:
            self.engine = "duckdb"
            path = Path(url.removeprefix("duckdb://"))  # duckdb:///abs/x.duckdb or a path
            if path.suffix != ".duckdb":
                raise ConfigError(f"Warehouse {url!r}: use a .duckdb file or a postgresql:// URL")
            self.target = str(path)
        self._ready = False

    def __repr__(self) -> str:  # never the URL itself: it may carry a password
        return f"Warehouse({self.engine})"

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        if self.engine == "postgresql":
            import psycopg2

            try:
                connection = psycopg2.connect(self.target)
            except psycopg2.OperationalError as error:
                raise WarehouseError(f"Cannot reach the PostgreSQL warehouse: {error}") from error
            try:
                with connection, connection.cursor() as cursor:
                    yield cursor
            finally:
                connection.close()
            return
        import duckdb

        Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + LOCK_WAIT_S
        while True:
            try:
                connection = duckdb.connect(self.target)
                break
            except duckdb.IOException as error:  # another process holds the write lock
                if time.monotonic() > deadline:
                    raise WarehouseError(
                        f"The warehouse {self.target} stayed locked for {LOCK_WAIT_S:.0f} s: {error}"
                    ) from error
                time.sleep(0.05 + random.random() * 0.2)
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


class Transaction:
    def __init__(self, warehouse: Warehouse, cursor: Any) -> None:
        self._warehouse, self._cursor = warehouse, cursor

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> None:
        self._cursor.execute(self._warehouse._sql(sql), list(parameters))

    def query(self, sql: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        self.execute(sql, parameters)
        names = [column[0] for column in self._cursor.description]
        return [dict(zip(names, row, strict=True)) for row in self._cursor.fetchall()]
