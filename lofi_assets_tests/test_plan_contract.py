"""The plan as a typed, versioned contract, and a day of contrasting slots."""

import datetime as dt
import itertools
import json

import pytest

from lofi_assets.channel import Channel
from lofi_assets.cli import main
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.day import MIN_TEMPO_GAP_BPM
from lofi_assets.music.plan import SketchRequest, resolve_plan
from lofi_assets.music.plan_record import (
    PLAN_SCHEMA_VERSION,
    PlanFormatError,
    PlanRecord,
    read_plan_record,
    record_sketch,
)
from lofi_assets.music.sketch_files import write_sketch_files


@pytest.fixture(scope="module")
def record() -> PlanRecord:
    return record_sketch(compose_sketch(SketchRequest(seed=7, style="jazz", duration_s=40)))


def test_plan_json_round_trips_to_the_same_record(record, tmp_path):
    files = write_sketch_files(
        compose_sketch(SketchRequest(seed=7, style="jazz", duration_s=40)), tmp_path
    )
    assert files.plan == record
    read_back = read_plan_record(files.plan_path)
    assert read_back == record
    assert read_back.schema_version == PLAN_SCHEMA_VERSION
    assert read_back.sections and read_back.sections[0].start_bar == 0
    assert sum(section.bars for section in read_back.sections) == read_back.bars
    assert read_back.chords("A") and read_back.instruments["melody"].program >= 0


def test_a_first_version_plan_without_the_new_fields_is_still_read(record):
    document = record.to_document()
    for new_field in ("schema_version", "drum_kit", "melody_source"):
        document.pop(new_field)
    document["form"] = [
        {"name": s.name, "start_bar": s.start_bar, "bars": s.bars} for s in record.sections
    ]
    old = PlanRecord.from_document(document)
    assert (old.style, old.key, old.bpm, old.bars) == (
        record.style,
        record.key,
        record.bpm,
        record.bars,
    )
    assert old.drum_kit.program == 0 and old.melody_source.generator == "engine"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("bpm"), "missing field 'bpm'"),
        (lambda d: d.update(bpm="fast"), "bpm must be a number"),
        (lambda d: d.update(schema_version=PLAN_SCHEMA_VERSION + 1), "update lofi-empire"),
        (lambda d: d["chords"].pop("B"), "lacks 'B'"),
        (lambda d: d.update(form=[{"bars": 2}]), "bad section"),
    ],
)
def test_a_bad_plan_names_the_file_and_the_field(record, tmp_path, edit, message):
    document = record.to_document()
    edit(document)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFormatError, match=message) as raised:
        read_plan_record(path)
    assert str(path) in str(raised.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(bpm=1e9), "bpm is 1000000000.0, outside 40–200 BPM"),
        (lambda d: d.update(bars=-3), "bars is -3, not a whole number ≥ 5"),
        (lambda d: d.update(key=5), "key, tonic and mode must be text"),
        (lambda d: d.update(key="C# lydian"), "key is 'C# lydian' but tonic"),
        (lambda d: d.update(tonic_pc=12), "tonic_pc is 12, not a whole number 0–11"),
        (lambda d: d.update(seed=-1), "seed is -1, not a whole number ≥ 0"),
        (lambda d: d.update(swing=2.0), "swing is 2.0, outside 0.54–0.62"),
        (lambda d: d.update(target_duration_s=1e6), "target_duration_s is 1000000.0, outside"),
        (lambda d: d.update(duration_s=500.0), "duration_s is 500.0, but"),
        (lambda d: d.update(ambience="nope"), "ambience is 'nope', not one of rain_light"),
        (lambda d: d.update(style="nope"), "style is 'nope', not one of ambient"),
        (lambda d: d.update(time_signature=[3, 4]), "lofi composes 4/4 only"),
        (lambda d: d["instruments"]["keys"].update(program=300), "instruments.keys.program is"),
    ],
)
def test_a_plan_value_outside_the_composers_range_is_refused_when_read(
    record, tmp_path, edit, message
):
    """The same ranges as ``lofi sketch`` (plan.BPM_LIMITS …): refused on reading, naming the
    field, its value and the valid range — not 3 stems into a render."""
    document = record.to_document()
    edit(document)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    with pytest.raises(PlanFormatError, match=message) as raised:
        read_plan_record(path)
    assert str(raised.value).startswith(f"{path}: ")


