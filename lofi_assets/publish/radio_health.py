"""The radio's health per day, read back from what the streamer wrote, and its outage alert.

The streamer (:class:`lofi_assets.publish.radio.RadioStreamer`) keeps two files in its work
folder (``data/radio`` by default): ``status.json`` (one :class:`RadioStatus`, rewritten
atomically about once a second while it runs) and ``events.jsonl`` (one JSON object per line,
appended: ``encoder_start``, ``up``, ``encoder_exit`` with its ``cause``, ``alert``,
``now_playing``, …, each with ``time`` in UNIX seconds). This module turns them into:

* :func:`day_health` — one day's :class:`RadioDay` (seconds up and down within the day's
  bounds in the channel's timezone, reconnects, encoder restarts, stalls, alerts), read from
  the events file line by line (memory does not grow with its length);
* :func:`current_outage` — the outage the status shows now, if any: the stream ``down``, or a
  streamer that stopped writing its status (killed, crashed, host gone: it cannot alert for
  itself) while not ``stopped``;
* :func:`upsert_day` — the day's row of the warehouse table ``radio_health`` (one per day,
  replaced by a later reading), and :func:`current_broadcast_id` from the YouTube Live
  watchdog's ``radio_broadcasts`` ledger (``publish/live.py``);
* :func:`post_webhook` — the alert's JSON POST (``{"text", "channel"}``, the shape Slack and
  Mattermost incoming webhooks take: https://api.slack.com/messaging/webhooks).

How the timeline is read: ``encoder_start`` after a stop (or at the start of the file) opens a
*down* stretch (the encoder is connecting), ``up`` opens an *up* one, ``encoder_exit`` with
cause ``finished`` closes the run (*stopped*: not counted), any other exit opens *down*.
An ``encoder_start`` while *up* means the previous streamer process died without a word: its
up stretch ends at its last event and the gap until the new start counts as down. The last
stretch runs to ``now`` while the status is fresh, to the status's ``updated_at`` when it is
stale, and is followed by *down* until ``now`` in that case (the streamer is gone).
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from zoneinfo import ZoneInfo

from lofi_assets.errors import LofiError
from lofi_assets.publish.live import LEDGER_TABLE
from lofi_assets.publish.radio import RadioStatus
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.redaction import redact

STATUS_FILE = "status.json"
EVENTS_FILE = "events.jsonl"
OUTAGE_ALERT_AFTER_S = 60.0  # issue 16: alert when the stream is down for more than 60 s
STALE_STATUS_S = 30.0  # the streamer rewrites status.json every second: 30 s silent is dead
WEBHOOK_TIMEOUT_S = 10.0

HEALTH_TABLE = """CREATE TABLE IF NOT EXISTS radio_health (
    day VARCHAR PRIMARY KEY,
    uptime_s DOUBLE PRECISION NOT NULL,
    downtime_s DOUBLE PRECISION NOT NULL,
    reconnects BIGINT NOT NULL,
    encoder_restarts BIGINT NOT NULL,
    stalls BIGINT NOT NULL,
    alerts BIGINT NOT NULL,
    broadcast_id VARCHAR,
    updated_at VARCHAR NOT NULL
)"""


class RadioHealthError(LofiError):
    """The streamer's status or events file cannot be read as the streamer writes it."""


class RadioAlertError(LofiError):
    """The alert webhook refused the alert or could not be reached."""


@dataclass(frozen=True)
class RadioDay:
    """One day of the radio (``day`` ISO date in the channel's timezone; durations seconds;
    ``updated_at`` ISO UTC time of the reading)."""

    day: str
    uptime_s: float
    downtime_s: float
    reconnects: int  # encoders that exited with an error (the ingest dropped or refused)
    encoder_restarts: int  # every encoder restarted after an exit other than a clean stop
    stalls: int  # encoders killed because they stopped sending
    alerts: int  # the streamer's own alerts (down longer than its alert_after_s)
    broadcast_id: str  # the YouTube Live broadcast the watchdog keeps bound ("" when none)
    updated_at: str

    @property
    def uptime_pct(self) -> float:
        """Up time over the time the streamer ran (100 when it did not run)."""
        total = self.uptime_s + self.downtime_s
        return 100.0 if total <= 0 else 100.0 * self.uptime_s / total


