"""SoundFonts that lack presets (issue 14): a one-preset font or a drums-only kit font as the
override plays what it has; every other part plays exactly as without the override, and the
stem sources say so; with no fallback the render is refused, listing each part's missing
bank:program; a part whose preset makes no sound fails ``stems_audible`` and the render.

The fonts are built here: a valid SoundFont 2.04 file (RIFF sfbk: INFO, sdta, pdta) with one
looped sine sample and the presets asked for, a few kilobytes. Stems are measured from their
files with soundfile and numpy, independently of the product's own bookkeeping.
"""

import math
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile

from lofi_assets.audio.instruments import MissingPresetError, preset_table
from lofi_assets.audio.production import (
    INSTRUMENT_STEMS,
    SILENT_STEM_PEAK_DBFS,
    ProductionSettings,
    SilentStemError,
    produce_stem_files,
    production_inputs,
    render_master_file,
    stem_sources,
)
from lofi_assets.audio.soundfont import (
    FALLBACK_ENV,
    SOUNDFONT_ENV,
    IncompleteSoundFontError,
    SoundFontNotFoundError,
    resolve_soundfont,
)
from lofi_assets.cli import main
from lofi_assets.defs.assets.produce_checks import check_stems_audible
from lofi_assets.music.arrangement import compose_sketch
from lofi_assets.music.plan import SketchRequest
from lofi_assets.music.sketch_files import write_sketch_files
from lofi_assets.music.styles import get_style

SEED, STYLE, DURATION_S = 7, "jazz", 14.0
# jazz: keys Rhodes 0:4, bass Acoustic Bass 0:32, melody Muted Trumpet 0:59, pad Strings 0:48,
# drums the GM2 Brush kit 128:40 (assets_library/styles/jazz.yaml).
JAZZ_PRESETS = {"keys": "0:4", "bass": "0:32", "melody": "0:59", "pad": "0:48", "drums": "128:40"}
SINE_RATE_HZ, SINE_CYCLE = 44_000, 100  # 440 Hz in whole cycles: the loop is seamless


def _chunk(chunk_id: bytes, body: bytes) -> bytes:
    return chunk_id + struct.pack("<I", len(body)) + body + (b"\0" if len(body) & 1 else b"")


def write_sine_soundfont(
    path: Path, presets: list[tuple[int, int]], key_range: tuple[int, int] = (0, 127)
) -> Path:
    """A SoundFont 2.04 file whose presets (bank, program) all play one looped 440 Hz sine
    instrument over ``key_range`` (SF2 2.04 §7: phdr/pbag/pgen → inst/ibag/igen → shdr)."""
    sine = np.sin(2 * np.pi * np.arange(SINE_CYCLE * 40) / SINE_CYCLE)
    pcm = np.round(16_000 * sine).astype("<i2").tobytes() + b"\0" * 92  # 46 zero samples
    count = len(presets)
    phdr = b"".join(
        struct.pack("<20sHHHIII", f"Sine {bank}:{program}".encode(), program, bank, i, 0, 0, 0)
        for i, (bank, program) in enumerate(presets)
    ) + struct.pack("<20sHHHIII", b"EOP", 0, 0, count, 0, 0, 0)
    pbag = b"".join(struct.pack("<HH", i, 0) for i in range(count + 1))
    pgen = struct.pack("<HH", 41, 0) * count + struct.pack("<HH", 0, 0)  # 41: instrument 0
    inst = struct.pack("<20sH", b"Sine", 0) + struct.pack("<20sH", b"EOI", 1)
    # keyRange (43) first, sampleModes (54) = loop, overridingRootKey (58) = A4, sampleID (53).
    igen = struct.pack("<HBB", 43, *key_range)
    igen += struct.pack("<HHHHHH", 54, 1, 58, 69, 53, 0) + struct.pack("<HH", 0, 0)
    ibag = struct.pack("<HH", 0, 0) + struct.pack("<HH", 4, 0)
    loop = (SINE_CYCLE * 10, SINE_CYCLE * 38)
    shdr = struct.pack(
        "<20sIIIIIBbHH", b"Sine", 0, SINE_CYCLE * 40, *loop, SINE_RATE_HZ, 69, 0, 0, 1
    )
    shdr += struct.pack("<20sIIIIIBbHH", b"EOS", 0, 0, 0, 0, 0, 0, 0, 0, 0)
    no_modulators = b"\0" * 10
    hydra = [
        (b"phdr", phdr), (b"pbag", pbag), (b"pmod", no_modulators), (b"pgen", pgen),
        (b"inst", inst), (b"ibag", ibag), (b"imod", no_modulators), (b"igen", igen),
        (b"shdr", shdr),
    ]  # fmt: skip
    info = _chunk(b"ifil", struct.pack("<HH", 2, 4)) + _chunk(b"isng", b"EMU8000\0")
    info += _chunk(b"INAM", b"Test sine\0")
    body = b"sfbk" + _chunk(b"LIST", b"INFO" + info)
    body += _chunk(b"LIST", b"sdta" + _chunk(b"smpl", pcm))
    body += _chunk(b"LIST", b"pdta" + b"".join(_chunk(cid, data) for cid, data in hydra))
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    return path