def test_a_plan_at_the_edges_of_the_ranges_is_read(record, tmp_path):
    document = record.to_document()
    bpm, bars = 200, record.bars
    document.update(bpm=bpm, duration_s=round(bars * 4 * 60 / bpm, 3), seed=0, swing=0.62)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    assert (read_plan_record(path).bpm, read_plan_record(path).seed) == (200, 0)


def test_a_plan_with_a_utf8_byte_order_mark_is_read(record, tmp_path):
    """RFC 8259 §8.1: a parser may ignore the byte order mark some editors write."""
    path = tmp_path / "plan.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(record.to_document()).encode())
    assert read_plan_record(path) == record


def test_lofi_render_refuses_a_plan_with_an_absurd_tempo_in_one_line(tmp_path, capsys):
    out = tmp_path / "t.mid"
    assert main(["sketch", "--seed", "3", "--duration", "20", "--out", str(out)]) == 0
    plan_path = out.with_suffix(".plan.json")
    document = json.loads(plan_path.read_text())
    document["bpm"] = 1e9
    plan_path.write_text(json.dumps(document))
    capsys.readouterr()
    assert main(["render", "--midi", str(out), "--out", str(tmp_path / "t.wav")]) == 2
    captured = capsys.readouterr()
    error = captured.err.strip().splitlines()
    assert error == [
        f"lofi: error: {plan_path}: bpm is 1000000000.0, outside 40–200 BPM: fix the plan, or "
        "re-make it (materialize midi_sketch or run `lofi sketch`)"
    ]
    assert "BPM" not in captured.out and not (tmp_path / "t.wav").exists()


def test_a_missing_or_garbled_plan_is_one_cli_error(tmp_path, capsys):
    out = tmp_path / "t.mid"
    assert main(["sketch", "--seed", "3", "--duration", "20", "--out", str(out)]) == 0
    plan_path = out.with_suffix(".plan.json")
    plan_path.write_text("{not json")
    assert main(["render", "--midi", str(out), "--out", str(tmp_path / "t.wav")]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("lofi: error:")
    assert "not a readable plan" in error[0]


def test_slots_of_a_day_never_share_style_or_key_and_keep_their_tempos_apart():
    """Over 60 consecutive dates: 0 days with a shared style or key, tempos ≥ 4 BPM apart."""
    channel = Channel()
    start = dt.date(2026, 11, 1)
    for offset in range(60):
        date = (start + dt.timedelta(days=offset)).isoformat()
        plans = [resolve_plan(channel.sketch_request(date, slot)) for slot in channel.slots]
        for first, second in itertools.combinations(plans, 2):
            assert first.style.name != second.style.name, date
            assert first.key.tonic_pc != second.key.tonic_pc, date
            assert abs(first.bpm - second.bpm) >= MIN_TEMPO_GAP_BPM, date


def test_contrast_holds_even_when_the_weights_favour_one_style():
    channel = Channel(style_weights={"jazz": 50.0, "cafe": 1.0, "study": 1.0})
    for offset in range(20):
        date = (dt.date(2026, 11, 1) + dt.timedelta(days=offset)).isoformat()
        plans = [resolve_plan(channel.sketch_request(date, slot)) for slot in channel.slots]
        assert sorted(p.style.name for p in plans) == ["cafe", "jazz", "study"]
        tempos = sorted(p.bpm for p in plans)
        assert all(b - a >= MIN_TEMPO_GAP_BPM for a, b in itertools.pairwise(tempos))


def test_a_pinned_style_keeps_its_own_tempo_range():
    request = Channel().sketch_request("2026-11-05", "2", style="ambient")
    plan = resolve_plan(request)
    assert plan.style.name == "ambient"
    assert plan.style.bpm_min <= plan.bpm <= plan.style.bpm_max
