"""Issue 17 §5: weekly keyword research within a quota budget, on a real Dagster instance
against the local YouTube server (search.list + videos.list), stored in the warehouse; metadata
generation then prefers the terms that rank."""

import json
from pathlib import Path

import dagster as dg
import pytest

from lofi_assets.defs.assets.growth import keyword_research
from lofi_assets.defs.resources import YouTubeResource
from lofi_assets.publish import keywords
from lofi_assets.publish.keywords import (
    DEFAULT_BUDGET_UNITS,
    KeywordStore,
    ResultVideo,
    queries_within,
    ranking_terms,
    research_data,
    score_terms,
)
from lofi_assets.publish.metadata import TrackFacts, build_metadata
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets_tests.conftest import make_resources
from lofi_assets_tests.youtube_server import QUOTA_ERROR, LocalYouTube, write_token_file

WEEK = "2026-11-15"
SEARCH = "GET /youtube/v3/search"
pytestmark = pytest.mark.timeout(60)


def test_terms_score_by_how_many_popular_results_share_them():
    _, stopwords = research_data()
    results = [
        ResultVideo("a", "Rainy Jazz to Study to", ("lofi", "study music"), 999),
        ResultVideo("b", "Study Lofi for the Night", ("lofi", "night"), 99),
    ]
    scored = {(t.term, t.kind): t for t in score_terms(results, stopwords)}
    assert scored[("lofi", "tag")].score == pytest.approx(3 + 2)  # log10(1000) + log10(100)
    assert scored[("study", "title_word")].videos == 2
    assert ("to", "title_word") not in scored and ("the", "title_word") not in scored


def test_the_budget_caps_the_searches():
    queries, _ = research_data()
    assert queries_within(queries, 500) == list(queries[:4])  # 4 × 101 ≤ 500 < 5 × 101
    assert queries_within(queries, 0) == []
    # What the README and the module promise for the default budget (once said 5 and 505).
    cost = len(queries_within(queries, DEFAULT_BUDGET_UNITS)) * 101
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "| `keyword_research` | week |" in line)
    assert f"| {cost} a week (~{round(cost / 7)} a day) by default" in row
    assert f"{cost} units a week, about {round(cost / 7)} a day" in " ".join(
        keywords.__doc__.split()
    )


@pytest.fixture
def server():
    with LocalYouTube() as local:
        for title, tags, views in [
            ("lofi hip hop radio beats to relax", ["lofi", "lofi hip hop", "chill beats"], 900_000),
            ("jazz lofi for study", ["jazz lofi", "lofi", "study music"], 50_000),
            ("rainy lofi night", ["rain lofi", "lofi"], 7_000),
            ("lofi study session", ["study lofi", "lofi"], 120_000),
        ]:
            local.fake.add_public_video(title, tags, views)
        yield local


def _run(data, instance, budget=202, **resources):
    return dg.materialize(
        [keyword_research], partition_key=WEEK, instance=instance,
        resources={**make_resources(data), **resources}, raise_on_error=False,
        run_config={"ops": {"keyword_research": {"config": {"search_budget_units": budget}}}},
    )  # fmt: skip


def _live(server, folder) -> YouTubeResource:
    token = write_token_file(folder / "token.json", server.endpoint)
    return YouTubeResource(token_file=str(token), endpoint=server.endpoint)


def test_live_research_stays_in_budget_and_never_repeats_a_week(
    data_dir, instance, server, tmp_path
):
    live = _live(server, tmp_path)
    result = _run(data_dir, instance, youtube=live)
    assert result.success
    assert server.count(SEARCH) == 2 and server.count("GET /youtube/v3/videos") == 2
    shown = result.get_asset_materialization_events()[0].materialization.metadata
    assert shown["quota_units_this_run"].value == 202
    store = KeywordStore(Warehouse(str(data_dir / "warehouse.duckdb")))
    assert store.top_terms(WEEK, "tag", 1)[0].term == "lofi"
    assert _run(data_dir, instance, youtube=live).success  # a re-run of the week
    assert server.count(SEARCH) == 2 and store.units(WEEK) == 202
    ranking = ranking_terms(store.warehouse, before="2026-11-23")
    assert ranking.week == WEEK and ranking.tags[0] == "lofi"
    assert ranking_terms(store.warehouse, before="2026-11-21").week == ""  # week not over


def test_quota_exhausted_keeps_what_was_done_and_resumes(data_dir, instance, server, tmp_path):
    live = _live(server, tmp_path)
    result = _run(data_dir, instance, budget=202, youtube=live)
    assert result.success
    server.fake.route_errors[SEARCH] = QUOTA_ERROR
    result = _run(data_dir, instance, budget=404, youtube=live)
    assert not result.success
    assert server.count(SEARCH) == 3  # the third query refused once, never retried
    store = KeywordStore(Warehouse(str(data_dir / "warehouse.duckdb")))
    assert len(store.searched(WEEK)) == 2
    server.fake.route_errors.clear()
    assert _run(data_dir, instance, budget=404, youtube=live).success
    assert server.count(SEARCH) == 5 and len(store.searched(WEEK)) == 4


def test_forbidden_and_5xx(data_dir, instance, server, tmp_path):
    live = _live(server, tmp_path)
    server.fake.route_errors[SEARCH] = (403, "forbidden", "Access forbidden.")
    result = _run(data_dir, instance, youtube=live)
    assert not result.success and server.count(SEARCH) == 1
    server.fake.route_errors.clear()
    server.fake.route_errors_once[SEARCH] = [(503, "backendError", "Service unavailable")]
    assert _run(data_dir, instance, youtube=live).success
    assert server.count(SEARCH) == 1 + 3  # the 503 retried, then both queries


def test_dry_run_writes_the_exact_searches(data_dir, instance):
    assert _run(data_dir, instance, budget=303).success
    manifest = json.loads((data_dir / "keyword_research" / WEEK / "manifest.json").read_text())
    calls = [r["call"] for r in manifest["requests"]]
    assert calls == ["search.list"] * 3 + ["videos.list"]
    assert "q=lofi+hip+hop" in manifest["requests"][0]["uri"]
    assert "type=video" in manifest["requests"][0]["uri"]


def test_metadata_prefers_ranking_terms_and_never_another_channels_name():
    track = TrackFacts("jazz", "Jazz", "C major", 80.0, "rain_light", 0, 7)
    common = {"channel_name": "Lofi Empire", "artist": "Lofi Empire", "timezone": "UTC",
              "tracks": [track] * 3, "chapter_starts_s": [0.0, 100.0, 200.0],
              "duration_s": 300.0}  # fmt: skip
    plain = build_metadata(date="2026-11-27", **common)
    assert plain == build_metadata(date="2026-11-27", ranking_tags=(), **common)  # unchanged
    ranked = build_metadata(date="2026-11-27", ranking_tags=["jazz lofi", "lofi girl"], **common)
    assert ranked.tags.index("jazz lofi") == 5  # right after the five primary tags
    assert "lofi girl" not in ranked.tags  # not our vocabulary: another channel's name
    # Titles: across the month, templates saying "beats" win more often when it ranks
    # (18 of 30 titles against 4).
    days = [f"2026-11-{d:02d}" for d in range(1, 31)]
    with_beats = sum(
        "beats" in build_metadata(date=d, ranking_title_words=["beats"], **common).title.lower()
        for d in days
    )
    without = sum("beats" in build_metadata(date=d, **common).title.lower() for d in days)
    assert with_beats >= 3 * without
