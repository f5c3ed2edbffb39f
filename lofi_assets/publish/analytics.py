"""Analytics: what each uploaded video did, day by day, kept in the warehouse.

A snapshot for day D asks ``videos.list`` for every uploaded video's totals and
``youtubeAnalytics.reports.query`` for each video's daily figures over D-3 … D (YouTube's
numbers for recent days keep changing for about three days). Rows are upserted on
(day, video), so re-fetching the same days replaces them and never duplicates them.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageDraw

from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.publish.youtube import Retrier, YouTubeClients

REFETCH_DAYS = 3
DAILY_METRICS = (
    "views",
    "estimatedMinutesWatched",
    "averageViewDuration",
    "likes",
    "subscribersGained",
)
BATCH = 50  # videos.list takes at most 50 ids


@dataclass
class Snapshot:
    snapshot_date: str
    daily_rows: list[tuple[Any, ...]] = field(default_factory=list)  # video_daily columns
    total_rows: list[tuple[Any, ...]] = field(default_factory=list)  # video_totals columns


def iso_duration_s(text: str) -> float:
    """``PT1H2M3S`` → 3723.0 (YouTube's contentDetails.duration)."""
    match = re.fullmatch(r"P(?:(\d+)D)?T?(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", text or "")
    if not match:
        return 0.0
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def fetch_snapshot(
    clients: YouTubeClients,
    retrier: Retrier,
    uploads: list[dict[str, str]],
    snapshot_date: str,
) -> Snapshot:
    """Totals and daily figures for ``uploads`` ({release_date, video_id}) up to the day."""
    snapshot = Snapshot(snapshot_date)
    day = dt.date.fromisoformat(snapshot_date)
    release_of = {
        u["video_id"]: u["release_date"] for u in uploads if u["release_date"] <= snapshot_date
    }
    ids = sorted(release_of)
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        response = retrier.execute(
            clients.youtube.videos().list(
                part="snippet,statistics,contentDetails", id=",".join(batch), maxResults=BATCH
            ),
            "read video statistics",
        )
        for item in response.get("items", []):
            statistics = item.get("statistics", {})
            snapshot.total_rows.append(
                (
                    item["id"],
                    release_of[item["id"]],
                    item.get("snippet", {}).get("title", ""),
                    iso_duration_s(item.get("contentDetails", {}).get("duration", "")),
                    int(statistics.get("viewCount", 0)),
                    int(statistics.get("likeCount", 0)),
                    int(statistics.get("commentCount", 0)),
                    snapshot_date,
                )
            )
    for video_id in ids:
        first = max(dt.date.fromisoformat(release_of[video_id]), day - dt.timedelta(REFETCH_DAYS))
        report = retrier.execute(
            clients.analytics.reports().query(
                ids="channel==MINE",
                startDate=first.isoformat(),
                endDate=snapshot_date,
                metrics=",".join(DAILY_METRICS),
                dimensions="day",
                filters=f"video=={video_id}",
                sort="day",
            ),
            "query YouTube Analytics",
        )
        names = [header["name"] for header in report.get("columnHeaders", [])]
        for values in report.get("rows") or []:
            row = dict(zip(names, values, strict=True))
            snapshot.daily_rows.append(
                (
                    row["day"],
                    video_id,
                    int(row["views"]),
                    float(row["estimatedMinutesWatched"]),
                    float(row["averageViewDuration"]),
                    int(row["likes"]),
                    int(row["subscribersGained"]),
                    snapshot_date,
                )
            )
    return snapshot


def upsert_snapshot(warehouse: Warehouse, snapshot: Snapshot) -> int:
    """Write the snapshot in one transaction; returns the rows written."""
    daily = (
        "INSERT INTO video_daily VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, video_id) "
        "DO UPDATE SET views = EXCLUDED.views, "
        "estimated_minutes_watched = EXCLUDED.estimated_minutes_watched, "
        "average_view_duration_s = EXCLUDED.average_view_duration_s, likes = EXCLUDED.likes, "
        "subscribers_gained = EXCLUDED.subscribers_gained, fetched_on = EXCLUDED.fetched_on"
    )
    totals = (
        "INSERT INTO video_totals VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (video_id) "
        "DO UPDATE SET title = EXCLUDED.title, duration_s = EXCLUDED.duration_s, "
        "view_count = EXCLUDED.view_count, like_count = EXCLUDED.like_count, "
        "comment_count = EXCLUDED.comment_count, fetched_on = EXCLUDED.fetched_on"
    )
    statements = [(daily, row) for row in snapshot.daily_rows]
    statements += [(totals, row) for row in snapshot.total_rows]
    if statements:
        warehouse.execute_many(statements)
    return len(statements)


def top_releases(warehouse: Warehouse, limit: int = 10) -> list[dict[str, Any]]:
    return warehouse.query(
        "SELECT release_date, video_id, title, view_count, like_count FROM video_totals "
        "ORDER BY view_count DESC, release_date DESC LIMIT ?",
        [limit],
    )


def top_releases_markdown(rows: list[dict[str, Any]]) -> str:
    """``top_releases`` as a Markdown table (release, title, views, likes), or a line saying
    there is nothing yet."""
    if not rows:
        return "no analytics yet"
    return "\n".join(
        ["| release | title | views | likes |", "|---|---|---:|---:|"]
        + [
            f"| {row['release_date']} | {row['title']} | {row['view_count']:,} "
            f"| {row['like_count']:,} |"
            for row in rows
        ]
    )


def duplicate_daily_rows(warehouse: Warehouse) -> int:
    """How many (day, video) pairs ``video_daily`` holds more than once (0: upserts replaced
    re-fetched days, as they should)."""
    rows = warehouse.query(
        "SELECT count(*) AS n FROM (SELECT day, video_id FROM video_daily "
        "GROUP BY day, video_id HAVING count(*) > 1) AS repeated"
    )
    return int(rows[0]["n"])


@dataclass(frozen=True)
class EarlyPerformance:
    """How a release did in its first two days: what the breakout sensor compares."""

    video_id: str
    release_date: str
    views_48h: int
    average_view_percentage: float
    complete: bool  # both of its first two days are in the warehouse


def early_performance(warehouse: Warehouse) -> list[EarlyPerformance]:
    rows = warehouse.query(
        "SELECT t.video_id, t.release_date, t.duration_s, d.day, d.views, "
        "d.average_view_duration_s FROM video_totals t JOIN video_daily d "
        "ON d.video_id = t.video_id ORDER BY t.release_date, t.video_id, d.day"
    )
    by_video: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        first_day = dt.date.fromisoformat(row["release_date"])
        if dt.date.fromisoformat(row["day"]) <= first_day + dt.timedelta(days=1):
            by_video.setdefault(row["video_id"], []).append(row)
    result = []
    for video_id, days in by_video.items():
        views = sum(int(d["views"]) for d in days)
        watched = sum(int(d["views"]) * float(d["average_view_duration_s"]) for d in days)
        duration = float(days[0]["duration_s"]) or 1.0
        percentage = 100.0 * watched / views / duration if views else 0.0
        result.append(
            EarlyPerformance(
                video_id, days[0]["release_date"], views, round(percentage, 1), len(days) >= 2
            )
        )
    return result


def views_plot_png(warehouse: Warehouse, width: int = 720, height: int = 300) -> bytes:
    """Daily views of every video as lines (Pillow only: no plotting stack to install)."""
    rows = warehouse.query("SELECT video_id, day, views FROM video_daily ORDER BY day")
    image = Image.new("RGB", (width, height), (24, 22, 34))
    draw = ImageDraw.Draw(image)
    margin = 36
    draw.text((margin, 8), "Daily views per video", fill=(230, 225, 240))
    if rows:
        days = sorted({row["day"] for row in rows})
        peak = max(int(row["views"]) for row in rows) or 1
        colours = [(238, 170, 120), (130, 200, 230), (190, 150, 240), (150, 220, 160)]
        series: dict[str, list[tuple[float, float]]] = {}
        for row in rows:
            x = margin + (width - 2 * margin) * days.index(row["day"]) / max(1, len(days) - 1)
            y = height - margin - (height - 2 * margin) * int(row["views"]) / peak
            series.setdefault(row["video_id"], []).append((x, y))
        for index, points in enumerate(series.values()):
            colour = colours[index % len(colours)]
            if len(points) > 1:
                draw.line(points, fill=colour, width=2)
            for x, y in points:
                draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)
        draw.text((margin, height - margin + 8), f"{days[0]} … {days[-1]}", fill=(200, 195, 210))
        draw.text((width - margin - 120, 8), f"peak {peak:,} views", fill=(200, 195, 210))
    else:
        draw.text((margin, height // 2), "no analytics yet", fill=(200, 195, 210))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
