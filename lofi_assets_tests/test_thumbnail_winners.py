"""Issue 17 §4, the loop closed: which palettes and scenes win the thumbnail experiments
(counted in a real DuckDB warehouse) steers the next release's thumbnails, drawn with Pillow;
with no finished experiment they are drawn exactly as before."""

import hashlib
import json

import dagster as dg
import pytest

from lofi_assets.defs.assets.compose import midi_sketch
from lofi_assets.defs.assets.release import thumbnail
from lofi_assets.defs.partitions import track_partition_key
from lofi_assets.publish.experiments import (
    LOST,
    NO_WINNER,
    RUNNING,
    WON,
    Decision,
    ExperimentStore,
    LookScore,
    VariantLook,
    variant_results,
    win_summary,
)
from lofi_assets.publish.warehouse import Warehouse
from lofi_assets.visual.thumbnail import VARIANTS, LookPreference, draw_artwork

pytestmark = pytest.mark.timeout(120)
SMALL = (320, 180)  # small pictures: the choices and pixels are what is tested, not the size
DATE = "2026-11-27"


def _store(path) -> ExperimentStore:
    return ExperimentStore(Warehouse(str(path)))


def _experiment(store, date, looks, kept):
    """One experiment's variants as ``thumbnail_experiment`` stores them: ``kept`` the variant
    kept, None for one that ended without a winner, RUNNING for one still running."""
    if kept == RUNNING:
        decision = Decision(False, None, "A", 0.5, "running")
    else:
        decision = Decision(True, kept, kept or "A", 0.999, "decided")
    looks = {variant: VariantLook(*look) for variant, look in looks.items()}
    store.save_variants(
        date, looks, [], variant_results(decision, None if kept == RUNNING else kept)
    )


def _preference(warehouse, before=DATE) -> LookPreference:
    wins = win_summary(warehouse, before=before)
    return LookPreference(wins.favoured_palettes, wins.favoured_scenes)


def test_the_summary_counts_wins_per_palette_and_scene(tmp_path):
    store = _store(tmp_path / "warehouse.duckdb")
    _experiment(
        store,
        "2026-11-01",
        {
            "A": ("golden_hour", "city_dusk"),
            "B": ("midnight", "nature"),
            "C": ("coffee", "city_dusk"),
        },
        "A",
    )
    _experiment(
        store,
        "2026-11-02",
        {
            "A": ("midnight", "window_rain"),
            "B": ("golden_hour", "window_rain"),
            "C": ("sakura", "nature"),
        },
        "B",
    )
    # Neither an experiment without a winner nor a running one counts.
    _experiment(store, "2026-11-03", {v: ("midnight", "nature") for v in VARIANTS}, None)
    _experiment(store, "2026-11-04", {v: ("midnight", "nature") for v in VARIANTS}, RUNNING)

    wins = win_summary(store.warehouse)
    assert wins.experiments == 2
    assert wins.palettes == (
        LookScore("golden_hour", 2, 2),
        LookScore("coffee", 0, 1),
        LookScore("sakura", 0, 1),
        LookScore("midnight", 0, 2),
    )
    assert [s.win_rate for s in wins.palettes] == pytest.approx([3 / 5, 1 / 4, 1 / 4, 1 / 5])
    assert wins.scenes == (
        LookScore("city_dusk", 1, 2),
        LookScore("window_rain", 1, 2),
        LookScore("nature", 0, 2),
    )
    assert wins.favoured_palettes == ("golden_hour",)
    assert wins.favoured_scenes == ("city_dusk", "window_rain")  # 2/5 > 1/3 each
    assert "| palette | golden_hour | 2 | 2 | 0.60 | yes |" in wins.markdown()
    # Only releases before a date: what that date's thumbnails may depend on.
    earlier = win_summary(store.warehouse, before="2026-11-02")
    assert earlier.experiments == 1 and earlier.palettes[0] == LookScore("golden_hour", 1, 1)
    rows = store.warehouse.query(
        "SELECT result, count(*) AS n FROM thumbnail_variants GROUP BY result ORDER BY result"
    )
    assert {r["result"]: r["n"] for r in rows} == {LOST: 4, NO_WINNER: 3, RUNNING: 3, WON: 2}


def test_results_follow_the_decision_and_the_view_duration_guard():
    assert variant_results(Decision(False, None, "B", 0.9, "running"), None) == dict.fromkeys(
        VARIANTS, RUNNING
    )
    assert variant_results(Decision(True, None, "B", 0.6, "too few"), "A") == dict.fromkeys(
        VARIANTS, NO_WINNER
    )
    # B won on CTR but cost watch time: A was kept, and A is what the channel learned from.
    guarded = variant_results(Decision(True, "B", "B", 0.999, "B is better"), "A")
    assert guarded == {"A": WON, "B": LOST, "C": LOST}


def _always(store, palette, scene, dates):
    """Experiments where ``palette`` (with ``scene``) won every time, shown as A, B, C in turn."""
    others = [p for p in ("coffee", "midnight", "sakura", "matcha", "ocean_blue") if p != palette]
    for index, date in enumerate(dates):
        winner = VARIANTS[index % 3]
        looks = {
            v: (palette, scene) if v == winner else (others[(index + i) % 4], "city_dusk")
            for i, v in enumerate(VARIANTS)
        }
        _experiment(store, date, looks, winner)


