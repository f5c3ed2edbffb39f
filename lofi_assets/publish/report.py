"""The owner's weekly channel report: an HTML e-mail with inline plots, sent once per week.

``gather_report`` reads the week from the warehouse (the analytics snapshot's ``video_daily`` and
``video_totals``, the upload ledger, the radio's ``radio_health``, thumbnail experiments when
that table exists); ``plot_*`` draw the charts as PNG with Pillow (as ``analytics.views_plot_png``
does: no plotting stack); ``build_message`` renders ``assets_library/report/channel_report.html.j2``
(Jinja2, autoescaped) into a ``multipart/alternative`` message (plain text + HTML) whose HTML
part is ``multipart/related`` with the PNGs inline (``cid:`` references, RFC 2387/RFC 2392).

Sending is SMTP with the standard library (``smtplib``, STARTTLS when asked, implicit TLS on
port 465 or when ``LOFI_SMTP_SSL`` is set, login when a user is set); its settings come from
the environment (``SmtpSettings.from_environment``). A week is
sent once: the ``report_sends`` table records it, and a re-run finds it there. The Message-ID
is derived from the channel and the week, so even a send whose record was lost reaches the
owner as the same message, which mail clients show once.

Quota estimate (YouTube Data API units, https://developers.google.com/youtube/v3/determine_quota_cost):
the report calls no API; ``QUOTA_COSTS`` prices what the week's ledger rows did, as YouTube
bills them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import jinja2
from PIL import Image, ImageDraw

from lofi_assets.errors import ConfigError, LofiError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.redaction import redact
from lofi_assets.storage import write_bytes_atomic

SMTP_HOST_ENV = "LOFI_SMTP_HOST"
SMTP_PORT_ENV = "LOFI_SMTP_PORT"
SMTP_USER_ENV = "LOFI_SMTP_USER"
SMTP_PASSWORD_ENV = "LOFI_SMTP_PASSWORD"  # a secret: never logged (redaction.py masks it)
SMTP_STARTTLS_ENV = "LOFI_SMTP_STARTTLS"
# Implicit TLS (SMTPS, RFC 8314 §3.3: submission over TLS on port 465), the default on 465.
SMTP_SSL_ENV = "LOFI_SMTP_SSL"
SMTPS_PORT = 465
REPORT_TO_ENV = "LOFI_REPORT_TO"
REPORT_FROM_ENV = "LOFI_REPORT_FROM"
# The addresses of a dry run's .eml (no settings: the message is built the same way).
DRY_RUN_SENDER, DRY_RUN_RECIPIENT = "lofi-empire@localhost", "owner@localhost"
DEFAULT_SMTP_PORT = 587  # message submission (RFC 6409)
SMTP_TIMEOUT_S = 30.0
# Units per call (https://developers.google.com/youtube/v3/determine_quota_cost): what one
# ledger row cost, lookups included (channels.list, playlistItems.list, videos.list: 1 each).
QUOTA_COSTS = {"videos.insert": 1600, "thumbnails.set": 50, "playlistItems.insert": 50}
LOOKUP_UNITS_PER_UPLOAD = 4  # uploads lookup (3) + status read-back (1)
REPORT_TABLE = """CREATE TABLE IF NOT EXISTS report_sends (
    week VARCHAR PRIMARY KEY,
    message_id VARCHAR NOT NULL,
    recipient VARCHAR NOT NULL,
    sent_at VARCHAR NOT NULL
)"""
PLOT_SIZE = (720, 300)
_COLOURS = {
    "background": (24, 22, 34),
    "text": (230, 225, 240),
    "muted": (200, 195, 210),
    "bar": (238, 170, 120),
    "accent": (130, 200, 230),
}


class ReportError(LofiError):
    """The report could not be sent (SMTP refused or unreachable); nothing was recorded."""


@dataclass(frozen=True)
class ReleaseLine:
    """One release of the week: views and watch time summed over the week's days."""

    release_date: str
    video_id: str
    title: str
    views: int
    watch_minutes: float
    average_view_duration_s: float