@dataclass(frozen=True)
class Outage:
    """The stream off the air: since ``started_at`` (UNIX seconds), ``down_s`` long by now."""

    started_at: float
    down_s: float
    cause: str  # "down" (the streamer says so) or "streamer silent" (its status went stale)
    last_exit: str
    streamer_alerted: bool = False  # the streamer raised its own alert (and webhook) for it

    @property
    def key(self) -> str:
        """Names this outage for the alert cursor: the same outage keeps the same key."""
        return f"{self.started_at:.3f}"

    def message(self) -> str:
        detail = f"; last encoder exit: {self.last_exit[:120]}" if self.last_exit else ""
        return (
            f"lofi radio off the air for {self.down_s:.0f} s (since "
            f"{dt.datetime.fromtimestamp(self.started_at, dt.UTC):%Y-%m-%d %H:%M:%S} UTC, "
            f"{self.cause}){detail}"
        )


def read_status(work_dir: Path) -> RadioStatus | None:
    """``status.json`` of ``work_dir``; None when the streamer never ran there.

    Raises:
        RadioHealthError: the file is not a JSON object of :class:`RadioStatus` fields.
    """
    path = Path(work_dir) / STATUS_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        raise RadioHealthError(f"Radio status {path} cannot be read: {error}") from None
    if not isinstance(document, dict):
        raise RadioHealthError(f"Radio status {path} is not a JSON object")
    known = {f.name for f in fields(RadioStatus)}
    try:
        return RadioStatus(**{k: v for k, v in document.items() if k in known})
    except TypeError as error:
        raise RadioHealthError(f"Radio status {path}: {error}") from None


def read_events(work_dir: Path) -> Iterator[dict]:
    """The events of ``events.jsonl``, one at a time (nothing when there is no file). A last
    line without its newline (the streamer was killed mid-write) is skipped.

    Raises:
        RadioHealthError: a complete line is not a JSON object with a numeric ``time`` and
            an ``event`` name (``path:line`` in the message).
    """
    path = Path(work_dir) / EVENTS_FILE
    try:
        handle = path.open("r", encoding="utf-8")
    except FileNotFoundError:
        return
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.endswith("\n"):
                return  # torn last line
            if not line.strip():
                continue
            try:
                event = json.loads(line)
                ok = isinstance(event, dict) and isinstance(event.get("event"), str)
                ok = ok and isinstance(event.get("time"), int | float)
            except ValueError:
                ok = False
            if not ok:
                raise RadioHealthError(
                    f"Radio events {path}:{number} is not an event line the streamer writes "
                    '({"event": ..., "time": <unix s>, ...}): move the file aside to start afresh'
                )
            yield event


def _overlap_s(start: float, end: float, day_start: float, day_end: float) -> float:
    return max(0.0, min(end, day_end) - max(start, day_start))


def day_bounds(day: str, timezone: str) -> tuple[float, float]:
    """The UNIX seconds where ``day`` (ISO) begins and ends in ``timezone`` (23 or 25 h on
    the days daylight saving time changes)."""
    zone = ZoneInfo(timezone)
    first = dt.date.fromisoformat(day)
    start = dt.datetime.combine(first, dt.time(), zone)
    end = dt.datetime.combine(first + dt.timedelta(days=1), dt.time(), zone)
    return start.timestamp(), end.timestamp()


