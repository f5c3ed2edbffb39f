"""Thumbnail experiments: rotate a release's A/B/C thumbnails, read what each earned, stop
with a sequential test, keep the winner.

YouTube Studio's "Test & compare" has no API, so the experiment is run by hand: from its first
day, the release's thumbnail is set (``thumbnails.set``, 50 units) to one variant a day in turn
(A, B, C, A, …; day ``n`` of the experiment shows ``VARIANTS[n % 3]``), and each day's
impressions and impression click-through of the video are read from the YouTube Reporting API
(the ``channel_reach_basic_a1`` reach report: ``video_thumbnail_impressions`` and
``video_thumbnail_impressions_ctr`` per video and day; a daily bulk report, so the rule sees
days, not minutes; https://developers.google.com/youtube/reporting/v1/reports/channel_reports).
A day's numbers count for the variant shown that day; its average view duration comes from the
analytics snapshot (``video_daily``). The reports' days are Pacific Time days (as YouTube
Analytics' are), so the experiment's day is too (``reporting_day``): a variant is set shortly
after midnight in Los Angeles (the sensor looks hourly), not at midnight UTC, which would have
shown the next variant for the last 8 hours (a third) of every reported day.

**The stopping rule** (``decide``) is Bayesian with a fixed horizon: each variant's CTR has a
Beta(1 + clicks, 1 + impressions − clicks) posterior (uniform prior). Once every variant has
``min_impressions`` (5,000), the leader (highest posterior mean) wins early when, against every
other variant, P(leader's CTR > other's) ≥ 1 − ``alpha`` (``alpha`` = 0.003), the probability
taken from the normal approximation of the two posteriors (accurate at thousands of
impressions). At the horizon, ``max_impressions`` (20,000 a variant), the leader is kept: an
early stop needs strong evidence, but at the horizon the best estimate is the best choice (when
the variants truly do not differ, keeping any of them costs nothing). Waiting for significance
instead cannot work at lo-fi CTRs: at a 2 % CTR, 20,000 impressions a variant hold ~400 clicks,
too few for a 20 % lift to pass a strict test (it did in 57 % of runs, 39 % with three
variants; the rule before 2026-11-30 then kept A).

Checked after every day (a sequential test), the rule was simulated
(``test_thumbnail_experiment.py``, seeded runs, a look every 2,000 impressions a variant): with
a true lift of 20 % the better variant is kept within 20,000 impressions each in ≥ 99.4 % of
runs at every baseline CTR from 2 % to 10 %, two or three variants (the worse one ≤ 0.3 %, at
2 %); with no difference, an early stop (before the horizon) happens in 1.5–2.7 % of runs.

**Never a winner that costs watch time**: a winner whose average view duration over its days
is below the control's (A's) is not kept; A stays, and the decision says why.

**A horizon in days too**: an experiment ends after ``max_days`` (21): the leader is kept
when every variant reached ``min_impressions``, else A stays. Without it a release with few
impressions rotated for ever, and as the sensor starts one for every new release, the running
experiments (50 units a day each) grew without bound.

**Which looks win** (``win_summary``): each variant's palette and scene (from the thumbnail
record) are stored with its totals and result (``thumbnail_variants``: running, won, lost or
no_winner). Over the experiments that kept a winner (the kept variant won, the others lost; one
ended without a winner teaches nothing and is left out), every palette and scene has wins,
variants shown ("trials"), and a smoothed win rate (wins + 1) / (trials + 3): a Beta(1, 2)
prior whose mean, 1/3, is the chance a variant wins a three-way test by luck, so a look seen
once neither leads nor sinks. A look whose smoothed rate is above 1/3 (it won more than a
third of the times it was shown) is *favoured*; ``thumbnail`` draws the best favoured palette
and scene as variant A and lets B and C explore (``visual/thumbnail.py``, ``LookPreference``).

Quota: thumbnails.set 50 a day while running (+50 once for the winner): at most 21 running
at once, so ≤ 1,050 a day at worst, about 50–150 a day for a channel whose releases reach the
horizon in a week or less; the Reporting API has its own quota and reads cost no Data API
units.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from googleapiclient.http import MediaFileUpload
from scipy.stats import norm

from lofi_assets.errors import ConfigError
from lofi_assets.publish.warehouse import Warehouse

VARIANTS = ("A", "B", "C")
CONTROL = "A"
REACH_REPORT_TYPE = "channel_reach_basic_a1"
# The time zone of the Reporting (and Analytics) API's days.
REPORTING_TIMEZONE = "America/Los_Angeles"
REPORT_JOB_NAME = "lofi-empire thumbnail experiments"
DEFAULT_ALPHA = 0.003
DEFAULT_MIN_IMPRESSIONS = 5_000
DEFAULT_MAX_IMPRESSIONS = 20_000  # the horizon: the leader is kept there
# And a horizon in days: a release that draws few impressions would rotate (50 units a day)
# for ever, and the sensor starts an experiment for every new release.
DEFAULT_MAX_DAYS = 21
EXPERIMENT_TABLES = (
    """CREATE TABLE IF NOT EXISTS thumbnail_experiments (
        release_date VARCHAR PRIMARY KEY,
        video_id VARCHAR NOT NULL,
        started_on VARCHAR NOT NULL,
        state VARCHAR NOT NULL,
        winner VARCHAR,
        decision VARCHAR,
        updated_at VARCHAR NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS thumbnail_rotations (
        release_date VARCHAR NOT NULL,
        day VARCHAR NOT NULL,
        variant VARCHAR NOT NULL,
        set_at VARCHAR NOT NULL,
        PRIMARY KEY (release_date, day)
    )""",
    """CREATE TABLE IF NOT EXISTS thumbnail_reach (
        video_id VARCHAR NOT NULL,
        day VARCHAR NOT NULL,
        impressions BIGINT NOT NULL,
        clicks BIGINT NOT NULL,
        PRIMARY KEY (video_id, day)
    )""",
    """CREATE TABLE IF NOT EXISTS reporting_jobs (
        report_type VARCHAR PRIMARY KEY,
        job_id VARCHAR NOT NULL
    )""",
    # Each variant's look and result (``save_variants``): what ``win_summary`` counts.
    """CREATE TABLE IF NOT EXISTS thumbnail_variants (
        release_date VARCHAR NOT NULL,
        variant VARCHAR NOT NULL,
        palette VARCHAR NOT NULL,
        scene VARCHAR NOT NULL,
        impressions BIGINT NOT NULL,
        clicks BIGINT NOT NULL,
        result VARCHAR NOT NULL,
        updated_at VARCHAR NOT NULL,
        PRIMARY KEY (release_date, variant)
    )""",
)
# A variant's result in ``thumbnail_variants``: while running, then one of the other three.
RUNNING, WON, LOST, NO_WINNER = "running", "won", "lost", "no_winner"
# The smoothed win rate's Beta(1, len(VARIANTS) - 1) prior: its mean, 1/3, is a variant's
# chance of winning a three-way test by luck.
PRIOR_WINS, PRIOR_LOSSES = 1, len(VARIANTS) - 1


@dataclass(frozen=True)
class ArmStats:
    """One variant's totals over its days: impressions, clicks (impressions × CTR, rounded)
    and average view duration in seconds (None when the snapshot has no day of it)."""

    variant: str
    impressions: int
    clicks: int
    average_view_duration_s: float | None = None

    @property
    def ctr(self) -> float:
        return self.clicks / self.impressions if self.impressions else 0.0


@dataclass(frozen=True)
class StoppingRule:
    """The sequential test's settings (see the module docstring)."""

    alpha: float = DEFAULT_ALPHA
    min_impressions: int = DEFAULT_MIN_IMPRESSIONS
    max_impressions: int = DEFAULT_MAX_IMPRESSIONS
    max_days: int = DEFAULT_MAX_DAYS

    def __post_init__(self) -> None:
        if self.max_days < 1:
            raise ConfigError(f"max_days {self.max_days}: give 1 or more days")
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha {self.alpha} must lie between 0 and 0.5 (0.003 by default)")
        if not 1 <= self.min_impressions <= self.max_impressions:
            raise ConfigError(
                f"impressions a variant: need 1 ≤ min ({self.min_impressions:,}) ≤ max "
                f"({self.max_impressions:,})"
            )


@dataclass(frozen=True)
class Decision:
    """``winner`` None: keep running (``stopped`` False); at the horizon the leader wins.
    ``probability``: P(leader better than the closest other) under the posteriors."""

    stopped: bool
    winner: str | None
    leader: str
    probability: float
    reason: str


def _posterior(arm: ArmStats) -> tuple[float, float]:
    a, b = arm.clicks + 1.0, arm.impressions - arm.clicks + 1.0
    return a / (a + b), a * b / ((a + b) ** 2 * (a + b + 1.0))


def decide(
    arms: Sequence[ArmStats], rule: StoppingRule = StoppingRule(), days_run: int | None = None
) -> Decision:
    """The stopping rule on the variants' totals so far (module docstring), after
    ``days_run`` days of the experiment (None: no limit in days). At ``rule.max_days`` it
    ends: the leader is kept when every variant has ``min_impressions``, else no winner (the
    control stays). Raises ConfigError for fewer than two variants."""
    if len(arms) < 2:
        raise ConfigError("An experiment needs at least two variants")
    posteriors = {arm.variant: _posterior(arm) for arm in arms}
    leader = max(
        arms,
        key=lambda arm: (
            posteriors[arm.variant][0],
            -VARIANTS.index(arm.variant) if arm.variant in VARIANTS else 0,
        ),
    ).variant
    mean, variance = posteriors[leader]
    probability = min(
        float(norm.cdf((mean - m) / math.sqrt(variance + v))) if variance + v > 0 else 0.5
        for name, (m, v) in posteriors.items()
        if name != leader
    )
    fewest = min(arm.impressions for arm in arms)
    out_of_days = days_run is not None and days_run >= rule.max_days
    if fewest < rule.min_impressions and out_of_days:
        return Decision(
            True,
            None,
            leader,
            probability,
            f"only {fewest:,} impressions a variant in {days_run} days (the minimum "
            f"is {rule.min_impressions:,}): no winner, {CONTROL} stays",
        )
    if fewest < rule.min_impressions:
        return Decision(
            False,
            None,
            leader,
            probability,
            f"collecting: {fewest:,} of {rule.min_impressions:,} impressions",
        )
    if probability >= 1 - rule.alpha:
        return Decision(
            True,
            leader,
            leader,
            probability,
            f"{leader} is better with probability {probability:.4f}",
        )
    if fewest >= rule.max_impressions or out_of_days:  # the horizon: keep the best estimate
        after = (
            f"{days_run} days"
            if fewest < rule.max_impressions
            else f"{fewest:,} impressions a variant"
        )
        return Decision(
            True,
            leader,
            leader,
            probability,
            f"{leader} leads after {after} (probability {probability:.4f}, no "
            "early stop): the best estimate is kept",
        )
    return Decision(
        False,
        None,
        leader,
        probability,
        f"running: {leader} leads with probability {probability:.4f}",
    )


def kept_variant(decision: Decision, arms: Sequence[ArmStats]) -> tuple[str, str]:
    """The variant to keep and why: the winner, unless its average view duration is below
    the control's (then the control); the control when there is no winner."""
    if decision.winner is None:
        return CONTROL, decision.reason
    by_name = {arm.variant: arm for arm in arms}
    winner, control = by_name[decision.winner], by_name[CONTROL]
    if (
        decision.winner != CONTROL
        and winner.average_view_duration_s is not None
        and control.average_view_duration_s is not None
        and winner.average_view_duration_s < control.average_view_duration_s
    ):
        return CONTROL, (
            f"{decision.winner} won on CTR ({winner.ctr:.2%} against {control.ctr:.2%}) but "
            f"lowered the average view duration ({winner.average_view_duration_s:.0f} s against "
            f"{control.average_view_duration_s:.0f} s): kept {CONTROL}"
        )
    return decision.winner, decision.reason


@dataclass(frozen=True)
class VariantLook:
    """How a variant was drawn: its palette (``assets_library/palettes.yaml``) and scene."""

    palette: str
    scene: str


def variant_results(decision: Decision, kept: str | None) -> dict[str, str]:
    """Each variant's result after ``decision``: RUNNING until it stops; then WON for ``kept``
    and LOST for the others when the test picked a winner (the view-duration guard may keep
    the control instead: then the control won), NO_WINNER for all when it ended without one."""
    if not decision.stopped:
        return dict.fromkeys(VARIANTS, RUNNING)
    if decision.winner is None or kept is None:
        return dict.fromkeys(VARIANTS, NO_WINNER)
    return {variant: WON if variant == kept else LOST for variant in VARIANTS}


@dataclass(frozen=True)
class LookScore:
    """A palette's or scene's record over finished experiments: ``wins`` (variants with it
    kept) of ``trials`` (variants shown with it, in experiments that kept a winner)."""

    name: str
    wins: int
    trials: int

    @property
    def win_rate(self) -> float:
        """(wins + 1) / (trials + 3): the mean of the Beta(1 + wins, 2 + losses) posterior."""
        return (self.wins + PRIOR_WINS) / (self.trials + PRIOR_WINS + PRIOR_LOSSES)

    @property
    def favoured(self) -> bool:
        """Won more than by luck: the smoothed rate above the prior's 1/3."""
        return self.win_rate > PRIOR_WINS / (PRIOR_WINS + PRIOR_LOSSES)


@dataclass(frozen=True)
class WinSummary:
    """Which looks win (module docstring): ``experiments`` that kept a winner, and the
    ``palettes`` and ``scenes`` seen in them, best first (smoothed rate, then wins, then
    name: the order is deterministic)."""

    experiments: int = 0
    palettes: tuple[LookScore, ...] = ()
    scenes: tuple[LookScore, ...] = ()

    @property
    def favoured_palettes(self) -> tuple[str, ...]:
        return tuple(score.name for score in self.palettes if score.favoured)

    @property
    def favoured_scenes(self) -> tuple[str, ...]:
        return tuple(score.name for score in self.scenes if score.favoured)

    def markdown(self) -> str:
        """The palettes' and scenes' records as a Markdown table (the asset's metadata)."""
        if not self.experiments:
            return "no finished experiment with a winner yet: thumbnails are drawn as ever"
        lines = [
            f"{self.experiments} experiments with a winner; smoothed win rate = (wins + 1) / "
            "(shown + 3), favoured above 1/3",
            "",
            "| look | name | wins | shown | smoothed win rate | favoured |",
            "|---|---|---:|---:|---:|---|",
        ]
        for kind, scores in (("palette", self.palettes), ("scene", self.scenes)):
            lines += [
                f"| {kind} | {s.name} | {s.wins} | {s.trials} | {s.win_rate:.2f} | "
                f"{'yes' if s.favoured else ''} |"
                for s in scores
            ]
        return "\n".join(lines)


def summarize_wins(rows: Sequence[Mapping[str, Any]]) -> WinSummary:
    """The summary of ``thumbnail_variants`` rows (``release_date``, ``palette``, ``scene``,
    ``result``); rows of running experiments and ones without a winner are not counted."""
    counted = [row for row in rows if row["result"] in (WON, LOST)]

    def scores(column: str) -> tuple[LookScore, ...]:
        wins: dict[str, int] = {}
        trials: dict[str, int] = {}
        for row in counted:
            name = str(row[column])
            trials[name] = trials.get(name, 0) + 1
            wins[name] = wins.get(name, 0) + (row["result"] == WON)
        found = [LookScore(name, wins[name], trials[name]) for name in trials]
        return tuple(sorted(found, key=lambda s: (-s.win_rate, -s.wins, s.name)))

    experiments = len({row["release_date"] for row in counted if row["result"] == WON})
    return WinSummary(experiments, scores("palette"), scores("scene"))


def win_summary(warehouse: Warehouse, before: str | None = None) -> WinSummary:
    """Which looks won the finished experiments of releases dated before ``before``
    (YYYY-MM-DD; None: all), from the warehouse's ``thumbnail_variants``. With ``before`` a
    release's date, its thumbnails depend only on earlier releases' outcomes."""
    ExperimentStore(warehouse)  # the tables, on a warehouse that has none yet
    sql = "SELECT release_date, palette, scene, result FROM thumbnail_variants"
    rows = (
        warehouse.query(f"{sql} WHERE release_date < ?", [before])
        if before
        else warehouse.query(sql)
    )
    return summarize_wins(rows)


def reporting_day(now: dt.datetime | None = None) -> str:
    """The day (YYYY-MM-DD) the reach reports would file ``now`` (aware; default: now) under:
    its date in Pacific Time."""
    moment = now or dt.datetime.now(dt.UTC)
    return moment.astimezone(ZoneInfo(REPORTING_TIMEZONE)).date().isoformat()


def variant_for_day(started_on: str, day: str) -> str:
    """The variant shown on ``day`` (YYYY-MM-DD) of an experiment started on ``started_on``."""
    offset = (dt.date.fromisoformat(day) - dt.date.fromisoformat(started_on)).days
    return VARIANTS[offset % len(VARIANTS)]


def parse_reach_csv(text: str) -> list[tuple[str, str, int, int]]:
    """A reach report's rows as (video_id, day YYYY-MM-DD, impressions, clicks); the report's
    ``date`` is YYYYMMDD and ``video_thumbnail_impressions_ctr`` a fraction."""
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        day = row["date"]
        day = f"{day[:4]}-{day[4:6]}-{day[6:8]}" if len(day) == 8 else day
        impressions = int(float(row["video_thumbnail_impressions"] or 0))
        clicks = round(impressions * float(row["video_thumbnail_impressions_ctr"] or 0))
        rows.append((row["video_id"], day, impressions, clicks))
    return rows


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ExperimentStore:
    """Experiments, rotations, reach rows and the Reporting job, in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        for statement in EXPERIMENT_TABLES:
            warehouse.execute(statement)

    def experiment(self, release_date: str) -> dict | None:
        rows = self.warehouse.query(
            "SELECT * FROM thumbnail_experiments WHERE release_date = ?", [release_date]
        )
        return rows[0] if rows else None

    def save_experiment(
        self,
        release_date: str,
        video_id: str,
        started_on: str,
        state: str,
        winner: str | None = None,
        decision: str | None = None,
    ) -> None:
        self.warehouse.execute(
            "INSERT INTO thumbnail_experiments VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (release_date) DO UPDATE SET state = EXCLUDED.state, "
            "winner = EXCLUDED.winner, decision = EXCLUDED.decision, "
            "updated_at = EXCLUDED.updated_at",
            [release_date, video_id, started_on, state, winner, decision, _now()],
        )

    def rotated(self, release_date: str, day: str) -> str | None:
        rows = self.warehouse.query(
            "SELECT variant FROM thumbnail_rotations WHERE release_date = ? AND day = ?",
            [release_date, day],
        )
        return rows[0]["variant"] if rows else None

    def save_rotation(self, release_date: str, day: str, variant: str) -> None:
        self.warehouse.execute(
            "INSERT INTO thumbnail_rotations VALUES (?, ?, ?, ?) "
            "ON CONFLICT (release_date, day) DO NOTHING",
            [release_date, day, variant, _now()],
        )

    def save_reach(self, rows: Sequence[tuple[str, str, int, int]]) -> None:
        self.warehouse.execute_many(
            [
                (
                    "INSERT INTO thumbnail_reach VALUES (?, ?, ?, ?) ON CONFLICT (video_id, day) "
                    "DO UPDATE SET impressions = EXCLUDED.impressions, clicks = EXCLUDED.clicks",
                    list(row),
                )
                for row in rows
            ]
        )

    def job_id(self) -> str | None:
        rows = self.warehouse.query(
            "SELECT job_id FROM reporting_jobs WHERE report_type = ?", [REACH_REPORT_TYPE]
        )
        return rows[0]["job_id"] if rows else None

    def save_job_id(self, job_id: str) -> None:
        self.warehouse.execute(
            "INSERT INTO reporting_jobs VALUES (?, ?) ON CONFLICT (report_type) DO NOTHING",
            [REACH_REPORT_TYPE, job_id],
        )

    def save_variants(
        self,
        release_date: str,
        looks: Mapping[str, VariantLook],
        arms: Sequence[ArmStats],
        results: Mapping[str, str],
    ) -> None:
        """Upsert each variant of ``looks``: its look, totals so far and result (one
        transaction)."""
        totals = {arm.variant: arm for arm in arms}
        sql = (
            "INSERT INTO thumbnail_variants VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (release_date, variant) DO UPDATE SET palette = EXCLUDED.palette, "
            "scene = EXCLUDED.scene, impressions = EXCLUDED.impressions, "
            "clicks = EXCLUDED.clicks, result = EXCLUDED.result, updated_at = EXCLUDED.updated_at"
        )
        now = _now()
        statements = []
        for variant, look in sorted(looks.items()):
            arm = totals.get(variant, ArmStats(variant, 0, 0))
            result = results.get(variant, RUNNING)
            parameters = [release_date, variant, look.palette, look.scene]
            statements.append((sql, [*parameters, arm.impressions, arm.clicks, result, now]))
        self.warehouse.execute_many(statements)

    def arms(self, release_date: str, video_id: str, before: str) -> list[ArmStats]:
        """Each variant's totals over the days it was shown, up to (not including) ``before``."""
        rotations = self.warehouse.query(
            "SELECT day, variant FROM thumbnail_rotations WHERE release_date = ? AND day < ?",
            [release_date, before],
        )
        shown = {row["day"]: row["variant"] for row in rotations}
        reach = self.warehouse.query(
            "SELECT day, impressions, clicks FROM thumbnail_reach WHERE video_id = ?", [video_id]
        )
        durations = {
            row["day"]: float(row["average_view_duration_s"])
            for row in self.warehouse.query(
                "SELECT day, average_view_duration_s FROM video_daily WHERE video_id = ?",
                [video_id],
            )
        }
        totals = {v: [0, 0, []] for v in VARIANTS}
        for row in reach:
            variant = shown.get(row["day"])
            if variant is None:
                continue
            totals[variant][0] += int(row["impressions"])
            totals[variant][1] += int(row["clicks"])
            if row["day"] in durations:
                totals[variant][2].append(durations[row["day"]])
        return [
            ArmStats(v, n, c, sum(d) / len(d) if d else None) for v, (n, c, d) in totals.items()
        ]


@dataclass
class ExperimentOutcome:
    """What one run did: the state (running | decided), the variant shown now, the reach
    rows read, the decision and the variant kept (when decided)."""

    state: str
    variant: str
    reach_rows: int
    decision: Decision | None
    kept: str | None = None
    reason: str = ""
    arms: list[ArmStats] = field(default_factory=list)


def record_looks(
    store: ExperimentStore,
    release_date: str,
    looks: Mapping[str, VariantLook],
    outcome: ExperimentOutcome,
) -> bool:
    """Store ``looks`` with ``outcome``'s totals and results (``thumbnail_variants``) after a
    run that judged the experiment; False (nothing stored) when it did not judge (a dry run,
    or one already decided, whose results were stored when it was decided) or ``looks`` is
    empty (a thumbnail record from before looks were recorded)."""
    if outcome.decision is None or not looks:
        return False
    results = variant_results(outcome.decision, outcome.kept)
    store.save_variants(release_date, looks, outcome.arms, results)
    return True


class ThumbnailExperiment:
    """One release's experiment against the APIs (``execute``: the Retrier's)."""

    def __init__(
        self,
        clients: Any,
        store: ExperimentStore,
        execute: Callable[[Any, str], Any],
        log: Callable[[str], None] = lambda message: None,
        rule: StoppingRule = StoppingRule(),
    ) -> None:
        self.clients, self.store, self.execute, self.log, self.rule = (
            clients,
            store,
            execute,
            log,
            rule,
        )

    def _reach_job(self) -> str:
        """The Reporting job of the reach report: ours from the warehouse, else one the
        channel already has (jobs.list), else a new one (jobs.create), recorded."""
        job_id = self.store.job_id()
        if job_id:
            return job_id
        jobs = self.execute(self.clients.reporting.jobs().list(), "list reporting jobs")
        found = [j for j in jobs.get("jobs", []) if j.get("reportTypeId") == REACH_REPORT_TYPE]
        if found:
            job_id = found[0]["id"]
        else:
            created = self.execute(
                self.clients.reporting.jobs().create(
                    body={"reportTypeId": REACH_REPORT_TYPE, "name": REPORT_JOB_NAME}
                ),
                "create the reach reporting job",
            )
            job_id = created["id"]
        self.store.save_job_id(job_id)
        return job_id

    def read_reach(self, video_ids: Sequence[str], since: str) -> int:
        """Download the reach reports of days from ``since`` on (every page of the list);
        store the rows of ``video_ids``, oldest report first so that a backfill report
        (YouTube's correction of days already delivered) replaces them. Returns the rows
        stored."""
        job_id = self._reach_job()
        start = f"{since}T00:00:00Z"
        reports, token = [], None
        while True:  # every page of the list
            options = {"pageToken": token} if token else {}
            listed = self.execute(
                self.clients.reporting.jobs()
                .reports()
                .list(jobId=job_id, startTimeAtOrAfter=start, **options),
                "list reach reports",
            )
            reports += listed.get("reports", [])
            token = listed.get("nextPageToken")
            if not token:
                break
        # Oldest first: a backfill report (created later) replaces the rows of its day.
        reports.sort(key=lambda report: (report.get("createTime", ""), report.get("id", "")))
        wanted, stored = set(video_ids), 0
        for report in reports:
            resource = report["downloadUrl"].split("/v1/media/", 1)[1].split("?", 1)[0]
            data = self.execute(
                self.clients.reporting.media().download_media(resourceName=resource),
                "download a reach report",
            )
            text = data.decode("utf-8") if isinstance(data, bytes) else str(data)
            rows = [row for row in parse_reach_csv(text) if row[0] in wanted]
            self.store.save_reach(rows)
            stored += len(rows)
        return stored

    def set_thumbnail(self, video_id: str, path: str) -> None:
        self.execute(
            self.clients.youtube.thumbnails().set(
                videoId=video_id, media_body=MediaFileUpload(path, mimetype="image/jpeg")
            ),
            "set the thumbnail",
        )

    def run(
        self, *, release_date: str, video_id: str, today: str, variant_paths: Mapping[str, str]
    ) -> ExperimentOutcome:
        """Advance the experiment to ``today``: read reach, judge, keep the winner or show
        today's variant (each set once a day). Raises PublishError and TimeoutError."""
        row = self.store.experiment(release_date)
        if row is None:
            self.store.save_experiment(release_date, video_id, today, "running")
            row = self.store.experiment(release_date)
        started = str(row["started_on"])
        if row["state"] == "decided":
            arms = self.store.arms(release_date, video_id, today)
            return ExperimentOutcome(
                "decided",
                str(row["winner"]),
                0,
                None,
                str(row["winner"]),
                str(row["decision"]),
                arms,
            )
        stored = self.read_reach([video_id], started)
        arms = self.store.arms(release_date, video_id, today)
        days_run = (dt.date.fromisoformat(today) - dt.date.fromisoformat(started)).days
        decision = decide(arms, self.rule, days_run)
        if decision.stopped:
            kept, reason = kept_variant(decision, arms)
            self.set_thumbnail(video_id, variant_paths[kept])
            self.store.save_experiment(release_date, video_id, started, "decided", kept, reason)
            self.log(f"Experiment of {release_date} decided: kept {kept} ({reason})")
            return ExperimentOutcome("decided", kept, stored, decision, kept, reason, arms)
        variant = variant_for_day(started, today)
        if self.store.rotated(release_date, today) is None:
            self.set_thumbnail(video_id, variant_paths[variant])
            self.store.save_rotation(release_date, today, variant)
            self.log(f"Showing thumbnail {variant} on {today}")
        return ExperimentOutcome("running", variant, stored, decision, None, decision.reason, arms)