@dataclass(frozen=True)
class WeeklyReport:
    """What the owner reads: ``days`` are the week's dates (YYYY-MM-DD), ``daily_views`` the
    channel's views per day (same order), durations in seconds, watch time in hours."""

    channel: str
    week: str
    days: list[str]
    releases: list[ReleaseLine]
    daily_views: list[int]
    views: int
    watch_hours: float
    subscribers_gained: int
    uploads: int
    quota_units: int
    radio_uptime_pct: float | None  # None: the radio did not run that week
    experiments: list[dict[str, str]] = field(default_factory=list)

    @property
    def best(self) -> ReleaseLine | None:
        return max(self.releases, key=lambda r: (r.views, r.release_date), default=None)

    @property
    def worst(self) -> ReleaseLine | None:
        if len(self.releases) < 2:
            return None
        return min(self.releases, key=lambda r: (r.views, r.release_date))


def _table_exists(warehouse: Warehouse, name: str) -> bool:
    rows = warehouse.query(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = ?", [name]
    )
    return bool(rows[0]["n"])


def gather_report(
    warehouse: Warehouse, channel: str, week: str, days: Sequence[str]
) -> WeeklyReport:
    """The week that starts on ``week`` (``days``: its dates) from the warehouse. Days with no
    analytics count as 0 views; a release of the week without a snapshot yet shows 0 too."""
    first, last = days[0], days[-1]
    releases = []
    for row in warehouse.query(
        "SELECT u.release_date, u.video_id, coalesce(t.title, '') AS title "
        "FROM youtube_uploads u LEFT JOIN video_totals t ON t.video_id = u.video_id "
        "WHERE u.video_id IS NOT NULL AND u.release_date BETWEEN ? AND ? ORDER BY u.release_date",
        [first, last],
    ):
        stats = warehouse.query(
            "SELECT coalesce(sum(views), 0) AS views, "
            "coalesce(sum(estimated_minutes_watched), 0) AS minutes, "
            "coalesce(avg(average_view_duration_s), 0) AS average_s "
            "FROM video_daily WHERE video_id = ? AND day BETWEEN ? AND ?",
            [row["video_id"], first, last],
        )[0]
        releases.append(
            ReleaseLine(
                row["release_date"],
                row["video_id"],
                row["title"] or row["video_id"],
                int(stats["views"]),
                float(stats["minutes"]),
                float(stats["average_s"]),
            )
        )
    per_day = {
        r["day"]: r
        for r in warehouse.query(
            "SELECT day, sum(views) AS views, sum(estimated_minutes_watched) AS minutes, "
            "sum(subscribers_gained) AS subscribers FROM video_daily "
            "WHERE day BETWEEN ? AND ? GROUP BY day",
            [first, last],
        )
    }
    daily_views = [int(per_day[d]["views"]) if d in per_day else 0 for d in days]
    uploads = warehouse.query(
        "SELECT release_date FROM youtube_uploads WHERE video_id IS NOT NULL "
        "AND substr(updated_at, 1, 10) BETWEEN ? AND ?",
        [first, last],
    )
    items = warehouse.query(
        "SELECT count(*) AS n FROM youtube_playlist_items i JOIN youtube_uploads u "
        "ON u.release_date = i.release_date WHERE substr(u.updated_at, 1, 10) BETWEEN ? AND ?",
        [first, last],
    )[0]["n"]
    quota = (
        sum(
            QUOTA_COSTS["videos.insert"]
            + LOOKUP_UNITS_PER_UPLOAD
            + (0 if str(u["release_date"]).startswith("short-") else QUOTA_COSTS["thumbnails.set"])
            for u in uploads
        )
        + int(items) * QUOTA_COSTS["playlistItems.insert"]
    )
    quota += growth_quota(warehouse, first, last)
    uptime = None
    if _table_exists(warehouse, "radio_health"):
        row = warehouse.query(
            "SELECT sum(uptime_s) AS up, sum(downtime_s) AS down FROM radio_health "
            "WHERE day BETWEEN ? AND ?",
            [first, last],
        )[0]
        total = float(row["up"] or 0) + float(row["down"] or 0)
        uptime = round(100.0 * float(row["up"] or 0) / total, 2) if total else None
    experiments = []
    if _table_exists(warehouse, "thumbnail_experiments"):
        experiments = [
            {k: str(v) for k, v in r.items()}
            for r in warehouse.query(
                "SELECT release_date, winner, decision FROM thumbnail_experiments "
                "WHERE release_date BETWEEN ? AND ? ORDER BY release_date",
                [first, last],
            )
        ]
    return WeeklyReport(
        channel=channel,
        week=week,
        days=list(days),
        releases=releases,
        daily_views=daily_views,
        views=sum(daily_views),
        watch_hours=round(sum(float(r["minutes"]) for r in per_day.values()) / 60.0, 2),
        subscribers_gained=int(sum(int(r["subscribers"]) for r in per_day.values())),
        uploads=len(uploads),
        quota_units=quota,
        radio_uptime_pct=uptime,
        experiments=experiments,
    )