def test_a_palette_that_always_wins_is_the_next_release_s_variant_a(tmp_path):
    store = _store(tmp_path / "warehouse.duckdb")
    _always(store, "rain_slate", "nature", ["2026-11-01", "2026-11-02", "2026-11-03"])
    preference = _preference(store.warehouse)
    assert preference.palettes[0] == "rain_slate" and preference.scenes[0] == "nature"
    before = {draw_artwork(SMALL, "japanese", seed, "A").palette for seed in range(1, 5)}
    assert before != {"rain_slate"}  # without the history, A's palette was the seed's
    for seed in range(1, 5):
        drawn = {v: draw_artwork(SMALL, "japanese", seed, v, preference) for v in VARIANTS}
        assert drawn["A"].palette == "rain_slate"
        assert "rain_slate" not in (drawn["B"].palette, drawn["C"].palette)  # they explore
        # japanese draws window_rain and nature: A shows the proven one, B the other.
        assert (drawn["A"].scene, drawn["B"].scene) == ("nature", "window_rain")
    # A proven scene the style does not draw leaves the scenes as the seed picks them.
    assert draw_artwork(SMALL, "boom_bap", 1, "A", preference).scene == "city_dusk"


# Each variant's (palette, scene) as drawn before there was a preference (c813309; its pixels
# and JPEGs were checked identical to this branch's with no preference, 2026-11-30).
BEFORE = {
    ("jazz", 9): {"A": ("sakura", "window_rain"), "B": ("dusk_rose", "city_dusk"),
                  "C": ("sakura", "window_rain")},
    ("japanese", 1): {"A": ("midnight", "window_rain"), "B": ("golden_hour", "nature"),
                      "C": ("ocean_blue", "window_rain")},
    ("cafe", 3): {"A": ("golden_hour", "city_dusk"), "B": ("golden_hour", "desk_room"),
                  "C": ("ocean_blue", "city_dusk")},
    ("ambient", 2): {"A": ("coffee", "nature"), "B": ("lavender_fog", "nature"),
                     "C": ("lavender_fog", "nature")},
}  # fmt: skip


def test_with_no_finished_experiment_the_thumbnails_are_as_before(tmp_path):
    store = _store(tmp_path / "warehouse.duckdb")
    assert _preference(store.warehouse) == LookPreference()  # an empty warehouse
    _experiment(store, "2026-11-01", {v: ("rain_slate", "nature") for v in VARIANTS}, None)
    _experiment(store, "2026-11-02", {v: ("rain_slate", "nature") for v in VARIANTS}, RUNNING)
    empty = _preference(store.warehouse)
    assert empty == LookPreference()  # no winner yet: nothing proven
    for (style, seed), looks in BEFORE.items():
        for variant in VARIANTS:
            today = draw_artwork(SMALL, style, seed, variant)
            steered = draw_artwork(SMALL, style, seed, variant, empty)
            assert steered.image.tobytes() == today.image.tobytes()
            assert (today.palette, today.scene) == looks[variant]


def test_same_warehouse_state_same_thumbnails(tmp_path):
    store = _store(tmp_path / "warehouse.duckdb")
    _always(store, "golden_hour", "window_rain", ["2026-11-01", "2026-11-02"])
    first, second = _preference(store.warehouse), _preference(store.warehouse)
    assert first == second
    for variant in VARIANTS:
        one = draw_artwork(SMALL, "jazz", 9, variant, first).image.tobytes()
        assert one == draw_artwork(SMALL, "jazz", 9, variant, second).image.tobytes()
    assert (
        draw_artwork(SMALL, "jazz", 9, "A", first).image.tobytes()
        != draw_artwork(SMALL, "jazz", 9, "A").image.tobytes()
    )


def test_the_thumbnail_asset_draws_the_winning_look_from_the_warehouse(
    resources, instance, data_dir
):
    for slot in ("1", "2", "3"):
        assert dg.materialize(
            [midi_sketch],
            partition_key=track_partition_key(DATE, slot),
            resources=resources,
            instance=instance,
        ).success
    store = _store(data_dir / "warehouse.duckdb")  # the resources' warehouse
    _always(store, "rain_slate", "window_rain", ["2026-11-20", "2026-11-21"])
    # A later release's experiments cannot change this date's thumbnails.
    _always(store, "sakura", "nature", ["2026-11-28", "2026-11-29", "2026-11-30"])

    def run():
        result = dg.materialize(
            [midi_sketch, thumbnail],
            partition_key=DATE,
            resources=resources,
            instance=instance,
            selection=[thumbnail],
        )
        assert result.success
        return result

    shown = run().get_asset_materialization_events()[0].materialization.metadata
    assert shown["favoured_looks"].value == {
        "experiments": 2,
        "palettes": ["rain_slate"],
        "scenes": ["window_rain"],
    }
    folder = data_dir / "thumbnail" / DATE
    record = json.loads((folder / "record.json").read_text())["fields"]
    assert record["variant_palettes"]["A"] == "rain_slate"
    assert "rain_slate" not in (record["variant_palettes"]["B"], record["variant_palettes"]["C"])
    assert set(record["variant_scenes"]) == set(VARIANTS)
    assert shown["legibility"].value["A"]["palette"] == "rain_slate"

    def digests():
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.glob("*.jpg")}

    first = digests()
    run()
    assert digests() == first  # same partition, same warehouse state: the same files
