"""Keyword research: what people search for in the niche, and which words rank.

Once a week, for the niche's queries (``assets_library/keywords.yaml``, most important first)
within a quota budget, ``search.list`` finds the top videos (100 units a call) and one
``videos.list`` (1 unit) reads their tags, titles and view counts. Each tag and each title word
(lower case, stopwords left out) of a result scores ``log10(1 + views)``: a term many popular
results share scores high. Terms are stored per week and query in the warehouse
(``keyword_terms``); a query done for a week is recorded (``keyword_searches``) and never
searched again that week, so a re-run spends no quota.

``ranking_terms`` gives what metadata generation prefers: the best-scoring tags and title
words of the latest research week that ended before a release date (so a date's metadata is
the same whenever it is made again).

Quota (https://developers.google.com/youtube/v3/determine_quota_cost): search.list 100,
videos.list 1 per call, 101 a query; the default budget (500 units a week) runs 4 queries:
404 units a week, about 58 a day.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import yaml

from lofi_assets.errors import ConfigError
from lofi_assets.music.styles import assets_library_dir
from lofi_assets.publish.warehouse import Warehouse

SEARCH_UNITS = 100  # search.list
VIDEOS_LIST_UNITS = 1  # videos.list
DEFAULT_BUDGET_UNITS = 500
DEFAULT_MAX_RESULTS = 10
KINDS = ("tag", "title_word")
WORD = re.compile(r"[\w'’-]+", re.UNICODE)
KEYWORD_TABLES = (
    """CREATE TABLE IF NOT EXISTS keyword_searches (
        week VARCHAR NOT NULL,
        query VARCHAR NOT NULL,
        units BIGINT NOT NULL,
        results BIGINT NOT NULL,
        fetched_at VARCHAR NOT NULL,
        PRIMARY KEY (week, query)
    )""",
    """CREATE TABLE IF NOT EXISTS keyword_terms (
        week VARCHAR NOT NULL,
        query VARCHAR NOT NULL,
        term VARCHAR NOT NULL,
        kind VARCHAR NOT NULL,
        videos BIGINT NOT NULL,
        score DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (week, query, term, kind)
    )""",
)


@dataclass(frozen=True)
class ResultVideo:
    """A search result with its statistics: ``views`` is ``statistics.viewCount``."""

    video_id: str
    title: str
    tags: tuple[str, ...]
    views: int


@dataclass(frozen=True)
class TermScore:
    term: str
    kind: str  # tag | title_word
    videos: int  # results it appears in
    score: float  # sum of log10(1 + views) over those results


@cache
def research_data() -> tuple[tuple[str, ...], frozenset[str]]:
    """(queries, stopwords) from ``assets_library/keywords.yaml``."""
    path = assets_library_dir() / "keywords.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not document.get("queries"):
        raise ConfigError(f"{path}: no queries")
    return tuple(document["queries"]), frozenset(str(w).lower() for w in document["stopwords"])


def queries_within(queries: Sequence[str], budget_units: int) -> list[str]:
    """The first queries whose search.list and videos.list fit in ``budget_units``.

    Raises ConfigError for a negative budget."""
    if budget_units < 0:
        raise ConfigError(f"search budget {budget_units} units: give 0 or more")
    return list(queries[: budget_units // (SEARCH_UNITS + VIDEOS_LIST_UNITS)])


def title_words(title: str, stopwords: frozenset[str]) -> list[str]:
    """A title's words, lower case, each once, stopwords and pure numbers left out."""
    words = [w.strip("'’-").lower() for w in WORD.findall(title)]
    return list(dict.fromkeys(w for w in words if w and w not in stopwords and not w.isdigit()))


def score_terms(results: Sequence[ResultVideo], stopwords: frozenset[str]) -> list[TermScore]:
    """Every tag and title word of ``results`` with its score, best first (ties by term)."""
    totals: dict[tuple[str, str], list[float]] = {}
    for video in results:
        weight = math.log10(1 + max(0, video.views))
        tags = dict.fromkeys(t.strip().lower() for t in video.tags if t.strip())
        for term, kind in [
            *((t, "tag") for t in tags),
            *((w, "title_word") for w in title_words(video.title, stopwords)),
        ]:
            totals.setdefault((term, kind), []).append(weight)
    scored = [TermScore(t, k, len(w), round(sum(w), 6)) for (t, k), w in totals.items()]
    return sorted(scored, key=lambda s: (-s.score, s.term, s.kind))


def search_request(youtube: Any, query: str, max_results: int) -> Any:
    """search.list: the query's most relevant videos (100 units)."""
    return youtube.search().list(
        part="snippet",
        q=query,
        type="video",
        maxResults=max_results,
        order="relevance",
        relevanceLanguage="en",
        safeSearch="none",
    )


