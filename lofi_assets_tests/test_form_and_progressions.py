import itertools
import random

import pytest

from lofi_assets.errors import ConfigError
from lofi_assets.music.form import bar_duration_s, bars_for_duration, plan_form
from lofi_assets.music.plan import SketchRequest, resolve_plan
from lofi_assets.music.progressions import (
    CHROMATIC_BUDGET,
    chromatic_allowance,
    out_of_key_share,
)
from lofi_assets.music.score import SECTION_NAMES
from lofi_assets.music.styles import load_progressions, style_names
from lofi_assets.music.theory import Key, parse_roman


@pytest.mark.parametrize("target_s", [20.0, 30.0, 165.0, 187.5, 210.0, 600.0])
@pytest.mark.parametrize("bpm", [65, 80, 95])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_form_reaches_the_target_length_in_whole_bars(target_s, bpm, seed):
    sections = plan_form(bars_for_duration(target_s, bpm), rng=random.Random(seed))
    names = [s.name for s in sections]
    assert names[0] == "intro" and names[-1] == "outro"
    assert {"A", "B", "A2"} <= set(names) <= set(SECTION_NAMES)
    assert all(s.bars >= 1 for s in sections)
    assert sections[0].start_bar == 0
    assert all(a.end_bar == b.start_bar for a, b in itertools.pairwise(sections))
    duration_s = sections[-1].end_bar * bar_duration_s(bpm)
    assert abs(duration_s - target_s) <= bar_duration_s(bpm) / 2


def test_unknown_form_templates_are_rejected():
    with pytest.raises(ConfigError, match="Unknown form templates"):
        plan_form(64, {"verse_chorus": 1.0}, random.Random(0))


def test_a_track_too_short_for_a_form_is_rejected():
    with pytest.raises(ConfigError, match="fewer than 5 bars"):
        bars_for_duration(5.0, 70)


def _plans(count: int = 40):
    return [
        resolve_plan(SketchRequest(seed=seed, style=style))
        for style in style_names()
        for seed in range(count)
    ]


def test_progressions_use_secondary_dominants_tritone_subs_and_borrowed_chords():
    romans = [
        roman for plan in _plans(20) for p in plan.progressions.values() for roman in p.romans
    ]
    assert any(r.startswith(("V7/", "V9/", "V13/", "vii°7/")) for r in romans)
    assert any(r.startswith("sub") for r in romans)
    assert any(r.startswith(("iv", "bVII")) for r in romans)
    assert any(r.endswith(("9", "11", "13", "6/9")) or "13" in r for r in romans)


def test_chromatic_colour_stays_within_budget():
    templates = load_progressions()
    for plan in _plans(20):
        for progression in plan.progressions.values():
            allowance = chromatic_allowance(templates[progression.template], plan.key)
            assert allowance >= CHROMATIC_BUDGET
            assert out_of_key_share(progression.events, plan.key) <= allowance + 1e-9


def test_templates_fit_the_modes_they_claim():
    for template in load_progressions().values():
        for mode in template.modes:
            key = Key(0, mode)
            chromatic = [
                token
                for token in template.chords
                if parse_roman(token, key).pitch_classes - key.scale_pcs
            ]
            # At most two chords may be borrowed by design (backdoor: iv and bVII).
            assert len(chromatic) <= 2, f"{template.name} in {mode}: {chromatic}"


def test_b_section_has_its_own_progression():
    for plan in _plans(10):
        assert plan.progressions["A"].template != plan.progressions["B"].template