# What the growth assets' writes cost (units per row written that week): a reply or the
# tracklist comment (comments.insert / commentThreads.insert), a thumbnail set by an
# experiment (each rotation, and the winner's), and keyword research's recorded units.
GROWTH_QUOTA_QUERIES = (
    (
        "comment_queue",
        "SELECT 50 * count(*) AS units FROM comment_queue "
        "WHERE status = 'posted' AND substr(updated_at, 1, 10) BETWEEN ? AND ?",
    ),
    (
        "pinned_comments",
        "SELECT 50 * count(*) AS units FROM pinned_comments "
        "WHERE state = 'posted' AND substr(updated_at, 1, 10) BETWEEN ? AND ?",
    ),
    (
        "thumbnail_rotations",
        "SELECT 50 * count(*) AS units FROM thumbnail_rotations "
        "WHERE substr(set_at, 1, 10) BETWEEN ? AND ?",
    ),
    (
        "thumbnail_experiments",
        "SELECT 50 * count(*) AS units FROM thumbnail_experiments "
        "WHERE state = 'decided' AND substr(updated_at, 1, 10) BETWEEN ? AND ?",
    ),
    (
        "keyword_searches",
        "SELECT coalesce(sum(units), 0) AS units FROM keyword_searches "
        "WHERE substr(fetched_at, 1, 10) BETWEEN ? AND ?",
    ),
)