def videos_request(youtube: Any, video_ids: Sequence[str]) -> Any:
    """videos.list of the results' snippets (tags, titles) and statistics (1 unit)."""
    return youtube.videos().list(part="snippet,statistics", id=",".join(video_ids))


class KeywordStore:
    """The research in the warehouse."""

    def __init__(self, warehouse: Warehouse) -> None:
        self.warehouse = warehouse
        for statement in KEYWORD_TABLES:
            warehouse.execute(statement)

    def searched(self, week: str) -> set[str]:
        rows = self.warehouse.query("SELECT query FROM keyword_searches WHERE week = ?", [week])
        return {row["query"] for row in rows}

    def save(
        self, week: str, query: str, results: int, terms: Sequence[TermScore], units: int
    ) -> None:
        """The query's terms and its search record (``units`` spent), in one transaction."""
        now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        self.warehouse.execute_many(
            [("DELETE FROM keyword_terms WHERE week = ? AND query = ?", [week, query])]
            + [
                (
                    "INSERT INTO keyword_terms VALUES (?, ?, ?, ?, ?, ?)",
                    [week, query, t.term, t.kind, t.videos, t.score],
                )
                for t in terms
            ]
            + [
                (
                    "INSERT INTO keyword_searches VALUES (?, ?, ?, ?, ?) ON CONFLICT (week, query) "
                    "DO NOTHING",
                    [week, query, units, results, now],
                )
            ]
        )

    def top_terms(self, week: str, kind: str, limit: int) -> list[TermScore]:
        rows = self.warehouse.query(
            "SELECT term, kind, sum(videos) AS videos, sum(score) AS score FROM keyword_terms "
            "WHERE week = ? AND kind = ? GROUP BY term, kind ORDER BY sum(score) DESC, term "
            "LIMIT ?",
            [week, kind, limit],
        )
        return [TermScore(r["term"], r["kind"], int(r["videos"]), float(r["score"])) for r in rows]

    def units(self, week: str) -> int:
        rows = self.warehouse.query(
            "SELECT coalesce(sum(units), 0) AS units FROM keyword_searches WHERE week = ?", [week]
        )
        return int(rows[0]["units"])


@dataclass(frozen=True)
class RankingTerms:
    """What metadata prefers: ``tags`` and ``title_words``, best first (empty: no research)."""

    week: str = ""
    tags: tuple[str, ...] = ()
    title_words: tuple[str, ...] = ()


def ranking_terms(warehouse: Warehouse, before: str, limit: int = 10) -> RankingTerms:
    """The best terms of the latest research week that ended before the date ``before``
    (YYYY-MM-DD); empty when there is none."""
    store = KeywordStore(warehouse)
    first_day = (dt.date.fromisoformat(before) - dt.timedelta(days=7)).isoformat()
    weeks = warehouse.query(
        "SELECT max(week) AS week FROM keyword_searches WHERE week <= ?", [first_day]
    )
    week = weeks[0]["week"] if weeks else None
    if not week:
        return RankingTerms()
    return RankingTerms(
        week,
        tuple(t.term for t in store.top_terms(week, "tag", limit)),
        tuple(t.term for t in store.top_terms(week, "title_word", limit)),
    )


@dataclass
class ResearchOutcome:
    searched: list[str]  # queries searched this run
    skipped: list[str]  # already searched this week
    units: int  # spent this run


def research_week(
    youtube: Any,
    execute: Callable[[Any, str], Any],
    store: KeywordStore,
    week: str,
    queries: Sequence[str],
    stopwords: frozenset[str],
    max_results: int = DEFAULT_MAX_RESULTS,
    log: Callable[[str], None] = lambda message: None,
) -> ResearchOutcome:
    """Search each query not yet done this week and store its terms (one transaction per
    query, so a run stopped by the quota keeps what it did). Raises PublishError/
    QuotaExceededError (refusals, never retried) and TimeoutError."""
    done = store.searched(week)
    outcome = ResearchOutcome([], [], 0)
    for query in queries:
        if query in done:
            outcome.skipped.append(query)
            continue
        found = execute(search_request(youtube, query, max_results), f"search {query!r}")
        ids = [
            item["id"]["videoId"]
            for item in found.get("items", [])
            if item.get("id", {}).get("videoId")
        ]
        units = SEARCH_UNITS
        results = []
        if ids:
            listed = execute(videos_request(youtube, ids), "read the results' statistics")
            units += VIDEOS_LIST_UNITS
            results = [
                ResultVideo(
                    v["id"],
                    v["snippet"].get("title", ""),
                    tuple(v["snippet"].get("tags", [])),
                    int(v.get("statistics", {}).get("viewCount", 0)),
                )
                for v in listed.get("items", [])
            ]
        store.save(week, query, len(results), score_terms(results, stopwords), units)
        outcome.units += units
        outcome.searched.append(query)
        log(f"{query!r}: {len(results)} results")
    return outcome