@pytest.fixture(scope="module")
def sketch(tmp_path_factory):
    request = SketchRequest(seed=SEED, style=STYLE, duration_s=DURATION_S)
    files = write_sketch_files(compose_sketch(request), tmp_path_factory.mktemp("sketch"))
    return production_inputs(files.summary, files.plan)


def _settings() -> ProductionSettings:
    return ProductionSettings.from_overrides(get_style(STYLE).production)


def _stems(sketch, soundfont, folder: Path) -> dict[str, np.ndarray]:
    folder.mkdir()
    produce_stem_files(sketch, _settings(), soundfont, folder)
    return {
        name: soundfile.read(folder / f"{name}.wav", dtype="float32", always_2d=True)[0]
        for name in INSTRUMENT_STEMS
    }


def _peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio)))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _rms_dbfs(audio: np.ndarray) -> float:
    return 10 * math.log10(float(np.mean(audio.astype(np.float64) ** 2)) + 1e-30)


@pytest.fixture(scope="module")
def default_stems(sketch, tmp_path_factory):
    """The stems without an override: what every part the override lacks must sound like."""
    return _stems(sketch, resolve_soundfont(), tmp_path_factory.mktemp("default") / "stems")


@pytest.fixture
def no_override(monkeypatch):
    monkeypatch.delenv(SOUNDFONT_ENV, raising=False)
    monkeypatch.delenv(FALLBACK_ENV, raising=False)


def test_the_sketch_has_notes_in_every_part_and_the_fonts_read_back(sketch, tmp_path):
    assert all(sketch.parts[name].notes for name in INSTRUMENT_STEMS)
    piano = write_sine_soundfont(tmp_path / "piano.sf2", [(0, 0)])
    kit = write_sine_soundfont(tmp_path / "kit.sf2", [(128, 0)])
    assert preset_table(piano) == {(0, 0): "Sine 0:0"}
    assert preset_table(kit) == {(128, 0): "Sine 128:0"}