def day_health(
    work_dir: Path,
    day: str,
    timezone: str,
    now: float,
    broadcast_id: str = "",
    stale_after_s: float = STALE_STATUS_S,
) -> RadioDay:
    """``day``'s :class:`RadioDay` from the streamer's files in ``work_dir`` (``now`` in UNIX
    seconds; the timeline rules are in the module docstring).

    Raises:
        RadioHealthError: the status or events file is not what the streamer writes.
    """
    day_start, day_end = day_bounds(day, timezone)
    status = read_status(work_dir)
    up_s = down_s = 0.0
    counts = {"reconnects": 0, "encoder_restarts": 0, "stalls": 0, "alerts": 0}
    state, since, last_time = "stopped", 0.0, 0.0

    def close(at: float) -> None:
        nonlocal up_s, down_s
        if state == "up":
            up_s += _overlap_s(since, at, day_start, day_end)
        elif state == "down":
            down_s += _overlap_s(since, at, day_start, day_end)

    for event in read_events(work_dir):
        kind, at = event["event"], float(event["time"])
        on_day = day_start <= at < day_end
        if kind == "encoder_start" and state == "up":  # the previous streamer died silently
            close(last_time)
            state, since = "down", last_time
        if kind == "encoder_start" and state == "stopped":
            state, since = "down", at
        elif kind == "up" and state != "up":
            close(at)
            state, since = "up", at
        elif kind == "encoder_exit":
            cause = str(event.get("cause", ""))
            close(at)
            state, since = ("stopped" if cause == "finished" else "down"), at
            if cause != "finished" and on_day:
                counts["encoder_restarts"] += 1
                counts["reconnects"] += cause.startswith("exit")
                counts["stalls"] += cause == "stalled"
        elif kind == "alert" and on_day:
            counts["alerts"] += 1
        last_time = at
    if state != "stopped" and status is not None and status.state != "stopped":
        if now - status.updated_at > stale_after_s:  # the streamer is gone: down since
            close(max(status.updated_at, since))
            state, since = "down", max(status.updated_at, since)
        close(now)
    return RadioDay(
        day=day,
        uptime_s=round(up_s, 3),
        downtime_s=round(down_s, 3),
        broadcast_id=broadcast_id or (status.broadcast_id if status else ""),
        updated_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
        **counts,
    )


def current_outage(
    status: RadioStatus | None, now: float, stale_after_s: float = STALE_STATUS_S
) -> Outage | None:
    """The outage ``status`` shows at ``now`` (UNIX seconds), or None: the stream is up, was
    stopped on purpose (``state`` ``stopped``), or the streamer never ran."""
    if status is None or status.state == "stopped":
        return None
    if now - status.updated_at > stale_after_s:
        started = status.down_since if status.state == "down" and status.down_since else None
        started = started or status.updated_at
        return Outage(started, now - started, "streamer silent", status.last_exit)
    if status.state == "down" and status.down_since is not None:
        since = status.down_since
        return Outage(since, now - since, "down", status.last_exit, bool(status.alert))
    return None


def current_broadcast_id(warehouse: Warehouse) -> str:
    """The newest broadcast id of the watchdog's ``radio_broadcasts`` ledger ("" when none)."""
    warehouse.execute(LEDGER_TABLE)
    rows = warehouse.query(
        "SELECT broadcast_id FROM radio_broadcasts WHERE broadcast_id IS NOT NULL "
        "ORDER BY generation DESC LIMIT 1"
    )
    return rows[0]["broadcast_id"] if rows else ""


def upsert_day(warehouse: Warehouse, health: RadioDay) -> None:
    """Insert or replace ``health.day``'s row of ``radio_health`` (one row per day)."""
    values = [getattr(health, f.name) for f in fields(RadioDay)]
    names = [f.name for f in fields(RadioDay)]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names if name != "day")
    warehouse.execute_many(
        [
            (HEALTH_TABLE, ()),
            (
                f"INSERT INTO radio_health ({', '.join(names)}) VALUES "
                f"({', '.join('?' for _ in names)}) ON CONFLICT (day) DO UPDATE SET {updates}",
                values,
            ),
        ]
    )


def health_rows(warehouse: Warehouse, last_days: int = 7, until: str = "9999-12-31") -> list:
    """The ``radio_health`` rows of the ``last_days`` days up to ``until``, newest first."""
    warehouse.execute(HEALTH_TABLE)
    return warehouse.query(
        "SELECT * FROM radio_health WHERE day <= ? ORDER BY day DESC LIMIT ?", (until, last_days)
    )


def post_webhook(url: str, message: str, channel: str = "lofi radio") -> None:
    """POST ``{"text": message, "channel": channel}`` as JSON to ``url``.

    Raises:
        RadioAlertError: the server answered with an error or cannot be reached (the URL,
            which holds the webhook's secret, is never in the message).
    """
    body = json.dumps({"text": message, "channel": channel}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_S) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise RadioAlertError(f"The radio alert webhook answered HTTP {error.code}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise RadioAlertError(
            f"The radio alert webhook cannot be reached: {redact(str(reason)).replace(url, '***')}"
        ) from None