def growth_quota(warehouse: Warehouse, first: str, last: str) -> int:
    """Units the growth assets' writes spent from ``first`` to ``last`` (UTC days): replies
    and tracklist comments 50 each, thumbnails set by experiments 50 each, keyword research's
    recorded units. Tables not made yet count 0."""
    return sum(
        int(warehouse.query(sql, [first, last])[0]["units"] or 0)
        for table, sql in GROWTH_QUOTA_QUERIES
        if _table_exists(warehouse, table)
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def plot_bars(
    labels: Sequence[str], values: Sequence[float], title: str, size: tuple[int, int] = PLOT_SIZE
) -> bytes:
    """A bar chart (PNG bytes): one bar per label, scaled to the largest value."""
    width, height = size
    image = Image.new("RGB", size, _COLOURS["background"])
    draw = ImageDraw.Draw(image)
    margin = 36
    draw.text((margin, 8), title, fill=_COLOURS["text"])
    peak = max(values, default=0) or 1
    slot = (width - 2 * margin) / max(1, len(values))
    for index, (label, value) in enumerate(zip(labels, values, strict=True)):
        x0 = margin + index * slot + slot * 0.15
        x1 = margin + (index + 1) * slot - slot * 0.15
        y1 = height - margin
        y0 = y1 - (height - 2.5 * margin) * float(value) / peak
        draw.rectangle([x0, y0, x1, y1], fill=_COLOURS["bar"])
        draw.text((x0, y1 + 6), label[:10], fill=_COLOURS["muted"])
        draw.text((x0, max(margin, y0 - 14)), f"{value:,.0f}", fill=_COLOURS["text"])
    return _png(image)


def report_plots(report: WeeklyReport) -> dict[str, bytes]:
    """Content-ID name → PNG: the channel's views per day, and views per release."""
    return {
        "daily_views": plot_bars(
            [day[5:] for day in report.days], report.daily_views, "Views per day"
        ),
        "release_views": plot_bars(
            [r.release_date[5:] for r in report.releases],
            [r.views for r in report.releases],
            "Views of each release this week",
        ),
    }


def _template() -> jinja2.Template:
    folder = assets_library_dir() / "report"
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return environment.get_template("channel_report.html.j2")


def render_html(report: WeeklyReport, cids: dict[str, str]) -> str:
    """The report as HTML (titles escaped); ``cids`` maps a plot's name to its Content-ID."""
    return _template().render(report=report, cids=cids)


def render_text(report: WeeklyReport) -> str:
    """The plain-text alternative of the report."""
    lines = [
        f"{report.channel} — week of {report.week}",
        f"Views: {report.views:,} · watch time: {report.watch_hours:,.1f} h · "
        f"subscribers: +{report.subscribers_gained:,}",
        f"Uploads: {report.uploads} · YouTube quota used: ~{report.quota_units:,} units",
        "Radio uptime: "
        + (f"{report.radio_uptime_pct:.2f} %" if report.radio_uptime_pct is not None else "off"),
        "",
        "Releases:",
        *(f"  {r.release_date}  {r.title}  {r.views:,} views" for r in report.releases),
    ]
    if report.best:
        lines.append(f"Best: {report.best.title} ({report.best.views:,} views)")
    if report.worst:
        lines.append(f"Worst: {report.worst.title} ({report.worst.views:,} views)")
    return "\n".join(lines) + "\n"


def message_id(channel: str, week: str) -> str:
    """The week's Message-ID: the same for every attempt of the week (RFC 5322 §3.6.4).

    A header field is ASCII (RFC 5322 §2.2; an encoded word is not allowed in msg-id), so the
    channel's slug keeps ASCII letters and digits only; a name with other characters (ローファイ,
    Café) gets a hash of the whole name, so different channels keep different ids."""
    slug = "".join(c if c.isascii() and c.isalnum() else "-" for c in channel.lower())
    slug = slug.strip("-") or "channel"
    if not channel.isascii():
        slug += "-" + hashlib.sha256(channel.encode("utf-8")).hexdigest()[:10]
    return f"<channel-report.{week}.{slug}@lofi-empire.local>"


def build_message(
    report: WeeklyReport, sender: str, recipient: str, now: dt.datetime
) -> EmailMessage:
    """The report e-mail: text, and HTML with the plots inline (``cid:``)."""
    plots = report_plots(report)
    cids = {name: make_msgid(domain="lofi-empire.local") for name in sorted(plots)}
    message = EmailMessage()
    message["Subject"] = f"{report.channel}: your week of {report.week} ({report.views:,} views)"
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(report.channel, report.week)
    message.set_content(render_text(report))
    message.add_alternative(
        render_html(report, {n: c.strip("<>") for n, c in cids.items()}), subtype="html"
    )
    html_part = message.get_payload()[1]
    for name in sorted(plots):
        html_part.add_related(
            plots[name],
            maintype="image",
            subtype="png",
            cid=cids[name],
            filename=f"{name}.png",
            disposition="inline",
        )
    return message


@dataclass(frozen=True)
class SmtpSettings:
    """Where the report goes: ``host``/``port`` (submission, 587), ``starttls``, the login
    (``password`` from ``$LOFI_SMTP_PASSWORD`` only), sender and recipient addresses."""

    host: str
    port: int
    user: str | None
    password: str | None
    starttls: bool
    sender: str
    recipient: str
    implicit_tls: bool = False  # implicit TLS from the first byte (port 465) instead of STARTTLS

    def __repr__(self) -> str:  # never the password
        return f"SmtpSettings({self.user or ''}@{self.host}:{self.port} → {self.recipient})"

    @classmethod
    def from_environment(cls, environ: dict[str, str] | None = None) -> SmtpSettings | None:
        """The settings from ``LOFI_SMTP_*`` and ``LOFI_REPORT_*``; None when no host is set
        (the report is then written as an .eml: dry run).

        Raises:
            ConfigError: a host without a recipient, or a port that is not a number.
        """
        env = os.environ if environ is None else environ
        host = env.get(SMTP_HOST_ENV, "").strip()
        if not host:
            return None
        recipient = env.get(REPORT_TO_ENV, "").strip()
        if not recipient:
            raise ConfigError(
                f"{SMTP_HOST_ENV} is set but {REPORT_TO_ENV} is not: set the owner's address"
            )
        try:
            port = int(env.get(SMTP_PORT_ENV) or DEFAULT_SMTP_PORT)
        except ValueError:
            raise ConfigError(f"{SMTP_PORT_ENV} must be a port number") from None
        implicit = env.get(SMTP_SSL_ENV, "true" if port == SMTPS_PORT else "false")
        implicit_tls = implicit.lower() not in ("0", "false", "no")
        return cls(
            host=host,
            port=port,
            user=env.get(SMTP_USER_ENV) or None,
            password=env.get(SMTP_PASSWORD_ENV) or None,
            starttls=not implicit_tls
            and env.get(SMTP_STARTTLS_ENV, "true").lower() not in ("0", "false", "no"),
            sender=env.get(REPORT_FROM_ENV) or f"lofi-empire@{host}",
            recipient=recipient,
            implicit_tls=implicit_tls,
        )


def send_message(
    message: EmailMessage, settings: SmtpSettings, recipient: str | None = None
) -> None:
    """Send ``message`` over SMTP to ``recipient`` (default: the owner, ``settings.recipient``;
    the newsletter passes each subscriber, whose address the error never names). Raises
    ReportError (server unreachable, login or recipient refused), its text redacted."""
    to = recipient or settings.recipient
    named = settings.recipient if recipient is None else "a subscriber"
    try:
        if (
            settings.implicit_tls
        ):  # a server on 465 speaks TLS first: plain SMTP would wait for ever
            connection = smtplib.SMTP_SSL(
                settings.host,
                settings.port,
                timeout=SMTP_TIMEOUT_S,
                context=ssl.create_default_context(),
            )
        else:
            connection = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
        with connection as smtp:
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if settings.user and settings.password:
                smtp.login(settings.user, settings.password)
            smtp.send_message(message, settings.sender, [to])
    except (smtplib.SMTPException, OSError) as error:
        # A refused recipient's error quotes the address: a subscriber's is dropped.
        reason = redact(str(error)) if recipient is None else type(error).__name__
        raise ReportError(
            f"Could not send the {'report' if recipient is None else 'newsletter'} to {named} "
            f"via {settings.host}:{settings.port}: {reason or type(error).__name__} — check "
            f"{SMTP_HOST_ENV}, {SMTP_PORT_ENV}, {SMTP_STARTTLS_ENV}/{SMTP_SSL_ENV} and the login"
        ) from None  # smtplib's errors may quote the AUTH exchange


class ReportLedger:
    """Which weeks were sent (``report_sends``): a week is e-mailed once."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        self.warehouse.execute(REPORT_TABLE)

    def sent(self, week: str) -> dict | None:
        rows = self.warehouse.query("SELECT * FROM report_sends WHERE week = ?", [week])
        return rows[0] if rows else None

    def record(self, week: str, message_id: str, recipient: str) -> None:
        self.warehouse.execute(
            "INSERT INTO report_sends VALUES (?, ?, ?, ?) ON CONFLICT (week) DO NOTHING",
            [week, message_id, recipient, dt.datetime.now(dt.UTC).isoformat(timespec="seconds")],
        )


def write_eml(message: EmailMessage, path: Path) -> Path:
    """The message as an RFC 5322 file (what a dry run leaves for the owner to open)."""
    return write_bytes_atomic(path, bytes(message))