@pytest.mark.usefixtures("no_override")
@pytest.mark.parametrize(
    ("presets", "own_parts"),
    [
        # A downloaded grand piano: its 0:0 plays the Rhodes part (same GM family, piano 0–7).
        ([(0, 0)], {"keys": ("0:0", "0:4")}),
        # A drums-only kit: its Standard kit 128:0 plays the brush-kit part.
        ([(128, 0)], {"drums": ("128:0", "128:40")}),
    ],
    ids=["one_preset_piano", "drums_only_kit"],
)
def test_a_font_lacking_presets_plays_what_it_has_and_the_defaults_play_the_rest(
    sketch, default_stems, tmp_path, presets, own_parts
):
    font = resolve_soundfont(write_sine_soundfont(tmp_path / "user.sf2", presets))
    sources = stem_sources(sketch, font)
    stems = _stems(sketch, font, tmp_path / "stems")
    for name in INSTRUMENT_STEMS:
        source, audio = sources[name], stems[name]
        level_dbfs = _settings().stem_levels_dbfs[name]
        # Audible, and at its mix level: the stem was levelled, so the part made sound.
        assert _peak_dbfs(audio) > SILENT_STEM_PEAK_DBFS + 40, name
        assert _rms_dbfs(audio) == pytest.approx(level_dbfs, abs=0.1), name
        assert source.requested == JAZZ_PRESETS[name]
        if name in own_parts:
            played, requested = own_parts[name]
            assert (source.font, f"{source.bank}:{source.program}") == ("user", played)
            assert f"user.sf2 has no preset {requested}: {played}" in source.fallback
            assert not np.array_equal(audio, default_stems[name])  # the sine, not the default
        else:
            # Played by the default instruments, sample for sample as without the override,
            # and the metadata says why.
            assert source.font != "user"
            assert f"user.sf2 has no preset {JAZZ_PRESETS[name]}" in source.fallback
            assert np.array_equal(audio, default_stems[name]), name


@pytest.mark.usefixtures("no_override")
@pytest.mark.parametrize(
    ("presets", "missing", "via_flag"),
    [
        ([(0, 0)], "drums 128:40, bass 0:32, melody 0:59, pad 0:48", True),
        ([(128, 0)], "bass 0:32, keys 0:4, melody 0:59, pad 0:48", False),
    ],
    ids=["one_preset_piano", "drums_only_kit"],
)
def test_without_a_fallback_the_render_is_refused_naming_every_missing_preset(
    sketch, tmp_path, monkeypatch, capsys, presets, missing, via_flag
):
    user = write_sine_soundfont(tmp_path / "user.sf2", presets)
    font = resolve_soundfont(user, fallback="none")
    assert font.fallback is None
    with pytest.raises(MissingPresetError) as refused:
        produce_stem_files(sketch, _settings(), font, tmp_path)
    assert f"No SoundFont can play {missing} (bank:program; searched user.sf2" in str(refused.value)
    assert [path.name for path in tmp_path.iterdir()] == ["user.sf2"]  # nothing rendered
    # The same through the CLI (`--soundfont`, or $LOFI_SOUNDFONT): one error line, exit
    # code 2, no WAV.
    monkeypatch.setenv(FALLBACK_ENV, "none")
    out = tmp_path / "track.wav"
    arguments = ["render", "--seed", str(SEED), "--style", STYLE, "--duration", str(DURATION_S)]
    if via_flag:
        arguments += ["--soundfont", str(user)]
    else:
        monkeypatch.setenv(SOUNDFONT_ENV, str(user))
    assert main([*arguments, "--out", str(out)]) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith(f"lofi: error: No SoundFont can play {missing}")
    assert "LOFI_SOUNDFONT" in error and not out.exists()


@pytest.mark.usefixtures("no_override")
def test_a_preset_that_makes_no_sound_fails_the_render_and_the_stems_audible_check(
    sketch, tmp_path
):
    # A piano whose one zone covers keys 120–127: the keys part's notes find no sample.
    mute = write_sine_soundfont(tmp_path / "mute.sf2", [(0, 0)], key_range=(120, 127))
    font = resolve_soundfont(mute)
    folder = tmp_path / "stems"
    folder.mkdir()
    stems = produce_stem_files(sketch, _settings(), font, folder)
    keys_audio, _ = soundfile.read(folder / "keys.wav", dtype="float32")
    assert _peak_dbfs(keys_audio) < SILENT_STEM_PEAK_DBFS  # measured: silent, not levelled up
    assert stems["keys"].silent and stems["keys"].notes == len(sketch.parts["keys"].notes)
    assert [name for name, stem in stems.items() if stem.silent] == ["keys"]
    paths = {name: folder / f"{name}.wav" for name in stems}
    notes = {name: stem.notes for name, stem in stems.items()}
    failed = check_stems_audible(paths, notes)
    assert not failed.passed
    assert failed.metadata["silent_stems"].value == {"keys": notes["keys"]}
    # Passing side: the same silent file passes when its part has no notes, and every other
    # stem (audible) passes as it is.
    assert check_stems_audible(paths, {**notes, "keys": 0}).passed
    played = r"keys \(\d+ notes, played by Sine 0:0 \(mute 0:0\), no signal\)"
    with pytest.raises(SilentStemError, match=played):
        render_master_file(sketch, _settings(), font, tmp_path / "track.wav")
    assert not (tmp_path / "track.wav").exists()


def test_the_stems_audible_check_reads_the_files(tmp_path):
    rate = 44_100
    tone = 0.1 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate, dtype=np.float32)
    soundfile.write(tmp_path / "bass.wav", np.stack([tone, tone], axis=1), rate, "FLOAT")
    quiet = np.full((rate, 2), 10 ** ((SILENT_STEM_PEAK_DBFS - 1) / 20), dtype=np.float32)
    soundfile.write(tmp_path / "pad.wav", quiet, rate, "FLOAT")
    paths = {"bass": tmp_path / "bass.wav", "pad": tmp_path / "pad.wav"}
    passed = check_stems_audible(paths, {"bass": 12, "pad": 0})
    assert passed.passed and passed.metadata["peak_dbfs"].value == {"bass": -20.0}
    failed = check_stems_audible(paths, {"bass": 12, "pad": 3})
    assert not failed.passed and failed.metadata["silent_stems"].value == {"pad": 3}
    assert failed.metadata["peak_dbfs"].value["pad"] == pytest.approx(-71.0, abs=0.05)
    missing = check_stems_audible({"bass": tmp_path / "gone.wav"}, {"bass": 1})
    assert not missing.passed and "gone.wav" in missing.metadata["unreadable"].value["bass"]


def test_the_default_fonts_keep_their_chain_and_an_unknown_fallback_is_refused(
    tmp_path, no_override
):
    default = resolve_soundfont()
    assert default.source in {"debian", "pretty_midi"}
    assert resolve_soundfont(fallback="none").fallback is None
    user = write_sine_soundfont(tmp_path / "user.sf2", [(0, 0)])
    chained = resolve_soundfont(user)
    assert chained.chain[0].path == user and chained.chain[1].path == default.path
    with pytest.raises(SoundFontNotFoundError, match=FALLBACK_ENV):
        resolve_soundfont(user, fallback=tmp_path / "missing.sf2")
    named = resolve_soundfont(user, fallback=write_sine_soundfont(tmp_path / "gm.sf2", [(0, 32)]))
    assert [font.source for font in named.chain] == ["override", "fallback"]


def test_the_stems_asset_names_the_fallbacks_and_blocks_on_a_silent_stem(
    data_dir, instance, tmp_path, no_override
):
    import dagster as dg

    from lofi_assets.defs.assets.compose import midi_sketch
    from lofi_assets.defs.assets.produce import stems
    from lofi_assets.defs.partitions import track_partition_key
    from lofi_assets.defs.resources import SoundFontResource
    from lofi_assets_tests.conftest import make_resources

    mute = write_sine_soundfont(tmp_path / "mute.sf2", [(0, 0)], key_range=(120, 127))
    resources = {**make_resources(data_dir), "soundfont": SoundFontResource(path=str(mute))}
    config = {"midi_sketch": {"config": {"duration_s": 20.0, "style": STYLE}}}
    result = dg.materialize(
        [midi_sketch, stems],
        partition_key=track_partition_key("2026-11-27", "1"),
        resources=resources,
        instance=instance,
        run_config={"ops": config},
        raise_on_error=False,
    )
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert evaluations["stems_complete"].passed
    audible = evaluations["stems_audible"]
    assert not audible.passed and audible.blocking
    assert set(audible.metadata["silent_stems"].value) == {"keys"}
    # Judged on the staged files: the step fails, nothing is recorded, and the verdict says
    # what played the silent stem (the mute piano, standing in for the Rhodes by family).
    played_by = audible.metadata["silent_stems_played_by"].value
    assert set(played_by) == {"keys"}
    assert "mute 0:0" in played_by["keys"]
    assert "mute.sf2 has no preset 0:4: 0:0 (its family) played it" in played_by["keys"]
    assert not result.success
    assert [
        event for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("stems")
    ] == []  # fmt: skip
    stems_dir = data_dir / "stems" / "2026-11-27" / "1"
    assert not stems_dir.exists()


def test_the_stems_asset_names_the_fallbacks_it_played(data_dir, instance, tmp_path, no_override):
    """A one-preset piano font: the keys play from it (same GM family), every other part from
    the default instruments, and the stems metadata says so."""
    import dagster as dg

    from lofi_assets.defs.assets.compose import midi_sketch
    from lofi_assets.defs.assets.produce import stems
    from lofi_assets.defs.partitions import track_partition_key
    from lofi_assets.defs.resources import SoundFontResource
    from lofi_assets_tests.conftest import make_resources

    piano = write_sine_soundfont(tmp_path / "piano.sf2", [(0, 0)])
    resources = {**make_resources(data_dir), "soundfont": SoundFontResource(path=str(piano))}
    config = {"midi_sketch": {"config": {"duration_s": 20.0, "style": STYLE}}}
    result = dg.materialize(
        [midi_sketch, stems],
        partition_key=track_partition_key("2026-11-27", "1"),
        resources=resources,
        instance=instance,
        run_config={"ops": config},
    )
    (materialized,) = [
        event.materialization.metadata
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("stems")
    ]
    fallbacks = materialized["stem_fallbacks"].value
    assert set(fallbacks) == set(INSTRUMENT_STEMS)  # keys by the piano's family, rest default
    assert "piano.sf2 has no preset 0:4: 0:0 (its family) played it" in fallbacks["keys"]
    assert materialized["stem_sources"].value["keys"]["font"] == "piano"
    assert materialized["stem_sources"].value["bass"]["font"] != "piano"


# ---- a file that is not a whole SoundFont (SoundFont 2.04 §4–§7) ----


def _rebuilt(whole: bytes, lists: dict[bytes, bytes] | None = None, hydra=None) -> bytes:
    """``whole`` (a SoundFont file) rebuilt with its LIST bodies (by type) replaced by
    ``lists`` (None: dropped) and its pdta sub-chunks passed through ``hydra``."""
    bodies, offset = {}, 12
    while offset < len(whole):
        size = struct.unpack_from("<I", whole, offset + 4)[0]
        bodies[whole[offset + 8 : offset + 12]] = whole[offset + 12 : offset + 8 + size]
        offset += 8 + size + (size & 1)
    if hydra is not None:
        pdta, chunks, offset = bodies[b"pdta"], [], 0
        while offset < len(pdta):
            size = struct.unpack_from("<I", pdta, offset + 4)[0]
            chunks.append((pdta[offset : offset + 4], pdta[offset + 8 : offset + 8 + size]))
            offset += 8 + size
        bodies[b"pdta"] = b"".join(_chunk(cid, body) for cid, body in hydra(chunks))
    bodies.update(lists or {})
    body = b"sfbk" + b"".join(
        _chunk(b"LIST", kind + data) for kind, data in bodies.items() if data is not None
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _refused(path: Path, message: str) -> None:
    """``path`` refused with ``message`` as an override and by the preset-table reader."""
    with pytest.raises(IncompleteSoundFontError) as raised:
        resolve_soundfont(path)
    assert str(raised.value) == message
    with pytest.raises(IncompleteSoundFontError) as raised:
        preset_table(path)
    assert str(raised.value) == message


def test_a_soundfont_cut_short_is_refused_naming_the_part_lost_and_the_bytes(tmp_path, no_override):
    whole = write_sine_soundfont(tmp_path / "whole.sf2", [(0, 0), (128, 0)]).read_bytes()
    assert preset_table(tmp_path / "whole.sf2") == {(0, 0): "Sine 0:0", (128, 0): "Sine 128:0"}
    pdta_at = whole.index(b"pdta") - 8  # the pdta LIST's header
    for name, keep, lost in [
        ("in_samples", pdta_at - 100, "the preset data (pdta) is missing"),
        ("at_pdta", pdta_at, "the preset data (pdta) is missing"),
        ("in_pdta", len(whole) - 50, "the preset data (pdta) is cut short"),
        ("after_riff_header", 12, "the information (INFO) is missing"),
    ]:
        cut = tmp_path / f"{name}.sf2"
        cut.write_bytes(whole[:keep])
        _refused(
            cut,
            f"{cut} is not a complete SoundFont: {lost} — the file is truncated "
            f"({keep:,} of {len(whole):,} bytes)",
        )


def test_a_real_font_cut_at_its_start_or_end_is_refused(tmp_path, no_override):
    import pretty_midi

    font = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    whole = font.read_bytes()
    assert len(preset_table(font)) > 100  # the whole file reads
    for keep, lost in [(3000, "is missing"), (len(whole) - 100, "is cut short")]:
        cut = tmp_path / f"cut_{keep}.sf2"
        cut.write_bytes(whole[:keep])  # `head -c N TimGM6mb.sf2`
        _refused(
            cut,
            f"{cut} is not a complete SoundFont: the preset data (pdta) {lost} — the file is "
            f"truncated ({keep:,} of {len(whole):,} bytes)",
        )


def test_a_soundfont_missing_a_required_part_is_refused_naming_it(tmp_path, no_override):
    whole = write_sine_soundfont(tmp_path / "whole.sf2", [(0, 0)]).read_bytes()
    cases = {
        "no_info": (
            _rebuilt(whole, lists={b"INFO": None}),
            "the information (INFO) is missing — the file lacks it",
        ),
        "no_pbag": (
            _rebuilt(whole, hydra=lambda chunks: [c for c in chunks if c[0] != b"pbag"]),
            "the preset data (pdta) has no pbag sub-chunk (SoundFont 2.04 §7.1) — the file "
            "is corrupt: get a new copy",
        ),
        "odd_phdr": (
            _rebuilt(
                whole,
                hydra=lambda chunks: [(c, b + b"\0\0" if c == b"phdr" else b) for c, b in chunks],
            ),
            "its phdr sub-chunk is 78 bytes, not a whole number of 38-byte records "
            "(SoundFont 2.04 §7.2) — the file is corrupt: get a new copy",
        ),
    }
    for name, (payload, problem) in cases.items():
        path = tmp_path / f"{name}.sf2"
        path.write_bytes(payload)
        _refused(path, f"{path} is not a complete SoundFont: {problem}")
    rebuilt = tmp_path / "rebuilt.sf2"
    rebuilt.write_bytes(_rebuilt(whole, hydra=list))  # the rebuild alone changes nothing
    assert rebuilt.read_bytes() == whole
    assert resolve_soundfont(rebuilt).path == rebuilt


def test_a_soundfont_path_that_is_missing_or_a_folder_is_named_as_typed(tmp_path, no_override):
    missing = tmp_path / "missing.sf2"
    with pytest.raises(SoundFontNotFoundError) as raised:
        resolve_soundfont(missing)
    assert str(raised.value) == (
        f"no such file: {missing} (from the override): check the path, or point "
        "LOFI_SOUNDFONT at an .sf2 file"
    )
    assert "fluid-soundfont-gm" not in str(raised.value)  # nothing to install for a typo
    with pytest.raises(SoundFontNotFoundError) as raised:
        resolve_soundfont(tmp_path)
    assert str(raised.value) == (
        f"{tmp_path} (from the override) is a folder, not a SoundFont: point LOFI_SOUNDFONT "
        "at an .sf2 file"
    )
